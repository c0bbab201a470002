// Summaries of old turns (headroom_summarize): what the summarizing
// location is asked (an OpenAI chat-completions body), how its answer is
// read, and the id a summary is kept under in the store. A span of turns
// is summarized once: its summary is kept under an id made of the model
// and the span's own id, so every later turn sends the same bytes.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace headroom::summaries {

// The fixed instruction the summarizer gets as its system message.
const char* instruction();

// The id a summary of the span `span_id` (the id of its original) by
// `model` is kept under: 32 hex digits.
std::string summary_id(std::string_view model, std::string_view span_id);

// The body the summarizing location gets: {"model":…,"messages":[{"role":
// "system","content":instruction()},{"role":"user","content":turns}]}.
std::string request_body(std::string_view model, std::string_view turns);

// A summary is at most this long; a longer answer is cut (on a
// character's boundary).
inline constexpr std::size_t kMaxSummaryBytes = 16 * 1024;

// choices[0].message.content of an OpenAI chat-completions answer, when it
// is a string with something in it; nullopt otherwise.
std::optional<std::string> summary_of_answer(std::string_view answer);

}  // namespace headroom::summaries
