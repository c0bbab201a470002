// SHA-256 as hex digits: tool output ids (markers.h) and the prefix hash.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace headroom {

// The first `digits` (at most 64) hex digits of SHA-256(text).
std::string sha256_hex(std::string_view text, std::size_t digits);

}  // namespace headroom
