// bytes -> parse -> detect -> transforms -> serialize -> bytes. A pure
// function of the request bytes, its path and the options: every worker on
// every node gives the same output for the same input.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/options.h"
#include "core/shape.h"

namespace headroom {

enum class Outcome {
    Passthrough,  // forward the original bytes; `reason` says why
    Rewritten,    // forward `body`
};

struct Result {
    Outcome outcome = Outcome::Passthrough;
    const char* reason = "";  // static string: a stable word for logs
    std::string detail;       // free text for logs, may be empty
    Shape shape = Shape::Unknown;
    std::string body;
    std::size_t tool_outputs = 0;  // tool outputs seen
    std::size_t minified = 0;      // tool outputs minified
};

// Never throws: every failure is a Passthrough with its reason.
Result process(std::string_view path, std::string_view body, const Options& options) noexcept;

}  // namespace headroom
