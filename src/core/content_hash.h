// SHA-256 as hex digits: tool output ids (markers.h) and the prefix hash.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

namespace headroom {

// The first `digits` (at most 64) hex digits of SHA-256(text).
std::string sha256_hex(std::string_view text, std::size_t digits);

// The same of several pieces, each framed by its length (so that no two
// different sequences hash alike), without joining them first.
std::string sha256_hex_framed(std::initializer_list<std::string_view> pieces, std::size_t digits);

}  // namespace headroom
