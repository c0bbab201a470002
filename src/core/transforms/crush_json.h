// Lossy, for JSON tool outputs holding long arrays (API responses,
// inventories, search hits): each array longer than max_items keeps what an
// answer needs and says what it left out.
//
// Kept: the first and last few items; every item with an error signal
// (error keys, 4xx/5xx statuses, non-zero exit codes, failure words); the
// extremes and strong outliers of numeric fields; one item for each rare
// value of a categorical field; the best of a ranked array (a score-like
// field); items matching the question (question.h), up to a bound, and the
// markers count those left out past it. Exact duplicates go. Each run of left-out items becomes one marker object in
// its place (markers.h), when the marker costs less than the run:
//   {"headroom_omitted":{"count":936,"items":"5-940","lines":"12-3760","id":"…"}}
// ("matching":N too, when N of them matched the question).
// Kept items are unchanged as JSON values. Arrays inside kept items are
// treated the same way.
//
// Lossless, after that: an array of 3+ objects that all have the same keys
// in the same order becomes a table when that measures smaller:
//   {"headroom_table":{"columns":["id","name"],"rows":[[1,"a"],[2,"b"]]}}
// (omission markers among the items stay as they are, between the rows).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/transforms/crushed.h"

namespace headroom::transforms {

struct CrushJsonLimits {
    std::size_t max_items = 30;  // longer arrays are sampled
    std::size_t keep_first = 5;
    std::size_t keep_last = 3;
    // Ranked results keep their best this many (headroom_json_keep_top).
    std::size_t keep_top = 5;
    // Items that match the question are kept, this many at most, the best
    // by BM25 past it (headroom_question_max_matches).
    std::size_t max_matches = 50;
    std::size_t max_depth = 512;
    bool tables = true;
    // JSON held in strings is crushed too (off where each string is a tool
    // output of its own: Gemini's response objects).
    bool embedded = true;
    // What "smaller" means for tables and markers.
    Measure measure;
};

struct CrushedJson : Crushed {  // text: compact JSON; omitted: items left out
    std::size_t arrays = 0;     // arrays sampled
    std::size_t tables = 0;     // arrays rendered as tables
};

// nullopt when `text` is not a JSON object or array. A result with nothing
// omitted is the plain compact form.
std::optional<CrushedJson> crush_json(std::string_view text, std::string_view question,
                                      const CrushJsonLimits& limits);
// The same, for a text that is (part of) the tool output `origin`.
std::optional<CrushedJson> crush_json(std::string_view text, std::string_view question,
                                      const CrushJsonLimits& limits, const Origin& origin);

}  // namespace headroom::transforms
