// Log templates, mined from the lines themselves: which lines are the same
// event with other values. One configuration for every log, since a tool
// output does not say which system wrote it, and a pure function of the
// lines: the same output gets the same templates on every node and turn.
//
// A line is cut into tokens (at blanks and at [](){}<>,;|"'=, with "="
// kept as a token; a path's query, "/a?b=c&d=e", stays one token). A
// token is a value (a wildcard in the template) when it
//   - holds a digit or a '/', has two dots inside it or one before a short
//     extension (hosts, packages, files: "QQ.exe", not "Session.commit"),
//     is a month or weekday name, is 8 or more hex letters ("ffffffff"), or
//     is over 40 bytes;
//   - is a unit after a value ("18.4 KB", "<1 sec");
//   - is part of a word (between blanks, or | , ;) that holds a value:
//     "LOCAL(0)" is one value like "10.0.0.1" — but for the names of
//     fields ("uid" of "uid=0") and of tags ("kernel" of "kernel[0]:"), and
//     not for an empty "()";
//   - stands, among the first 8 tokens, beside 20 or more different rests
//     of line (a header field: host, program, level);
//   - stands where 5 or more lines alike in every other token have 5 or
//     more different values (names, users, keys), found again until
//     nothing changes (4 rounds at most); never a field's name.
// Lines with the same tokens but for their values, runs of one token
// counted once, are one template: Drain's idea of "positions that vary
// become wildcards", decided by counting instead of a parse tree, so that
// a line's group does not depend on the lines before it. One line may
// hold more values than another of its template ("1190 bytes (1.16 KB)"
// beside "0 bytes").
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/transforms/lines.h"

namespace headroom::transforms {

struct LogTemplates {
    std::vector<std::size_t> group_of;  // per line: its template, 0..groups-1
    std::size_t groups = 0;             // numbered in order of first line
    // The tokens that are values (wildcards), in order: line i's are
    // values[values_at[i] .. values_at[i + 1]), each where it is in its
    // line (eight bytes a value: a log has many).
    struct Value {
        std::uint32_t at, size;
    };
    std::vector<Value> values;
    std::vector<std::size_t> values_at;

    // Value k of line `line`.
    static std::string_view value(std::string_view line, Value v) { return line.substr(v.at, v.size); }
};

LogTemplates mine_templates(const Lines& lines);

}  // namespace headroom::transforms
