// Lossy, for search results: lines of "path:line:text" (grep -n, ripgrep,
// agents' Grep tools). Matches group by file; each file keeps its first and
// last matches and those matching the question (question.h, up to a
// bound), and one marker
// counts the rest (markers.h), with the file's own line numbers of them:
//   [headroom: 57 more matches in src/foo.c omitted (file lines 120-980); lines 9-65; id=…]
// A kept line is never altered; lines that are not matches stay. A file's
// matches are left out only when the marker costs less than they do.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/transforms/crushed.h"
#include "core/transforms/lines.h"

namespace headroom::transforms {

struct CrushSearchLimits {
    std::size_t min_lines = 30;  // fewer lines are not worth it
    std::size_t keep_first = 3;  // per file
    std::size_t keep_last = 2;   // per file
    std::size_t max_matches = 50;  // question-matching lines kept at most
    Measure measure;
};

using CrushedSearch = Crushed;  // omitted: matches left out

// True when most lines are matches and line numbers rise within each file.
bool is_search_output(const Lines& lines);

// nullopt when `text` is not search output, or nothing would be left out.
std::optional<CrushedSearch> crush_search(std::string_view text, std::string_view question,
                                          const CrushSearchLimits& limits);
// The same, with `lines` = split_lines(text) already made.
std::optional<CrushedSearch> crush_search(std::string_view text, const Lines& lines,
                                          std::string_view question, const CrushSearchLimits& limits,
                                          const Origin& origin);

}  // namespace headroom::transforms
