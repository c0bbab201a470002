// Hints that let a provider cache the stable prefix of a request: Anthropic
// caches only up to the blocks marked with "cache_control"; OpenAI caches on
// its own, and routes requests with one "prompt_cache_key" to the same
// cache.
#pragma once

#include <cstddef>
#include <string_view>

#include "core/json.h"

namespace headroom::transforms {

// Anthropic's limit of breakpoints per request.
constexpr std::size_t kMaxCacheBreakpoints = 4;

// When the request has no "cache_control" anywhere, marks the end of the
// tools, the end of the system prompt, the history before the newest
// message, and the history before the turn prior to that (where the last
// call wrote its cache, so the lookup finds it however many blocks the
// turn added): at most kMaxCacheBreakpoints. Thinking blocks and empty
// text cannot carry a mark; the nearest block before them does. Returns how
// many were added.
std::size_t add_cache_breakpoints(json::Value& body);

// Sets "prompt_cache_key" when the request has none. Returns true if set.
bool set_prompt_cache_key(json::Value& body, std::string_view key);

}  // namespace headroom::transforms
