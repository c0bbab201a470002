#include "core/tool_outputs.h"

#include <map>
#include <string_view>
#include <vector>

#include "core/message_content.h"

namespace headroom {

namespace {

// What is known of a tool call when its output comes.
struct Call {
    std::string_view name;
    std::size_t question;  // index into Walk::questions
};

// State carried through one request, in document order.
struct Walk {
    explicit Walk(const ToolOutputVisitor& v) : visit(v) {}

    const ToolOutputVisitor& visit;
    std::vector<std::string> questions{std::string()};  // [0]: no question yet
    std::map<std::string, Call, std::less<>> calls;

    std::size_t current_question() const { return questions.size() - 1; }

    void user_said(std::string text) {
        if (!text.empty()) questions.push_back(std::move(text));
    }

    void call(const json::Value* id, const json::Value* name) {
        if (id == nullptr || !id->is_string()) return;
        calls[id->text] = Call{name && name->is_string() ? std::string_view(name->text) : "",
                               current_question()};
    }

    // A tool output's content: a string, or an array of parts of which those
    // typed `part_type` carry their text in "text".
    void output(json::Value& content, std::string_view part_type, std::size_t index,
                const json::Value* call_id) {
        Call c{"", current_question()};
        if (call_id != nullptr && call_id->is_string()) {
            auto it = calls.find(std::string_view(call_id->text));
            if (it != calls.end()) c = it->second;
        }
        for_each_text(content, part_type, [&](std::string& text) {
            ToolOutput out{text, index, c.name, questions[c.question]};
            visit(out);
        });
    }
};

// The text of a message's content: a string, or its parts of `part_type`.
std::string text_of(const json::Value* content, std::string_view part_type) {
    std::string out;
    if (content == nullptr) return out;
    for_each_text(*content, part_type, [&](const std::string& text) {
        if (!out.empty()) out.push_back('\n');
        out += text;
    });
    return out;
}

void openai_chat(json::Value& body, Walk& w) {
    json::Value* messages = body.find("messages");
    if (messages == nullptr || !messages->is_array()) return;
    for (std::size_t i = 0; i < messages->items.size(); ++i) {
        json::Value& msg = messages->items[i];
        const json::Value* role = msg.find("role");
        if (role == nullptr) continue;
        if (role->equals("user")) {
            w.user_said(text_of(msg.find("content"), "text"));
        } else if (role->equals("assistant")) {
            const json::Value* calls = msg.find("tool_calls");
            if (calls == nullptr || !calls->is_array()) continue;
            for (const json::Value& call : calls->items) {
                const json::Value* fn = call.find("function");
                w.call(call.find("id"), fn ? fn->find("name") : nullptr);
            }
        } else if (role->equals("tool")) {
            if (json::Value* content = msg.find("content")) {
                w.output(*content, "text", i, msg.find("tool_call_id"));
            }
        }
    }
}

void openai_responses(json::Value& body, Walk& w) {
    json::Value* input = body.find("input");
    if (input == nullptr || !input->is_array()) return;
    for (std::size_t i = 0; i < input->items.size(); ++i) {
        json::Value& item = input->items[i];
        const json::Value* type = item.find("type");
        const json::Value* role = item.find("role");
        if (role != nullptr && role->equals("user") && (type == nullptr || type->equals("message"))) {
            w.user_said(text_of(item.find("content"), "input_text"));
            continue;
        }
        if (type == nullptr) continue;
        if (type->equals("function_call") || type->equals("custom_tool_call")) {
            w.call(item.find("call_id"), item.find("name"));
        } else if (type->equals("function_call_output") || type->equals("custom_tool_call_output")) {
            if (json::Value* output = item.find("output")) {
                w.output(*output, "input_text", i, item.find("call_id"));
            }
        }
    }
}

void anthropic_messages(json::Value& body, Walk& w) {
    json::Value* messages = body.find("messages");
    if (messages == nullptr || !messages->is_array()) return;
    for (std::size_t i = 0; i < messages->items.size(); ++i) {
        json::Value& msg = messages->items[i];
        const json::Value* role = msg.find("role");
        json::Value* content = msg.find("content");
        if (role == nullptr || content == nullptr) continue;
        if (role->equals("assistant") && content->is_array()) {
            for (const json::Value& block : content->items) {
                const json::Value* type = block.find("type");
                if (type != nullptr && type->equals("tool_use")) w.call(block.find("id"), block.find("name"));
            }
            continue;
        }
        if (!role->equals("user")) continue;
        // Results first: text in the same message comes after the call.
        if (content->is_array()) {
            for (json::Value& block : content->items) {
                const json::Value* type = block.find("type");
                json::Value* result = block.find("content");
                if (type != nullptr && type->equals("tool_result") && result != nullptr) {
                    w.output(*result, "text", i, block.find("tool_use_id"));
                }
            }
        }
        w.user_said(text_of(content, "text"));
    }
}

}  // namespace

void for_each_tool_output(Shape shape, json::Value& body, const ToolOutputVisitor& visit) {
    Walk w(visit);
    switch (shape) {
    case Shape::OpenAIChat: openai_chat(body, w); break;
    case Shape::OpenAIResponses: openai_responses(body, w); break;
    case Shape::AnthropicMessages: anthropic_messages(body, w); break;
    case Shape::Unknown: break;
    }
}

}  // namespace headroom
