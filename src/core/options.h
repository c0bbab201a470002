// Everything the core's output depends on besides the request bytes.
#pragma once

#include <cstddef>

namespace headroom {

namespace tokenizer {
class Tokenizers;
}

struct Options {
    // Deeper documents pass through: bounds the parser's and serializer's
    // recursion (and stack) on hostile input.
    std::size_t max_depth = 512;
    bool minify_tool_json = true;
    // Every size decision is made in tokens of the request's model. Without
    // tokenizers (tests, tools), bytes stand in and no tokens are reported.
    const tokenizer::Tokenizers* tokenizers = nullptr;
};

}  // namespace headroom
