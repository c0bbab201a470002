// Lossy, for unified diffs (git diff, diff -u, git show, git log -p): file
// and hunk headers and every added and removed line stay; unchanged
// context keeps a few lines beside each change, and the middle of a longer
// run becomes one marker:
//   [headroom: 40 unchanged lines omitted (new lines 120-159),
//    original sha256:...]
// Everything outside hunks (commit messages, stats) stays.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace headroom::transforms {

struct CrushDiffLimits {
    std::size_t min_lines = 30;
    std::size_t context = 3;  // unchanged lines kept beside a change
};

struct CrushedDiff {
    std::string text;
    std::size_t omitted = 0;  // context lines left out
};

// nullopt when `text` is not a unified diff, or no context would go.
std::optional<CrushedDiff> crush_diff(std::string_view text, const CrushDiffLimits& limits);

}  // namespace headroom::transforms
