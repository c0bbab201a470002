#include "core/pipeline.h"

#include <gtest/gtest.h>

#include "test_options.h"

#include <string>

#include "core/json.h"
#include "core/markers.h"

using headroom::Settings;
using headroom::Outcome;

namespace json = headroom::json;

namespace {

// A pretty-printed JSON document as it sits inside a JSON string.
const char* kPrettyEscaped = R"({\n  \"items\": [\n    1,\n    2\n  ],\n  \"ok\": true\n})";
const char* kCompactEscaped = R"({\"items\":[1,2],\"ok\":true})";

std::string sub(std::string s, const std::string& from, const std::string& to) {
    for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) {
        s.replace(p, from.size(), to);
    }
    return s;
}

}  // namespace

TEST(Pipeline, OpenAIChatToolMessageIsMinifiedAndNothingElse) {
    // The user message holds the same pretty JSON: human text is never touched.
    std::string in = sub(
        R"({"model":"gpt-4o","messages":[{"role":"user","content":"P"},)"
        R"({"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"P"}}]},)"
        R"({"role":"tool","tool_call_id":"c1","content":"P"},)"
        R"({"role":"tool","tool_call_id":"c2","content":[{"type":"text","text":"P"},{"type":"image_url","text":"P"}]}],"stream":true,"x_unknown":{"keep":[1.50]}})",
        "P", kPrettyEscaped);
    std::string want = sub(
        R"({"model":"gpt-4o","messages":[{"role":"user","content":"P"},)"
        R"({"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"P"}}]},)"
        R"({"role":"tool","tool_call_id":"c1","content":"C"},)"
        R"({"role":"tool","tool_call_id":"c2","content":[{"type":"text","text":"C"},{"type":"image_url","text":"P"}]}],"stream":true,"x_unknown":{"keep":[1.50]}})",
        "P", kPrettyEscaped);
    want = sub(want, "C", kCompactEscaped);

    auto r = process("/v1/chat/completions", in, any_size());
    ASSERT_EQ(r.outcome, Outcome::Rewritten) << headroom::reason_name(r.reason);
    EXPECT_STREQ(r.shape, "openai_chat");
    EXPECT_EQ(r.tool_outputs, 2u);
    EXPECT_EQ(r.minified, 2u);
    EXPECT_EQ(r.body, want);
}

TEST(Pipeline, ResponsesFunctionCallOutput) {
    std::string in = sub(
        R"({"model":"gpt-5","input":[{"role":"user","content":"P"},)"
        R"({"type":"function_call","call_id":"c","name":"f","arguments":"P"},)"
        R"({"type":"function_call_output","call_id":"c","output":"P"}]})",
        "P", kPrettyEscaped);
    auto r = process("/v1/responses", in, any_size());
    ASSERT_EQ(r.outcome, Outcome::Rewritten) << headroom::reason_name(r.reason);
    EXPECT_EQ(r.minified, 1u);
    std::string want = sub(in, std::string(R"("output":")") + kPrettyEscaped,
                           std::string(R"("output":")") + kCompactEscaped);
    EXPECT_EQ(r.body, want);
}

TEST(Pipeline, AnthropicToolResultStringAndBlocks) {
    std::string in = sub(
        R"({"model":"claude","max_tokens":10,"system":"P","messages":[)"
        R"({"role":"user","content":[{"type":"text","text":"P"}]},)"
        R"({"role":"assistant","content":[{"type":"thinking","thinking":"P","signature":"s"},{"type":"tool_use","id":"t","name":"f","input":{"q":"P"}}]},)"
        R"({"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"P"},)"
        R"({"type":"tool_result","tool_use_id":"u","is_error":true,"content":[{"type":"text","text":"P"}]}]}],"context_management":{"edits":[]}})",
        "P", kPrettyEscaped);
    auto r = process("/v1/messages", in, any_size());
    ASSERT_EQ(r.outcome, Outcome::Rewritten) << headroom::reason_name(r.reason);
    EXPECT_STREQ(r.shape, "anthropic_messages");
    EXPECT_EQ(r.minified, 2u);

    // Parsing the output equals parsing the input everywhere but the two
    // tool results, which parse to the same documents.
    auto a = json::parse(in, 512), b = json::parse(r.body, 512);
    ASSERT_TRUE(a.ok() && b.ok());
    auto& last_in = a.value.find("messages")->items[2].find("content")->items;
    auto& last_out = b.value.find("messages")->items[2].find("content")->items;
    EXPECT_EQ(json::serialize(*json::parse(last_in[0].find("content")->text, 512).value.find("items")),
              json::serialize(*json::parse(last_out[0].find("content")->text, 512).value.find("items")));
    last_in[0].find("content")->text = last_out[0].find("content")->text;
    last_in[1].find("content")->items[0].find("text")->text =
        last_out[1].find("content")->items[0].find("text")->text;
    EXPECT_EQ(json::serialize(a.value), json::serialize(b.value));
}

TEST(Pipeline, PassthroughReasons) {
    Settings o = any_size();
    EXPECT_STREQ(headroom::reason_name(process("/v1/chat/completions", "{not json", o).reason), "invalid_json");
    EXPECT_STREQ(headroom::reason_name(process("/v1/embeddings", R"({"input":"x"})", o).reason), "unknown_shape");
    EXPECT_STREQ(headroom::reason_name(process("/v1/chat/completions", R"({"messages":[{"role":"tool","content":"plain"}]})", o).reason),
                 "no_change");
    EXPECT_STREQ(headroom::reason_name(process("/v1/chat/completions", R"({"messages":["\udead"]})", o).reason),
                 "lone_surrogate");
    std::string deep = R"({"messages":[)" + std::string(600, '[') + std::string(600, ']') + "]}";
    EXPECT_STREQ(headroom::reason_name(process("/v1/chat/completions", deep, o).reason), "too_deep");

    auto r = process("/v1/chat/completions", "[1,", o);
    EXPECT_EQ(r.outcome, Outcome::Passthrough);
    EXPECT_TRUE(r.body.empty());
    EXPECT_FALSE(r.detail.empty());
}

// yajl lets overlong forms, encoded surrogates and code points past
// U+10FFFF through; the pipeline does not.
TEST(Pipeline, OnlyStrictUtf8IsRewritten) {
    for (const char* bad : {"\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xed\xa0\xbd\xed\xb8\x80",
                            "\xf4\x90\x80\x80", "\xf8\x88\x80\x80\x80", "\xc3"}) {
        std::string in = sub(R"({"messages":[{"role":"tool","content":"X P"}]})", "P", kPrettyEscaped);
        in.replace(in.find('X'), 1, bad);
        auto r = process("/v1/chat/completions", in, any_size());
        EXPECT_EQ(r.outcome, Outcome::Passthrough);
        EXPECT_STREQ(headroom::reason_name(r.reason), "invalid_json");
        EXPECT_EQ(r.detail.rfind("invalid UTF-8 at byte ", 0), 0u) << r.detail;
    }
    std::string lenient = std::string("[\"") + "\xc0\xaf" + "\"]";
    EXPECT_TRUE(json::parse(lenient, 8).ok()) << "yajl's own check is lenient: the pipeline's is needed";
    std::string good = sub(std::string(R"({"messages":[{"role":"system","content":"\u00e9 )") +
                               "\xc3\xa9 \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf" + R"("},{"role":"tool","content":"P"}]})",
                           "P", kPrettyEscaped);
    EXPECT_EQ(process("/v1/chat/completions", good, any_size()).outcome, Outcome::Rewritten);
}

TEST(Pipeline, DisabledTransformChangesNothing) {
    std::string in = sub(R"({"messages":[{"role":"tool","content":"P"}]})", "P", kPrettyEscaped);
    Settings o = any_size();
    o.minify_tool_json = false;
    o.crush_json = false;
    auto r = process("/v1/chat/completions", in, o);
    EXPECT_EQ(r.outcome, Outcome::Passthrough);
    EXPECT_STREQ(headroom::reason_name(r.reason), "no_change");
    EXPECT_EQ(r.tool_outputs, 1u);
}

TEST(Pipeline, SameInputSameBytes) {
    std::string in = sub(R"({"messages":[{"role":"tool","content":"P"}],"z":1,"a":2})", "P",
                         kPrettyEscaped);
    auto a = process("/v1/chat/completions", in, any_size());
    auto b = process("/v1/chat/completions", in, any_size());
    ASSERT_EQ(a.outcome, Outcome::Rewritten);
    EXPECT_EQ(a.body, b.body);
}

TEST(Pipeline, UnknownPathIsNotParsed) {
    // Invalid JSON on an unknown path: the reason shows it was never parsed.
    auto r = process("/v1/embeddings", "{not json", any_size());
    EXPECT_EQ(r.outcome, Outcome::Passthrough);
    EXPECT_STREQ(headroom::reason_name(r.reason), "unknown_shape");
}

TEST(Pipeline, SmallAndProtectedOutputsAreLeftAlone) {
    std::string in = sub(R"({"messages":[)"
                         R"({"role":"assistant","tool_calls":[{"id":"r","function":{"name":"Read"}},)"
                         R"({"id":"s","function":{"name":"mcp__secrets__get"}},{"id":"g","function":{"name":"grep"}}]},)"
                         R"({"role":"tool","tool_call_id":"r","content":"P"},)"
                         R"({"role":"tool","tool_call_id":"s","content":"P"},)"
                         R"({"role":"tool","tool_call_id":"g","content":"P"}]})",
                         "P", kPrettyEscaped);
    Settings o = any_size();
    o.protect_tools = {"Read", "mcp__secrets__*"};
    auto r = process("/v1/chat/completions", in, o);
    ASSERT_EQ(r.outcome, Outcome::Rewritten);
    EXPECT_EQ(r.protected_, 2u);
    EXPECT_EQ(r.minified, 1u);
    // Only grep's output changed.
    EXPECT_NE(r.body.find(std::string(R"("tool_call_id":"r","content":")") + kPrettyEscaped), std::string::npos);
    EXPECT_NE(r.body.find(std::string(R"("tool_call_id":"s","content":")") + kPrettyEscaped), std::string::npos);
    EXPECT_NE(r.body.find(std::string(R"("tool_call_id":"g","content":")") + kCompactEscaped), std::string::npos);

    Settings floor;  // the default floor is above this tiny output
    auto small = process("/v1/chat/completions", in, floor);
    EXPECT_EQ(small.outcome, Outcome::Passthrough);
    EXPECT_STREQ(headroom::reason_name(small.reason), "no_change");
    EXPECT_EQ(small.small, 3u);
    EXPECT_EQ(Settings{}.min_tokens, 200u);
}

TEST(Pipeline, LongArraysAreCrushedUnlessCrushingIsOff) {
    std::string arr = "[";
    for (int i = 0; i < 100; ++i) arr += std::string(i ? ", " : "") + "{\\\"n\\\": " + std::to_string(i) + "}";
    arr += "]";
    std::string in = R"({"messages":[{"role":"tool","content":")" + arr + R"("}]})";
    auto crushed = process("/v1/chat/completions", in, any_size());
    ASSERT_EQ(crushed.outcome, Outcome::Rewritten) << headroom::reason_name(crushed.reason);
    EXPECT_EQ(crushed.crushed, 1u);
    EXPECT_EQ(crushed.minified, 0u);
    EXPECT_GT(crushed.omitted, 80u);
    EXPECT_NE(crushed.body.find("headroom_omitted"), std::string::npos);

    Settings lossless = any_size();
    lossless.crush_json = false;
    auto minified = process("/v1/chat/completions", in, lossless);
    ASSERT_EQ(minified.outcome, Outcome::Rewritten);
    EXPECT_EQ(minified.crushed, 0u);
    EXPECT_EQ(minified.minified, 1u);
    EXPECT_EQ(minified.body.find("headroom_omitted"), std::string::npos);
}

// A Gemini response is crushed as JSON (its long array), and each string
// in it as a text of its own, once: the JSON held in "payload" under the
// string's id, the response's own array under the response's id.
TEST(Pipeline, GeminiResponsesAreCrushedOnce) {
    std::string rows, payload = "[";
    for (int i = 0; i < 200; ++i) rows += (i ? "," : "") + std::to_string(100000 + i * 13);
    for (int i = 0; i < 100; ++i) {
        payload += std::string(i ? ", " : "") + R"({"i": )" + std::to_string(i) + R"(, "name": ")" +
                   (i >= 10 && i <= 33 ? "widgets batch" : "other") + R"("})";
    }
    payload += "]";
    json::Value p = json::string_value(payload);
    const std::string response = R"({"rows":[)" + rows + R"(],"payload":)" + json::serialize(p) + "}";
    const std::string body = R"({"contents":[{"role":"user","parts":[{"text":"list widgets"}]},)"
                             R"({"role":"model","parts":[{"functionCall":{"name":"f","args":{}}}]},)"
                             R"({"role":"user","parts":[{"functionResponse":{"name":"f","response":)" +
                             response + "}}]}]}";
    Settings o = any_size();
    o.json_tables = false;
    auto r = process("/v1beta/models/g:generateContent", body, o);
    ASSERT_EQ(r.outcome, Outcome::Rewritten) << headroom::reason_name(r.reason);
    const std::string response_id = headroom::markers::output_id(response);
    const std::string id = headroom::markers::output_id(payload);
    ASSERT_EQ(r.originals.size(), 2u);
    EXPECT_EQ(r.originals[0].id, response_id);
    EXPECT_EQ(r.originals[0].text, response);
    EXPECT_EQ(r.originals[1].id, id);
    EXPECT_EQ(r.originals[1].text, payload);

    auto out = json::parse(r.body, 64);
    ASSERT_TRUE(out.ok());
    const json::Value& resp = *out.value.find("contents")->items[2].find("parts")->items[0]
                                   .find("functionResponse")->find("response");
    auto items = json::parse(resp.find("payload")->text, 64);
    ASSERT_TRUE(items.ok());
    std::size_t kept = 0, counted = 0, markers = 0;
    for (const json::Value& item : items.value.items) {
        if (auto m = headroom::markers::parse_json(item)) {
            EXPECT_EQ(m->id, id);
            counted += m->count;
            ++markers;
        } else {
            ++kept;
        }
    }
    EXPECT_GT(markers, 0u);
    EXPECT_EQ(kept + counted, 100u) << resp.find("payload")->text;
    std::size_t rows_counted = 0;
    for (const json::Value& item : resp.find("rows")->items) {
        if (auto m = headroom::markers::parse_json(item)) {
            EXPECT_EQ(m->id, response_id);
            rows_counted += m->count;
        }
    }
    EXPECT_EQ(r.omitted, counted + rows_counted);
}

// The tool a Gemini output names is the one protected, whatever its call
// said (or did not say).
TEST(Pipeline, GeminiProtectionGoesByTheResponsesName) {
    std::string log;
    for (int i = 0; i < 100; ++i) log += "2024-01-01 10:00:" + std::to_string(i % 60) + " INFO step " + std::to_string(i) + " ok\\n";
    json::Value text = json::string_value(log);
    for (const char* call : {R"({"functionCall":{"id":"c1","args":{}}})", R"({"functionCall":{"id":"c1","name":"other","args":{}}})"}) {
        const std::string body = std::string(R"({"contents":[{"role":"user","parts":[{"text":"q"}]},{"role":"model","parts":[)") +
                                 call + R"(]},{"role":"user","parts":[{"functionResponse":{"id":"c1","name":"secret_tool",)"
                                 R"("response":{"o":)" + json::serialize(text) + "}}}]}]}";
        Settings o = any_size();
        o.protect_tools = {"secret*"};
        auto r = process("/v1beta/models/g:generateContent", body, o);
        EXPECT_EQ(r.outcome, Outcome::Passthrough) << call;
        EXPECT_EQ(r.protected_, 1u) << call;
    }
}
