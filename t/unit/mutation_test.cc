// Property: whatever bytes arrive, the pipeline either passes them through
// or returns a strictly smaller body that parses. Deterministic: a fixed
// seed, so a failure reproduces.
#include <gtest/gtest.h>

#include "test_options.h"

#include <random>
#include <string>

#include "core/json.h"
#include "core/pipeline.h"

namespace {

const char* kSeeds[] = {
    R"({"model":"m","messages":[{"role":"user","content":"hi"},{"role":"tool","tool_call_id":"a","content":"{\n  \"k\": [1, 2.50, {\"x\": \"\\u00e9\"}],\n  \"n\": null\n}"}]})",
    R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"[\n 1,\n 2\n]"}]}]}]})",
    R"({"model":"m","input":[{"type":"function_call_output","call_id":"c","output":"{ \"a\" : \"b\" }"}]})",
};
const char* kPaths[] = {"/v1/chat/completions", "/v1/messages", "/v1/responses"};

std::string mutate(std::string s, std::mt19937& rng) {
    std::uniform_int_distribution<int> op(0, 4);
    std::uniform_int_distribution<size_t> pos(0, s.size() - 1);
    std::uniform_int_distribution<int> byte(0, 255);
    const char interesting[] = "{}[]\",:\\u0n \n";
    std::uniform_int_distribution<size_t> pick(0, sizeof(interesting) - 2);
    switch (op(rng)) {
    case 0: s.resize(pos(rng)); break;                                   // truncate
    case 1: s[pos(rng)] = static_cast<char>(byte(rng)); break;           // any byte
    case 2: s.insert(pos(rng), 1, interesting[pick(rng)]); break;         // syntax
    case 3: s.erase(pos(rng), 1); break;
    default: s[pos(rng)] = interesting[pick(rng)]; break;
    }
    return s;
}

}  // namespace

TEST(Mutation, NeverCorruptsWhatItRewrites) {
    std::mt19937 rng(20261122);
    int rewritten = 0, passed = 0;
    for (int i = 0; i < 3000; ++i) {
        size_t k = i % 3;
        std::string body = kSeeds[k];
        for (int m = 0; m <= i % 4; ++m) {
            if (!body.empty()) body = mutate(body, rng);
        }
        auto r = process(kPaths[k], body, any_size());
        if (r.outcome == headroom::Outcome::Passthrough) {
            EXPECT_TRUE(r.body.empty());
            ++passed;
            continue;
        }
        ++rewritten;
        EXPECT_LT(r.body.size(), body.size()) << body;
        EXPECT_TRUE(headroom::json::parse(r.body, 512).ok()) << body;
        // The splice is the body the tree gives, serialized whole: the
        // same JSON value; and that body is its own serialization.
        headroom::Wants tree;
        tree.splice = false;
        const auto whole = process(kPaths[k], body, any_size(), tree);
        EXPECT_EQ(headroom::json::serialize(headroom::json::parse(r.body, 512).value), whole.body);
        EXPECT_EQ(headroom::json::serialize(headroom::json::parse(whole.body, 512).value), whole.body);
    }
    // Both paths were exercised.
    EXPECT_GT(rewritten, 100);
    EXPECT_GT(passed, 100);
}
