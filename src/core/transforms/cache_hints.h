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
// tools, the end of the system prompt, the end of the newest message (so
// that the next call, which resends it, reads it from the cache instead of
// paying for it again) and the block the previous call marked (two
// messages back: its cache entry is found however many blocks this turn
// added). At most kMaxCacheBreakpoints. Thinking blocks and empty text
// cannot carry a mark; the nearest block before them does. A message's
// string content becomes the one text block it stands for, in every
// message, so that each keeps one form from call to call. Run it before
// anything is appended to the newest message. Returns how many were added.
std::size_t add_cache_breakpoints(json::Value& body);

// Sets "prompt_cache_key" when the request has none. Returns true if set.
bool set_prompt_cache_key(json::Value& body, std::string_view key);

}  // namespace headroom::transforms
