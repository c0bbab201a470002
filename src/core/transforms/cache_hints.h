// Hints that let a provider cache the stable prefix of a request: marks on
// the blocks up to which it may cache (Anthropic's "cache_control"), and a
// key that routes a session's calls to one cache (OpenAI's
// "prompt_cache_key"). The dialect says where; these say how.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "core/json.h"
#include "core/json_path.h"

namespace headroom::transforms {

// Anthropic's limit of breakpoints per request.
constexpr std::size_t kMaxCacheBreakpoints = 4;

// Where the marks may go: the tools, the system prompt (a string or
// blocks) and the messages (each with a "content", a string or blocks).
// An absent place gets none.
struct CachePlaces {
    std::optional<json::Path> tools, system, messages;
};

// The place of `at`, if it is there.
inline std::optional<json::Path> place_of(const json::Ref& at) {
    return at ? std::optional<json::Path>(at.path) : std::nullopt;
}

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
std::size_t add_cache_breakpoints(json::Value& body, const CachePlaces& places);

// Sets the member `name` of the body to `key` when the request has none.
// Returns true if set.
bool set_cache_key(json::Value& body, std::string_view name, std::string_view key);

}  // namespace headroom::transforms
