// Test helper: the array a headroom_table stands for. Rows become objects
// again: each column's cell under its name, a dotted name ("user.login")
// nested as the object it was flattened from, and the "same" columns in
// every row. Markers among the rows stay as they are. Anything else is
// returned unchanged. Key order within a rebuilt object is the columns'
// then the same ones': compare rebuilt objects by key.
#pragma once

#include <string>

#include "core/json.h"

inline void put_dotted(headroom::json::Value& obj, const std::string& name, const headroom::json::Value& v) {
    namespace json = headroom::json;
    const std::size_t dot = name.find('.');
    if (dot == std::string::npos) {
        obj.members.push_back({name, v});
        return;
    }
    const std::string head = name.substr(0, dot);
    json::Value* child = obj.find(head);
    if (child == nullptr) {
        obj.members.push_back({head, json::object_value({})});
        child = &obj.members.back().value;
    }
    put_dotted(*child, name.substr(dot + 1), v);
}

inline headroom::json::Value untable(const headroom::json::Value& v) {
    namespace json = headroom::json;
    const json::Value* t = v.find("headroom_table");
    if (t == nullptr || v.members.size() != 1) return v;
    json::Value out = json::array_value({});
    const auto& columns = t->find("columns")->items;
    const json::Value* same = t->find("same");
    for (const auto& row : t->find("rows")->items) {
        if (!row.is_array()) {
            out.items.push_back(row);
            continue;
        }
        json::Value o = json::object_value({});
        for (std::size_t i = 0; i < columns.size() && i < row.items.size(); ++i) {
            put_dotted(o, columns[i].text, row.items[i]);
        }
        if (same != nullptr) {
            for (const auto& m : same->members) put_dotted(o, m.key, m.value);
        }
        out.items.push_back(std::move(o));
    }
    return out;
}

// The value with every object's members sorted by key: rebuilt rows and
// the items they stand for compare equal.
inline headroom::json::Value by_key(headroom::json::Value v) {
    if (v.is_object()) {
        for (auto& m : v.members) m.value = by_key(std::move(m.value));
        std::stable_sort(v.members.begin(), v.members.end(),
                         [](const auto& a, const auto& b) { return a.key < b.key; });
    } else if (v.is_array()) {
        for (auto& i : v.items) i = by_key(std::move(i));
    }
    return v;
}
