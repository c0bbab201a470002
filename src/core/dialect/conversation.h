// What the dialects share when they walk a conversation: the questions the
// user asked, which question each tool call answered, and the texts of a
// message's content. Not a dialect itself: no API's shape is known here.
#pragma once

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/dialect/dialect.h"

namespace headroom::dialect {

class Conversation {
public:
    // A user's text: the question for the calls that follow.
    void user_said(std::string text);

    // A tool call, by its id ("" when the API gives none), tool and
    // arguments.
    void call(std::string_view id, std::string_view tool, const json::Ref& args = {});

    // An output answering the call `id` (its question, arguments and tool
    // unless the output names its own); without an id, the latest call of
    // `tool`, and the arguments of the earliest call of it not yet
    // answered.
    // Its parts or value are the caller's to fill in.
    ToolOutputSite& output(std::string_view id, std::string_view tool, std::size_t message_index);

    RequestMap take() { return std::move(map_); }

private:
    struct Call {
        std::string tool;
        std::size_t question;
        std::optional<json::Path> args;
    };
    std::size_t current_question() const { return map_.questions.size() - 1; }

    RequestMap map_;
    std::map<std::string, Call, std::less<>> by_id_;
    std::map<std::string, std::size_t, std::less<>> latest_by_tool_;  // question
    // Arguments of calls without an id, by tool, in order, until answered.
    std::map<std::string, std::deque<std::optional<json::Path>>, std::less<>> unanswered_;
};

// Whether any item of `tools` (an array) has `name` at `key`, or under
// `outer` then `key` when `outer` is given.
bool has_tool_named(json::Ref tools, std::string_view name, std::string_view key,
                    std::string_view outer = {});

// The body's `key` is an array: what each API's shape starts with.
inline bool has_array(const json::Value& body, std::string_view key) {
    const json::Value* v = body.find(key);
    return v != nullptr && v->is_array();
}

// The texts of a content: the string itself, or each of its parts typed
// `part_type` whose "text" is a string.
std::vector<json::Ref> text_parts(json::Ref content, std::string_view part_type);

// Those texts joined by '\n'.
std::string joined_text(json::Ref content, std::string_view part_type);

// The content with `text` after its texts: a string becomes the array of
// its one text block ({"type":"text","text":...}) and the new block.
json::Value with_text_block(const json::Value& content, std::string text);

// A whole number the request gives (max_tokens and the like): nullopt
// for anything else (a fraction, a sign, a string, absent).
std::optional<std::size_t> count_of(json::Ref v);

}  // namespace headroom::dialect
