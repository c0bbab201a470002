// Lossless: a tool output holding a JSON object or array, pretty-printed,
// becomes its compact form. Key order, duplicate keys and number text are
// kept exactly; only insignificant whitespace and escape spelling change.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace headroom::transforms {

// The compact form of `text` when `text` is a JSON object or array and the
// compact form has fewer bytes; the caller decides whether to keep it.
std::optional<std::string> minify_json(std::string_view text, std::size_t max_depth);

}  // namespace headroom::transforms
