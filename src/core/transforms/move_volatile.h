// Moves the values that change from call to call (the current time, request
// ids: VolatilePatterns) out of system and developer text into a labelled
// note after the newest content. The text before the note is then the same
// on every call, so the provider's prompt cache keeps hitting, and the
// model still sees every value, under the label left in its place.
#pragma once

#include <cstddef>

#include "core/dialect/dialect.h"
#include "core/json.h"
#include "core/volatile_values.h"

namespace headroom::transforms {

// The texts are the dialect's system text; the note goes where the dialect
// puts one (after the newest content). Returns how many distinct values
// were moved; 0 leaves `body` untouched.
std::size_t move_volatile_values(const Dialect& dialect, json::Value& body, const VolatilePatterns& patterns);

// What stands in a value's place: "[[date-1]]".
std::string volatile_placeholder(std::string_view label, std::size_t n);

}  // namespace headroom::transforms
