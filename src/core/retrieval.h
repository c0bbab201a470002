// The ways back to an original that a crusher left something out of: what
// a retrieval asks for (the headroom_retrieve tool's arguments, the
// endpoint's query), what it answers, and the tool's definition. The
// originals themselves are kept by the caller (shared memory, Redis): the
// core only asks for them by id.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"

namespace headroom::retrieval {

inline constexpr std::string_view kToolName = "headroom_retrieve";

// What a store answers for an id: the original (valid until the core
// returns), or why not.
struct Stored {
    enum class State { Found, Missing, Unavailable };
    State state = State::Missing;
    std::string_view text;
};

// Looks an id (32 hex digits) up in the store, under the request's tenant.
using Lookup = std::function<Stored(std::string_view id)>;

// What is asked of one original. Ranges are 1-based lines of the original
// (as markers number them) or 0-based item indices (as JSON markers give
// them): "120-159", "7", or a list "3,10-12".
struct Request {
    std::string id;
    std::string lines;   // "" for all
    std::string items;   // "" for none
    std::string grep;    // "" for none
};

// The tool's arguments (an object; OpenAI sends it as a JSON string),
// checked; nullopt with the reason in `error`.
std::optional<Request> request_of(const json::Value& args, std::string& error);
std::optional<Request> request_of_text(std::string_view arguments, std::string& error);

// The part of `original` asked for, as it is there: lines joined by '\n',
// grep hits each after its line number and ": ", items as a JSON array of
// their bytes. nullopt with the reason when the request does not fit the
// original (an item of a text, a range past its end).
struct Selection {
    std::string text;
    std::string what;   // "lines 120-159 of 2000", for a header
};
std::optional<Selection> select(std::string_view original, const Request& req, std::string& error);

// What the model reads in a filled result: a header line naming the
// original and the part, then the part; or one line saying why there is
// nothing. Every answer starts with "[headroom: ".
std::string answer(const Request& req, const Stored& stored);

// What a call is told when the answers of its request (or MCP message)
// already hold `max_bytes` of originals.
std::string too_much(const Request& req, std::size_t max_bytes);

// A text answer() made from a found original: one that was filled already.
bool is_filled(std::string_view text, std::string_view id);

// The tool's description and JSON Schema parameters, the same bytes on
// every request; `upper_types` for Gemini's OpenAPI schema ("OBJECT").
json::Value parameters(bool upper_types);
const char* description();

}  // namespace headroom::retrieval
