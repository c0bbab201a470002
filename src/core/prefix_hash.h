// A name for the part of a request every call of a session shares: model,
// tools and system prompt, as sent. Equal hashes across calls mean the
// provider can serve that prefix from its cache; operators log it to see
// whether their prefixes are stable.
#pragma once

#include <string>

#include "core/dialect/dialect.h"
#include "core/json.h"

namespace headroom {

// 32 hex digits of SHA-256 over the model and the dialect's prefix parts
// (tools, system text, instructions), each in compact JSON without its
// cache_control marks: whoever placed them, the content is what a cache
// compares.
std::string prefix_hash(const Dialect& dialect, std::string_view model, const json::Value& body);

}  // namespace headroom
