#include "core/transforms/canonical_tools.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace headroom::transforms {

namespace {

// Objects whose keys are names chosen by the tool's author.
bool is_name_map(std::string_view key) {
    return key == "properties" || key == "patternProperties" || key == "$defs" ||
           key == "definitions" || key == "dependentSchemas";
}

// Values that are data, not schema.
bool is_data(std::string_view key) {
    return key == "default" || key == "enum" || key == "examples" || key == "example" ||
           key == "const";
}

bool by_key(const json::Member& a, const json::Member& b) { return a.key < b.key; }

// Returns true when anything moved.
bool sort_keys(json::Value& v, bool name_map) {
    bool changed = false;
    if (v.is_array()) {
        for (json::Value& item : v.items) changed |= sort_keys(item, false);
        return changed;
    }
    if (!v.is_object()) return false;
    if (!name_map && !std::is_sorted(v.members.begin(), v.members.end(), by_key)) {
        // Stable: duplicate keys keep their order, and so their meaning.
        std::stable_sort(v.members.begin(), v.members.end(), by_key);
        changed = true;
    }
    for (json::Member& m : v.members) {
        if (name_map) {
            changed |= sort_keys(m.value, false);
        } else if (!is_data(m.key)) {
            changed |= sort_keys(m.value, is_name_map(m.key) && m.value.is_object());
        }
    }
    return changed;
}

// A tool's name wherever the API keeps it; a built-in tool has its type.
std::string_view tool_name(const json::Value& tool) {
    if (const json::Value* name = tool.find("name"); name && name->is_string()) return name->text;
    if (const json::Value* fn = tool.find("function")) {
        if (const json::Value* name = fn->find("name"); name && name->is_string()) return name->text;
    }
    if (const json::Value* type = tool.find("type"); type && type->is_string()) return type->text;
    return {};
}

}  // namespace

bool canonicalize_tools(json::Value& tools) {
    if (!tools.is_array() || tools.items.empty()) return false;
    for (const json::Value& tool : tools.items) {
        if (tool.find("cache_control") != nullptr) return false;
    }

    bool changed = false;
    for (json::Value& tool : tools.items) changed |= sort_keys(tool, false);

    // Ties (two tools of one name, rare) fall back to the whole definition,
    // now canonical, so that even they come out in one order.
    auto less = [](const json::Value& a, const json::Value& b) {
        std::string_view na = tool_name(a), nb = tool_name(b);
        return na != nb ? na < nb : json::serialize(a) < json::serialize(b);
    };
    if (!std::is_sorted(tools.items.begin(), tools.items.end(), less)) {
        std::sort(tools.items.begin(), tools.items.end(), less);
        changed = true;
    }
    return changed;
}

}  // namespace headroom::transforms
