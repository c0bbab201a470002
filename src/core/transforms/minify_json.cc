#include "core/transforms/minify_json.h"

#include "core/json.h"

namespace headroom::transforms {

std::optional<std::string> minify_json(std::string_view text, std::size_t max_depth) {
    // Cheap rejection before parsing: only objects and arrays qualify, so
    // that a bare "42" or "true" stays the text the tool wrote.
    if (!json::opens_object_or_array(text)) return std::nullopt;

    std::string compact;
    compact.reserve(text.size());
    if (json::minify(text, max_depth, compact) != json::ParseError::None) return std::nullopt;
    if (compact.size() >= text.size()) return std::nullopt;
    return compact;
}

}  // namespace headroom::transforms
