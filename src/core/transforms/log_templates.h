// Log templates, mined from the lines themselves: which lines are the same
// event with other values. One configuration for every log, since a tool
// output does not say which system wrote it, and a pure function of the
// lines: the same output gets the same templates on every node and turn.
//
// A line is cut into tokens (at blanks and at [](){}<>,;|"'=, with "="
// kept as a token). A token is a value (a wildcard in the template) when it
//   - holds a digit, is a month or weekday name, holds a '/', has two dots
//     or more inside it (hosts, packages), or is over 40 bytes;
//   - stands, among the first 8 tokens, beside 20 or more different rests
//     of line (a header field: host, program, level);
//   - stands where 5 or more lines alike in every other token have 5 or
//     more different values (names, users, keys), found again until
//     nothing changes (4 rounds at most).
// Runs of one token (" - - - ", wildcards) count as one. Lines with the
// same tokens after that are one template: Drain's idea of "positions that
// vary become wildcards", decided by counting instead of a parse tree, so
// that a line's group does not depend on the lines before it.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "core/transforms/lines.h"

namespace headroom::transforms {

struct LogTemplates {
    std::vector<std::size_t> group_of;  // per line: its template, 0..groups-1
    std::size_t groups = 0;             // numbered in order of first line
    // The tokens that are values (wildcards), in order: line i's are
    // values[values_at[i] .. values_at[i + 1]).
    std::vector<std::string_view> values;
    std::vector<std::size_t> values_at;
};

LogTemplates mine_templates(const Lines& lines);

}  // namespace headroom::transforms
