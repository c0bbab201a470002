#include "core/transforms/move_volatile.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/message_content.h"

namespace headroom::transforms {

namespace {

constexpr std::string_view kNoteHead =
    "[headroom] Values that change from call to call were moved here from the system prompt, "
    "so that its text stays the same and can be cached. Read each [[label]] above as its value:";

// A text that may hold volatile values, and what it becomes.
struct Source {
    std::string* text;
    std::string rewritten;
};

// The system and developer texts of a request, in document order, and the
// role the note speaks with.
struct Sources {
    std::vector<Source> texts;
    std::string role;
};

void add_content(Sources& s, json::Value* content, std::string_view part_type) {
    if (content == nullptr) return;
    for_each_text(*content, part_type, [&](std::string& text) { s.texts.push_back(Source{&text, {}}); });
}

Sources find_sources(Shape shape, json::Value& body) {
    Sources s;
    switch (shape) {
    case Shape::OpenAIChat: {
        json::Value* messages = body.find("messages");
        if (messages == nullptr || !messages->is_array()) break;
        for (json::Value& msg : messages->items) {
            const json::Value* role = system_role(msg);
            if (role == nullptr) continue;
            if (s.role.empty()) s.role = role->text;
            add_content(s, msg.find("content"), "text");
        }
        break;
    }
    case Shape::OpenAIResponses: {
        if (json::Value* instructions = body.find("instructions"); instructions && instructions->is_string()) {
            add_content(s, instructions, "input_text");
        }
        if (!s.texts.empty()) s.role = "developer";
        json::Value* input = body.find("input");
        if (input == nullptr || !input->is_array()) break;
        for (json::Value& item : input->items) {
            const json::Value* role = system_role(item);
            const json::Value* type = item.find("type");
            if (role == nullptr || (type != nullptr && !type->equals("message"))) continue;
            if (s.role.empty()) s.role = role->text;
            add_content(s, item.find("content"), "input_text");
        }
        break;
    }
    case Shape::AnthropicMessages:
        add_content(s, body.find("system"), "text");
        break;
    case Shape::Unknown: break;
    }
    return s;
}

// Where the note can go, checked before anything changes.
bool note_fits(Shape shape, const json::Value& body) {
    if (shape != Shape::AnthropicMessages) return true;
    const json::Value* messages = body.find("messages");
    if (messages == nullptr || !messages->is_array() || messages->items.empty()) return false;
    const json::Value& last = messages->items.back();
    const json::Value* role = last.find("role");
    const json::Value* content = last.find("content");
    if (role == nullptr || !role->equals("user") || content == nullptr) return false;
    // An empty text block is refused by the API.
    return content->is_array() || (content->is_string() && !content->text.empty());
}

void add_note(Shape shape, json::Value& body, const std::string& role, std::string note) {
    auto message = [&](std::string r) {
        return json::object_value({{"role", json::string_value(std::move(r))},
                                   {"content", json::string_value(std::move(note))}});
    };
    switch (shape) {
    case Shape::OpenAIChat:
        body.find("messages")->items.push_back(message(role));
        break;
    case Shape::OpenAIResponses: {
        json::Value* input = body.find("input");
        if (input->is_string()) {
            // The string form is one user message; the note needs a list.
            json::Value user = json::object_value({{"role", json::string_value("user")},
                                                   {"content", std::move(*input)}});
            *input = json::array_value({});
            input->items.push_back(std::move(user));
        }
        input->items.push_back(message(role));
        break;
    }
    case Shape::AnthropicMessages: {
        json::Value* content = body.find("messages")->items.back().find("content");
        to_text_blocks(*content);
        content->items.push_back(text_block(std::move(note)));
        break;
    }
    case Shape::Unknown: break;
    }
}

}  // namespace

std::string volatile_placeholder(std::string_view label, std::size_t n) {
    std::string s = "[[";
    s += label;
    s += '-';
    s += std::to_string(n);
    s += "]]";
    return s;
}

std::size_t move_volatile_values(Shape shape, json::Value& body, const VolatilePatterns& patterns) {
    Sources sources = find_sources(shape, body);
    if (sources.texts.empty() || !note_fits(shape, body)) return 0;

    // One placeholder per distinct value of a kind, numbered in order of
    // first appearance: the same request always gets the same labels.
    std::map<std::pair<std::size_t, std::string>, std::string> placeholder;
    std::vector<std::size_t> per_label(patterns.labels().size(), 0);
    std::string note(kNoteHead);

    for (Source& src : sources.texts) {
        const std::string& text = *src.text;
        std::vector<VolatileMatch> found = patterns.find(text);
        if (found.empty()) continue;
        src.rewritten.reserve(text.size());
        std::size_t at = 0;
        for (const VolatileMatch& m : found) {
            src.rewritten.append(text, at, m.begin - at);
            std::string value = text.substr(m.begin, m.end - m.begin);
            auto [it, fresh] = placeholder.try_emplace({m.label, value});
            if (fresh) {
                const std::string& label = patterns.labels()[m.label];
                it->second = volatile_placeholder(label, ++per_label[m.label]);
                note += '\n';
                note += it->second;
                note += " = ";
                note += value;
            }
            src.rewritten += it->second;
            at = m.end;
        }
        src.rewritten.append(text, at, std::string::npos);
    }
    if (placeholder.empty()) return 0;

    for (Source& src : sources.texts) {
        if (!src.rewritten.empty()) src.text->swap(src.rewritten);
    }
    add_note(shape, body, sources.role, std::move(note));
    return placeholder.size();
}

}  // namespace headroom::transforms
