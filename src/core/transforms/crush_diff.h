// Lossy, for unified diffs (git diff, diff -u, git show, git log -p): file
// and hunk headers and every added and removed line stay; unchanged
// context keeps a few lines beside each change, and the middle of a longer
// run becomes one marker:
//   [headroom: 40 unchanged lines omitted (new lines 120-159); lines 130-169; id=…]
// Everything outside hunks (commit messages, stats) stays.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/transforms/crushed.h"
#include "core/transforms/lines.h"

namespace headroom::transforms {

struct CrushDiffLimits {
    std::size_t min_lines = 30;
    std::size_t context = 3;  // unchanged lines kept beside a change
    // A run is cut only when it measures more than its marker.
    Measure measure;
};

using CrushedDiff = Crushed;  // omitted: context lines left out

// A file header ("diff --git", or "---" then "+++") and a hunk header.
bool is_diff(const Lines& lines);

// nullopt when `text` is not a unified diff, or no context would go.
std::optional<CrushedDiff> crush_diff(std::string_view text, const CrushDiffLimits& limits);
// The same, with `lines` = split_lines(text) already made.
std::optional<CrushedDiff> crush_diff(std::string_view text, const Lines& lines,
                                      const CrushDiffLimits& limits, const Origin& origin);

}  // namespace headroom::transforms
