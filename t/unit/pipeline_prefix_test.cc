// Prefix stabilization inside the whole pipeline: off by default, each part
// switchable, and the prefix hash for every request the core understood.
#include <gtest/gtest.h>

#include "test_options.h"

#include <string>

#include "core/pipeline.h"
#include "core/content_hash.h"
#include "core/volatile_values.h"

using headroom::Settings;
using headroom::Outcome;

using headroom::VolatilePatterns;

namespace {

std::shared_ptr<const VolatilePatterns> patterns() {
    static auto p = [] {
        std::string error;
        return VolatilePatterns::compile({}, error);
    }();
    return p;
}

Settings stabilizing() {
    Settings o;
    o.stabilize_prefix = true;
    o.volatile_patterns = patterns();
    return o;
}

std::string chat(const std::string& when, const std::string& tools) {
    return R"({"model":"gpt-4o","tools":)" + tools +
           R"(,"messages":[{"role":"system","content":"Time: )" + when +
           R"(."},{"role":"user","content":"hi"}]})";
}

const std::string kTools =
    R"([{"type":"function","function":{"name":"b"}},{"type":"function","function":{"name":"a"}}])";
const std::string kToolsSwapped =
    R"([{"type":"function","function":{"name":"a"}},{"type":"function","function":{"name":"b"}}])";

}  // namespace

TEST(PipelinePrefix, OffByDefaultButTheHashIsKnown) {
    auto r = process("/v1/chat/completions", chat("2026-11-22T10:32:05Z", kTools), Settings{});
    EXPECT_EQ(r.outcome, Outcome::Passthrough);
    EXPECT_STREQ(headroom::reason_name(r.reason), "no_change");
    EXPECT_EQ(r.prefix_hash.size(), 32u);
    EXPECT_EQ(r.volatile_moved, 0u);
    EXPECT_FALSE(r.tools_sorted);
    EXPECT_FALSE(r.cache_key_set);
}

TEST(PipelinePrefix, CallsThatDifferInTimeAndToolOrderGiveOnePrefix) {
    auto a = process("/v1/chat/completions", chat("2026-11-22T10:32:05Z", kTools), stabilizing());
    auto b = process("/v1/chat/completions", chat("2026-11-23T11:00:00Z", kToolsSwapped), stabilizing());
    ASSERT_EQ(a.outcome, Outcome::Rewritten) << headroom::reason_name(a.reason);
    ASSERT_EQ(b.outcome, Outcome::Rewritten) << headroom::reason_name(b.reason);
    EXPECT_EQ(a.prefix_hash, b.prefix_hash);
    EXPECT_TRUE(a.tools_sorted);
    EXPECT_TRUE(b.tools_sorted);  // in order, but not their keys
    EXPECT_EQ(a.volatile_moved, 1u);
    EXPECT_TRUE(a.cache_key_set);
    std::size_t note = a.body.find(R"({"role":"system","content":"[headroom])");
    ASSERT_NE(note, std::string::npos);
    EXPECT_EQ(a.body.substr(0, note), b.body.substr(0, note));
    EXPECT_NE(a.body.find(R"("prompt_cache_key":")" + a.prefix_hash + "\""), std::string::npos);
    // Without stabilization the two prefixes differ.
    auto c = process("/v1/chat/completions", chat("2026-11-22T10:32:05Z", kTools), Settings{});
    auto d = process("/v1/chat/completions", chat("2026-11-23T11:00:00Z", kToolsSwapped), Settings{});
    EXPECT_NE(c.prefix_hash, d.prefix_hash);
}

TEST(PipelinePrefix, EachPartCanBeTurnedOff) {
    Settings o = stabilizing();
    o.move_volatile = false;
    o.canonical_tools = false;
    o.prompt_cache_key = false;
    auto r = process("/v1/chat/completions", chat("2026-11-22T10:32:05Z", kTools), o);
    EXPECT_EQ(r.outcome, Outcome::Passthrough);
    EXPECT_STREQ(headroom::reason_name(r.reason), "no_change");

    Settings anthropic = stabilizing();
    anthropic.cache_breakpoints = false;
    std::string in = R"({"model":"claude","system":"S","messages":[{"role":"user","content":"a"},)"
                     R"({"role":"assistant","content":"b"},{"role":"user","content":"c"}]})";
    EXPECT_STREQ(headroom::reason_name(process("/v1/messages", in, anthropic).reason), "no_change");
    auto marked = process("/v1/messages", in, stabilizing());
    ASSERT_EQ(marked.outcome, Outcome::Rewritten);
    EXPECT_EQ(marked.breakpoints_added, 3u);
    // A rewrite that only adds hints is longer than what came in, on purpose.
    EXPECT_GT(marked.body.size(), in.size());
}

TEST(PipelinePrefix, TheNewestMessageIsMarkedNotTheNoteAfterIt) {
    // The next call resends the message but not the note: a mark on the
    // note would write a cache entry no call ever reads.
    auto r = process("/v1/messages",
                     R"({"model":"claude","system":"Now: 2026-11-22T10:32:05Z.","messages":[)"
                     R"({"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"x"}]}]})",
                     stabilizing());
    ASSERT_EQ(r.outcome, Outcome::Rewritten);
    EXPECT_EQ(r.breakpoints_added, 2u);
    EXPECT_EQ(r.volatile_moved, 1u);
    const std::string mark = R"("cache_control":{"type":"ephemeral"})";
    EXPECT_NE(r.body.find(R"("tool_use_id":"t","content":"x",)" + mark + R"(},{"type":"text","text":"[headroom])"),
              std::string::npos) << r.body;
    EXPECT_EQ(r.body.find(R"(= 2026-11-22T10:32:05Z",)" + mark), std::string::npos);
}

TEST(PipelinePrefix, ResponsesGetACacheKeyAnthropicDoesNot) {
    auto r = process("/v1/responses", R"({"model":"gpt-5","input":"hi"})", stabilizing());
    ASSERT_EQ(r.outcome, Outcome::Rewritten);
    EXPECT_EQ(r.body, R"({"model":"gpt-5","input":"hi","prompt_cache_key":")" + r.prefix_hash + "\"}");
    auto a = process("/v1/messages", R"({"model":"claude","messages":[{"role":"user","content":"hi"}]})",
                     stabilizing());
    EXPECT_FALSE(a.cache_key_set);
    EXPECT_EQ(a.body.find("prompt_cache_key"), std::string::npos);
}

TEST(PipelinePrefix, TheHashIsComputedOnlyWhenWanted) {
    headroom::Wants none;
    none.prefix_hash = false;
    const std::string body = chat("2026-11-22T10:32:05Z", kTools);
    EXPECT_EQ(process("/v1/chat/completions", body, Settings{}, none).prefix_hash, "");
    // The prompt_cache_key needs it all the same.
    auto r = process("/v1/chat/completions", body, stabilizing(), none);
    EXPECT_EQ(r.prefix_hash.size(), 32u);
    EXPECT_TRUE(r.cache_key_set);
}

TEST(PipelinePrefix, TheHashCoversModelToolsAndSystemOnly) {
    auto hash = [](const std::string& body) {
        return process("/v1/chat/completions", body, Settings{}).prefix_hash;
    };
    const std::string base = R"({"model":"gpt-4o","messages":[{"role":"system","content":"S"},{"role":"user","content":"hi"}]})";
    EXPECT_EQ(hash(base), hash(R"({"model":"gpt-4o","messages":[{"role":"system","content":"S"},{"role":"user","content":"other"}],"stream":true})"));
    EXPECT_NE(hash(base), hash(R"({"model":"gpt-4o-mini","messages":[{"role":"system","content":"S"},{"role":"user","content":"hi"}]})"));
    EXPECT_NE(hash(base), hash(R"({"model":"gpt-4o","messages":[{"role":"system","content":"T"},{"role":"user","content":"hi"}]})"));
    EXPECT_NE(hash(base), hash(R"({"model":"gpt-4o","tools":[],"messages":[{"role":"system","content":"S"},{"role":"user","content":"hi"}]})"));
    EXPECT_EQ(process("/v1/chat/completions", "not json", Settings{}).prefix_hash, "");
    // Where the cache marks are does not change what is cached.
    auto anthropic = [](const std::string& body) {
        return process("/v1/messages", body, Settings{}).prefix_hash;
    };
    EXPECT_EQ(anthropic(R"({"model":"c","system":[{"type":"text","text":"S"}],"messages":[]})"),
              anthropic(R"({"model":"c","system":[{"type":"text","text":"S","cache_control":{"type":"ephemeral"}}],"messages":[]})"));
}

// A response cache's key: of the body as sent (the rewrite where there is
// one), the API and the path; none unless wanted or where the body was not
// understood.
TEST(PipelineAnswerKey, KeysTheBodyAsSent) {
    headroom::Wants want;
    want.answer_key = true;
    const std::string body = chat("2026-11-22T10:32:05Z", kTools);
    EXPECT_EQ(process("/v1/chat/completions", body, Settings{}).answer_key, "");

    auto plain = process("/v1/chat/completions", body, Settings{}, want);
    EXPECT_EQ(plain.outcome, Outcome::Passthrough);
    EXPECT_EQ(plain.answer_key, headroom::sha256_hex_framed({"headroom answer 1", "openai_chat",
                                                             "/v1/chat/completions", body}, 64));
    EXPECT_EQ(process("/v1/chat/completions", body, Settings{}, want).answer_key, plain.answer_key);
    EXPECT_NE(process("/proxy/v1/chat/completions", body, Settings{}, want).answer_key, plain.answer_key);

    auto rewritten = process("/v1/chat/completions", body, stabilizing(), want);
    ASSERT_EQ(rewritten.outcome, Outcome::Rewritten);
    EXPECT_EQ(rewritten.answer_key, headroom::sha256_hex_framed({"headroom answer 1", "openai_chat",
                                                                 "/v1/chat/completions", rewritten.body}, 64));
    want.answer_key_of_original = true;
    EXPECT_EQ(process("/v1/chat/completions", body, stabilizing(), want).answer_key, plain.answer_key);

    EXPECT_EQ(process("/v1/chat/completions", "{\"model\":", Settings{}, want).answer_key, "");
    EXPECT_EQ(process("/v1/chat/completions", "[1]", Settings{}, want).answer_key, "");
}
