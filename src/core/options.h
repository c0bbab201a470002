// Everything the core's output depends on besides the request bytes.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace headroom {

namespace tokenizer {
class Tokenizers;
}
class VolatilePatterns;

struct Options {
    // Deeper documents pass through: bounds the parser's and serializer's
    // recursion (and stack) on hostile input.
    std::size_t max_depth = 512;
    bool minify_tool_json = true;
    // Lossy: long arrays in JSON outputs keep what an answer needs.
    bool crush_json = true;
    std::size_t json_max_items = 30;
    std::size_t json_keep_first = 5;
    std::size_t json_keep_last = 3;
    // Lossless: arrays of like objects as tables, when that saves tokens.
    bool json_tables = true;
    // Lossy: log lines fold by template.
    bool crush_logs = true;
    // Lossy: search results keep each file's first and last matches.
    bool crush_search = true;
    // Lossy: diffs keep every change and a little context.
    bool crush_diffs = true;
    std::size_t diff_context = 3;  // unchanged lines kept beside a change
    // Tool outputs smaller than this (in tokens, or bytes without
    // tokenizers) are left as they are: too little to gain.
    std::size_t min_tokens = 200;
    // Outputs of tools whose name matches one of these globs (fnmatch) are
    // never changed.
    std::vector<std::string> protect_tools;
    // Prefix stabilization, so that the provider's prompt cache hits: off
    // unless stabilize_prefix, then each part on unless turned off.
    bool stabilize_prefix = false;
    // System and developer text: values that change from call to call move
    // to a labelled note at the end. Needs volatile_patterns.
    bool move_volatile = true;
    const VolatilePatterns* volatile_patterns = nullptr;
    // Tools sorted by name, their keys by name.
    bool canonical_tools = true;
    // Anthropic: cache_control breakpoints when the request has none.
    bool cache_breakpoints = true;
    // OpenAI: prompt_cache_key (the prefix hash) when the request has none.
    bool prompt_cache_key = true;
    // Result::prefix_hash is wanted (a log, a variable). Hashing the model,
    // tools and system text costs tens of microseconds on an agent's
    // request, so the module asks only when something reads it.
    bool want_prefix_hash = true;
    // Every size decision is made in tokens of the request's model. Without
    // tokenizers (tests, tools), bytes stand in and no tokens are reported.
    const tokenizer::Tokenizers* tokenizers = nullptr;
};

}  // namespace headroom
