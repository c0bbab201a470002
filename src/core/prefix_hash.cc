#include "core/prefix_hash.h"

#include <vector>

#include "core/content_hash.h"
#include "core/message_content.h"

namespace headroom {

namespace {

// Cache marks say where to cache, not what: they are left out.
void drop_cache_marks(json::Value& v) {
    if (v.is_object()) {
        std::vector<json::Member> kept;
        kept.reserve(v.members.size());
        for (json::Member& m : v.members) {
            if (m.key == "cache_control") continue;
            drop_cache_marks(m.value);
            kept.push_back(std::move(m));
        }
        v.members = std::move(kept);
    } else if (v.is_array()) {
        for (json::Value& item : v.items) drop_cache_marks(item);
    }
}

// Each part is framed by its kind and length, so that no two different
// prefixes give the same bytes.
void add(std::string& out, char kind, const json::Value* v) {
    std::string text;
    if (v != nullptr) {
        json::Value copy = *v;
        drop_cache_marks(copy);
        text = json::serialize(copy);
    }
    out += kind;
    out += std::to_string(text.size());
    out += ':';
    out += text;
}

}  // namespace

std::string prefix_hash(Shape shape, const json::Value& body) {
    std::string prefix;
    add(prefix, 'm', body.find("model"));
    add(prefix, 't', body.find("tools"));
    switch (shape) {
    case Shape::OpenAIChat:
    case Shape::OpenAIResponses: {
        if (shape == Shape::OpenAIResponses) add(prefix, 'i', body.find("instructions"));
        const json::Value* list = body.find(shape == Shape::OpenAIChat ? "messages" : "input");
        if (list == nullptr || !list->is_array()) break;
        for (const json::Value& item : list->items) {
            if (system_role(item) == nullptr) break;
            add(prefix, 's', &item);
        }
        break;
    }
    case Shape::AnthropicMessages: add(prefix, 's', body.find("system")); break;
    case Shape::Unknown: break;
    }

    return sha256_hex(prefix, 32);
}

}  // namespace headroom
