// The stable name of an original tool output: what omission markers carry
// so that the original can be asked for later.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace headroom {

// "sha256:" and the first 16 hex digits of SHA-256(text).
std::string content_hash(std::string_view text);

// The first `digits` (at most 64) hex digits of SHA-256(text).
std::string sha256_hex(std::string_view text, std::size_t digits);

}  // namespace headroom
