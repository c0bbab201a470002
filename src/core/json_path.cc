#include "core/json_path.h"

namespace headroom::json {

const Value* resolve(const Value& root, const Path& path) {
    if (!path.valid()) return nullptr;
    const Value* v = &root;
    for (std::size_t i = 0; i < path.depth(); ++i) {
        const std::size_t step = path[i];
        if (v->is_array() && step < v->items.size()) {
            v = &v->items[step];
        } else if (v->is_object() && step < v->members.size()) {
            v = &v->members[step].value;
        } else {
            return nullptr;
        }
    }
    return v;
}

Value* resolve(Value& root, const Path& path) {
    return const_cast<Value*>(resolve(static_cast<const Value&>(root), path));
}

Ref Ref::get(std::string_view key) const {
    if (value == nullptr || !value->is_object()) return {};
    const auto& members = value->members;
    for (std::size_t i = members.size(); i-- > 0;) {
        if (members[i].key == key) return Ref{&members[i].value, path.then(i)};
    }
    return {};
}

Ref Ref::get(std::string_view key, std::string_view alias) const {
    Ref r = get(key);
    return r ? r : get(alias);
}

Ref Ref::at(std::size_t i) const {
    if (value == nullptr || !value->is_array() || i >= value->items.size()) return {};
    return Ref{&value->items[i], path.then(i)};
}

}  // namespace headroom::json
