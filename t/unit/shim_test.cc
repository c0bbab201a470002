// The C interface as nginx sees it.
#include "shim/headroom.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace {

headroom_result_t run(const char* path, const std::string& body) {
    headroom_options_t o;
    headroom_options_init(&o);
    o.min_tokens = 0;  // small test bodies
    headroom_result_t r;
    headroom_process(&o, path, std::strlen(path),
                     reinterpret_cast<const unsigned char*>(body.data()), body.size(), &r);
    return r;
}

}  // namespace

TEST(Shim, DefaultsAreSane) {
    headroom_options_t o;
    headroom_options_init(&o);
    EXPECT_EQ(o.max_depth, 512u);
    EXPECT_EQ(o.minify_tool_json, 1);
    EXPECT_EQ(o.min_tokens, 200u);
    EXPECT_EQ(o.nprotect_tools, 0u);
    EXPECT_EQ(o.tokenizers, nullptr);
}

TEST(Shim, RewriteGivesBytesUntilFreed) {
    std::string body =
        R"({"messages":[{"role":"tool","tool_call_id":"a","content":"{\n  \"a\": 1\n}"}]})";
    headroom_result_t r = run("/v1/chat/completions", body);
    ASSERT_EQ(r.outcome, HEADROOM_REWRITTEN) << r.reason;
    EXPECT_STREQ(r.shape, "openai_chat");
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(r.body), r.body_len),
              R"({"messages":[{"role":"tool","tool_call_id":"a","content":"{\"a\":1}"}]})");
    EXPECT_EQ(r.minified, 1u);
    headroom_result_free(&r);
    EXPECT_EQ(r.body, nullptr);
    headroom_result_free(&r);  // twice is harmless
}

TEST(Shim, PassthroughAlwaysHasStrings) {
    headroom_result_t r = run("/v1/chat/completions", "\x01\x02");
    EXPECT_EQ(r.outcome, HEADROOM_PASSTHROUGH);
    EXPECT_STREQ(r.reason, "invalid_json");
    ASSERT_NE(r.detail, nullptr);
    ASSERT_NE(r.shape, nullptr);
    EXPECT_EQ(r.body_len, 0u);
    headroom_result_free(&r);

    headroom_result_t e = run("", "");
    EXPECT_EQ(e.outcome, HEADROOM_PASSTHROUGH);
    headroom_result_free(&e);
}

TEST(Shim, PathMayRewrite) {
    EXPECT_TRUE(headroom_path_may_rewrite("/v1/chat/completions", 20));
    EXPECT_TRUE(headroom_path_may_rewrite("/v1/messages", 12));
    EXPECT_FALSE(headroom_path_may_rewrite("/v1/embeddings", 14));
    EXPECT_FALSE(headroom_path_may_rewrite("", 0));
}

TEST(Shim, ProtectedToolsPassThrough) {
    std::string body =
        R"({"messages":[{"role":"assistant","tool_calls":[{"id":"a","function":{"name":"Read"}}]},)"
        R"({"role":"tool","tool_call_id":"a","content":"{\n  \"a\": 1\n}"}]})";
    const char* globs[] = {"Re*"};
    headroom_options_t o;
    headroom_options_init(&o);
    o.min_tokens = 0;
    o.protect_tools = globs;
    o.nprotect_tools = 1;
    headroom_result_t r;
    headroom_process(&o, "/v1/chat/completions", 20,
                     reinterpret_cast<const unsigned char*>(body.data()), body.size(), &r);
    EXPECT_EQ(r.outcome, HEADROOM_PASSTHROUGH);
    EXPECT_STREQ(r.reason, "no_change");
    headroom_result_free(&r);
}
