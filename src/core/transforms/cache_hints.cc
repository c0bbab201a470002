#include "core/transforms/cache_hints.h"

#include <algorithm>
#include <string>

#include "core/message_content.h"

namespace headroom::transforms {

namespace {

bool has_cache_control(const json::Value& v) {
    if (v.is_object()) {
        for (const json::Member& m : v.members) {
            if (m.key == "cache_control" || has_cache_control(m.value)) return true;
        }
    } else if (v.is_array()) {
        for (const json::Value& item : v.items) {
            if (has_cache_control(item)) return true;
        }
    }
    return false;
}

json::Value ephemeral() {
    return json::object_value({{"type", json::string_value("ephemeral")}});
}

void mark(json::Value& block) { block.members.push_back({"cache_control", ephemeral()}); }

// Blocks the API lets carry a breakpoint.
bool can_mark(const json::Value& block) {
    if (!block.is_object()) return false;
    const json::Value* type = block.find("type");
    if (type == nullptr || !type->is_string()) return false;
    if (type->text == "text") {
        const json::Value* text = block.find("text");
        return text != nullptr && text->is_string() && !text->text.empty();
    }
    return type->text == "image" || type->text == "document" || type->text == "tool_use" ||
           type->text == "tool_result" || type->text == "search_result";
}

// Marks the last block of `content` that can carry it; a non-empty string
// becomes the one text block it stands for. False when none can.
bool mark_last(json::Value& content) {
    if (content.is_string()) {
        if (content.text.empty()) return false;
        to_text_blocks(content);
    }
    if (!content.is_array()) return false;
    for (std::size_t i = content.items.size(); i-- > 0;) {
        if (can_mark(content.items[i])) {
            mark(content.items[i]);
            return true;
        }
    }
    return false;
}

// Marks the last markable block in messages[0..last]; returns the index of
// the message marked, or npos.
std::size_t mark_history(json::Value& messages, std::size_t last) {
    for (std::size_t i = last + 1; i-- > 0;) {
        json::Value* content = messages.items[i].find("content");
        if (content != nullptr && mark_last(*content)) return i;
    }
    return std::string::npos;
}

}  // namespace

std::size_t add_cache_breakpoints(json::Value& body, const CachePlaces& places) {
    if (has_cache_control(body)) return 0;
    std::size_t added = 0;
    // The places were found before any change here; marks only append.
    json::Value* tools = places.tools ? json::resolve(body, *places.tools) : nullptr;
    json::Value* system = places.system ? json::resolve(body, *places.system) : nullptr;
    json::Value* messages = places.messages ? json::resolve(body, *places.messages) : nullptr;

    if (tools && tools->is_array() && !tools->items.empty() && tools->items.back().is_object()) {
        mark(tools->items.back());
        ++added;
    }
    if (system && mark_last(*system)) ++added;

    if (messages == nullptr || !messages->is_array() || messages->items.empty()) return added;
    // A mark turns a string content into the one text block it stands for.
    // Every message takes that form, marked or not, so that a message is
    // the same bytes in every later call whether or not it is marked there.
    for (json::Value& message : messages->items) {
        json::Value* content = message.find("content");
        if (content != nullptr && !(content->is_string() && content->text.empty())) to_text_blocks(*content);
    }
    const std::size_t n = messages->items.size();
    std::size_t at = mark_history(*messages, n - 1);
    if (at == std::string::npos) return added;
    ++added;
    // Each turn adds an assistant and a user message: the call before this
    // one marked what is now two messages further back. Reading its entry
    // there does not depend on how many blocks this turn added.
    if (n >= 3 && at >= 1 && added < kMaxCacheBreakpoints) {
        if (mark_history(*messages, std::min(n - 3, at - 1)) != std::string::npos) ++added;
    }
    return added;
}

bool set_cache_key(json::Value& body, std::string_view name, std::string_view key) {
    if (!body.is_object() || body.find(name) != nullptr) return false;
    body.members.push_back({std::string(name), json::string_value(std::string(key))});
    return true;
}

}  // namespace headroom::transforms
