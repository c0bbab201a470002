// Everything the core's output depends on besides the request bytes.
#pragma once

#include <cstddef>

namespace headroom {

struct Options {
    // Deeper documents pass through: bounds the parser's and serializer's
    // recursion (and stack) on hostile input.
    std::size_t max_depth = 512;
    bool minify_tool_json = true;
};

}  // namespace headroom
