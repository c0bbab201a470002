#include "core/summaries.h"

#include "core/content_hash.h"
#include "core/json.h"

namespace headroom::summaries {

const char* instruction() {
    return "You summarize an excerpt of a conversation between a user and an AI assistant that uses tools, so "
           "that the assistant can continue the work without it. The excerpt is given as JSON messages, one a "
           "line. Write a short summary in plain text: what the user asked for, what was done and found (files, "
           "commands, errors, decisions, identifiers and numbers that may matter later), and what was left open. "
           "Keep facts exact; do not invent anything; do not address the user.";
}

std::string summary_id(std::string_view model, std::string_view span_id) {
    return sha256_hex_framed({"headroom summary 1", model, instruction(), span_id}, 32);
}

std::string request_body(std::string_view model, std::string_view turns) {
    json::Value body = json::object_value(
        {{"model", json::string_value(std::string(model))},
         {"messages", json::array_value({json::object_value({{"role", json::string_value("system")},
                                                              {"content", json::string_value(instruction())}}),
                                         json::object_value({{"role", json::string_value("user")},
                                                              {"content", json::string_value(std::string(turns))}})})}});
    return json::serialize(body);
}

std::optional<std::string> summary_of_answer(std::string_view answer) {
    json::ParseResult parsed = json::parse(answer, 64);
    if (!parsed.ok() || !parsed.value.is_object()) return std::nullopt;
    const json::Value* choices = parsed.value.find("choices");
    if (choices == nullptr || !choices->is_array() || choices->items.empty()) return std::nullopt;
    const json::Value* message = choices->items[0].find("message");
    const json::Value* content = message != nullptr ? message->find("content") : nullptr;
    if (content == nullptr || !content->is_string()) return std::nullopt;
    std::string text = content->text;
    // Nothing but blanks says nothing.
    if (text.find_first_not_of(" \t\r\n") == std::string::npos) return std::nullopt;
    if (text.size() > kMaxSummaryBytes) {
        std::size_t n = kMaxSummaryBytes;
        while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
        text.resize(n);
    }
    return text;
}

}  // namespace headroom::summaries
