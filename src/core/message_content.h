// A message's content in every API shape: a string, or an array of parts
// of which those typed "text" (Responses: "input_text") carry their text
// in "text". Shared by the walks that read or rewrite message text.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "core/json.h"

namespace headroom {

// Calls `f` with the text of each part of `content` typed `part_type`, or
// with the string itself. `V` is json::Value or const json::Value.
template <typename V, typename F>
void for_each_text(V& content, std::string_view part_type, F&& f) {
    if (content.is_string()) {
        f(content.text);
        return;
    }
    if (!content.is_array()) return;
    for (auto& part : content.items) {
        const json::Value* type = part.find("type");
        auto* text = part.find("text");
        if (type != nullptr && type->equals(part_type) && text != nullptr && text->is_string()) {
            f(text->text);
        }
    }
}

// The role of a message (or Responses input item) spoken as system or
// developer; nullptr for any other.
inline const json::Value* system_role(const json::Value& message) {
    const json::Value* role = message.find("role");
    return role != nullptr && (role->equals("system") || role->equals("developer")) ? role : nullptr;
}

// {"type":"text","text":...}: the block a string content stands for.
inline json::Value text_block(std::string text) {
    return json::object_value({{"type", json::string_value("text")},
                               {"text", json::string_value(std::move(text))}});
}

// A string content becomes the array of the one text block it stands for;
// other contents stay as they are.
inline void to_text_blocks(json::Value& content) {
    if (!content.is_string()) return;
    json::Value block = text_block(std::move(content.text));
    content = json::array_value({});
    content.items.push_back(std::move(block));
}

}  // namespace headroom
