// The Model Context Protocol's side of retrieval: JSON-RPC 2.0 messages as
// Streamable HTTP POSTs them (protocol versions 2025-06-18 and 2025-03-26),
// answered by one server with one tool, headroom_retrieve. HTTP itself is
// the nginx glue's.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/retrieval.h"

namespace headroom::mcp {

struct Answer {
    int status = 200;   // 200 with `body`; 202 (no body) when only
                        // notifications or responses came; 400
    std::string body;   // JSON
    std::size_t found = 0, missing = 0, unavailable = 0;  // tools/call
};

// The tools/call answers of one message (a batch's together) hold at most
// `max_bytes` of originals; past it, a call is an error result.
Answer respond(std::string_view body, const retrieval::Lookup& lookup, std::size_t max_bytes);

}  // namespace headroom::mcp
