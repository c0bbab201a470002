// Which provider API a request body speaks, decided from the URI path and
// confirmed by the body. Anything not recognised is Unknown and passes
// through untouched.
#pragma once

#include <string_view>

#include "core/json.h"

namespace headroom {

enum class Shape { Unknown, OpenAIChat, OpenAIResponses, AnthropicMessages };

// The shape the path promises; Unknown means no body needs reading.
// `path` is the request path without the query string; prefixes such as
// "/openai/v1" or "/api/v1" are allowed, so only the end is matched.
Shape shape_from_path(std::string_view path);

// The path's shape when the body confirms it.
Shape detect_shape(std::string_view path, const json::Value& body);

const char* shape_name(Shape s);

}  // namespace headroom
