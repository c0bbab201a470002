#include "core/shape.h"

namespace headroom {

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

Shape shape_from_path(std::string_view path) {
    if (ends_with(path, "/chat/completions")) return Shape::OpenAIChat;
    if (ends_with(path, "/responses")) return Shape::OpenAIResponses;
    // count_tokens takes the same body; compressing it too keeps a client's
    // token estimate in line with what the gateway will actually send.
    if (ends_with(path, "/messages") || ends_with(path, "/messages/count_tokens")) {
        return Shape::AnthropicMessages;
    }
    return Shape::Unknown;
}

Shape detect_shape(std::string_view path, const json::Value& body) {
    if (!body.is_object()) return Shape::Unknown;

    Shape s = shape_from_path(path);
    switch (s) {
    case Shape::OpenAIChat:
    case Shape::AnthropicMessages: {
        const json::Value* messages = body.find("messages");
        return messages != nullptr && messages->is_array() ? s : Shape::Unknown;
    }
    case Shape::OpenAIResponses: {
        const json::Value* input = body.find("input");
        return input != nullptr && (input->is_array() || input->is_string())
                   ? s
                   : Shape::Unknown;
    }
    case Shape::Unknown:
        break;
    }
    return Shape::Unknown;
}

const char* shape_name(Shape s) {
    switch (s) {
    case Shape::OpenAIChat: return "openai_chat";
    case Shape::OpenAIResponses: return "openai_responses";
    case Shape::AnthropicMessages: return "anthropic_messages";
    case Shape::Unknown: break;
    }
    return "unknown";
}

}  // namespace headroom
