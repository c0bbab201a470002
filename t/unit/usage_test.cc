// The provider's usage, read from each API's answers as they pass: plain
// JSON and event streams, fed whole, byte by byte and split at every
// offset, against the figures worked out by hand from each API's
// documented fields.
#include "core/usage.h"

#include <gtest/gtest.h>

#include "compress_for_tests.h"
#include "core/tokenizer/encoding.h"
#include "core/tokenizer/tokenizers.h"

#include <string>

using headroom::Usage;
using headroom::UsageReader;

namespace {

Usage read(std::string_view api, UsageReader::Form form, const std::string& bytes, std::size_t piece = 0) {
    UsageReader r(api, form);
    if (piece == 0) {
        r.feed(bytes);
    } else {
        for (std::size_t i = 0; i < bytes.size(); i += piece) r.feed(std::string_view(bytes).substr(i, piece));
    }
    r.finish();
    return r.usage();
}

// Every way of cutting the bytes gives the same figures.
void expect_usage(std::string_view api, UsageReader::Form form, const std::string& bytes, std::uint64_t input,
                  std::uint64_t cached, std::uint64_t cache_write, std::uint64_t output) {
    for (std::size_t piece : {std::size_t(0), std::size_t(1), std::size_t(2), std::size_t(7), std::size_t(64)}) {
        const Usage u = read(api, form, bytes, piece);
        EXPECT_TRUE(u.found) << api << " piece " << piece;
        EXPECT_EQ(u.input, input) << api << " piece " << piece;
        EXPECT_EQ(u.cached, cached) << api << " piece " << piece;
        EXPECT_EQ(u.cache_write, cache_write) << api << " piece " << piece;
        EXPECT_EQ(u.output, output) << api << " piece " << piece;
    }
    for (std::size_t cut = 0; cut <= bytes.size(); ++cut) {
        UsageReader r(api, form);
        r.feed(std::string_view(bytes).substr(0, cut));
        r.feed(std::string_view(bytes).substr(cut));
        r.finish();
        EXPECT_EQ(r.usage().input, input) << api << " cut at " << cut;
        EXPECT_EQ(r.usage().output, output) << api << " cut at " << cut;
    }
}

constexpr auto kJson = UsageReader::Form::Json;
constexpr auto kEvents = UsageReader::Form::EventStream;

}  // namespace

TEST(Usage, OpenAiChat) {
    expect_usage("openai_chat", kJson,
                 R"({"id":"c","choices":[{"message":{"role":"assistant","content":"{\"usage\":{\"prompt_tokens\":9}}"}}],)"
                 R"("usage":{"prompt_tokens":1200,"completion_tokens":340,"total_tokens":1540,)"
                 R"("prompt_tokens_details":{"cached_tokens":1024},"completion_tokens_details":{"reasoning_tokens":200}}})",
                 1200, 1024, 0, 340);
    // A stream carries it in its last chunk when the client asked for it.
    expect_usage("openai_chat", kEvents,
                 "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}],\"usage\":null}\n\n"
                 "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":50,\"completion_tokens\":7,"
                 "\"prompt_tokens_details\":{\"cached_tokens\":0}}}\n\n"
                 "data: [DONE]\n\n",
                 50, 0, 0, 7);
    // Without it, nothing is found.
    EXPECT_FALSE(read("openai_chat", kEvents, "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\ndata: [DONE]\n\n").found);
}

TEST(Usage, OpenAiResponses) {
    expect_usage("openai_responses", kJson,
                 R"({"id":"r","output":[],"usage":{"input_tokens":3000,"input_tokens_details":{"cached_tokens":2048},)"
                 R"("output_tokens":500,"output_tokens_details":{"reasoning_tokens":320},"total_tokens":3500}})",
                 3000, 2048, 0, 500);
    expect_usage("openai_responses", kEvents,
                 "event: response.created\r\ndata: {\"type\":\"response.created\",\"response\":{\"usage\":null}}\r\n\r\n"
                 "event: response.output_text.delta\r\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"x\"}\r\n\r\n"
                 "event: response.completed\r\ndata: {\"type\":\"response.completed\",\"response\":{\"usage\":"
                 "{\"input_tokens\":80,\"input_tokens_details\":{\"cached_tokens\":64},\"output_tokens\":12}}}\r\n\r\n",
                 80, 64, 0, 12);
}

TEST(Usage, AnthropicCountsCacheReadsAndWritesAsInput) {
    expect_usage("anthropic_messages", kJson,
                 R"({"id":"msg","content":[{"type":"tool_use","input":{"usage":{"input_tokens":99999}}}],)"
                 R"("usage":{"input_tokens":20,"cache_creation_input_tokens":1500,"cache_read_input_tokens":30000,"output_tokens":410}})",
                 31520, 30000, 1500, 410);
    // message_start, then message_delta's growing output count.
    expect_usage("anthropic_messages", kEvents,
                 "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":"
                 "{\"input_tokens\":12,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":4000,\"output_tokens\":1}}}\n\n"
                 "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"a\"}}\n\n"
                 "event: ping\ndata: {\"type\": \"ping\"}\n\n"
                 "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":88}}\n\n"
                 "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
                 4012, 4000, 0, 88);
}

TEST(Usage, GeminiCountsThoughtsAsOutput) {
    expect_usage("gemini", kJson,
                 R"({"candidates":[{"content":{"parts":[{"text":"x"}]}}],"usageMetadata":{"promptTokenCount":900,)"
                 R"("cachedContentTokenCount":512,"candidatesTokenCount":40,"thoughtsTokenCount":100,"totalTokenCount":1040}})",
                 900, 512, 0, 140);
    // streamGenerateContent without alt=sse: an array of answers.
    expect_usage("gemini", kJson,
                 R"([{"candidates":[],"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":1}},)"
                 R"({"candidates":[],"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":25}}])",
                 10, 0, 0, 25);
    expect_usage("gemini", kEvents,
                 "data: {\"candidates\":[],\"usageMetadata\":{\"promptTokenCount\":10,\"candidatesTokenCount\":3}}\r\n\r\n"
                 "data: {\"candidates\":[],\"usageMetadata\":{\"promptTokenCount\":10,\"candidatesTokenCount\":9,"
                 "\"thoughtsTokenCount\":4}}\r\n\r\n",
                 10, 0, 0, 13);
}

TEST(Usage, WhatIsNotAnAnswerIsNotRead) {
    EXPECT_FALSE(read("openai_chat", kJson, "{\"usage\":{\"prompt_tokens\":").found);
    EXPECT_FALSE(read("openai_chat", kJson, "<html>502 Bad Gateway</html>").found);
    EXPECT_FALSE(read("unknown", kJson, R"({"usage":{"prompt_tokens":5}})").found);
    EXPECT_FALSE(read("openai_chat", kJson, R"({"data":{"usage":{"prompt_tokens":5}}})").found);
    EXPECT_FALSE(read("openai_chat", kJson, R"({"usage":{"prompt_tokens":-5}})").found);
    // An event's data over several lines is one JSON text.
    EXPECT_EQ(read("openai_chat", kEvents, "data: {\"usage\":\ndata: {\"prompt_tokens\":5}}\n\n").input, 5u);
    // A stream cut short still gives what came.
    EXPECT_EQ(read("openai_chat", kEvents, "data: {\"usage\":{\"prompt_tokens\":6}}").input, 6u);
}

// An encoded answer is decoded on the side, in pieces of any size.
TEST(Usage, EncodedAnswersAreReadDecoded) {
    const std::string answer =
        R"({"id":"c","usage":{"prompt_tokens":1200,"completion_tokens":340,"prompt_tokens_details":{"cached_tokens":1024}}})";
    for (auto encoding : {headroom::Encoding::Gzip, headroom::Encoding::Deflate, headroom::Encoding::Zstd,
                          headroom::Encoding::Brotli}) {
        const std::string coded = compress_for_tests::encode(encoding, answer);
        for (std::size_t piece : {std::size_t(1), std::size_t(5), coded.size()}) {
            UsageReader r("openai_chat", kJson, encoding);
            for (std::size_t i = 0; i < coded.size(); i += piece) r.feed(std::string_view(coded).substr(i, piece));
            r.finish();
            EXPECT_TRUE(r.usage().found) << headroom::encoding_name(encoding) << " piece " << piece;
            EXPECT_EQ(r.usage().input, 1200u);
            EXPECT_EQ(r.usage().output, 340u);
        }
        UsageReader cut("openai_chat", kJson, encoding);
        cut.feed(std::string_view(coded).substr(0, coded.size() / 2));
        cut.finish();
        EXPECT_FALSE(cut.usage().found) << headroom::encoding_name(encoding) << ": cut short, nothing";
    }
    UsageReader garbage("openai_chat", kJson, headroom::Encoding::Gzip);
    garbage.feed(answer);
    garbage.finish();
    EXPECT_FALSE(garbage.usage().found);
}

// Another API's fields are not this one's word.
TEST(Usage, AnotherApisFieldsAreNotRead) {
    EXPECT_FALSE(read("openai_chat", kJson, R"({"usage":{"input_tokens":5,"output_tokens":1}})").found);
    EXPECT_FALSE(read("anthropic_messages", kJson, R"({"usage":{"prompt_tokens":5}})").found);
    EXPECT_FALSE(read("gemini", kJson, R"({"usage":{"prompt_tokens":5}})").found);
    EXPECT_TRUE(read("openai_responses", kJson, R"({"usage":{"input_tokens":5,"output_tokens":1}})").found);
}

// An OpenAI stream without include_usage: the caller's count of the
// request, and the streamed text (content, refusal, tool calls' names and
// arguments; not ids, roles or other fields) counted, however cut.
TEST(Usage, AStreamWithoutUsageIsEstimated) {
    std::string error;
    auto tokenizers = headroom::tokenizer::Tokenizers::load(HEADROOM_TOKENIZER_DIR, {}, error);
    ASSERT_NE(tokenizers, nullptr) << error;
    const headroom::tokenizer::Encoding* enc = tokenizers->for_model("gpt-4o").encoding;
    const std::string stream =
        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n"
        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"The weather \\u00e9t\\u00e9\"}}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"refusal\":\" no\"}}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_9\",\"type\":\"function\","
        "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"ci\"}}]}}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"ty\\\":1}\"}}]}}]}\n\n"
        "data: [DONE]\n\n";
    const std::uint64_t want = enc->count("The weather \xc3\xa9t\xc3\xa9 noget_weather{\"city\":1}");
    for (std::size_t piece : {std::size_t(1), std::size_t(5), stream.size()}) {
        UsageReader r("openai_chat", kEvents);
        r.estimate_without_usage(enc, 1234);
        for (std::size_t i = 0; i < stream.size(); i += piece) r.feed(std::string_view(stream).substr(i, piece));
        r.finish();
        const Usage u = r.usage();
        EXPECT_TRUE(u.found);
        EXPECT_TRUE(u.estimated);
        EXPECT_EQ(u.input, 1234u);
        EXPECT_EQ(u.output, want) << "piece " << piece;
        EXPECT_EQ(u.cached, 0u);
    }
    // The provider's word wins where there is one.
    UsageReader r("openai_chat", kEvents);
    r.estimate_without_usage(enc, 1234);
    r.feed("data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n"
           "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":50,\"completion_tokens\":7}}\n\n");
    r.finish();
    EXPECT_FALSE(r.usage().estimated);
    EXPECT_EQ(r.usage().input, 50u);
    // Other APIs always report usage: nothing is estimated for them.
    UsageReader a("anthropic_messages", kEvents);
    a.estimate_without_usage(enc, 1234);
    a.feed("data: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"hi\"}}\n\n");
    a.finish();
    EXPECT_FALSE(a.usage().found);
}

// The model an answer names, where each API puts it: what prices a call
// whose request headroom did not read.
TEST(Usage, TheAnswerNamesItsModel) {
    auto model_of = [](std::string_view api, UsageReader::Form form, const std::string& bytes) {
        UsageReader r(api, form);
        r.feed(bytes);
        r.finish();
        return r.usage().model;
    };
    EXPECT_EQ(model_of("openai_chat", kJson,
                       R"({"id":"c","model":"gpt-4o-2024-08-06","choices":[{"message":{"content":"{\"model\":\"x\"}"}}],"usage":{"prompt_tokens":1}})"),
              "gpt-4o-2024-08-06");
    EXPECT_EQ(model_of("openai_chat", kEvents, "data: {\"model\":\"gpt-4o-mini\",\"choices\":[]}\n\ndata: [DONE]\n\n"),
              "gpt-4o-mini");
    EXPECT_EQ(model_of("openai_responses", kEvents,
                       "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"model\":\"gpt-5\"}}\n\n"),
              "gpt-5");
    EXPECT_EQ(model_of("anthropic_messages", kEvents,
                       "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"claude-sonnet-4-5\"}}\n\n"),
              "claude-sonnet-4-5");
    EXPECT_EQ(model_of("gemini", kJson, R"({"candidates":[],"modelVersion":"gemini-2.5-flash"})"), "gemini-2.5-flash");
    // Deeper down is a tool's, not the answer's; too long is no name.
    EXPECT_EQ(model_of("anthropic_messages", kJson,
                       R"({"content":[{"type":"tool_use","input":{"model":"fake"}}]})"),
              "");
    EXPECT_EQ(model_of("openai_chat", kJson, "{\"model\":\"" + std::string(200, 'm') + "\"}"), "");
}

// A Responses answer's id, which the next request may continue.
TEST(Usage, AResponsesAnswerSaysItsId) {
    auto id_of = [](std::string_view api, UsageReader::Form form, const std::string& bytes) {
        UsageReader r(api, form);
        r.feed(bytes);
        r.finish();
        return r.usage().response_id;
    };
    EXPECT_EQ(id_of("openai_responses", kJson, R"({"id":"resp_1","object":"response","output":[{"id":"msg_9"}]})"),
              "resp_1");
    EXPECT_EQ(id_of("openai_responses", kEvents,
                    "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_2\"}}\n\n"
                    "event: response.output_item.added\ndata: {\"type\":\"response.output_item.added\",\"item\":{\"id\":\"msg_3\"}}\n\n"),
              "resp_2");
    EXPECT_EQ(id_of("openai_chat", kJson, R"({"id":"chatcmpl-1","choices":[]})"), "");
}
