// OpenAI Responses: POST .../responses.
//   input: a string (one user message) or items: messages {role, content}
//   with parts typed "input_text", function_call / custom_tool_call
//   {call_id, name}, function_call_output / custom_tool_call_output
//   {call_id, output: a string or parts}
//   instructions: system text of its own
//   cache hint: prompt_cache_key
#include "core/dialect/conversation.h"
#include "core/message_content.h"
#include "core/text.h"
#include "core/transforms/cache_hints.h"

namespace headroom::dialect {

namespace {

bool is_message(json::Ref item) {
    json::Ref type = item.get("type");
    return !type || type.equals("message");
}

class OpenAIResponses final : public Dialect {
public:
    const char* name() const override { return "openai_responses"; }

    bool speaks(std::string_view path) const override { return ends_with(path, "/responses"); }

    bool accepts(const json::Value& body) const override {
        const json::Value* input = body.find("input");
        return input != nullptr && (input->is_array() || input->is_string());
    }

    std::string kept_conversation(const json::Value& body) const override {
        json::Ref root = json::root_ref(body);
        json::Ref conversation = root.get("conversation");
        if (conversation.is_object()) conversation = conversation.get("id");
        if (conversation.is_string() && !conversation->text.empty()) return "conversation:" + conversation->text;
        json::Ref previous = root.get("previous_response_id");
        if (previous.is_string() && !previous->text.empty()) return "response:" + previous->text;
        return {};
    }

    RequestMap tool_outputs(const json::Value& body) const override {
        Conversation c;
        json::Ref input = json::root_ref(body).get("input");
        if (input.is_string()) c.user_said(input->text);  // one user message
        for (std::size_t i = 0; i < input.size(); ++i) {
            json::Ref item = input.at(i);
            json::Ref type = item.get("type");
            if (item.get("role").equals("user") && is_message(item)) {
                c.user_said(joined_text(item.get("content"), "input_text"));
                continue;
            }
            json::Ref id = item.get("call_id");
            std::string_view call_id = id.is_string() ? std::string_view(id->text) : "";
            if (type.equals("function_call") || type.equals("custom_tool_call")) {
                json::Ref tool = item.get("name");
                if (!call_id.empty()) {
                    c.call(call_id, tool.is_string() ? std::string_view(tool->text) : "", item.get("arguments"));
                }
            } else if (type.equals("function_call_output") || type.equals("custom_tool_call_output")) {
                json::Ref output = item.get("output");
                if (!output) continue;
                ToolOutputSite& out = c.output(call_id, "", i);
                for (const json::Ref& t : text_parts(output, "input_text")) out.add_part(t);
                out.content = output.path;
            }
        }
        return c.take();
    }

    std::optional<Turns> turns(const json::Value& body) const override {
        json::Ref input = json::root_ref(body).get("input");
        if (!input.is_array()) return std::nullopt;
        Turns t;
        t.array = input.path;
        for (std::size_t i = 0; i < input.size(); ++i) {
            json::Ref item = input.at(i);
            const bool message = is_message(item);
            t.items.push_back(message && system_role(*item) != nullptr  ? Turns::Item::Pinned
                              : message && item.get("role").equals("user") ? Turns::Item::Opens
                                                                          : Turns::Item::Continues);
        }
        return t;
    }

    std::optional<std::size_t> max_output_tokens(const json::Value& body) const override {
        return count_of(json::root_ref(body).get("max_output_tokens"));
    }

    SystemText system_text(const json::Value& body) const override {
        SystemText s;
        json::Ref root = json::root_ref(body);
        if (json::Ref instructions = root.get("instructions"); instructions.is_string()) {
            s.texts.push_back(instructions.path);
            s.note_role = "developer";
        }
        json::Ref input = root.get("input");
        for (std::size_t i = 0; i < input.size(); ++i) {
            json::Ref item = input.at(i);
            const json::Value* role = system_role(*item);
            if (role == nullptr || !is_message(item)) continue;
            if (s.note_role.empty()) s.note_role = role->text;
            for (const json::Ref& t : text_parts(item.get("content"), "input_text")) s.texts.push_back(t.path);
        }
        return s;
    }

    // A last input item; the string form (one user message) becomes a list.
    std::optional<Edit> note(const json::Value& body, const std::string& role,
                             std::string text) const override {
        json::Ref input = json::root_ref(body).get("input");
        json::Value message = json::object_value({{"role", json::string_value(role)},
                                                  {"content", json::string_value(std::move(text))}});
        Edit e;
        e.target = input.path;
        if (input.is_string()) {
            json::Value user = json::object_value({{"role", json::string_value("user")},
                                                   {"content", *input}});
            e.op = Edit::Op::Replace;
            e.value = json::array_value({});
            e.value.items.push_back(std::move(user));
            e.value.items.push_back(std::move(message));
        } else {
            e.value = std::move(message);
        }
        return e;
    }

    std::vector<PrefixPart> prefix(const json::Value& body) const override {
        json::Ref root = json::root_ref(body);
        std::vector<PrefixPart> parts{{'t', root.get("tools")}, {'i', root.get("instructions")}};
        json::Ref input = root.get("input");
        for (std::size_t i = 0; i < input.size() && system_role(*input.at(i)); ++i) {
            parts.push_back({'s', input.at(i)});
        }
        return parts;
    }

    // Not strict: the Responses API makes function tools strict unless told,
    // and strict schemas cannot have optional arguments.
    std::optional<Edit> add_tool(const json::Value& body, std::string_view name, const char* description,
                                 const json::Value& parameters) const override {
        json::Ref tools = json::root_ref(body).get("tools");
        if (tools.size() == 0 || has_tool_named(tools, name, "name")) return std::nullopt;
        Edit e;
        e.target = tools.path;
        e.value = json::object_value({{"type", json::string_value("function")},
                                      {"name", json::string_value(std::string(name))},
                                      {"description", json::string_value(description)},
                                      {"parameters", parameters},
                                      {"strict", json::bool_value(false)}});
        return e;
    }

    bool set_cache_key(json::Value& body, std::string_view key) const override {
        return transforms::set_cache_key(body, "prompt_cache_key", key);
    }
};

}  // namespace

const Dialect& openai_responses() {
    static const OpenAIResponses d;
    return d;
}

}  // namespace headroom::dialect
