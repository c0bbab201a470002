// The pipeline decides in tokens of the request's model.
#include <gtest/gtest.h>

#include "test_options.h"

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "core/json.h"
#include "core/pipeline.h"
#include "loghub.h"
#include "core/tokenizer/rank_file.h"
#include "core/tokenizer/tokenizers.h"

namespace tk = headroom::tokenizer;
using headroom::Settings;
using headroom::Outcome;


namespace {

const char* kPretty = R"({\n  \"items\": [\n    1,\n    2\n  ],\n  \"ok\": true\n})";

std::string chat(const std::string& model, const std::string& tool_text_escaped) {
    return R"({"model":")" + model + R"(","messages":[{"role":"tool","tool_call_id":"a","content":")" +
           tool_text_escaped + R"("}]})";
}

std::shared_ptr<const tk::Tokenizers> real() {
    std::string error;
    auto t = tk::Tokenizers::load(HEADROOM_TOKENIZER_DIR, {}, error);
    EXPECT_NE(t, nullptr) << error;
    return t;
}

}  // namespace

TEST(PipelineTokens, CountsToolOutputsInTheModelsEncoding) {
    auto t = real();
    ASSERT_NE(t, nullptr);
    Settings o = any_size();
    o.tokenizers = t;
    auto r = process("/v1/chat/completions", chat("gpt-4o", kPretty), o);
    ASSERT_EQ(r.outcome, Outcome::Rewritten) << headroom::reason_name(r.reason);
    EXPECT_STREQ(r.encoding, "o200k_base");
    EXPECT_FALSE(r.tokens_estimated);
    const tk::Encoding* e = t->find("o200k_base");
    EXPECT_EQ(r.tokens_before, e->count("{\n  \"items\": [\n    1,\n    2\n  ],\n  \"ok\": true\n}"));
    EXPECT_EQ(r.tokens_after, e->count(R"({"items":[1,2],"ok":true})"));
    EXPECT_LT(r.tokens_after, r.tokens_before);

    auto c = process("/v1/chat/completions", chat("gpt-4-0613", kPretty), o);
    EXPECT_STREQ(c.encoding, "cl100k_base");
    auto claude = process("/v1/messages",
                          R"({"model":"claude-sonnet-4-5","messages":[{"role":"user","content":[)"
                          R"({"type":"tool_result","tool_use_id":"t","content":")" +
                              std::string(kPretty) + R"("}]}]})",
                          o);
    EXPECT_TRUE(claude.tokens_estimated);
    EXPECT_STREQ(claude.encoding, "o200k_base");
    EXPECT_GT(claude.tokens_before, 0u);
}

TEST(PipelineTokens, UnchangedOutputsStillCount) {
    auto t = real();
    ASSERT_NE(t, nullptr);
    Settings o = any_size();
    o.tokenizers = t;
    auto r = process("/v1/chat/completions", chat("gpt-5", "plain words here"), o);
    EXPECT_STREQ(headroom::reason_name(r.reason), "no_change");
    EXPECT_EQ(r.tokens_before, 3u);
    EXPECT_EQ(r.tokens_after, 3u);
}

TEST(PipelineTokens, KeepsTheOriginalUnlessStrictlyFewerTokens) {
    // A toy vocabulary in which the pretty text is one token and the
    // compact one several: fewer bytes, more tokens, so no rewrite.
    tk::RankTable toy{"o200k_base", "(?s).+", {}};
    for (int b = 0; b < 256; ++b) toy.tokens.push_back(std::string(1, static_cast<char>(b)));
    toy.tokens.push_back("[ 1, 2 ]");
    char dir[] = "/tmp/headroom-toy-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    for (const char* name : {"o200k_base", "cl100k_base"}) {
        toy.name = name;
        std::ofstream(std::string(dir) + "/" + name + ".tok", std::ios::binary)
            << tk::write_rank_file(toy);
    }
    std::string error;
    auto t = tk::Tokenizers::load(dir, {}, error);
    ASSERT_NE(t, nullptr) << error;
    Settings o = any_size();
    o.tokenizers = t;
    auto r = process("/v1/chat/completions", chat("gpt-4o", "[ 1, 2 ]"), o);
    EXPECT_EQ(r.outcome, Outcome::Passthrough);
    EXPECT_STREQ(headroom::reason_name(r.reason), "no_change");
    EXPECT_EQ(r.tokens_before, 1u);
    EXPECT_EQ(r.tokens_after, 1u);
    for (const char* name : {"o200k_base", "cl100k_base"}) {
        std::remove((std::string(dir) + "/" + name + ".tok").c_str());
    }
    std::remove(dir);
}

TEST(PipelineTokens, RulesMustNameALoadedEncoding) {
    std::string error;
    EXPECT_EQ(tk::Tokenizers::load(HEADROOM_TOKENIZER_DIR, {{"claude", "p50k_base"}}, error), nullptr);
    EXPECT_NE(error.find("p50k_base"), std::string::npos);
    EXPECT_EQ(tk::Tokenizers::load("/nonexistent", {}, error), nullptr);
    EXPECT_NE(error.find("/nonexistent/o200k_base.tok"), std::string::npos) << error;
}

// Text that is mostly one repeated byte packs into few, long tokens: a
// marker is weighed against such lines by counting, not by their bytes.
TEST(PipelineTokens, AMarkerNeverCostsMoreTokensThanTheLinesItReplaces) {
    auto t = real();
    ASSERT_NE(t, nullptr);
    Settings o = any_size();
    o.tokenizers = t;
    std::string log;
    for (const char* w : {"alpha", "bravo", "charlie", "delta", "echo"}) log += std::string("2024-01-01 INFO start ") + w + "\\n";
    for (int i = 0; i < 3; ++i) log += std::to_string(i) + " x" + std::string(1000, ' ') + "y\\n";
    for (int i = 0; i < 40; ++i) log += "2024-01-01 INFO step " + std::to_string(i) + " done\\n";
    auto r = process("/v1/chat/completions", chat("gpt-4o", log), o);
    ASSERT_EQ(r.outcome, Outcome::Rewritten) << headroom::reason_name(r.reason);
    // The wide lines' template would fold two of them (26 tokens) under a
    // marker of 38: they stay, all three.
    for (int i = 0; i < 3; ++i) {
        EXPECT_NE(r.body.find(std::to_string(i) + " x" + std::string(1000, ' ') + "y"), std::string::npos) << i;
    }
    EXPECT_NE(r.body.find("more lines like the one above omitted"), std::string::npos);
}

// Large outputs are counted from samples where that decides as a full count
// would: over every JSON fixture and loghub log (and this repository's code,
// which no crusher changes), the body sent is the one exact counts give,
// the figures are marked estimated and within 10% of the exact ones, and
// what is counted exactly (the rewrites) is exact.
TEST(PipelineTokens, EstimatesDecideAsExactCountsDo) {
    auto t = real();
    ASSERT_NE(t, nullptr);
    std::vector<std::string> outputs;
    for (const char* name : {"github-issues.json", "k8s-pods.json", "metrics.json", "packages.json", "search-hits.json"}) {
        std::ifstream f(std::string(HEADROOM_FIXTURES_DIR) + "/json/" + name, std::ios::binary);
        std::stringstream b;
        b << f.rdbuf();
        outputs.push_back(b.str());
    }
    for (auto& [name, text] : loghub_logs()) outputs.push_back(text);
    {
        std::ifstream f("src/core/pipeline.cc", std::ios::binary);
        std::stringstream b;
        b << f.rdbuf();
        outputs.push_back(b.str());
    }
    Settings fast, exact;
    fast.tokenizers = exact.tokenizers = t;
    exact.exact_counts = true;
    std::size_t estimated = 0;
    for (const std::string& out : outputs) {
        if (out.empty()) continue;
        const std::string body = R"({"model":"gpt-4o","messages":[{"role":"tool","tool_call_id":"a","content":)" +
                                 headroom::json::serialize(headroom::json::string_value(out)) + "}]}";
        const auto a = process("/v1/chat/completions", body, fast);
        const auto b = process("/v1/chat/completions", body, exact);
        SCOPED_TRACE(out.substr(0, 60));
        EXPECT_EQ(a.outcome, b.outcome);
        EXPECT_EQ(a.body, b.body);
        EXPECT_FALSE(b.tokens_estimated);
        if (out.size() < 16 * 1024) {
            EXPECT_EQ(a.tokens_before, b.tokens_before);
            continue;
        }
        ++estimated;
        if (!a.tokens_estimated) continue;  // a close call: counted exactly
        EXPECT_NEAR(static_cast<double>(a.tokens_before), static_cast<double>(b.tokens_before),
                    0.1 * static_cast<double>(b.tokens_before));
        // The rewrite itself is always counted exactly.
        if (a.outcome == headroom::Outcome::Rewritten) {
            EXPECT_EQ(a.tokens_after, b.tokens_after);
        }
    }
    EXPECT_GE(estimated, 5u);  // the JSON fixtures at least; the loghub logs when ../shared is there
}
