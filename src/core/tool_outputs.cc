#include "core/tool_outputs.h"

#include <string_view>

namespace headroom {

namespace {

// A tool output's content: a string, or an array of parts of which those
// typed `part_type` carry their text in "text".
void visit_content(json::Value& content, std::string_view part_type, std::size_t index,
                   const ToolOutputVisitor& visit) {
    if (content.is_string()) {
        ToolOutput out{content.text, index};
        visit(out);
        return;
    }
    if (!content.is_array()) return;
    for (json::Value& part : content.items) {
        const json::Value* type = part.find("type");
        json::Value* text = part.find("text");
        if (type != nullptr && type->equals(part_type) && text != nullptr && text->is_string()) {
            ToolOutput out{text->text, index};
            visit(out);
        }
    }
}

void openai_chat(json::Value& body, const ToolOutputVisitor& visit) {
    json::Value* messages = body.find("messages");
    if (messages == nullptr || !messages->is_array()) return;
    for (std::size_t i = 0; i < messages->items.size(); ++i) {
        json::Value& msg = messages->items[i];
        const json::Value* role = msg.find("role");
        json::Value* content = msg.find("content");
        if (role != nullptr && role->equals("tool") && content != nullptr) {
            visit_content(*content, "text", i, visit);
        }
    }
}

void openai_responses(json::Value& body, const ToolOutputVisitor& visit) {
    json::Value* input = body.find("input");
    if (input == nullptr || !input->is_array()) return;
    for (std::size_t i = 0; i < input->items.size(); ++i) {
        json::Value& item = input->items[i];
        const json::Value* type = item.find("type");
        json::Value* output = item.find("output");
        if (type == nullptr || output == nullptr) continue;
        if (type->equals("function_call_output") || type->equals("custom_tool_call_output")) {
            visit_content(*output, "input_text", i, visit);
        }
    }
}

void anthropic_messages(json::Value& body, const ToolOutputVisitor& visit) {
    json::Value* messages = body.find("messages");
    if (messages == nullptr || !messages->is_array()) return;
    for (std::size_t i = 0; i < messages->items.size(); ++i) {
        json::Value* content = messages->items[i].find("content");
        if (content == nullptr || !content->is_array()) continue;
        for (json::Value& block : content->items) {
            const json::Value* type = block.find("type");
            json::Value* result = block.find("content");
            if (type != nullptr && type->equals("tool_result") && result != nullptr) {
                visit_content(*result, "text", i, visit);
            }
        }
    }
}

}  // namespace

void for_each_tool_output(Shape shape, json::Value& body, const ToolOutputVisitor& visit) {
    switch (shape) {
    case Shape::OpenAIChat: openai_chat(body, visit); break;
    case Shape::OpenAIResponses: openai_responses(body, visit); break;
    case Shape::AnthropicMessages: anthropic_messages(body, visit); break;
    case Shape::Unknown: break;
    }
}

}  // namespace headroom
