// The next-turn fill: a client that does not know headroom_retrieve
// answers the model's call with an error result; where the original is
// kept, that result's content becomes what the call asked for. Results
// filled already (by a gateway before this one) stay as they are.
#pragma once

#include <cstddef>

#include "core/dialect/dialect.h"
#include "core/retrieval.h"

namespace headroom::transforms {

struct FillCounts {
    std::size_t filled = 0;       // from an original found
    std::size_t missing = 0;      // expired, or another tenant's
    std::size_t unavailable = 0;  // the store did not answer
    std::size_t refused = 0;      // arguments that ask for nothing kept

    std::size_t changed() const { return filled + missing + unavailable + refused; }
};

// The answers of one request hold at most `max_bytes` of originals
// together; past it, a call is told to ask for less.
FillCounts fill_retrievals(const Dialect& dialect, json::Value& doc, const RequestMap& map,
                           const retrieval::Lookup& lookup, std::size_t max_bytes);

}  // namespace headroom::transforms
