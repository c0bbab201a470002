// Anthropic Messages: POST .../messages (and .../messages/count_tokens,
// which takes the same body: compressing it too keeps a client's token
// estimate in line with what the gateway will send).
//   messages[]: {role: user|assistant, content: a string or blocks}
//   tool outputs: user blocks {"type":"tool_result","tool_use_id","content"}
//   (a string or blocks typed "text"), answering assistant blocks
//   {"type":"tool_use","id","name"}
//   system: a string or text blocks
//   cache hints: cache_control breakpoints
#include "core/dialect/conversation.h"
#include "core/message_content.h"
#include "core/text.h"
#include "core/transforms/cache_hints.h"

namespace headroom::dialect {

namespace {

class AnthropicMessages final : public Dialect {
public:
    const char* name() const override { return "anthropic_messages"; }

    bool speaks(std::string_view path) const override {
        return ends_with(path, "/messages") || ends_with(path, "/messages/count_tokens");
    }

    bool accepts(const json::Value& body) const override { return has_array(body, "messages"); }

    RequestMap tool_outputs(const json::Value& body) const override {
        Conversation c;
        json::Ref messages = json::root_ref(body).get("messages");
        for (std::size_t i = 0; i < messages.size(); ++i) {
            json::Ref msg = messages.at(i);
            json::Ref role = msg.get("role");
            json::Ref content = msg.get("content");
            if (!role || !content) continue;
            if (role.equals("assistant")) {
                for (std::size_t k = 0; k < content.size(); ++k) {
                    json::Ref block = content.at(k);
                    json::Ref id = block.get("id"), tool = block.get("name");
                    if (block.get("type").equals("tool_use") && id.is_string()) {
                        c.call(id->text, tool.is_string() ? std::string_view(tool->text) : "", block.get("input"));
                    }
                }
                continue;
            }
            if (!role.equals("user")) continue;
            // Results first: text in the same message comes after the call.
            for (std::size_t k = 0; k < content.size(); ++k) {
                json::Ref block = content.at(k);
                json::Ref result = block.get("content");
                if (!block.get("type").equals("tool_result") || !result) continue;
                json::Ref id = block.get("tool_use_id");
                ToolOutputSite& out = c.output(id.is_string() ? std::string_view(id->text) : "", "", i);
                for (const json::Ref& t : text_parts(result, "text")) out.add_part(t);
                out.content = result.path;
                if (json::Ref flag = block.get("is_error")) out.error_flag = flag.path;
            }
            c.user_said(joined_text(content, "text"));
        }
        return c.take();
    }

    // A user message opens a turn unless it holds a tool result (whose
    // call is in the turn before it).
    std::optional<Turns> turns(const json::Value& body) const override {
        json::Ref messages = json::root_ref(body).get("messages");
        Turns t;
        t.array = messages.path;
        for (std::size_t i = 0; i < messages.size(); ++i) {
            json::Ref msg = messages.at(i);
            json::Ref content = msg.get("content");
            bool results = false;
            for (std::size_t k = 0; k < content.size(); ++k) {
                results = results || content.at(k).get("type").equals("tool_result");
            }
            t.items.push_back(msg.get("role").equals("user") && !results ? Turns::Item::Opens
                                                                         : Turns::Item::Continues);
        }
        return t;
    }

    std::optional<std::size_t> max_output_tokens(const json::Value& body) const override {
        return count_of(json::root_ref(body).get("max_tokens"));
    }

    SystemText system_text(const json::Value& body) const override {
        SystemText s;
        for (const json::Ref& t : text_parts(json::root_ref(body).get("system"), "text")) s.texts.push_back(t.path);
        return s;
    }

    // A last text block of the last message, which must be the user's: a
    // prefilled assistant turn is left alone, and an empty text block is
    // refused by the API.
    std::optional<Edit> note(const json::Value& body, const std::string&,
                             std::string text) const override {
        json::Ref messages = json::root_ref(body).get("messages");
        if (messages.size() == 0) return std::nullopt;
        json::Ref last = messages.at(messages.size() - 1);
        json::Ref content = last.get("content");
        if (!last.get("role").equals("user") || !content) return std::nullopt;
        Edit e;
        e.target = content.path;
        if (content.is_array()) {
            e.value = text_block(std::move(text));
        } else if (content.is_string() && !content->text.empty()) {
            e.op = Edit::Op::Replace;
            e.value = with_text_block(*content, std::move(text));
        } else {
            return std::nullopt;
        }
        return e;
    }

    std::vector<PrefixPart> prefix(const json::Value& body) const override {
        json::Ref root = json::root_ref(body);
        return {{'t', root.get("tools")}, {'s', root.get("system")}};
    }

    std::optional<Edit> add_tool(const json::Value& body, std::string_view name, const char* description,
                                 const json::Value& parameters) const override {
        json::Ref tools = json::root_ref(body).get("tools");
        if (tools.size() == 0 || has_tool_named(tools, name, "name")) return std::nullopt;
        Edit e;
        e.target = tools.path;
        e.value = json::object_value({{"name", json::string_value(std::string(name))},
                                      {"description", json::string_value(description)},
                                      {"input_schema", parameters}});
        return e;
    }

    std::size_t add_cache_breakpoints(json::Value& body) const override {
        json::Ref root = json::root_ref(body);
        return transforms::add_cache_breakpoints(body, {transforms::place_of(root.get("tools")),
                                                        transforms::place_of(root.get("system")),
                                                        transforms::place_of(root.get("messages"))});
    }
};

}  // namespace

const Dialect& anthropic_messages() {
    static const AnthropicMessages d;
    return d;
}

}  // namespace headroom::dialect
