// The dialects: which API a path and body speak, and what each knows of
// its request: tool outputs with their tools and questions, system text,
// where a note goes, tool lists.
#include "core/dialect/dialect.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/json_path.h"

using headroom::Dialect;
using headroom::dialect_for_path;
namespace json = headroom::json;

namespace {

// The dialect's name when the path and the body agree, else "unknown".
std::string shape_of(const char* path, const char* body) {
    auto r = json::parse(body, 512);
    EXPECT_TRUE(r.ok()) << body;
    const Dialect* d = dialect_for_path(path);
    if (d == nullptr || !r.value.is_object() || !d->accepts(r.value)) return "unknown";
    return d->name();
}

struct Seen {
    std::string text, tool, question, call_id;
    size_t index;
    bool structured;
};

// Every output, one entry per text part (a structured one as its JSON).
std::vector<Seen> walk(const char* path, const std::string& body) {
    auto r = json::parse(body, 512);
    EXPECT_TRUE(r.ok()) << r.message;
    const Dialect* d = dialect_for_path(path);
    EXPECT_NE(d, nullptr) << path;
    std::vector<Seen> seen;
    if (d == nullptr) return seen;
    auto map = d->tool_outputs(r.value);
    for (const auto& site : map.outputs) {
        const std::string& q = map.questions[site.question];
        if (site.structured) {
            const json::Value* v = json::resolve(r.value, site.value);
            EXPECT_NE(v, nullptr);
            seen.push_back({json::serialize(*v), site.tool_name, q, site.call_id, site.message_index, true});
            continue;
        }
        for (const auto& p : site.parts) {
            const json::Value* v = json::resolve(r.value, p);
            EXPECT_TRUE(v && v->is_string());
            seen.push_back({v ? v->text : "", site.tool_name, q, site.call_id, site.message_index, false});
        }
    }
    return seen;
}

}  // namespace

TEST(Dialect, ByPathConfirmedByBody) {
    EXPECT_EQ(shape_of("/v1/chat/completions", R"({"model":"m","messages":[]})"), "openai_chat");
    EXPECT_EQ(shape_of("/v1/responses", R"({"model":"m","input":[]})"), "openai_responses");
    EXPECT_EQ(shape_of("/v1/responses", R"({"model":"m","input":"hi"})"), "openai_responses");
    EXPECT_EQ(shape_of("/v1/messages", R"({"model":"m","max_tokens":1,"messages":[]})"),
              "anthropic_messages");
    EXPECT_EQ(shape_of("/v1/messages/count_tokens", R"({"model":"m","messages":[]})"),
              "anthropic_messages");
    EXPECT_EQ(shape_of("/v1beta/models/gemini-2.5-flash:generateContent", R"({"contents":[]})"), "gemini");
}

TEST(Dialect, PrefixedPathsAreRecognised) {
    EXPECT_EQ(shape_of("/openai/deployments/gpt/chat/completions", R"({"messages":[]})"), "openai_chat");
    EXPECT_EQ(shape_of("/api/v1/responses", R"({"input":[]})"), "openai_responses");
    EXPECT_EQ(shape_of("/google/v1beta/models/gemini-2.5-pro:streamGenerateContent", R"({"contents":[]})"),
              "gemini");
}

TEST(Dialect, MismatchedBodyOrPathIsUnknown) {
    EXPECT_EQ(shape_of("/v1/chat/completions", R"({"input":[]})"), "unknown");
    EXPECT_EQ(shape_of("/v1/chat/completions", R"({"messages":"x"})"), "unknown");
    EXPECT_EQ(shape_of("/v1/responses", R"({"messages":[]})"), "unknown");
    EXPECT_EQ(shape_of("/v1/responses", R"({"input":5})"), "unknown");
    EXPECT_EQ(shape_of("/v1/messages", R"({"messages":{}})"), "unknown");
    EXPECT_EQ(shape_of("/v1/embeddings", R"({"messages":[]})"), "unknown");
    EXPECT_EQ(shape_of("/v1/chat/completions/x", R"({"messages":[]})"), "unknown");
    EXPECT_EQ(shape_of("/v1/chat/completions", R"([{"messages":[]}])"), "unknown");
    EXPECT_EQ(shape_of("/v1beta/models/gemini:generateContent", R"({"contents":{}})"), "unknown");
    EXPECT_EQ(shape_of("/v1beta/models/gemini:embedContent", R"({"contents":[]})"), "unknown");
    EXPECT_EQ(shape_of("/v1beta/models/:generateContent", R"({"contents":[]})"), "unknown");
    EXPECT_EQ(shape_of("/v1beta/tunedModels/x:generateContent", R"({"contents":[]})"), "unknown");
}

TEST(Dialect, FromPathAlone) {
    EXPECT_STREQ(dialect_for_path("/v1/chat/completions")->name(), "openai_chat");
    EXPECT_STREQ(dialect_for_path("/v1/responses")->name(), "openai_responses");
    EXPECT_STREQ(dialect_for_path("/v1/messages")->name(), "anthropic_messages");
    EXPECT_STREQ(dialect_for_path("/v1/models/gemini-2.0-flash:generateContent")->name(), "gemini");
    EXPECT_STREQ(dialect_for_path("/v1/projects/p/locations/us-central1/publishers/google/models/"
                                  "gemini-2.5-pro:generateContent")
                     ->name(),
                 "gemini");
    EXPECT_EQ(dialect_for_path("/v1/embeddings"), nullptr);
    EXPECT_EQ(dialect_for_path(""), nullptr);
}

TEST(Dialect, ModelFromBodyOrPath) {
    auto body = json::parse(R"({"model":"gpt-4o","contents":[],"messages":[]})", 64);
    EXPECT_EQ(dialect_for_path("/v1/chat/completions")->model("/v1/chat/completions", body.value), "gpt-4o");
    const char* vertex = "/v1/projects/p/locations/l/publishers/google/models/gemini-2.5-pro:generateContent";
    EXPECT_EQ(dialect_for_path(vertex)->model(vertex, body.value), "gemini-2.5-pro");
}

TEST(ToolOutputs, OpenAIChatNamesAndQuestions) {
    std::string body = R"({"messages":[
      {"role":"system","content":"sys"},
      {"role":"user","content":"first question"},
      {"role":"assistant","content":null,"tool_calls":[
        {"id":"c1","type":"function","function":{"name":"grep","arguments":"{}"}},
        {"id":"c2","type":"function","function":{"name":"ls","arguments":"{}"}}]},
      {"role":"tool","tool_call_id":"c2","content":"out2"},
      {"role":"tool","tool_call_id":"c1","content":[{"type":"text","text":"out1a"},{"type":"text","text":"out1b"}]},
      {"role":"user","content":[{"type":"text","text":"second"},{"type":"image_url","image_url":{}}]},
      {"role":"assistant","tool_calls":[{"id":"c3","function":{"name":"cat"}}]},
      {"role":"tool","tool_call_id":"c3","content":"out3"},
      {"role":"tool","tool_call_id":"unknown","content":"orphan"}]})";
    auto s = walk("/v1/chat/completions", body);
    ASSERT_EQ(s.size(), 5u);
    EXPECT_EQ(s[0].text, "out2");
    EXPECT_EQ(s[0].tool, "ls");
    EXPECT_EQ(s[0].question, "first question");
    EXPECT_EQ(s[0].index, 3u);
    EXPECT_EQ(s[0].call_id, "c2");
    EXPECT_EQ(s[1].text, "out1a");
    EXPECT_EQ(s[1].tool, "grep");
    EXPECT_EQ(s[2].text, "out1b");
    EXPECT_EQ(s[3].tool, "cat");
    EXPECT_EQ(s[3].question, "second");
    EXPECT_EQ(s[4].tool, "");
    EXPECT_EQ(s[4].question, "second");
}

TEST(ToolOutputs, QuestionsDoNotChangeWhenTheHistoryGrows) {
    std::string turn = R"({"role":"user","content":"find it"},)"
                       R"({"role":"assistant","tool_calls":[{"id":"a","function":{"name":"f"}}]},)"
                       R"({"role":"tool","tool_call_id":"a","content":"result"})";
    auto before = walk("/v1/chat/completions", "{\"messages\":[" + turn + "]}");
    auto after = walk("/v1/chat/completions",
                      "{\"messages\":[" + turn + R"(,{"role":"user","content":"now something else"}]})");
    ASSERT_EQ(before.size(), 1u);
    ASSERT_EQ(after.size(), 1u);
    EXPECT_EQ(after[0].question, "find it");
    EXPECT_EQ(after[0].question, before[0].question);
}

TEST(ToolOutputs, ResponsesNamesAndQuestions) {
    std::string body = R"({"input":[
      {"role":"user","content":[{"type":"input_text","text":"why does it fail?"}]},
      {"type":"function_call","call_id":"f1","name":"run_tests","arguments":"{}"},
      {"type":"custom_tool_call","call_id":"f2","name":"apply_patch","input":"..."},
      {"type":"function_call_output","call_id":"f1","output":"FAILED"},
      {"type":"custom_tool_call_output","call_id":"f2","output":[{"type":"input_text","text":"ok"}]},
      {"type":"message","role":"user","content":"thanks"}]})";
    auto s = walk("/v1/responses", body);
    ASSERT_EQ(s.size(), 2u);
    EXPECT_EQ(s[0].tool, "run_tests");
    EXPECT_EQ(s[0].question, "why does it fail?");
    EXPECT_EQ(s[1].tool, "apply_patch");
    EXPECT_EQ(s[1].text, "ok");
}

TEST(ToolOutputs, AnthropicResultsComeBeforeTheirMessagesText) {
    std::string body = R"({"messages":[
      {"role":"user","content":"list the files"},
      {"role":"assistant","content":[{"type":"text","text":"ok"},{"type":"tool_use","id":"t1","name":"Bash","input":{}}]},
      {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"a.txt"},
                                 {"type":"text","text":"and now count them"}]},
      {"role":"assistant","content":[{"type":"tool_use","id":"t2","name":"Read","input":{}}]},
      {"role":"user","content":[{"type":"tool_result","tool_use_id":"t2","content":[{"type":"text","text":"2"},{"type":"image","source":{}}]}]}]})";
    auto s = walk("/v1/messages", body);
    ASSERT_EQ(s.size(), 2u);
    EXPECT_EQ(s[0].tool, "Bash");
    EXPECT_EQ(s[0].question, "list the files");
    EXPECT_EQ(s[1].tool, "Read");
    EXPECT_EQ(s[1].question, "and now count them");
    EXPECT_EQ(s[1].text, "2");
}

TEST(ToolOutputs, GeminiFunctionResponsesByNameWithTheirQuestions) {
    std::string body = R"({"contents":[
      {"role":"user","parts":[{"text":"what broke?"}]},
      {"role":"model","parts":[{"thought":true,"text":"thinking"},
                               {"functionCall":{"name":"read_log","args":{}},"thoughtSignature":"c2ln"},
                               {"function_call":{"name":"list","args":{},"id":"c9"}}]},
      {"role":"user","parts":[{"functionResponse":{"name":"read_log","response":{"result":"ERROR x"}}},
                              {"function_response":{"name":"other","id":"c9","response":{"output":[1,2]}}},
                              {"text":"and the disk?"}]},
      {"role":"model","parts":[{"functionCall":{"name":"df","args":{}}}]},
      {"role":"function","parts":[{"functionResponse":{"name":"df","response":"42% used"}}]},
      {"role":"user","parts":[{"inlineData":{"mimeType":"image/png","data":"AAAA"}}]}]})";
    auto s = walk("/v1beta/models/gemini-2.5-flash:generateContent", body);
    ASSERT_EQ(s.size(), 3u);
    EXPECT_TRUE(s[0].structured);
    EXPECT_EQ(s[0].text, R"({"result":"ERROR x"})");
    EXPECT_EQ(s[0].tool, "read_log");
    EXPECT_EQ(s[0].question, "what broke?");
    EXPECT_EQ(s[0].index, 2u);
    EXPECT_EQ(s[1].tool, "other");  // the name the response gives wins over its call's
    EXPECT_EQ(s[1].call_id, "c9");
    EXPECT_EQ(s[1].question, "what broke?");
    EXPECT_FALSE(s[2].structured);  // a string response is a text
    EXPECT_EQ(s[2].text, "42% used");
    EXPECT_EQ(s[2].tool, "df");
    EXPECT_EQ(s[2].question, "and the disk?");
}

TEST(Dialect, GeminiSystemTextNoteAndTools) {
    const char* path = "/v1beta/models/gemini-2.5-flash:generateContent";
    const Dialect* d = dialect_for_path(path);
    auto doc = json::parse(R"({"systemInstruction":{"parts":[{"text":"a"},{"inlineData":{}},{"text":"b"}]},
      "tools":[{"functionDeclarations":[{"name":"z"},{"name":"a"}]},{"googleSearch":{}},
               {"function_declarations":[{"name":"m"}]}],
      "contents":[{"role":"user","parts":[{"text":"hi"}]}]})",
                           64);
    ASSERT_TRUE(doc.ok());
    auto sys = d->system_text(doc.value);
    ASSERT_EQ(sys.texts.size(), 2u);
    EXPECT_EQ(json::resolve(doc.value, sys.texts[1])->text, "b");
    auto lists = d->tool_lists(doc.value);
    ASSERT_EQ(lists.size(), 2u);
    EXPECT_EQ(json::resolve(doc.value, lists[1])->items[0].find("name")->text, "m");
    auto edit = d->note(doc.value, "", "NOTE");
    ASSERT_TRUE(edit);
    ASSERT_TRUE(headroom::apply(*edit, doc.value));
    EXPECT_EQ(json::serialize(*doc.value.find("contents")),
              R"([{"role":"user","parts":[{"text":"hi"},{"text":"NOTE"}]}])");

    // A prefilled model turn last: no place for a note.
    auto prefilled = json::parse(R"({"contents":[{"role":"user","parts":[{"text":"hi"}]},
                                                 {"role":"model","parts":[{"text":"Sure"}]}]})",
                                 64);
    EXPECT_FALSE(d->note(prefilled.value, "", "NOTE"));
}

TEST(Dialect, PositionsComeWithTheirBytes) {
    // Each part's span is its JSON string literal in the request as sent.
    const std::string body = R"({"messages": [ {"role":"tool", "tool_call_id":"c1",)"
                             "\n  \"content\" : [{\"type\":\"text\",\"text\": \"a\\\"b\"},"
                             R"( {"type":"text","text":"two"}]}]})";
    auto doc = json::parse(body, 64);
    ASSERT_TRUE(doc.ok());
    auto map = dialect_for_path("/v1/chat/completions")->tool_outputs(doc.value);
    ASSERT_EQ(map.outputs.size(), 1u);
    const auto& site = map.outputs[0];
    ASSERT_EQ(site.spans.size(), 2u);
    auto bytes = [&](json::Span s) { return body.substr(s.begin, s.end - s.begin); };
    EXPECT_EQ(bytes(site.spans[0]), "\"a\\\"b\"");
    EXPECT_EQ(bytes(site.spans[1]), "\"two\"");

    const std::string gemini = R"({"contents":[{"role":"user","parts":[{"functionResponse":)"
                               R"({"name":"f","response": {"output": [1, 2]} }}]}]})";
    auto g = json::parse(gemini, 64);
    ASSERT_TRUE(g.ok());
    auto gm = dialect_for_path("/v1beta/models/m:generateContent")->tool_outputs(g.value);
    ASSERT_EQ(gm.outputs.size(), 1u);
    ASSERT_EQ(gm.outputs[0].spans.size(), 1u);
    EXPECT_EQ(gemini.substr(gm.outputs[0].spans[0].begin, gm.outputs[0].spans[0].end - gm.outputs[0].spans[0].begin),
              R"({"output": [1, 2]})");
}
