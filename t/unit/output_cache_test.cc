// The results' cache: an entry reads back as written and nothing else
// reads as one; a request whose outputs come from the cache is, byte for
// byte and figure for figure, the request worked out afresh, over every
// JSON fixture and every loghub log, in all four APIs, with and without
// reversible compression.
#include "core/output_cache.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/tokenizer/tokenizers.h"
#include "loghub.h"
#include "test_options.h"

namespace json = headroom::json;
namespace oc = headroom::output_cache;

namespace {

std::string quoted(const std::string& s) { return json::serialize(json::string_value(s)); }

using MapCache = oc::InProcess;

// An agent's turn: two tool outputs (the second split in two parts where
// the API allows, a structured value in Gemini), a question.
struct Api {
    const char* path;
    std::string (*body)(const std::string& out1, const std::string& out2, const std::string& question);
};

std::string chat(const std::string& a, const std::string& b, const std::string& q) {
    return R"({"model":"gpt-4o","messages":[{"role":"user","content":)" + quoted(q) +
           R"(},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"fetch","arguments":"{}"}},{"id":"c2","type":"function","function":{"name":"logs","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":)" +
           quoted(a) + R"(},{"role":"tool","tool_call_id":"c2","content":[{"type":"text","text":)" + quoted(b) +
           R"(},{"type":"text","text":"tail\n"}]}]})";
}

std::string responses(const std::string& a, const std::string& b, const std::string& q) {
    return R"({"model":"gpt-4o","input":[{"role":"user","content":)" + quoted(q) +
           R"(},{"type":"function_call","call_id":"c1","name":"fetch","arguments":"{}"},{"type":"function_call_output","call_id":"c1","output":)" +
           quoted(a) + R"(},{"type":"function_call","call_id":"c2","name":"logs","arguments":"{}"},{"type":"function_call_output","call_id":"c2","output":)" +
           quoted(b) + "}]}";
}

std::string anthropic(const std::string& a, const std::string& b, const std::string& q) {
    return R"({"model":"claude-sonnet-4-5","max_tokens":100,"messages":[{"role":"user","content":)" + quoted(q) +
           R"(},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"fetch","input":{}},{"type":"tool_use","id":"t2","name":"logs","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":)" +
           quoted(a) + R"(},{"type":"tool_result","tool_use_id":"t2","content":[{"type":"text","text":)" + quoted(b) +
           R"(},{"type":"text","text":"tail\n"}]}]}]})";
}

// Gemini's outputs are structured: JSON values, crushed as such.
std::string gemini(const std::string& a, const std::string& b, const std::string& q) {
    return R"({"contents":[{"role":"user","parts":[{"text":)" + quoted(q) +
           R"(}]},{"role":"model","parts":[{"functionCall":{"name":"fetch","args":{}}},{"functionCall":{"name":"logs","args":{}}}]},{"role":"user","parts":[{"functionResponse":{"name":"fetch","response":{"output":)" +
           quoted(a) + R"(}}},{"functionResponse":{"name":"logs","response":{"lines":)" + quoted(b) +
           R"(,"exit":0}}}]}]})";
}

const Api kApis[] = {{"/v1/chat/completions", chat},
                     {"/v1/responses", responses},
                     {"/v1/messages", anthropic},
                     {"/v1beta/models/gemini-2.5-flash:generateContent", gemini}};

std::string slurp(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream b;
    b << f.rdbuf();
    return b.str();
}

std::shared_ptr<const headroom::tokenizer::Tokenizers> tokenizers() {
    static std::shared_ptr<const headroom::tokenizer::Tokenizers> t = [] {
        std::string error;
        return headroom::tokenizer::Tokenizers::load(HEADROOM_TOKENIZER_DIR, {}, error);
    }();
    return t;
}

// Everything a request's figures and body say, to compare two runs.
std::string figures(const headroom::Result& r) {
    std::ostringstream s;
    s << static_cast<int>(r.outcome) << ' ' << static_cast<int>(r.reason) << ' ' << r.tool_outputs << ' '
      << r.minified << ' ' << r.crushed << ' ' << r.omitted << ' ' << r.small << ' ' << r.protected_ << ' '
      << r.tokens_before << ' ' << r.tokens_after << ' ' << r.encoding << " kinds";
    for (const auto& k : r.by_kind) s << ' ' << k.outputs << '/' << k.tokens_before << '/' << k.tokens_after;
    s << " transforms";
    for (const auto& t : r.by_transform) s << ' ' << t.applied << '/' << t.tokens_saved;
    s << " originals";
    for (const auto& o : r.originals) s << ' ' << o.id << ':' << o.text.size() << ':' << std::hash<std::string>()(o.text);
    s << " hash " << r.prefix_hash;
    return s.str();
}

// A log of `n` lines of one template.
std::string job_log(int n) {
    std::string text;
    for (int i = 0; i < n; ++i) text += "2024-01-01 12:00:00 INFO job " + std::to_string(i) + " done in 3 ms\n";
    return text;
}

std::vector<std::pair<std::string, std::string>> outputs() {
    std::vector<std::pair<std::string, std::string>> all;
    for (const char* name : {"github-issues.json", "k8s-pods.json", "metrics.json", "packages.json", "search-hits.json"}) {
        all.emplace_back(name, slurp(std::string(HEADROOM_FIXTURES_DIR) + "/json/" + name));
    }
    for (auto& [name, text] : loghub_logs()) all.emplace_back(name, text.substr(0, 48 * 1024));
    all.emplace_back("small", "ok\n");
    return all;
}

}  // namespace

TEST(OutputCache, AnEntryReadsBackAsWritten) {
    oc::Effect e;
    e.fate = oc::Effect::Fate::LookedAt;
    e.before = 123456789;
    e.after = 7;
    e.kind = headroom::ContentKind::Log;
    e.changed = true;
    e.omitted = 300;
    e.id = std::string(32, 'a');
    e.rewrites = {{0, "first"}, {3, std::string("with\0nul", 8)}};
    e.originals = {{std::string(32, 'b'), "the original"}};
    const std::string bytes = oc::encode(e);
    auto back = oc::decode(bytes);
    ASSERT_TRUE(back);
    EXPECT_EQ(oc::encode(*back), bytes);
    EXPECT_EQ(back->rewrites[1].text, std::string("with\0nul", 8));
    // No prefix, no longer bytes, no other version reads as an entry.
    for (std::size_t n = 0; n < bytes.size(); ++n) EXPECT_FALSE(oc::decode(bytes.substr(0, n))) << n;
    EXPECT_FALSE(oc::decode(bytes + "x"));
    std::string other = bytes;
    other[0] = 99;
    EXPECT_FALSE(oc::decode(other));
}

TEST(OutputCache, MaterialIsFramedAndComparedWhole) {
    auto key = [](std::vector<std::string> pieces) {
        oc::Material m;
        for (const auto& p : pieces) m.add(p);
        return m.key();
    };
    EXPECT_NE(key({"ab", "c"}), key({"a", "bc"}));
    EXPECT_NE(key({"a", ""}), key({"a"}));
    EXPECT_EQ(key({"a", "b"}), key({"a", "b"}));
    const std::string a = "ab", b = "c", c = "a", d = "bc";
    oc::Material m1, m2;
    m1.add(a);
    m1.add(b);
    m2.add(c);
    m2.add(d);
    oc::Effect e;
    e.rewrites = {{0, "x"}};
    const std::string entry = oc::entry(m1, e);
    ASSERT_TRUE(oc::open(entry, m1));
    EXPECT_EQ(oc::open(entry, m1)->rewrites[0].text, "x");
    EXPECT_FALSE(oc::open(entry, m2));
    for (std::size_t n = 0; n < entry.size(); ++n) EXPECT_FALSE(oc::open(entry.substr(0, n), m1)) << n;
}

// A cache that hands back whatever was put last, whatever the key: as if
// every key collided. Each output still gets only its own result.
TEST(OutputCache, ACollidingKeyNeverGivesAnotherOutputsResult) {
    std::string last;
    std::size_t taken = 0;
    oc::Cache cache;
    cache.get = [&](const oc::Key&, const std::function<bool(std::string_view)>& take) {
        const bool hit = !last.empty() && take(last);
        taken += hit;
        return hit;
    };
    cache.put = [&](const oc::Key&, std::string_view entry) { last = std::string(entry); };
    headroom::Wants w;
    w.cache = &cache;
    headroom::Settings s = any_size();
    std::string one, two;
    for (int i = 0; i < 200; ++i) {
        one += "2024-01-01 12:00:00 INFO job " + std::to_string(i) + " done in 3 ms\n";
        two += "2024-01-01 12:00:00 WARN disk " + std::to_string(i) + " at 91%\n";
    }
    for (const std::string* out : {&one, &two, &one, &two}) {
        const std::string body = chat(*out, "x", "q");
        EXPECT_EQ(process("/v1/chat/completions", body, s, w).body, process("/v1/chat/completions", body, s).body);
    }
    // Only the second output ("x", "tail\n": the same in every request) is
    // ever taken: in requests 2 and 4, right after it was the last put.
    EXPECT_EQ(taken, 2u);
}

TEST(OutputCache, ACachedRequestIsTheRequestWorkedOut) {
    ASSERT_NE(tokenizers(), nullptr);
    std::size_t hits = 0, requests = 0;
    for (bool ccr : {false, true}) {
        headroom::Settings s;
        s.ccr = ccr;
        s.stabilize_prefix = ccr;
        s.tokenizers = tokenizers();
        std::string error;
        auto config = headroom::Config::compile(s, error);
        ASSERT_TRUE(config) << error;
        MapCache store;
        const oc::Cache cache = store.cache();
        const auto all = outputs();
        for (std::size_t i = 0; i < all.size(); ++i) {
            const auto& [name, a] = all[i];
            const std::string& b = all[(i + 1) % all.size()].second;
            for (const Api& api : kApis) {
                for (const char* q : {"what failed?", "show 42"}) {
                    const std::string body = api.body(a, b, q);
                    const headroom::Result fresh = headroom::process(api.path, body, *config);
                    headroom::Wants w;
                    w.cache = &cache;
                    const headroom::Result first = headroom::process(api.path, body, *config, w);
                    const headroom::Result again = headroom::process(api.path, body, *config, w);
                    SCOPED_TRACE(name + " " + api.path + " " + q);
                    EXPECT_EQ(first.body, fresh.body);
                    EXPECT_EQ(again.body, fresh.body);
                    EXPECT_EQ(figures(first), figures(fresh));
                    EXPECT_EQ(figures(again), figures(fresh));
                    EXPECT_EQ(again.cache_misses, 0u);
                    EXPECT_EQ(again.cache_hits, first.cache_hits + first.cache_misses);
                    EXPECT_GT(again.cache_hits, 0u);
                    hits += again.cache_hits;
                    ++requests;
                }
            }
        }
    }
    EXPECT_GT(hits, requests);
}

TEST(OutputCache, AnotherConfigurationOrQuestionMisses) {
    MapCache store;
    const oc::Cache cache = store.cache();
    headroom::Wants w;
    w.cache = &cache;
    const std::string text = job_log(200) + "2024-01-01 12:00:01 ERROR job 7 failed: disk full\n";
    headroom::Settings s = any_size();
    auto r1 = process("/v1/chat/completions", chat(text, "x", "q"), s, w);
    EXPECT_EQ(r1.cache_hits, 0u);
    EXPECT_EQ(process("/v1/chat/completions", chat(text, "x", "q"), s, w).cache_hits, 2u);
    EXPECT_EQ(process("/v1/chat/completions", chat(text, "x", "other"), s, w).cache_hits, 0u);
    headroom::Settings t = s;
    t.log_values = 0.5;
    EXPECT_EQ(process("/v1/chat/completions", chat(text, "x", "q"), t, w).cache_hits, 0u);
    t = s;
    t.ccr = true;
    EXPECT_EQ(process("/v1/chat/completions", chat(text, "x", "q"), t, w).cache_hits, 0u);
}

TEST(OutputCache, AnEntryThatIsNotOneIsAMiss) {
    MapCache store;
    const oc::Cache cache = store.cache();
    headroom::Wants w;
    w.cache = &cache;
    const std::string body = chat(job_log(200), "x", "q");
    headroom::Settings s = any_size();
    const auto fresh = process("/v1/chat/completions", body, s);
    process("/v1/chat/completions", body, s, w);
    ASSERT_FALSE(store.entries().empty());
    for (auto& [k, v] : store.entries()) v = "garbage";  // not an entry at all
    auto r = process("/v1/chat/completions", body, s, w);
    EXPECT_EQ(r.body, fresh.body);
    EXPECT_EQ(r.cache_hits, 0u);
    // An entry of the right material naming a part the output does not have.
    oc::Effect e;
    e.rewrites = {{9, "x"}};
    for (auto& [k, v] : store.entries()) {
        std::size_t n = 0, shift = 0, at = 0;
        for (;; ++at, shift += 7) {  // the material's length, then the material
            n |= static_cast<std::size_t>(v[at] & 0x7f) << shift;
            if (!(v[at] & 0x80)) break;
        }
        v = v.substr(0, at + 1 + n) + oc::encode(e);
    }
    r = process("/v1/chat/completions", body, s, w);
    EXPECT_EQ(r.body, fresh.body);
    EXPECT_EQ(r.cache_hits, 0u);
}

TEST(OutputCache, NewWorkPastTheBoundIsHandedBack) {
    const std::string text = job_log(400);
    const std::string body = chat(text, "x", "q");
    headroom::Settings s = any_size();
    MapCache store;
    const oc::Cache cache = store.cache();
    headroom::Wants w;
    w.cache = &cache;
    w.offload_above = text.size() - 1;
    auto off = process("/v1/chat/completions", body, s, w);
    EXPECT_EQ(off.outcome, headroom::Outcome::Offload);
    EXPECT_TRUE(off.body.empty());
    EXPECT_EQ(off.tool_outputs, 0u);
    EXPECT_TRUE(off.originals.empty());
    EXPECT_EQ(store.puts, 0u);
    // Worked out without the bound (as a thread would), then the same
    // request is all in the cache: nothing new, done here.
    w.offload_above = 0;
    const auto done = process("/v1/chat/completions", body, s, w);
    EXPECT_EQ(done.outcome, headroom::Outcome::Rewritten);
    w.offload_above = 1;
    const auto again = process("/v1/chat/completions", body, s, w);
    EXPECT_EQ(again.outcome, headroom::Outcome::Rewritten);
    EXPECT_EQ(again.body, done.body);
    // Without a cache every output is new.
    headroom::Wants bare;
    bare.offload_above = text.size() - 1;
    EXPECT_EQ(process("/v1/chat/completions", body, s, bare).outcome, headroom::Outcome::Offload);
    bare.offload_above = text.size() + 6;  // "x" and "tail\n"
    EXPECT_EQ(process("/v1/chat/completions", body, s, bare).outcome, headroom::Outcome::Rewritten);
}
