#include "core/prefix_hash.h"

#include <vector>

#include "core/content_hash.h"
#include "core/json_path.h"

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

std::string prefix_hash(const Dialect& dialect, std::string_view model, const json::Value& body) {
    std::string prefix;
    json::Value name = json::string_value(std::string(model));
    add(prefix, 'm', model.empty() ? nullptr : &name);
    for (const PrefixPart& part : dialect.prefix(body)) {
        add(prefix, part.kind, part.present ? json::resolve(body, part.path) : nullptr);
    }
    return sha256_hex(prefix, 32);
}

}  // namespace headroom
