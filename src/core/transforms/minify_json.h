// Lossless: a tool output holding a JSON object or array, pretty-printed,
// becomes its compact form. Key order, duplicate keys and number text are
// kept exactly; only insignificant whitespace and escape spelling change.
#pragma once

#include <cstddef>
#include <string>

namespace headroom::transforms {

// Replaces `text` with its compact form and returns true when `text` is a
// JSON object or array and the compact form is strictly shorter.
bool minify_json(std::string& text, std::size_t max_depth);

}  // namespace headroom::transforms
