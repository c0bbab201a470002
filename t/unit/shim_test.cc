// The C interface as nginx sees it.
#include "shim/headroom.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace {

// Compiles `s`, runs the body, frees the config (the result needs none).
headroom_result_t run_with(headroom_settings_t* s, const char* path, const std::string& body,
                           unsigned flags = 0) {
    char error[256];
    headroom_config_t* c = headroom_config_compile(s, error, sizeof error);
    EXPECT_NE(c, nullptr) << error;
    headroom_result_t r;
    headroom_process(c, flags, path, std::strlen(path), reinterpret_cast<const unsigned char*>(body.data()),
                     body.size(), &r);
    headroom_config_free(c);
    return r;
}

headroom_result_t run(const char* path, const std::string& body) {
    headroom_settings_t s;
    headroom_settings_init(&s);
    s.min_tokens = 0;  // small test bodies
    return run_with(&s, path, body);
}

}  // namespace

TEST(Shim, DefaultsAreSane) {
    headroom_settings_t o;
    headroom_settings_init(&o);
    EXPECT_EQ(o.max_depth, 512u);
    EXPECT_EQ(o.minify_tool_json, 1);
    EXPECT_EQ(o.min_tokens, 200u);
    EXPECT_EQ(o.nprotect_tools, 0u);
    EXPECT_EQ(o.tokenizers, nullptr);
    EXPECT_EQ(o.max_body_size, 32u * 1024 * 1024);
    EXPECT_EQ(o.json_max_items, 30u);
}

TEST(Shim, RewriteGivesBytesUntilFreed) {
    std::string body =
        R"({"messages":[{"role":"tool","tool_call_id":"a","content":"{\n  \"a\": 1\n}"}]})";
    headroom_result_t r = run("/v1/chat/completions", body);
    ASSERT_EQ(r.outcome, HEADROOM_REWRITTEN) << headroom_reason_name(r.reason);
    EXPECT_STREQ(r.shape, "openai_chat");
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(r.body), r.body_len),
              R"({"messages":[{"role":"tool","tool_call_id":"a","content":"{\"a\":1}"}]})");
    EXPECT_EQ(r.minified, 1u);
    EXPECT_EQ(r.noriginals, 0u);  // nothing left out, nothing to keep
    headroom_result_free(&r);
    EXPECT_EQ(r.body, nullptr);
    headroom_result_free(&r);  // twice is harmless
}

TEST(Shim, PassthroughAlwaysHasStrings) {
    headroom_result_t r = run("/v1/chat/completions", "\x01\x02");
    EXPECT_EQ(r.outcome, HEADROOM_PASSTHROUGH);
    EXPECT_STREQ(headroom_reason_name(r.reason), "invalid_json");
    ASSERT_NE(r.detail, nullptr);
    ASSERT_NE(r.shape, nullptr);
    EXPECT_EQ(r.body_len, 0u);
    headroom_result_free(&r);

    headroom_result_t e = run("", "");
    EXPECT_EQ(e.outcome, HEADROOM_PASSTHROUGH);
    headroom_result_free(&e);

    headroom_result_t empty = run("/v1/messages", "");
    EXPECT_STREQ(headroom_reason_name(empty.reason), "empty");
    headroom_result_free(&empty);

    headroom_result_t none;
    headroom_process(nullptr, 0, "/v1/messages", 12, nullptr, 0, &none);
    EXPECT_EQ(none.outcome, HEADROOM_PASSTHROUGH);
    headroom_result_free(&none);
}

TEST(Shim, ReasonsNamedFromOneList) {
    for (int i = 0; i < HEADROOM_REASONS; ++i) {
        ASSERT_NE(headroom_reason_name(i), nullptr) << i;
    }
    EXPECT_EQ(headroom_reason_name(HEADROOM_REASONS), nullptr);
    EXPECT_STREQ(headroom_reason_name(HEADROOM_REASON_NOT_POST), "not_post");
    EXPECT_STREQ(headroom_reason_name(HEADROOM_REASON_INTERNAL_ERROR), "internal_error");
    EXPECT_TRUE(headroom_reason_is_failure(HEADROOM_REASON_NO_MEMORY));
    EXPECT_TRUE(headroom_reason_is_failure(HEADROOM_REASON_OUT_OF_MEMORY));
    EXPECT_FALSE(headroom_reason_is_failure(HEADROOM_REASON_INVALID_JSON));
}

TEST(Shim, PathMayRewrite) {
    EXPECT_TRUE(headroom_path_may_rewrite("/v1/chat/completions", 20));
    EXPECT_TRUE(headroom_path_may_rewrite("/v1/messages", 12));
    EXPECT_TRUE(headroom_path_may_rewrite("/v1beta/models/gemini-2.5-pro:generateContent", 45));
    EXPECT_FALSE(headroom_path_may_rewrite("/v1/embeddings", 14));
    EXPECT_FALSE(headroom_path_may_rewrite("", 0));
}

TEST(Shim, ProtectedToolsPassThrough) {
    std::string body =
        R"({"messages":[{"role":"assistant","tool_calls":[{"id":"a","function":{"name":"Read"}}]},)"
        R"({"role":"tool","tool_call_id":"a","content":"{\n  \"a\": 1\n}"}]})";
    const char* globs[] = {"Re*"};
    headroom_settings_t o;
    headroom_settings_init(&o);
    o.min_tokens = 0;
    o.protect_tools = globs;
    o.nprotect_tools = 1;
    headroom_result_t r = run_with(&o, "/v1/chat/completions", body);
    EXPECT_EQ(r.outcome, HEADROOM_PASSTHROUGH);
    EXPECT_STREQ(headroom_reason_name(r.reason), "no_change");
    headroom_result_free(&r);
}

TEST(Shim, CompileRefusesWhatNginxMustRefuse) {
    char error[256];
    headroom_settings_t s;
    headroom_settings_init(&s);
    const char* bad[] = {"a["};
    s.protect_tools = bad;
    s.nprotect_tools = 1;
    EXPECT_EQ(headroom_config_compile(&s, error, sizeof error), nullptr);
    EXPECT_NE(std::strstr(error, "headroom_protect_tools"), nullptr) << error;

    headroom_settings_init(&s);
    s.json_keep_first = 1000000000;
    EXPECT_EQ(headroom_config_compile(&s, error, sizeof error), nullptr);
    EXPECT_NE(std::strstr(error, "headroom_json_keep_first"), nullptr) << error;

    EXPECT_TRUE(headroom_glob_is_valid("Re*"));
    EXPECT_TRUE(headroom_glob_is_valid("mcp__[a-z]*"));
    EXPECT_TRUE(headroom_glob_is_valid("[]]x"));
    EXPECT_TRUE(headroom_glob_is_valid("[[:alpha:]]*"));
    EXPECT_FALSE(headroom_glob_is_valid("a["));
    EXPECT_FALSE(headroom_glob_is_valid("a[!"));
    EXPECT_FALSE(headroom_glob_is_valid("a\\"));
    EXPECT_FALSE(headroom_glob_is_valid("[[:alpha:]"));
    EXPECT_FALSE(headroom_glob_is_valid("[\\]"));        // fnmatch: the ']' is escaped, nothing closes
    EXPECT_TRUE(headroom_glob_is_valid("[\\]]"));
    EXPECT_FALSE(headroom_glob_is_valid("[[:foo:]]"));   // a class fnmatch does not know
    EXPECT_TRUE(headroom_glob_is_valid("a\\[b"));       // an escaped '[' opens nothing
}

// A compressed body through the C interface, as the body filter feeds it:
// piece by piece, the last flagged; bounded by the config it was made with.
TEST(Shim, DecodesWithinTheConfigsBounds) {
    headroom_encoding_e e = HEADROOM_ENCODING_IDENTITY;
    EXPECT_EQ(headroom_encoding_of("X-Gzip", 6, &e), 0);
    EXPECT_EQ(e, HEADROOM_ENCODING_GZIP);
    EXPECT_EQ(headroom_encoding_of("br", 2, &e), 0);
    EXPECT_EQ(e, HEADROOM_ENCODING_BROTLI);
    EXPECT_EQ(headroom_encoding_of("compress", 8, &e), -1);
    EXPECT_STREQ(headroom_encoding_name(HEADROOM_ENCODING_ZSTD), "zstd");
    EXPECT_EQ(headroom_encoding_name(HEADROOM_ENCODINGS), nullptr);

    // "hello, hello, hello" gzipped by gzip -n.
    const unsigned char gz[] = {0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xcb, 0x48,
                                0xcd, 0xc9, 0xc9, 0xd7, 0x51, 0xc8, 0x40, 0xa2, 0x00, 0x9f, 0xa1, 0xca,
                                0x09, 0x13, 0x00, 0x00, 0x00};
    headroom_settings_t s;
    headroom_settings_init(&s);
    EXPECT_EQ(s.max_decode_ratio, 100u);
    char error[256];
    headroom_config_t* c = headroom_config_compile(&s, error, sizeof error);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(headroom_decoder_create(nullptr, HEADROOM_ENCODING_GZIP, 0), nullptr);
    headroom_decoder_t* d = headroom_decoder_create(c, HEADROOM_ENCODING_GZIP, sizeof gz);
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(headroom_decoder_feed(d, gz, 10, 0), HEADROOM_DECODE_MORE);
    EXPECT_EQ(headroom_decoder_feed(d, gz + 10, sizeof gz - 10, 1), HEADROOM_DECODE_DONE);
    size_t len = 0;
    const unsigned char* out = headroom_decoder_data(d, &len);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(out), len), "hello, hello, hello");
    headroom_decoder_destroy(d);

    s.max_body_size = 5;  // decodes past it
    headroom_config_t* small = headroom_config_compile(&s, error, sizeof error);
    ASSERT_NE(small, nullptr);
    d = headroom_decoder_create(small, HEADROOM_ENCODING_GZIP, 0);
    EXPECT_EQ(headroom_decoder_feed(d, gz, sizeof gz, 1), HEADROOM_DECODE_TOO_LARGE);
    headroom_decoder_destroy(d);
    headroom_config_free(small);

    s.max_body_size = 1 << 20;
    s.max_decode_ratio = 0;
    EXPECT_EQ(headroom_config_compile(&s, error, sizeof error), nullptr);
    EXPECT_NE(std::strstr(error, "headroom_max_decode_ratio"), nullptr);
    headroom_config_free(c);
}

namespace {

const char kKept[] = "one\ntwo\nthree\n";

headroom_store_e kept_store(void* data, const char* id, const unsigned char** text, size_t* len) {
    ++*static_cast<int*>(data);
    if (std::strcmp(id, "0123456789abcdef0123456789abcdef") != 0) return HEADROOM_STORE_MISSING;
    *text = reinterpret_cast<const unsigned char*>(kKept);
    *len = sizeof kKept - 1;
    return HEADROOM_STORE_FOUND;
}

}  // namespace

TEST(Shim, RetrievalsThroughTheCInterface) {
    headroom_text_t out;
    ASSERT_EQ(headroom_retrieve_select(reinterpret_cast<const unsigned char*>(kKept), sizeof kKept - 1, "2-3", 3,
                                       nullptr, 0, nullptr, 0, &out),
              0);
    EXPECT_EQ(std::string(reinterpret_cast<char*>(out.data), out.len), "two\nthree");
    headroom_text_free(&out);
    EXPECT_EQ(headroom_retrieve_select(reinterpret_cast<const unsigned char*>(kKept), sizeof kKept - 1, "9", 1,
                                       nullptr, 0, nullptr, 0, &out),
              -1);
    EXPECT_EQ(std::string(reinterpret_cast<char*>(out.data), out.len), "line 9 is not in the original (1-3)");
    headroom_text_free(&out);
    EXPECT_EQ(headroom_retrieve_select(reinterpret_cast<const unsigned char*>(kKept), sizeof kKept - 1, "1", 1,
                                       "1", 1, nullptr, 0, &out),
              -1);
    headroom_text_free(&out);

    char a[33], b[33];
    headroom_tenant_of(reinterpret_cast<const unsigned char*>("Bearer k"), 8, a);
    headroom_tenant_of(reinterpret_cast<const unsigned char*>("k"), 1, b);
    EXPECT_EQ(std::strlen(a), 32u);
    EXPECT_STRNE(a, b);
    EXPECT_EQ(std::string(a).find('k'), std::string::npos);

    int asked = 0;
    headroom_store_t store{kept_store, &asked};
    headroom_mcp_counts_t counts;
    const std::string call = R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"headroom_retrieve",)"
                             R"("arguments":{"id":"0123456789abcdef0123456789abcdef","grep":"t"}}})";
    EXPECT_EQ(headroom_mcp_respond(reinterpret_cast<const unsigned char*>(call.data()), call.size(), &store, 1 << 20, &out,
                                   &counts),
              200);
    EXPECT_NE(std::string(reinterpret_cast<char*>(out.data), out.len).find(R"(2: two\n3: three)"), std::string::npos);
    EXPECT_EQ(counts.found, 1u);
    EXPECT_EQ(asked, 1);
    headroom_text_free(&out);
    const std::string note = R"({"jsonrpc":"2.0","method":"notifications/initialized"})";
    EXPECT_EQ(headroom_mcp_respond(reinterpret_cast<const unsigned char*>(note.data()), note.size(), &store, 1 << 20, &out,
                                   &counts),
              202);
    EXPECT_EQ(out.data, nullptr);

    // The fill through headroom_process_with_store, and the tool.
    headroom_settings_t s;
    headroom_settings_init(&s);
    s.ccr = 1;
    char error[256];
    headroom_config_t* c = headroom_config_compile(&s, error, sizeof error);
    ASSERT_NE(c, nullptr);
    const std::string body =
        R"({"model":"claude-sonnet-4-5","max_tokens":9,"tools":[{"name":"sh","input_schema":{}}],"messages":[)"
        R"({"role":"user","content":"go"},{"role":"assistant","content":[{"type":"tool_use","id":"t1",)"
        R"("name":"headroom_retrieve","input":{"id":"0123456789abcdef0123456789abcdef","lines":"1"}}]},)"
        R"({"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","is_error":true,"content":"no"}]}]})";
    headroom_result_t r;
    headroom_process_with_store(c, 0, "/v1/messages", 12, reinterpret_cast<const unsigned char*>(body.data()),
                                body.size(), &store, &r);
    ASSERT_EQ(r.outcome, HEADROOM_REWRITTEN);
    EXPECT_EQ(r.fills_found, 1u);
    EXPECT_EQ(r.retrieve_tool_added, 1);
    EXPECT_EQ(r.transforms[9].applied, 1u);   // retrieve_tool
    EXPECT_EQ(r.transforms[10].applied, 1u);  // retrieve_fill
    EXPECT_STREQ(headroom_transform_name(10), "retrieve_fill");
    const std::string sent(reinterpret_cast<const char*>(r.body), r.body_len);
    EXPECT_NE(sent.find(R"("is_error":false,"content":"[headroom: original 0123456789abcdef0123456789abcdef, lines 1 of 3]\none")"),
              std::string::npos)
        << sent;
    headroom_result_free(&r);
    // Without a store: left as it is, the tool added all the same.
    headroom_process(c, 0, "/v1/messages", 12, reinterpret_cast<const unsigned char*>(body.data()), body.size(), &r);
    EXPECT_EQ(r.fills_found, 0u);
    EXPECT_EQ(r.retrieve_tool_added, 1);
    headroom_result_free(&r);
    headroom_config_free(c);
}
