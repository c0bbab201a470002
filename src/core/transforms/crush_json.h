// Lossy, for JSON tool outputs holding long arrays (API responses,
// inventories, search hits): each array longer than max_items keeps what an
// answer needs and says what it left out.
//
// Kept: the first and last few items; every item with an error signal
// (error keys, 4xx/5xx statuses, non-zero exit codes, failure words); the
// extremes and strong outliers of numeric fields; one item for each rare
// value of a categorical field; items matching the question. Exact
// duplicates go. Each run of left-out items becomes one marker object in
// its place:
//   {"headroom_omitted":{"kind":"json_items","items":"5-940","count":936,
//                        "original":"sha256:..."}}
// Kept items are unchanged as JSON values. Arrays inside kept items are
// treated the same way.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace headroom::transforms {

struct CrushJsonLimits {
    std::size_t max_items = 30;  // longer arrays are sampled
    std::size_t keep_first = 5;
    std::size_t keep_last = 3;
    std::size_t max_depth = 512;
};

struct CrushedJson {
    std::string text;             // compact JSON
    std::size_t arrays = 0;       // arrays sampled
    std::size_t omitted = 0;      // items left out, in all arrays
};

// nullopt when `text` is not a JSON object or array. A result with nothing
// omitted is the plain compact form.
std::optional<CrushedJson> crush_json(std::string_view text, std::string_view question,
                                      const CrushJsonLimits& limits);

}  // namespace headroom::transforms
