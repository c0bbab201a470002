// UTF-8 repair as the WHATWG Encoding Standard decodes (and so JavaScript's
// TextDecoder): each maximal invalid subpart becomes one U+FFFD.
#pragma once

#include <string>
#include <string_view>

namespace headroom::tokenizer {

// Length of the valid UTF-8 prefix of `s` (s.size() when all valid).
std::size_t valid_utf8_prefix(std::string_view s);

// `s` with every invalid sequence replaced by U+FFFD.
std::string repair_utf8(std::string_view s);

}  // namespace headroom::tokenizer
