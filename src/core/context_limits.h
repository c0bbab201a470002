// Context windows by model (headroom_fit): the tokens a model reads at
// most, input and output together. A shipped table, by model prefix, that
// the operator's entries (headroom_context_limit) come before; the longest
// prefix that matches wins within each.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace headroom {

using ContextLimits = std::vector<std::pair<std::string, std::size_t>>;

// The shipped table: providers' published windows.
const ContextLimits& shipped_context_limits();

// The window of `model`: the operator's longest matching prefix, else the
// table's; nullopt when neither knows it (nothing is fitted).
std::optional<std::size_t> context_limit(std::string_view model, const ContextLimits& operators);

}  // namespace headroom
