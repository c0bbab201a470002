// Why a request body went upstream as it came: one list for the core, the
// shim and the nginx glue, so that every figure and log line names a reason
// from it and none is ever guessed from a string.
#pragma once

#include <cstddef>

namespace headroom {

enum class Reason : unsigned char {
    // Decided by the nginx glue before the core runs.
    NotPost,          // not a POST
    NotJson,          // Content-Type is not application/json
    UnknownShape,     // no dialect knows the path, or the body is not its shape
    UnknownEncoding,  // a Content-Encoding headroom does not decode (br, a list)
    TooLarge,         // over headroom_max_body_size
    DecodedTooLarge,  // decoded, over headroom_max_body_size or the ratio cap
    DecodeError,      // compressed bytes that do not decode, or cut short
    Unbuffered,       // proxy_request_buffering off: the headers may be gone
    BodyInFile,       // part of the body was written to a file
    Empty,            // no body
    // Decided by the core.
    InvalidJson,      // not JSON, or not valid UTF-8
    TooDeep,          // nested deeper than the parser allows
    LoneSurrogate,    // a \uD800-\uDFFF escape without its pair
    NoChange,         // nothing to do
    NotSmaller,       // the rewrite did not pay for itself
    // Failures: the request went on, but headroom ran short.
    NoMemory,         // the glue could not allocate
    OutOfMemory,      // the core could not allocate
    InternalError,    // the core threw something else
};

inline constexpr std::size_t kReasons = 18;

// "not_post", "not_json", ...: the words logs, variables and metrics use.
const char* reason_name(Reason r);

// The reasons that say headroom ran short, not that the body was odd.
bool reason_is_failure(Reason r);

}  // namespace headroom
