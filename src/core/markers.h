// The one grammar of omission markers: what stands where a crusher left
// items or lines out. Every marker says how many, which lines of the
// original they were (1-based, of the tool output's own text, so that one
// line range addresses any kind) and the original's id, under which it can
// be had again. Written and parsed here only.
//
// Text outputs (logs, search results, diffs), one line in place of the
// lines left out:
//   [headroom: 1204 more lines like the one above omitted; lines 15-1998; id=<32 hex>]
// or, where originals are kept (headroom_ccr), with the way back before
// the id:
//   [headroom: 1204 more lines like the one above omitted; lines 15-1998; headroom_retrieve id=<32 hex>]
//   [headroom: 57 more matches in src/foo.c omitted (file lines 31-269); lines 40-96; id=…]
//   [headroom: 40 unchanged lines omitted (new lines 120-159); lines 130-169; id=…]
// A retired tool output (headroom_retire, fitting), whole, in place of its
// content:
//   [headroom: output of read_file retired (5120 tokens; first line: import os); headroom_retrieve id=<32 hex>]
// Turns dropped to fit the context window (headroom_fit), one user message
// in their place:
//   [headroom: 12 earlier turns dropped to fit the context window (52310 tokens); headroom_retrieve id=<32 hex>]
// or, with their summary (headroom_summarize), the summary after it:
//   [headroom: 12 earlier turns summarized (52310 tokens); headroom_retrieve id=<32 hex>]
//   <the summary>
// JSON outputs, one object in place of a run of array items (indices
// 0-based, of that array):
//   {"headroom_omitted":{"count":936,"items":"5-940","lines":"7-3750","id":"<32 hex>"}}
// with "matching":N after "count" when N of the items matched the question
// but were past the bound on how many are kept, and "via":"<way back>"
// after "id" where originals are kept.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"

namespace headroom::markers {

// A tool output's id: the first 128 bits of SHA-256 of its text as the
// model receives it, as 32 lowercase hex digits.
std::string output_id(std::string_view text);

// Whether `s` is 32 lowercase hex digits.
bool is_output_id(std::string_view s);

struct Range {
    std::size_t first = 0;
    std::size_t last = 0;  // inclusive
};

struct TextMarker {
    std::size_t count = 0;  // lines (or matches) left out
    std::string what;       // "more lines like the one above", ...
    std::string detail;     // said in parentheses when not empty
    Range lines;            // of the original, 1-based
    std::string id;
    std::string way;        // how to get it back, "" where it is not kept
};

std::string write_text(const TextMarker& m);

// A line that is a text marker, read back; nullopt for any other line.
std::optional<TextMarker> parse_text(std::string_view line);

struct JsonMarker {
    std::size_t count = 0;  // items left out: items.last - items.first + 1
    Range items;            // indices in the array, 0-based
    Range lines;            // of the original, 1-based
    std::string id;
    std::size_t matching = 0;  // of them, items that matched the question
    std::string way;           // as for TextMarker
};

// A tool output retired whole: its tool ("" when unknown), its size as
// received and the start of its first line that is not blank.
struct RetiredMarker {
    std::string tool;
    std::size_t tokens = 0;
    std::string first_line;  // as first_line() makes it
    std::string id;
    std::string way;  // as for TextMarker
};

std::string write_retired(const RetiredMarker& m);
std::optional<RetiredMarker> parse_retired(std::string_view text);

struct DroppedMarker {
    std::size_t turns = 0;
    std::size_t tokens = 0;
    std::string id;
    std::string way;      // as for TextMarker
    std::string summary;  // "" when none
};

std::string write_dropped(const DroppedMarker& m);
std::optional<DroppedMarker> parse_dropped(std::string_view text);

// What a retired marker shows of `text`: its first line that is not blank,
// trimmed, control characters as spaces, cut to at most `max_bytes` on a
// character's boundary (then ending in "...").
std::string first_line(std::string_view text, std::size_t max_bytes = 80);

// A tool's name as a marker shows it: control characters, ';', '(' and ')'
// as '_', at most 64 bytes; "a tool" when there is none.
std::string tool_label(std::string_view tool);

json::Value write_json(const JsonMarker& m);

// An array item that is a JSON marker, read back; nullopt for any other.
std::optional<JsonMarker> parse_json(const json::Value& v);

// The 1-based line of each byte offset of a text, counted once.
class LineIndex {
public:
    explicit LineIndex(std::string_view text);
    std::size_t line_of(std::size_t offset) const;

private:
    std::vector<std::size_t> newlines_;
};

}  // namespace headroom::markers
