// Lossy, for log output: lines that share a template (the line with its
// numbers, ids, hashes, addresses and timestamps blanked) fold into their
// first example and one marker (markers.h):
//   [headroom: 1204 more lines like the one above omitted; lines 16-1998; id=…]
// Kept: the first and last lines, every line of a stack trace, and the
// first example of every template, WARN and above among them, so that no
// warning or error kind disappears. A kept line is byte-identical to the
// input; nothing is rewritten. A template's lines fold only when the
// marker costs less than they do: a single line always stays.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/transforms/crushed.h"
#include "core/transforms/lines.h"

namespace headroom::transforms {

struct CrushLogLimits {
    std::size_t min_lines = 30;  // shorter outputs are not treated as logs
    std::size_t keep_first = 5;
    std::size_t keep_last = 5;
    Measure measure;
};

using CrushedLog = Crushed;  // omitted: lines left out

// Most lines start with a time or an id, or name a level; not a listing.
bool is_log(const Lines& lines);

// nullopt when `text` does not look like a log, or nothing would fold.
std::optional<CrushedLog> crush_log(std::string_view text, const CrushLogLimits& limits);
// The same, with `lines` = split_lines(text) already made, for a text that
// is (part of) the tool output `origin`.
std::optional<CrushedLog> crush_log(std::string_view text, const Lines& lines, const CrushLogLimits& limits,
                                    const Origin& origin);

// The template of a log line (exposed for tests).
std::string log_template(std::string_view line);

}  // namespace headroom::transforms
