// The table of dialects, and what they share by default.
#include "core/dialect/dialect.h"

namespace headroom {

namespace dialect {
const Dialect& openai_chat();
const Dialect& openai_responses();
const Dialect& anthropic_messages();
const Dialect& gemini();
}  // namespace dialect

namespace {

// One row per API; the first that speaks a path wins.
const Dialect* const kDialects[] = {
    &dialect::openai_chat(),
    &dialect::openai_responses(),
    &dialect::anthropic_messages(),
    &dialect::gemini(),
};

}  // namespace

const Dialect* dialect_for_path(std::string_view path) {
    for (const Dialect* d : kDialects) {
        if (d->speaks(path)) return d;
    }
    return nullptr;
}

std::string Dialect::model(std::string_view, const json::Value& body) const {
    const json::Value* model = body.find("model");
    return model != nullptr && model->is_string() ? model->text : std::string();
}

bool Dialect::set_model(json::Value& body, std::string_view model) const {
    json::Value* v = body.find("model");
    if (v == nullptr || !v->is_string()) return false;
    if (v->text != model) v->text.assign(model);
    return true;
}

std::string Dialect::path_with_model(std::string_view, std::string_view) const { return {}; }

bool Dialect::defines_tools(const json::Value& body) const {
    for (const json::Path& p : tool_lists(body)) {
        const json::Value* list = json::resolve(body, p);
        if (list != nullptr && list->is_array() && !list->items.empty()) return true;
    }
    return false;
}

std::vector<json::Path> Dialect::tool_lists(const json::Value& body) const {
    json::Ref tools = json::root_ref(body).get("tools");
    if (!tools.is_array()) return {};
    return {tools.path};
}

std::size_t Dialect::add_cache_breakpoints(json::Value&) const { return 0; }

bool Dialect::set_cache_key(json::Value&, std::string_view) const { return false; }

json::Value Dialect::user_message(std::string text) const {
    return json::object_value({{"role", json::string_value("user")}, {"content", json::string_value(std::move(text))}});
}

bool apply(const Edit& edit, json::Value& body) {
    json::Value* target = json::resolve(body, edit.target);
    if (target == nullptr) return false;
    if (edit.op == Edit::Op::Replace) {
        *target = edit.value;
        return true;
    }
    if (!target->is_array()) return false;
    target->items.push_back(edit.value);
    return true;
}

}  // namespace headroom
