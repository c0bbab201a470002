// Finds the text of every tool output in a request, whatever the API shape:
// the only places transforms may change. User, assistant and system text,
// tool-call arguments, images and thinking blocks are never visited.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "core/json.h"
#include "core/shape.h"

namespace headroom {

struct ToolOutput {
    std::string& text;          // the output's text, to read or replace
    std::size_t message_index;  // position in messages[] / input[]
    // The tool that produced it, from the matching call in the request; ""
    // when the call is not there.
    std::string_view tool_name;
    // The text of the last user message before the call: the question the
    // output answers. Fixed in the history, so a later turn sees the same.
    std::string_view question;
};
// The views live only during the visit.
using ToolOutputVisitor = std::function<void(ToolOutput&)>;

// Calls `visit` for each tool output text, in document order. Outputs made
// of several text parts are visited part by part.
void for_each_tool_output(Shape shape, json::Value& body, const ToolOutputVisitor& visit);

}  // namespace headroom
