#include "core/dialect/conversation.h"

#include "core/message_content.h"

namespace headroom::dialect {

void Conversation::user_said(std::string text) {
    if (!text.empty()) map_.questions.push_back(std::move(text));
}

void Conversation::call(std::string_view id, std::string_view tool, const json::Ref& args) {
    std::optional<json::Path> at;
    if (args) at = args.path;
    if (!id.empty()) by_id_[std::string(id)] = Call{std::string(tool), current_question(), at};
    if (!tool.empty()) {
        latest_by_tool_[std::string(tool)] = current_question();
        if (id.empty()) unanswered_[std::string(tool)].push_back(at);
    }
}

ToolOutputSite& Conversation::output(std::string_view id, std::string_view tool,
                                     std::size_t message_index) {
    ToolOutputSite site;
    site.call_id = std::string(id);
    site.tool_name = std::string(tool);
    site.question = current_question();
    site.message_index = message_index;
    if (!id.empty()) {
        if (auto it = by_id_.find(id); it != by_id_.end()) {
            // An output that names its own tool (Gemini's functionResponse)
            // is that tool's: the name the provider reads wins.
            if (site.tool_name.empty()) site.tool_name = it->second.tool;
            site.question = it->second.question;
            site.call_args = it->second.args;
        }
    } else if (!tool.empty()) {
        if (auto it = latest_by_tool_.find(tool); it != latest_by_tool_.end()) site.question = it->second;
        if (auto it = unanswered_.find(tool); it != unanswered_.end() && !it->second.empty()) {
            site.call_args = it->second.front();
            it->second.pop_front();
        }
    }
    map_.outputs.push_back(std::move(site));
    return map_.outputs.back();
}

bool has_tool_named(json::Ref tools, std::string_view name, std::string_view key, std::string_view outer) {
    for (std::size_t i = 0; i < tools.size(); ++i) {
        json::Ref tool = tools.at(i);
        if (!outer.empty()) tool = tool.get(outer);
        if (tool.get(key).equals(name)) return true;
    }
    return false;
}

std::vector<json::Ref> text_parts(json::Ref content, std::string_view part_type) {
    std::vector<json::Ref> out;
    if (content.is_string()) {
        out.push_back(content);
        return out;
    }
    for (std::size_t i = 0; i < content.size(); ++i) {
        json::Ref part = content.at(i);
        json::Ref text = part.get("text");
        if (part.get("type").equals(part_type) && text.is_string()) out.push_back(text);
    }
    return out;
}

std::string joined_text(json::Ref content, std::string_view part_type) {
    std::string out;
    if (!content) return out;
    for_each_text(*content, part_type, [&](const std::string& text) {
        if (!out.empty()) out.push_back('\n');
        out += text;
    });
    return out;
}

json::Value with_text_block(const json::Value& content, std::string text) {
    json::Value out = content;
    to_text_blocks(out);
    out.items.push_back(text_block(std::move(text)));
    return out;
}

std::optional<std::size_t> count_of(json::Ref v) {
    if (!v || v->kind != json::Kind::Number || v->text.empty() || v->text.size() > 15) return std::nullopt;
    std::size_t n = 0;
    for (char c : v->text) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + std::size_t(c - '0');
    }
    return n;
}

}  // namespace headroom::dialect
