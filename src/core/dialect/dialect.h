// What headroom knows of one provider API's request JSON, in one place per
// API: where the tool outputs are (with their tools, ids and questions),
// the system text, the tool definitions, the model, the cache hints and
// where a note may go. The pipeline and the prefix passes ask a dialect;
// nothing else looks at the shape of a request.
//
// A dialect answers with positions (json::Path), never with pointers into
// the tree it read, so that what it says holds for any representation of
// the same bytes. Adding an API is a file here and a row in dialects.cc.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/json_path.h"

namespace headroom {

// One tool output: the text the model reads, made of one string or of
// several text parts joined in order with nothing between; or, where an
// API takes tool output as JSON (Gemini's functionResponse.response), one
// structured value, every string of which is a text of its own.
struct ToolOutputSite {
    std::vector<json::Path> parts;  // string values, in order
    json::Path value;               // the structured value, when `structured`
    bool structured = false;
    // Where each part (or the value) is in the request's bytes, where known.
    std::vector<json::Span> spans;
    std::string tool_name;          // the tool that made it; "" when unknown
    std::string call_id;            // the call it answers; "" when none
    std::size_t question = 0;       // index into RequestMap::questions
    std::size_t message_index = 0;  // the message (or item) that holds it
    // For a retrieval's fill: the whole output value (to put an answer in
    // its place), the result's error flag where the API has one, and the
    // arguments of the call it answers (an object, or OpenAI's JSON text).
    std::optional<json::Path> content;
    std::optional<json::Path> error_flag;
    std::optional<json::Path> call_args;

    void add_part(const json::Ref& text) {
        parts.push_back(text.path);
        spans.push_back(text.span());
    }
    void set_value(const json::Ref& v) {
        structured = true;
        value = v.path;
        spans.assign(1, v.span());
    }
};

struct RequestMap {
    // The user texts that asked for tool calls; [0] is "" (none yet). Each
    // output's question is the last one before its call: fixed in the
    // history, so later turns see the same.
    std::vector<std::string> questions{std::string()};
    std::vector<ToolOutputSite> outputs;  // in document order
};

// System and developer text: string values, and the role a note about them
// speaks with.
struct SystemText {
    std::vector<json::Path> texts;
    std::string note_role;
};

// A change at a position: `value` appended to the array at `target`, or put
// in the place of the value there.
struct Edit {
    enum class Op { Append, Replace };
    Op op = Op::Append;
    json::Path target;
    json::Value value;
};

// Applies `edit`; false (and nothing changed) when its target is gone.
bool apply(const Edit& edit, json::Value& body);

// A part of what every call of a session sends first, for the prefix hash:
// a letter for its kind, and where it is.
struct PrefixPart {
    PrefixPart(char k, const json::Ref& at) : kind(k), present(bool(at)), path(at.path) {}
    char kind;     // 't' tools, 's' system, 'i' instructions
    bool present;  // an absent part counts too: as nothing
    json::Path path;
};

// The conversation as fitting sees it (headroom_fit): the array of its
// messages (or input items, or contents) and what each item is. A turn is
// an item that Opens and every item up to the next one that does; a tool
// call and its result are always in one turn.
struct Turns {
    enum class Item : unsigned char {
        Pinned,     // system or developer text: never dropped
        Opens,      // a user's message holding no tool result
        Continues,  // the rest of a turn: answers, calls, results
    };
    json::Path array;
    std::vector<Item> items;
};

class Dialect {
public:
    virtual ~Dialect() = default;

    // The shape's name in logs, variables and directives: "openai_chat".
    virtual const char* name() const = 0;

    // Requests to `path` (no query string) speak this API. Prefixes such as
    // "/openai/v1" are allowed, so the end is what counts.
    virtual bool speaks(std::string_view path) const = 0;

    // The body has this API's shape.
    virtual bool accepts(const json::Value& body) const = 0;

    // The model asked for: the body's "model" unless the API puts it in the
    // path. "" when none.
    virtual std::string model(std::string_view path, const json::Value& body) const;

    // Sends the request to `model` (headroom_route): the body's "model",
    // which must be a string already; false when there is none. Gemini's
    // model is in the path: see path_with_model.
    virtual bool set_model(json::Value& body, std::string_view model) const;

    // The path that names `model` instead, where the API puts the model in
    // the path; "" where it does not.
    virtual std::string path_with_model(std::string_view path, std::string_view model) const;

    virtual RequestMap tool_outputs(const json::Value& body) const = 0;

    virtual SystemText system_text(const json::Value& body) const = 0;

    // The edit that puts a text note after the newest content, with the
    // role given; nullopt where the request has no place for one (a
    // prefilled assistant turn).
    virtual std::optional<Edit> note(const json::Value& body, const std::string& role,
                                     std::string text) const = 0;

    // The arrays of tool definitions, each to be put in one order.
    virtual std::vector<json::Path> tool_lists(const json::Value& body) const;

    // The request defines at least one tool (the provider's own, such as
    // web search, too).
    virtual bool defines_tools(const json::Value& body) const;

    // The parts of the stable prefix besides the model, in order.
    virtual std::vector<PrefixPart> prefix(const json::Value& body) const = 0;

    // The edit that appends the tool `name` (its description and JSON
    // Schema parameters given) to a request that already defines tools of
    // its own, in this API's form; nullopt when the request has none, or
    // has that tool already.
    virtual std::optional<Edit> add_tool(const json::Value& body, std::string_view name,
                                         const char* description, const json::Value& parameters) const = 0;

    // JSON Schema types as the API spells them: Gemini's OpenAPI schema
    // takes "OBJECT".
    virtual bool upper_schema_types() const { return false; }

    // What takes the place of a tool output's value to answer with `text`.
    virtual json::Value output_value(std::string text) const { return json::string_value(std::move(text)); }

    // Cache hints the API takes. Anthropic: cache_control breakpoints, when
    // the request has none; returns how many were added.
    virtual std::size_t add_cache_breakpoints(json::Value& body) const;
    // OpenAI: a key that routes a session's calls to one cache, when the
    // request has none; returns whether it was set.
    virtual bool set_cache_key(json::Value& body, std::string_view key) const;

    // The conversation's items, for fitting; nullopt where the request
    // has no list of them (a Responses input that is one string).
    virtual std::optional<Turns> turns(const json::Value&) const { return std::nullopt; }

    // A message of the user's saying `text`, as an item of turns()'s array.
    virtual json::Value user_message(std::string text) const;

    // The most output tokens the request lets the model write, where it
    // says (max_tokens and the like).
    virtual std::optional<std::size_t> max_output_tokens(const json::Value&) const { return std::nullopt; }

    // The provider's answer to this request says what it used (usage).
    virtual bool answer_reports_usage(const json::Value&) const { return true; }

    // Where the provider keeps the conversation and the request resends
    // none of it (Responses: previous_response_id, conversation): what
    // names it, as "response:ID" or "conversation:ID"; "" otherwise.
    virtual std::string kept_conversation(const json::Value&) const { return {}; }
};

// The dialect that speaks `path`, or nullptr.
const Dialect* dialect_for_path(std::string_view path);

}  // namespace headroom
