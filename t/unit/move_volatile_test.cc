#include "core/transforms/move_volatile.h"

#include <gtest/gtest.h>

#include <string>

#include "core/json.h"

using headroom::Dialect;
using headroom::VolatilePatterns;
using headroom::transforms::move_volatile_values;
namespace json = headroom::json;

namespace {

const Dialect& dialect(const char* path) { return *headroom::dialect_for_path(path); }

const VolatilePatterns& patterns() {
    static auto p = [] {
        std::string error;
        return VolatilePatterns::compile({}, error);
    }();
    return *p;
}

json::Value parse(const std::string& s) {
    auto r = json::parse(s, 64);
    EXPECT_TRUE(r.ok()) << s;
    return std::move(r.value);
}

// The request after moving, and how many values moved.
std::pair<std::string, std::size_t> moved(const Dialect& shape, const std::string& in) {
    json::Value doc = parse(in);
    std::size_t n = move_volatile_values(shape, doc, patterns());
    return {json::serialize(doc), n};
}

const char kNote[] =
    "[headroom] Values that change from call to call were moved here from the system prompt, "
    "so that its text stays the same and can be cached. Read each [[label]] above as its value:";

}  // namespace

TEST(MoveVolatile, OpenAIChatSystemAndDeveloperTextMoveToALastMessage) {
    auto [out, n] = moved(dialect("/v1/chat/completions"),
        R"({"model":"gpt-4o","messages":[)"
        R"({"role":"system","content":"Now: 2026-11-22T10:32:05Z. Run 2026-11-22T10:32:05Z."},)"
        R"({"role":"developer","content":[{"type":"text","text":"Request ID: 7f3a9b2c1d"}]},)"
        R"({"role":"user","content":"It is 2026-11-22T10:32:05Z for me"}]})");
    EXPECT_EQ(n, 2u);
    EXPECT_EQ(out, std::string(R"({"model":"gpt-4o","messages":[)"
        R"({"role":"system","content":"Now: [[timestamp-1]]. Run [[timestamp-1]]."},)"
        R"({"role":"developer","content":[{"type":"text","text":"Request ID: [[id-1]]"}]},)"
        R"({"role":"user","content":"It is 2026-11-22T10:32:05Z for me"},)"
        R"({"role":"system","content":")") + kNote +
        R"(\n[[timestamp-1]] = 2026-11-22T10:32:05Z\n[[id-1]] = 7f3a9b2c1d"}]})");
}

TEST(MoveVolatile, ResponsesInstructionsAndStringInput) {
    auto [out, n] = moved(dialect("/v1/responses"),
        R"({"model":"gpt-5","instructions":"Today is 2026-11-22.","input":"hello"})");
    EXPECT_EQ(n, 1u);
    EXPECT_EQ(out, std::string(R"({"model":"gpt-5","instructions":"Today is [[date-1]].",)"
        R"("input":[{"role":"user","content":"hello"},{"role":"developer","content":")") + kNote +
        R"(\n[[date-1]] = 2026-11-22"}]})");
}

TEST(MoveVolatile, ResponsesSystemItemsKeepTheirRole) {
    auto [out, n] = moved(dialect("/v1/responses"),
        R"({"input":[{"role":"system","content":[{"type":"input_text","text":"at 10:32:05"}]},)"
        R"({"type":"function_call_output","call_id":"c","output":"10:32:05"}]})");
    EXPECT_EQ(n, 1u);
    EXPECT_EQ(out, std::string(R"({"input":[{"role":"system","content":[{"type":"input_text","text":"at [[time-1]]"}]},)"
        R"({"type":"function_call_output","call_id":"c","output":"10:32:05"},{"role":"system","content":")") +
        kNote + R"(\n[[time-1]] = 10:32:05"}]})");
}

TEST(MoveVolatile, AnthropicNoteIsTheLastBlockOfTheUserTurn) {
    auto [out, n] = moved(dialect("/v1/messages"),
        R"({"system":[{"type":"text","text":"Session id: s-81c2d3e4f5","cache_control":{"type":"ephemeral"}}],)"
        R"("messages":[{"role":"user","content":"hi"}]})");
    EXPECT_EQ(n, 1u);
    EXPECT_EQ(out, std::string(R"({"system":[{"type":"text","text":"Session id: [[id-1]]","cache_control":{"type":"ephemeral"}}],)"
        R"("messages":[{"role":"user","content":[{"type":"text","text":"hi"},{"type":"text","text":")") +
        kNote + R"(\n[[id-1]] = s-81c2d3e4f5"}]}]})");

    auto [out2, n2] = moved(dialect("/v1/messages"),
        R"({"system":"at 10:32:05","messages":[{"role":"user","content":[)"
        R"({"type":"tool_result","tool_use_id":"t","content":"x"}]}]})");
    EXPECT_EQ(n2, 1u);
    EXPECT_EQ(out2, std::string(R"({"system":"at [[time-1]]","messages":[{"role":"user","content":[)"
        R"({"type":"tool_result","tool_use_id":"t","content":"x"},{"type":"text","text":")") + kNote +
        R"(\n[[time-1]] = 10:32:05"}]}]})");
}

TEST(MoveVolatile, NothingChangesWhenTheNoteHasNoPlace) {
    for (const char* in : {
             // a prefilled assistant turn: a note there would be the model's words
             R"({"system":"at 10:32:05","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"Sure"}]})",
             R"({"system":"at 10:32:05","messages":[]})",
             R"({"system":"at 10:32:05","messages":[{"role":"user","content":""}]})",
         }) {
        json::Value doc = parse(in);
        EXPECT_EQ(move_volatile_values(dialect("/v1/messages"), doc, patterns()), 0u) << in;
        EXPECT_EQ(json::serialize(doc), in);
    }
}

TEST(MoveVolatile, NothingToMoveChangesNothing) {
    const char* in = R"({"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"10:32:05"}]})";
    json::Value doc = parse(in);
    EXPECT_EQ(move_volatile_values(dialect("/v1/chat/completions"), doc, patterns()), 0u);
    EXPECT_EQ(json::serialize(doc), in);
}

TEST(MoveVolatile, CallsThatDifferOnlyInValuesShareEverythingBeforeTheNote) {
    auto call = [](const std::string& when, const std::string& id) {
        return moved(dialect("/v1/chat/completions"),
            R"({"messages":[{"role":"system","content":"Time: )" + when + ". Trace id: " + id +
            R"(. Be brief."},{"role":"user","content":"hi"}]})").first;
    };
    std::string a = call("2026-11-22T10:32:05Z", "4bf92f3577b34da6");
    std::string b = call("2026-11-23T08:00:00Z", "00f067aa0ba902b7");
    std::size_t note = a.find("[headroom]");
    ASSERT_NE(note, std::string::npos);
    EXPECT_EQ(a.substr(0, note), b.substr(0, note));
    EXPECT_NE(a, b);
}

TEST(MoveVolatile, AnOperatorLabelThatIsABuiltInOneSharesItsNumbers) {
    std::string error;
    auto p = VolatilePatterns::compile({{"date", "on day (\\d+)"}}, error);
    ASSERT_NE(p, nullptr) << error;
    json::Value doc = parse(R"({"messages":[{"role":"system","content":"on day 17, 2026-11-22"},{"role":"user","content":"hi"}]})");
    EXPECT_EQ(move_volatile_values(dialect("/v1/chat/completions"), doc, *p), 2u);
    const std::string out = json::serialize(doc);
    EXPECT_NE(out.find(R"("content":"on day [[date-1]], [[date-2]]")"), std::string::npos) << out;
    EXPECT_NE(out.find(R"(\n[[date-1]] = 17\n[[date-2]] = 2026-11-22")"), std::string::npos) << out;
}
