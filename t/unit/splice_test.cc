// The splice: a rewritten body is the client's bytes but for what changed.
// Over every JSON fixture and loghub log, in all four APIs, compact and
// pretty-printed, with prefix stabilization and reversible compression on
// and off, the spliced body is the same JSON value as the body serialized
// whole from the tree, with the same figures; json::splice alone keeps
// what did not change byte for byte and never copies what did.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/tokenizer/tokenizers.h"
#include "core/volatile_values.h"
#include "loghub.h"
#include "test_options.h"

namespace json = headroom::json;

namespace {

std::string quoted(const std::string& s) { return json::serialize(json::string_value(s)); }

std::string slurp(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream b;
    b << f.rdbuf();
    return b.str();
}

// The JSON text with a newline and two spaces after every ',', '{' and
// '[' and a space after every ':' outside strings: the same value.
std::string pretty(const std::string& s) {
    std::string out;
    bool in_string = false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        out.push_back(c);
        if (in_string) {
            if (c == '\\') out.push_back(s[++i]);
            else if (c == '"') in_string = false;
            continue;
        }
        if (c == '"') in_string = true;
        else if (c == ',' || c == '{' || c == '[') out += "\n  ";
        else if (c == ':') out.push_back(' ');
    }
    return out;
}

const char* kTools = R"([{"type":"function","function":{"name":"zeta","parameters":{"type":"object","properties":{"b":{"type":"string"},"a":{"type":"integer"}}}}},{"type":"function","function":{"name":"alpha","parameters":{"type":"object"}}}])";

struct Api {
    const char* path;
    std::string (*body)(const std::string& out, const std::string& q);
};

std::string chat(const std::string& out, const std::string& q) {
    return std::string(R"({"model":"gpt-4o","tools":)") + kTools +
           R"(,"messages":[{"role":"system","content":"You help. Time: 2026-11-30T10:02:03Z."},{"role":"user","content":)" +
           quoted(q) +
           R"(},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"zeta","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":)" +
           quoted(out) + R"(}],"temperature":0.20})";
}

std::string responses(const std::string& out, const std::string& q) {
    return R"({"model":"gpt-4o","instructions":"Time: 2026-11-30T10:02:03Z.","tools":[{"type":"function","name":"zeta","parameters":{"type":"object"}},{"type":"function","name":"alpha","parameters":{"type":"object"}}],"input":[{"role":"user","content":)" +
           quoted(q) +
           R"(},{"type":"function_call","call_id":"c1","name":"zeta","arguments":"{}"},{"type":"function_call_output","call_id":"c1","output":)" +
           quoted(out) + "}]}";
}

std::string anthropic(const std::string& out, const std::string& q) {
    return R"({"model":"claude-sonnet-4-5","max_tokens":100,"system":"Time: 2026-11-30T10:02:03Z.","tools":[{"name":"zeta","input_schema":{"type":"object"}},{"name":"alpha","input_schema":{"type":"object"}}],"messages":[{"role":"user","content":)" +
           quoted(q) +
           R"(},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"zeta","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":)" +
           quoted(out) + R"(}]}]}],"thinking":{"type":"enabled","budget_tokens":2048}})";
}

std::string gemini(const std::string& out, const std::string& q) {
    return R"({"systemInstruction":{"parts":[{"text":"Time: 2026-11-30T10:02:03Z."}]},"tools":[{"functionDeclarations":[{"name":"zeta","parameters":{"type":"object"}},{"name":"alpha"}]}],"contents":[{"role":"user","parts":[{"text":)" +
           quoted(q) +
           R"(}]},{"role":"model","parts":[{"functionCall":{"name":"zeta","args":{}}}]},{"role":"user","parts":[{"functionResponse":{"name":"zeta","response":{"output":)" +
           quoted(out) + R"(,"code":0}}}]}]})";
}

const Api kApis[] = {{"/v1/chat/completions", chat},
                     {"/v1/responses", responses},
                     {"/v1/messages", anthropic},
                     {"/v1beta/models/gemini-2.5-flash:generateContent", gemini}};

std::vector<headroom::Settings> settings() {
    std::string error;
    static auto tokenizers = headroom::tokenizer::Tokenizers::load(HEADROOM_TOKENIZER_DIR, {}, error);
    static auto patterns = headroom::VolatilePatterns::compile({}, error);
    std::vector<headroom::Settings> all;
    headroom::Settings plain;
    plain.tokenizers = tokenizers;
    all.push_back(plain);
    headroom::Settings prefix = plain;
    prefix.stabilize_prefix = true;
    prefix.volatile_patterns = patterns;
    prefix.ccr = true;
    all.push_back(prefix);
    return all;
}

}  // namespace

TEST(Splice, TheSameValueAsTheWholeTreeOverTheCorpus) {
    std::vector<std::string> outputs;
    for (const char* name : {"github-issues.json", "k8s-pods.json", "metrics.json", "packages.json", "search-hits.json"}) {
        outputs.push_back(slurp(std::string(HEADROOM_FIXTURES_DIR) + "/json/" + name));
    }
    for (auto& [name, text] : loghub_logs()) outputs.push_back(text.substr(0, 40 * 1024));
    outputs.push_back("small\n");
    std::size_t rewritten = 0, checked = 0;
    for (const headroom::Settings& s : settings()) {
        std::string error;
        auto config = headroom::Config::compile(s, error);
        ASSERT_TRUE(config) << error;
        for (const std::string& out : outputs) {
            for (const Api& api : kApis) {
                for (bool pretty_envelope : {false, true}) {
                    std::string body = api.body(out, "which errors? see \u00e9 \\u00e9");
                    if (pretty_envelope) body = pretty(body);
                    ASSERT_TRUE(json::parse(body, 512).ok());
                    headroom::Wants tree;
                    tree.splice = false;
                    const auto spliced = headroom::process(api.path, body, *config);
                    const auto whole = headroom::process(api.path, body, *config, tree);
                    SCOPED_TRACE(std::string(api.path) + (pretty_envelope ? " pretty" : " compact"));
                    ASSERT_EQ(spliced.outcome, whole.outcome);
                    EXPECT_EQ(spliced.tokens_after, whole.tokens_after);
                    EXPECT_EQ(spliced.prefix_hash, whole.prefix_hash);
                    ++checked;
                    if (spliced.outcome != headroom::Outcome::Rewritten) continue;
                    ++rewritten;
                    const auto again = json::parse(spliced.body, 512);
                    ASSERT_TRUE(again.ok());
                    EXPECT_EQ(json::serialize(again.value), whole.body);
                    // The question, as sent, is there byte for byte.
                    EXPECT_NE(spliced.body.find(quoted("which errors? see \u00e9 \\u00e9")), std::string::npos);
                    if (pretty_envelope) {
                        EXPECT_LT(whole.body.size(), spliced.body.size());
                    }
                }
            }
        }
    }
    EXPECT_GT(rewritten, checked / 2);
}

namespace {

std::string spliced(const json::Value& v, const std::string& original) {
    std::string out;
    json::splice(v, original, out);
    return out;
}

}  // namespace

TEST(Splice, WhatDidNotChangeIsCopiedAsSent) {
    const std::string text = " {\"a\" : [1, 2.50 ,\"\\u00e9\\/\"],\n \"b\":{ \"c\" : null , \"d\":true } } ";
    auto doc = json::parse_sealed(text, 64);
    ASSERT_TRUE(doc.ok());
    EXPECT_EQ(spliced(doc.value, text), text.substr(1, text.size() - 2));
    // One string changed: the rest stays as sent.
    doc.value.members[1].value.members[0].value = json::string_value("x");
    EXPECT_EQ(spliced(doc.value, text), "{\"a\":[1, 2.50 ,\"\\u00e9\\/\"],\"b\":{\"c\":\"x\",\"d\":true}}");
}

TEST(Splice, EveryKindOfChangeIsSeen) {
    const std::string text = R"({"a":[1,[2,3]],"b":"text","c":true,"d":1.50,"e":{"x":1,"y":2}})";
    auto fresh = [&] { return json::parse_sealed(text, 64).value; };
    auto check = [&](const json::Value& v) {
        EXPECT_EQ(json::serialize(json::parse(spliced(v, text), 64).value), json::serialize(v));
    };
    json::Value v = fresh();
    v.members[0].value.items[1] = json::Value(v.members[0].value.items[1].items[0]);  // [1,[2,3]] -> [1,2]
    check(v);
    v = fresh();
    v.members[1].value.text[0] = 'T';  // in place, same length
    check(v);
    v = fresh();
    v.members[2].value.kind = json::Kind::False;
    check(v);
    v = fresh();
    v.members[3].value.text = "1.5";
    check(v);
    v = fresh();
    std::swap(v.members[4].value.members[0], v.members[4].value.members[1]);  // sorted otherwise
    check(v);
    v = fresh();
    v.members[4].value.members[0].key = "z";  // renamed
    check(v);
    v = fresh();
    v.members.pop_back();
    v.members.push_back({"e", json::parse(R"({"x":1,"y":2})", 64).value});  // same value, parsed elsewhere
    EXPECT_EQ(spliced(v, text), R"({"a":[1,[2,3]],"b":"text","c":true,"d":1.50,"e":{"x":1,"y":2}})");
    v = fresh();
    // A value parsed from another text, at the very same offsets, is
    // serialized, never copied from this one.
    const std::string other = R"({"a":[1,[2,3]],"b":"TEXT","c":true,"d":1.50,"e":{"x":1,"y":2}})";
    v.members[1].value = json::parse(other, 64).value.members[1].value;
    EXPECT_NE(spliced(v, text).find("\"TEXT\""), std::string::npos);
    check(v);
}
