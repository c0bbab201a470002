// Lossy, for log output. Severe lines (WARN and above) are facts: every one
// stays verbatim, but for exact repeats (equal but for the numbers of the
// header: time, pid, thread), which fold under one marker. Where severe
// lines are the bulk of the log, they fold by template like the rest, and
// their marker says every value of the fields that vary, so that no id,
// host or code is lost. Other lines fold by template (log_templates.h):
// the first example stays, and one marker says how many lines, which, and,
// when that costs little (values_share of the lines' tokens), the values
// of the fields that vary, field by field (markers.h):
//   [headroom: 38 more lines like the one above omitted (blk_1, blk_7 | 10.0.0.3); lines 4-96; id=…]
// Kept too: the first and last lines, every line of a stack trace, and
// lines that match the question (the bound past which they fold is said in
// their marker: "3 matching the question; values..."). A
// kept line is byte-identical to the input; nothing is rewritten. A group
// folds only when its marker costs less than its lines: one line never.
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
    // A fold lists the values of its varying fields when they cost at most
    // this share of the lines it replaces (headroom_log_values).
    double values_share = 0.3;
    std::size_t max_matches = 50;  // question-matching lines kept at most
    Measure measure;
};

using CrushedLog = Crushed;  // omitted: lines left out

// Most lines start with a time or an id, or name a level; not a listing.
// What level each line names (a word such as ERROR or INFO standing
// alone), found in one pass and used by both the detection and the crusher.
enum class LineLevel : unsigned char { None, Other, Severe };
using LineLevels = std::vector<LineLevel>;
LineLevels line_levels(const Lines& lines);

bool is_log(const Lines& lines);
bool is_log(const Lines& lines, const LineLevels& levels);

// A line at WARN or above: it names such a level or failure word.
bool is_severe_line(std::string_view line);

// What makes two severe lines repeats of one another: the line with the
// numbers of its header (time, pid, thread) blanked, its message as it is.
std::string repeat_key(std::string_view line);

// nullopt when `text` does not look like a log, or nothing would fold.
std::optional<CrushedLog> crush_log(std::string_view text, const CrushLogLimits& limits);
// The same, with `lines` = split_lines(text) already made, for a text that
// is (part of) the tool output `origin`, answering `question`: lines that
// match it stay (up to limits.max_matches).
// `levels`: line_levels(lines) when the caller has them already.
std::optional<CrushedLog> crush_log(std::string_view text, const Lines& lines, std::string_view question,
                                    const CrushLogLimits& limits, const Origin& origin,
                                    const LineLevels* levels = nullptr);

}  // namespace headroom::transforms
