// Moves the values that change from call to call (the current time, request
// ids: VolatilePatterns) out of system and developer text into a labelled
// note after the newest content. The text before the note is then the same
// on every call, so the provider's prompt cache keeps hitting, and the
// model still sees every value, under the label left in its place.
#pragma once

#include <cstddef>

#include "core/json.h"
#include "core/shape.h"
#include "core/volatile_values.h"

namespace headroom::transforms {

// Where the note goes:
//   OpenAI chat       a last message, with the role of the first text moved
//   OpenAI Responses  a last input item, role developer (or system)
//   Anthropic         a last text block of the last message, which must be
//                     the user's (a prefilled assistant turn is left alone)
// Returns how many distinct values were moved; 0 leaves `body` untouched.
std::size_t move_volatile_values(Shape shape, json::Value& body, const VolatilePatterns& patterns);

// What stands in a value's place: "[[date-1]]".
std::string volatile_placeholder(std::string_view label, std::size_t n);

}  // namespace headroom::transforms
