#include "core/tool_outputs.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using headroom::for_each_tool_output;
using headroom::Shape;
using headroom::ToolOutput;
namespace json = headroom::json;

namespace {

struct Seen {
    std::string text, tool, question;
    size_t index;
};

std::vector<Seen> walk(Shape shape, const std::string& body) {
    auto r = json::parse(body, 512);
    EXPECT_TRUE(r.ok()) << r.message;
    std::vector<Seen> seen;
    for_each_tool_output(shape, r.value, [&](ToolOutput& o) {
        seen.push_back({o.text, std::string(o.tool_name), std::string(o.question), o.message_index});
    });
    return seen;
}

}  // namespace

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
    auto s = walk(Shape::OpenAIChat, body);
    ASSERT_EQ(s.size(), 5u);
    EXPECT_EQ(s[0].text, "out2");
    EXPECT_EQ(s[0].tool, "ls");
    EXPECT_EQ(s[0].question, "first question");
    EXPECT_EQ(s[0].index, 3u);
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
    auto before = walk(Shape::OpenAIChat, "{\"messages\":[" + turn + "]}");
    auto after = walk(Shape::OpenAIChat, "{\"messages\":[" + turn +
                                             R"(,{"role":"user","content":"now something else"}]})");
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
    auto s = walk(Shape::OpenAIResponses, body);
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
    auto s = walk(Shape::AnthropicMessages, body);
    ASSERT_EQ(s.size(), 2u);
    EXPECT_EQ(s[0].tool, "Bash");
    EXPECT_EQ(s[0].question, "list the files");
    EXPECT_EQ(s[1].tool, "Read");
    EXPECT_EQ(s[1].question, "and now count them");
    EXPECT_EQ(s[1].text, "2");
}
