// OpenAI Chat Completions: POST .../chat/completions.
//   messages[]: {role: system|developer|user|assistant|tool, content}
//   content: a string, or parts of which {"type":"text","text"} are text
//   tool outputs: role "tool" messages, tool_call_id naming the call in an
//   assistant message's tool_calls[].{id, function.name}
//   cache hint: prompt_cache_key
#include "core/dialect/conversation.h"
#include "core/message_content.h"
#include "core/text.h"
#include "core/transforms/cache_hints.h"

namespace headroom::dialect {

namespace {

class OpenAIChat final : public Dialect {
public:
    const char* name() const override { return "openai_chat"; }

    bool speaks(std::string_view path) const override { return ends_with(path, "/chat/completions"); }

    bool accepts(const json::Value& body) const override { return has_array(body, "messages"); }

    RequestMap tool_outputs(const json::Value& body) const override {
        Conversation c;
        json::Ref messages = json::root_ref(body).get("messages");
        for (std::size_t i = 0; i < messages.size(); ++i) {
            json::Ref msg = messages.at(i);
            json::Ref role = msg.get("role");
            if (role.equals("user")) {
                c.user_said(joined_text(msg.get("content"), "text"));
            } else if (role.equals("assistant")) {
                json::Ref calls = msg.get("tool_calls");
                for (std::size_t k = 0; k < calls.size(); ++k) {
                    json::Ref call = calls.at(k);
                    json::Ref id = call.get("id");
                    json::Ref function = call.get("function");
                    json::Ref tool = function.get("name");
                    if (id.is_string()) {
                        c.call(id->text, tool.is_string() ? std::string_view(tool->text) : "",
                               function.get("arguments"));
                    }
                }
            } else if (role.equals("tool")) {
                json::Ref content = msg.get("content");
                if (!content) continue;
                json::Ref id = msg.get("tool_call_id");
                ToolOutputSite& out = c.output(id.is_string() ? std::string_view(id->text) : "", "", i);
                for (const json::Ref& t : text_parts(content, "text")) out.add_part(t);
                out.content = content.path;
            }
        }
        return c.take();
    }

    std::optional<Turns> turns(const json::Value& body) const override {
        json::Ref messages = json::root_ref(body).get("messages");
        Turns t;
        t.array = messages.path;
        for (std::size_t i = 0; i < messages.size(); ++i) {
            json::Ref role = messages.at(i).get("role");
            t.items.push_back(role.equals("system") || role.equals("developer") ? Turns::Item::Pinned
                              : role.equals("user")                             ? Turns::Item::Opens
                                                                                : Turns::Item::Continues);
        }
        return t;
    }

    std::optional<std::size_t> max_output_tokens(const json::Value& body) const override {
        json::Ref root = json::root_ref(body);
        if (auto n = count_of(root.get("max_completion_tokens"))) return n;
        return count_of(root.get("max_tokens"));
    }

    SystemText system_text(const json::Value& body) const override {
        SystemText s;
        json::Ref messages = json::root_ref(body).get("messages");
        for (std::size_t i = 0; i < messages.size(); ++i) {
            json::Ref msg = messages.at(i);
            const json::Value* role = system_role(*msg);
            if (role == nullptr) continue;
            if (s.note_role.empty()) s.note_role = role->text;
            for (const json::Ref& t : text_parts(msg.get("content"), "text")) s.texts.push_back(t.path);
        }
        return s;
    }

    // A last message of its own.
    std::optional<Edit> note(const json::Value& body, const std::string& role,
                             std::string text) const override {
        Edit e;
        e.target = json::root_ref(body).get("messages").path;
        e.value = json::object_value({{"role", json::string_value(role)},
                                      {"content", json::string_value(std::move(text))}});
        return e;
    }

    std::vector<PrefixPart> prefix(const json::Value& body) const override {
        json::Ref root = json::root_ref(body);
        std::vector<PrefixPart> parts{{'t', root.get("tools")}};
        json::Ref messages = root.get("messages");
        for (std::size_t i = 0; i < messages.size() && system_role(*messages.at(i)); ++i) {
            parts.push_back({'s', messages.at(i)});
        }
        return parts;
    }

    std::optional<Edit> add_tool(const json::Value& body, std::string_view name, const char* description,
                                 const json::Value& parameters) const override {
        json::Ref tools = json::root_ref(body).get("tools");
        if (tools.size() == 0 || has_tool_named(tools, name, "name", "function")) return std::nullopt;
        Edit e;
        e.target = tools.path;
        json::Value function = json::object_value({{"name", json::string_value(std::string(name))},
                                                   {"description", json::string_value(description)},
                                                   {"parameters", parameters}});
        e.value = json::object_value({{"type", json::string_value("function")}, {"function", std::move(function)}});
        return e;
    }

    bool set_cache_key(json::Value& body, std::string_view key) const override {
        return transforms::set_cache_key(body, "prompt_cache_key", key);
    }

    // A stream reports usage only when stream_options.include_usage asks.
    bool answer_reports_usage(const json::Value& body) const override {
        auto is_true = [](json::Ref v) { return v && v->kind == json::Kind::True; };
        json::Ref root = json::root_ref(body);
        return !is_true(root.get("stream")) || is_true(root.get("stream_options").get("include_usage"));
    }
};

}  // namespace

const Dialect& openai_chat() {
    static const OpenAIChat d;
    return d;
}

}  // namespace headroom::dialect
