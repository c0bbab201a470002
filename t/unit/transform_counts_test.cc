// What the pipeline says it did: by transform, and the model.
#include <gtest/gtest.h>

#include <string>

#include "core/pipeline.h"
#include "core/tokenizer/tokenizers.h"
#include "core/volatile_values.h"
#include "test_options.h"

using headroom::Settings;
using headroom::Outcome;
using headroom::Transform;

namespace {

const headroom::TransformCounts& of(const headroom::Result& r, Transform t) {
    return r.by_transform[static_cast<std::size_t>(t)];
}

std::string chat_with_tool(const std::string& escaped) {
    return R"({"model":"gpt-4o","messages":[{"role":"user","content":"hi"},)"
           R"({"role":"tool","tool_call_id":"a","content":")" + escaped + R"("}]})";
}

std::string records(int n) {
    std::string s = "[";
    for (int i = 0; i < n; ++i) {
        if (i) s += ",";
        s += R"({\"id\":)" + std::to_string(i) + R"(,\"name\":\"item )" + std::to_string(i) +
             R"(\",\"status\":\"ok\"})";
    }
    return s + "]";
}

}  // namespace

TEST(TransformCounts, NamesAreTheDirectives) {
    EXPECT_STREQ(headroom::transform_name(Transform::MinifyJson), "minify_json");
    EXPECT_STREQ(headroom::transform_name(Transform::CrushDiffs), "crush_diffs");
    EXPECT_STREQ(headroom::transform_name(Transform::PromptCacheKey), "prompt_cache_key");
}

TEST(TransformCounts, LosslessAndLossyJsonAreToldApart) {
    std::string error;
    auto t = headroom::tokenizer::Tokenizers::load(HEADROOM_TOKENIZER_DIR, {}, error);
    ASSERT_NE(t, nullptr) << error;
    Settings o = any_size();
    o.tokenizers = t;

    auto r = process("/v1/chat/completions",
                               chat_with_tool(R"({\n  \"a\": 1,\n  \"b\": [1, 2]\n})"), o);
    ASSERT_EQ(r.outcome, Outcome::Rewritten) << headroom::reason_name(r.reason);
    EXPECT_EQ(r.model, "gpt-4o");
    EXPECT_EQ(of(r, Transform::MinifyJson).applied, 1u);
    EXPECT_EQ(of(r, Transform::MinifyJson).tokens_saved, r.tokens_before - r.tokens_after);
    EXPECT_EQ(of(r, Transform::CrushJson).applied, 0u);

    r = process("/v1/chat/completions", chat_with_tool(records(200)), o);
    ASSERT_EQ(r.outcome, Outcome::Rewritten) << headroom::reason_name(r.reason);
    EXPECT_EQ(of(r, Transform::CrushJson).applied, 1u);
    EXPECT_GT(of(r, Transform::CrushJson).tokens_saved, 1000u);
    EXPECT_EQ(of(r, Transform::CrushJson).tokens_saved, r.tokens_before - r.tokens_after);
    EXPECT_EQ(of(r, Transform::MinifyJson).applied, 0u);
}

TEST(TransformCounts, PrefixTransformsCountOncePerRequest) {
    std::string error;
    auto patterns = headroom::VolatilePatterns::compile({}, error);
    ASSERT_NE(patterns, nullptr) << error;
    Settings o = any_size();
    o.stabilize_prefix = true;
    o.volatile_patterns = patterns;
    auto r = process(
        "/v1/chat/completions",
        R"({"model":"gpt-4o","tools":[{"type":"function","function":{"name":"b"}},)"
        R"({"type":"function","function":{"name":"a"}}],"messages":[)"
        R"({"role":"system","content":"Now: 2026-11-22T10:00:00Z."},{"role":"user","content":"hi"}]})",
        o);
    ASSERT_EQ(r.outcome, Outcome::Rewritten) << headroom::reason_name(r.reason);
    EXPECT_EQ(of(r, Transform::MoveVolatile).applied, 1u);
    EXPECT_EQ(of(r, Transform::CanonicalTools).applied, 1u);
    EXPECT_EQ(of(r, Transform::PromptCacheKey).applied, 1u);
    EXPECT_EQ(of(r, Transform::CacheBreakpoints).applied, 0u);  // OpenAI
    EXPECT_EQ(of(r, Transform::MoveVolatile).tokens_saved, 0u);
}

TEST(TransformCounts, PassthroughAppliedNothing) {
    auto r = process("/v1/chat/completions",
                               R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]})",
                               any_size());
    EXPECT_EQ(r.outcome, Outcome::Passthrough);
    EXPECT_STREQ(headroom::reason_name(r.reason), "no_change");
    EXPECT_EQ(r.model, "gpt-4o-mini");
    for (const auto& c : r.by_transform) EXPECT_EQ(c.applied, 0u);
}
