// Google's Gemini API: POST .../models/{model}:generateContent and
// :streamGenerateContent (Google AI's /v1beta/models/..., /v1/models/...,
// and Vertex AI's /v1/projects/*/locations/*/publishers/google/models/...).
// The model is in the path.
//   contents[]: {role: user|model, parts[]}; a part is one of text,
//   inlineData, fileData, functionCall {name, args, id?}, functionResponse
//   {name, response: {...}, id?}, executableCode, codeExecutionResult, with
//   thought / thoughtSignature beside
//   tool outputs: functionResponse.response, in user (or, from some
//   clients, function or tool) contents, possibly beside text parts; the
//   function's name is the tool
//   systemInstruction: {parts: [{text}]}
//   tools[]: {functionDeclarations: [{name, description, parameters}]}
// Proto JSON takes snake_case too (system_instruction, function_response,
// ...): both spellings are read. No cache hints: the prompt cache is
// implicit, and cachedContent names a cache the request only refers to.
#include "core/dialect/conversation.h"
#include "core/text.h"

namespace headroom::dialect {

namespace {

constexpr std::string_view kMethods[] = {":generateContent", ":streamGenerateContent"};

// "{model}:{method}" after ".../models/", or "" when the path is not one.
std::string_view model_in(std::string_view path) {
    std::size_t slash = path.rfind('/');
    if (slash == std::string_view::npos || !ends_with(path.substr(0, slash), "/models")) return {};
    std::string_view last = path.substr(slash + 1);
    for (std::string_view m : kMethods) {
        if (ends_with(last, m) && last.size() > m.size()) return last.substr(0, last.size() - m.size());
    }
    return {};
}

// The text parts of a content (thought summaries are the model's own).
std::string text_of(json::Ref parts) {
    std::string out;
    for (std::size_t k = 0; k < parts.size(); ++k) {
        json::Ref part = parts.at(k);
        json::Ref text = part.get("text");
        if (!text.is_string() || part.get("thought").value != nullptr) continue;
        if (!out.empty()) out.push_back('\n');
        out += text->text;
    }
    return out;
}

std::string_view string_of(json::Ref v) { return v.is_string() ? std::string_view(v->text) : ""; }

class Gemini final : public Dialect {
public:
    const char* name() const override { return "gemini"; }

    bool speaks(std::string_view path) const override { return !model_in(path).empty(); }

    bool accepts(const json::Value& body) const override { return has_array(body, "contents"); }

    std::string model(std::string_view path, const json::Value&) const override {
        return std::string(model_in(path));
    }

    bool set_model(json::Value&, std::string_view) const override { return false; }

    // googleSearch, codeExecution and the like are tools too.
    bool defines_tools(const json::Value& body) const override {
        return json::root_ref(body).get("tools").size() > 0;
    }

    std::string path_with_model(std::string_view path, std::string_view model) const override {
        std::string_view now = model_in(path);
        // The model is one segment of the path, before ":method".
        if (now.empty() || model.find_first_of("/:") != std::string_view::npos) return {};
        // model_in() is a part of the last segment, right after the '/'.
        const std::size_t at = path.rfind('/') + 1;
        std::string out(path.substr(0, at));
        out += model;
        out += path.substr(at + now.size());
        return out;
    }

    RequestMap tool_outputs(const json::Value& body) const override {
        Conversation c;
        json::Ref contents = json::root_ref(body).get("contents");
        for (std::size_t i = 0; i < contents.size(); ++i) {
            json::Ref content = contents.at(i);
            json::Ref parts = content.get("parts");
            json::Ref role = content.get("role");
            if (role.equals("model")) {
                for (std::size_t k = 0; k < parts.size(); ++k) {
                    json::Ref call = parts.at(k).get("functionCall", "function_call");
                    if (call) c.call(string_of(call.get("id")), string_of(call.get("name")), call.get("args"));
                }
                continue;
            }
            // Outputs first: text beside them comes after the call.
            for (std::size_t k = 0; k < parts.size(); ++k) {
                json::Ref fr = parts.at(k).get("functionResponse", "function_response");
                json::Ref response = fr.get("response");
                if (!response) continue;
                ToolOutputSite& out = c.output(string_of(fr.get("id")), string_of(fr.get("name")), i);
                out.content = response.path;
                if (response.is_string()) {
                    out.add_part(response);
                } else if (response.is_object() || response.is_array()) {
                    out.set_value(response);
                }
            }
            c.user_said(text_of(parts));
        }
        return c.take();
    }

    // A user's content (or one without a role) opens a turn unless it
    // holds a function's response.
    std::optional<Turns> turns(const json::Value& body) const override {
        json::Ref contents = json::root_ref(body).get("contents");
        Turns t;
        t.array = contents.path;
        for (std::size_t i = 0; i < contents.size(); ++i) {
            json::Ref content = contents.at(i);
            json::Ref parts = content.get("parts");
            bool responses = false;
            for (std::size_t k = 0; k < parts.size(); ++k) {
                responses = responses || parts.at(k).get("functionResponse", "function_response");
            }
            t.items.push_back(!content.get("role").equals("model") && !responses ? Turns::Item::Opens
                                                                               : Turns::Item::Continues);
        }
        return t;
    }

    json::Value user_message(std::string text) const override {
        return json::object_value(
            {{"role", json::string_value("user")},
             {"parts", json::array_value({json::object_value({{"text", json::string_value(std::move(text))}})})}});
    }

    std::optional<std::size_t> max_output_tokens(const json::Value& body) const override {
        json::Ref root = json::root_ref(body);
        return count_of(root.get("generationConfig", "generation_config").get("maxOutputTokens", "max_output_tokens"));
    }

    SystemText system_text(const json::Value& body) const override {
        SystemText s;
        json::Ref parts = json::root_ref(body).get("systemInstruction", "system_instruction").get("parts");
        for (std::size_t k = 0; k < parts.size(); ++k) {
            json::Ref text = parts.at(k).get("text");
            if (text.is_string()) s.texts.push_back(text.path);
        }
        return s;
    }

    // A last text part of the newest content, which must be the user's (a
    // content without a role is the user's too).
    std::optional<Edit> note(const json::Value& body, const std::string&,
                             std::string text) const override {
        json::Ref contents = json::root_ref(body).get("contents");
        if (contents.size() == 0) return std::nullopt;
        json::Ref last = contents.at(contents.size() - 1);
        json::Ref role = last.get("role");
        json::Ref parts = last.get("parts");
        if ((role && !role.equals("user")) || !parts.is_array()) return std::nullopt;
        Edit e;
        e.target = parts.path;
        e.value = json::object_value({{"text", json::string_value(std::move(text))}});
        return e;
    }

    std::vector<json::Path> tool_lists(const json::Value& body) const override {
        std::vector<json::Path> lists;
        json::Ref tools = json::root_ref(body).get("tools");
        for (std::size_t i = 0; i < tools.size(); ++i) {
            json::Ref decls = tools.at(i).get("functionDeclarations", "function_declarations");
            if (decls.is_array()) lists.push_back(decls.path);
        }
        return lists;
    }

    std::vector<PrefixPart> prefix(const json::Value& body) const override {
        json::Ref root = json::root_ref(body);
        return {{'t', root.get("tools")}, {'s', root.get("systemInstruction", "system_instruction")}};
    }

    // A tool of its own, last: one with function declarations already
    // there is the request's (built-in tools such as googleSearch alone do
    // not count).
    std::optional<Edit> add_tool(const json::Value& body, std::string_view name, const char* description,
                                 const json::Value& parameters) const override {
        json::Ref tools = json::root_ref(body).get("tools");
        bool declares = false;
        for (const json::Path& p : tool_lists(body)) {
            json::Ref decls{json::resolve(body, p), p};
            if (decls.size() > 0) declares = true;
            if (has_tool_named(decls, name, "name")) return std::nullopt;
        }
        if (!declares) return std::nullopt;
        Edit e;
        e.target = tools.path;
        json::Value decl = json::object_value({{"name", json::string_value(std::string(name))},
                                               {"description", json::string_value(description)},
                                               {"parameters", parameters}});
        e.value = json::object_value({{"functionDeclarations", json::array_value({std::move(decl)})}});
        return e;
    }

    bool upper_schema_types() const override { return true; }

    // functionResponse.response is an object.
    json::Value output_value(std::string text) const override {
        return json::object_value({{"content", json::string_value(std::move(text))}});
    }
};

}  // namespace

const Dialect& gemini() {
    static const Gemini d;
    return d;
}

}  // namespace headroom::dialect
