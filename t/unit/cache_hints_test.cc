#include "core/transforms/cache_hints.h"

#include <gtest/gtest.h>

#include <string>

#include "core/json.h"
#include "core/json_path.h"

using headroom::transforms::add_cache_breakpoints;
using headroom::transforms::kMaxCacheBreakpoints;
using headroom::transforms::set_cache_key;
namespace json = headroom::json;

namespace {

const std::string kMark = R"("cache_control":{"type":"ephemeral"})";

std::pair<std::string, std::size_t> marked(const std::string& in) {
    auto r = json::parse(in, 64);
    EXPECT_TRUE(r.ok()) << in;
    json::Ref root = json::root_ref(r.value);
    using headroom::transforms::place_of;
    std::size_t n = add_cache_breakpoints(
        r.value, {place_of(root.get("tools")), place_of(root.get("system")), place_of(root.get("messages"))});
    return {json::serialize(r.value), n};
}

std::size_t count(const std::string& s, const std::string& what) {
    std::size_t n = 0;
    for (std::size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
    return n;
}

// An agent session of `turns` tool calls, Anthropic style.
std::string session(int turns) {
    std::string m = R"({"role":"user","content":"fix the build"})";
    for (int i = 1; i <= turns; ++i) {
        m += R"(,{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"s"},)"
             R"({"type":"tool_use","id":"t)" + std::to_string(i) + R"(","name":"bash","input":{}}]})";
        m += R"(,{"role":"user","content":[{"type":"tool_result","tool_use_id":"t)" + std::to_string(i) +
             R"(","content":"out"}]})";
    }
    return R"({"model":"claude","tools":[{"name":"bash","input_schema":{"type":"object"}}],)"
           R"("system":"You are an agent.","messages":[)" + m + "]}";
}

}  // namespace

TEST(CacheBreakpoints, ToolsSystemTheNewestMessageAndThePreviousCallsMark) {
    auto [out, n] = marked(session(5));
    EXPECT_EQ(n, kMaxCacheBreakpoints);
    EXPECT_EQ(count(out, kMark), kMaxCacheBreakpoints);
    EXPECT_NE(out.find(R"("input_schema":{"type":"object"},)" + kMark), std::string::npos);
    EXPECT_NE(out.find(R"("system":[{"type":"text","text":"You are an agent.",)" + kMark + "}]"),
              std::string::npos);
    // The newest message, so that the next call reads it from the cache,
    // and the block the previous call marked, two messages back.
    EXPECT_NE(out.find(R"("tool_use_id":"t5","content":"out",)" + kMark), std::string::npos);
    EXPECT_NE(out.find(R"("tool_use_id":"t4","content":"out",)" + kMark), std::string::npos);
    // The next call marks the same block this one marked last.
    auto [next, m] = marked(session(6));
    EXPECT_NE(next.find(R"("tool_use_id":"t5","content":"out",)" + kMark), std::string::npos);
}

TEST(CacheBreakpoints, NeverOnThinking) {
    // An assistant turn of thinking alone: the mark goes to the block before.
    std::string in = R"({"messages":[{"role":"user","content":"a"},{"role":"assistant","content":[)"
                     R"({"type":"thinking","thinking":"t","signature":"s"}]},{"role":"user","content":[]}]})";
    auto [out, n] = marked(in);
    EXPECT_EQ(n, 1u);
    EXPECT_EQ(out, R"({"messages":[{"role":"user","content":[{"type":"text","text":"a",)" + kMark +
                   R"(}]},{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"s"}]},)"
                   R"({"role":"user","content":[]}]})");
}

TEST(CacheBreakpoints, ShortRequestsGetWhatFits) {
    auto [one, k] = marked(R"({"messages":[{"role":"user","content":"hi"}]})");
    EXPECT_EQ(k, 1u);
    EXPECT_EQ(one, R"({"messages":[{"role":"user","content":[{"type":"text","text":"hi",)" + kMark + "}]}]}");
    auto [out, n] = marked(R"({"system":"S","messages":[{"role":"user","content":"hi"},)"
                           R"({"role":"assistant","content":"Hello"},{"role":"user","content":"go"}]})");
    EXPECT_EQ(n, 3u);
    EXPECT_EQ(out, R"({"system":[{"type":"text","text":"S",)" + kMark + R"(}],"messages":[)"
                   R"({"role":"user","content":[{"type":"text","text":"hi",)" + kMark + R"(}]},)"
                   R"({"role":"assistant","content":[{"type":"text","text":"Hello"}]},)"
                   R"({"role":"user","content":[{"type":"text","text":"go",)" + kMark + "}]}]}");
}

TEST(CacheBreakpoints, EachMessageKeepsOneFormFromCallToCall) {
    // A chat of plain strings: what call k sent for its messages, marks
    // aside, is how call k+1 starts.
    auto chat = [](int turns) {
        std::string m = R"({"role":"user","content":"q0"})";
        for (int i = 1; i <= turns; ++i) {
            m += R"(,{"role":"assistant","content":"a)" + std::to_string(i) + R"("},{"role":"user","content":"q)" +
                 std::to_string(i) + R"("})";
        }
        return R"({"messages":[)" + m + "]}";
    };
    auto unmarked = [](std::string s) {
        const std::string mark = "," + kMark;
        for (std::size_t p = s.find(mark); p != std::string::npos; p = s.find(mark)) s.erase(p, mark.size());
        return s;
    };
    for (int k = 1; k < 6; ++k) {
        std::string now = unmarked(marked(chat(k)).first);
        std::string next = unmarked(marked(chat(k + 1)).first);
        now.resize(now.size() - 2);  // the closing "]}"
        EXPECT_EQ(next.compare(0, now.size(), now), 0) << now << "\n" << next;
    }
}

TEST(CacheBreakpoints, EmptyTextIsSkippedForTheBlockBefore) {
    auto [out, n] = marked(R"({"messages":[{"role":"user","content":[)"
                           R"({"type":"text","text":"b"},{"type":"text","text":""}]}]})");
    EXPECT_EQ(n, 1u);
    EXPECT_NE(out.find(R"({"type":"text","text":"b",)" + kMark + "}"), std::string::npos);
}

TEST(CacheBreakpoints, AnyClientCacheControlMeansHandsOff) {
    std::string with = session(5);
    with.replace(with.find(R"("content":"out")"), 15, R"("content":"out",)" + kMark);
    auto [out, n] = marked(with);
    EXPECT_EQ(n, 0u);
    EXPECT_EQ(out, with);
    std::string top = R"({"cache_control":{"type":"ephemeral"},"system":"S","messages":[]})";
    EXPECT_EQ(marked(top), std::make_pair(top, std::size_t{0}));
}

TEST(PromptCacheKey, SetOnlyWhenAbsent) {
    auto r = json::parse(R"({"model":"gpt-4o","messages":[]})", 64);
    EXPECT_TRUE(set_cache_key(r.value, "prompt_cache_key", "abc"));
    EXPECT_EQ(json::serialize(r.value), R"({"model":"gpt-4o","messages":[],"prompt_cache_key":"abc"})");
    auto own = json::parse(R"({"prompt_cache_key":"mine","messages":[]})", 64);
    EXPECT_FALSE(set_cache_key(own.value, "prompt_cache_key", "abc"));
    EXPECT_EQ(json::serialize(own.value), R"({"prompt_cache_key":"mine","messages":[]})");
}
