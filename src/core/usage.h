// What the provider says a call used, read from its response as it passes
// (a plain JSON answer, or a stream of server-sent events), fed in pieces
// of any size. The reader only looks: the response goes on as it came.
//
// Where each API puts it:
//   openai_chat         usage {prompt_tokens (cached included),
//                       prompt_tokens_details.cached_tokens,
//                       completion_tokens (reasoning included)}; a stream
//                       has it in its last chunk only when the client asked
//                       (stream_options.include_usage)
//   openai_responses    usage {input_tokens (cached included),
//                       input_tokens_details.cached_tokens, output_tokens};
//                       a stream: response.usage of response.completed
//   anthropic_messages  usage {input_tokens (uncached only),
//                       cache_read_input_tokens, cache_creation_input_tokens,
//                       output_tokens}; a stream: message.usage of
//                       message_start, then usage of message_delta
//   gemini              usageMetadata {promptTokenCount (cached included),
//                       cachedContentTokenCount, candidatesTokenCount,
//                       thoughtsTokenCount}; in every chunk of a stream
// A later figure replaces an earlier one (streams repeat them, growing).
// Only where the API puts them: a tool's input that holds a "usage" key
// deeper down is not the provider's word.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/decode.h"

namespace headroom {

namespace tokenizer {
class Encoding;
}

struct Usage {
    // Every input token, cached ones included (Anthropic: input, cache
    // reads and cache writes together).
    std::uint64_t input = 0;
    std::uint64_t cached = 0;       // read from the provider's cache
    std::uint64_t cache_write = 0;  // written to it (Anthropic)
    std::uint64_t output = 0;       // reasoning included
    bool found = false;             // the provider said something
    // Not the provider's word: headroom's count of the request as sent and
    // of the answer's streamed text (estimate_without_usage).
    bool estimated = false;
    // The model the answer names (OpenAI and Anthropic "model", Gemini
    // "modelVersion"), kMaxModel bytes at most; "" when it names none:
    // what prices a call whose request headroom did not read.
    std::string model;
    // The Responses API answer's id, which a next request may continue
    // (previous_response_id); "" otherwise.
    std::string response_id;
};

class UsageReader {
public:
    enum class Form { Json, EventStream };

    // `api`: the request's shape ("openai_chat", ...); an unknown one
    // reads nothing.
    // `encoding`: the answer's Content-Encoding, decoded on the side
    // (kMaxDecoded at most: past it, what was read stands).
    UsageReader(std::string_view api, Form form, Encoding encoding = Encoding::Identity);
    static constexpr std::size_t kMaxDecoded = 8 << 20;
    ~UsageReader();
    UsageReader(const UsageReader&) = delete;
    UsageReader& operator=(const UsageReader&) = delete;

    // An OpenAI chat stream carries usage only when the client asked
    // (stream_options.include_usage); headroom does not ask for it, since
    // that would change what the client receives. Without it, usage() is
    // `input` (the request's tokens as sent, counted by the caller) and the
    // streamed text (content, refusals, tool calls' names and arguments)
    // counted with `encoding`, marked estimated.
    void estimate_without_usage(const tokenizer::Encoding* encoding, std::uint64_t input) noexcept;

    // Never throws; a response it cannot read is simply not read further.
    void feed(std::string_view bytes) noexcept;
    // The response is whole.
    void finish() noexcept;

    Usage usage() const;

    // Numbers found, before the API's meaning is given to them.
    struct Raw {
        std::uint64_t prompt_tokens = 0, completion_tokens = 0, cached_tokens = 0;
        std::uint64_t input_tokens = 0, output_tokens = 0;
        std::uint64_t cache_read = 0, cache_creation = 0;
        std::uint64_t prompt_count = 0, cached_count = 0, candidates_count = 0, thoughts_count = 0;
        std::uint32_t seen = 0;  // which of them were found, a bit each
        // The streamed text of an OpenAI chat answer, when collected.
        bool collect = false;
        std::string text;
        std::string model;  // the answer's first word on it
        bool ids = false;   // a Responses answer: its id is read
        std::string response_id;
    };
    static constexpr std::size_t kMaxModel = 128;
    static constexpr std::size_t kMaxText = 4 << 20;

private:
    class Json;
    void event(std::string_view data) noexcept;
    void read(std::string_view decoded) noexcept;
    void end() noexcept;

    int api_;  // -1: unknown
    Form form_;
    bool broken_ = false;
    Raw raw_;
    std::unique_ptr<Json> json_;  // Form::Json: one parse over the whole answer
    std::unique_ptr<Decoder> decoder_;  // an encoded answer
    std::size_t decoded_read_ = 0;      // of its decoded bytes, read
    std::string line_;            // Form::EventStream: the line being read
    bool after_cr_ = false;       // its last line ended with "\r"
    std::string data_;            // and the event's data so far
    const tokenizer::Encoding* estimate_with_ = nullptr;
    std::uint64_t estimated_input_ = 0;
    std::uint64_t estimated_output_ = 0;
    bool estimate_ = false;       // no usage: the estimate stands in
};

}  // namespace headroom
