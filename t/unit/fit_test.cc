// headroom_fit: which turns go (in whole quanta of excess, the same turns
// on every turn until the request outgrows another quantum), and 30-turn
// sessions in each API over a small window: the oldest turns go first,
// calls and results never apart, the system prompt and the last turns
// kept, the marker present with its original kept; an OpenAI request
// (exact counts) over its budget by one token cut and one at it untouched;
// signed thinking never dropped; a request that cannot fit sent as it was.
#include <gtest/gtest.h>

#include "test_options.h"

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "agent_sessions.h"
#include "core/json.h"
#include "core/markers.h"
#include "core/output_cache.h"
#include "core/tokenizer/tokenizers.h"
#include "core/transforms/fit_window.h"

using headroom::FitState;
using headroom::Outcome;
using headroom::Settings;
using headroom::transforms::FitBounds;
using headroom::transforms::FitTurn;
using headroom::transforms::turns_to_drop;
namespace json = headroom::json;
namespace markers = headroom::markers;

TEST(Fit, CutsInWholeQuantaSoThatTheNextTurnsFit) {
    std::mt19937 rng(11);
    for (int round = 0; round < 200; ++round) {
        const FitBounds b = headroom::transforms::fit_bounds(90000, 0.75);
        ASSERT_EQ(b.target, 67500u);
        std::vector<FitTurn> turns;
        std::size_t total = 2000;  // the system prompt and tools
        std::vector<bool> prev;
        std::size_t prev_over = 0, cuts = 0;
        for (int t = 0; t < 120; ++t) {
            const std::size_t size = std::uniform_int_distribution<std::size_t>(100, 6000)(rng);
            turns.push_back({size, true});
            total += size;
            // The last two turns stay.
            std::vector<FitTurn> view = turns;
            for (std::size_t k = view.size() >= 2 ? view.size() - 2 : 0; k < view.size(); ++k) view[k].droppable = false;
            const headroom::transforms::FitCut cut = turns_to_drop(total, view, b, 40);
            const std::size_t over = headroom::transforms::quanta_over(total, b);
            if (!cut.fits) continue;
            const std::size_t left = total - cut.dropped + (cut.dropped > 0 ? 40 : 0);
            EXPECT_LE(left, b.budget);
            if (over > 0) {
                EXPECT_LE(left, b.target + 40 + 6000);  // the target, but for the last turn's size
            }
            // Oldest first: what goes is a run from the start.
            bool kept_one = false;
            for (std::size_t k = 0; k < cut.drop.size(); ++k) {
                if (!cut.drop[k]) kept_one = true;
                if (kept_one) {
                    EXPECT_FALSE(cut.drop[k]) << "turn " << k << " dropped after a kept one";
                }
            }
            std::vector<bool> grown = prev;
            grown.resize(cut.drop.size(), false);
            if (over == prev_over) {
                EXPECT_EQ(cut.drop, grown) << "a cut without another quantum of excess";
            } else {
                ++cuts;
            }
            prev = cut.drop;
            prev_over = over;
        }
        EXPECT_GT(cuts, 0u);
    }
}

namespace {

// Each call has its result and each result its call, in every API's way.
::testing::AssertionResult paired(const std::string& api, const json::Value& doc) {
    std::multiset<std::string> calls, results;
    auto str = [](const json::Value* v) { return v != nullptr && v->is_string() ? v->text : std::string("?"); };
    if (api == "openai_chat") {
        for (const json::Value& m : doc.find("messages")->items) {
            if (const json::Value* tc = m.find("tool_calls")) {
                for (const json::Value& c : tc->items) calls.insert(str(c.find("id")));
            }
            if (const json::Value* id = m.find("tool_call_id")) results.insert(str(id));
        }
    } else if (api == "anthropic_messages") {
        for (const json::Value& m : doc.find("messages")->items) {
            const json::Value* content = m.find("content");
            if (content == nullptr || !content->is_array()) continue;
            for (const json::Value& b : content->items) {
                if (str(b.find("type")) == "tool_use") calls.insert(str(b.find("id")));
                if (str(b.find("type")) == "tool_result") results.insert(str(b.find("tool_use_id")));
            }
        }
    } else if (api == "openai_responses") {
        for (const json::Value& m : doc.find("input")->items) {
            if (str(m.find("type")) == "function_call") calls.insert(str(m.find("call_id")));
            if (str(m.find("type")) == "function_call_output") results.insert(str(m.find("call_id")));
        }
    } else {
        // Gemini: each response follows a model content calling that function.
        const std::vector<json::Value>& contents = doc.find("contents")->items;
        for (std::size_t i = 0; i < contents.size(); ++i) {
            for (const json::Value& p : contents[i].find("parts")->items) {
                if (const json::Value* fr = p.find("functionResponse")) {
                    std::string name = str(fr->find("name"));
                    results.insert(name + "@" + std::to_string(i));
                    bool found = false;
                    if (i > 0) {
                        for (const json::Value& q : contents[i - 1].find("parts")->items) {
                            const json::Value* fc = q.find("functionCall");
                            found = found || (fc != nullptr && str(fc->find("name")) == name);
                        }
                    }
                    if (found) calls.insert(name + "@" + std::to_string(i));
                }
            }
        }
    }
    if (calls == results) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << calls.size() << " calls, " << results.size() << " results";
}

// The marker messages in a body, read back.
std::vector<markers::DroppedMarker> dropped_markers(const std::string& body) {
    std::vector<markers::DroppedMarker> out;
    for (std::size_t at = body.find("[headroom: "); at != std::string::npos; at = body.find("[headroom: ", at + 1)) {
        const std::size_t end = body.find(']', at);
        if (auto m = markers::parse_dropped(body.substr(at, end - at + 1))) out.push_back(*m);
    }
    return out;
}

}  // namespace

namespace {

struct SessionStats {
    std::size_t fitted = 0;       // turns cut to fit
    std::size_t retired = 0;      // most outputs retired by fitting in a turn
    std::size_t dropped = 0;      // turns dropped on the last turn
    std::size_t changes = 0;      // turns whose body does not start with the last one's
    std::size_t excess = 0;       // the last turn's tokens over the budget, before fitting
};

// `n` turns of `api` through the pipeline with `s`, each checked: valid,
// paired, in budget, the system prompt and the last two turns there, the
// oldest turns gone with their original kept, and the body starting with
// the last turn's but where what was cut changed.
SessionStats run_session(const AgentApi& api, const Settings& s, std::size_t n) {
    SessionStats st;
    std::string error;
    auto config = headroom::Config::compile(s, error);
    EXPECT_TRUE(config) << error;
    if (!config) return st;
    headroom::output_cache::InProcess store;
    const headroom::output_cache::Cache cache = store.cache();
    headroom::Wants wants;
    wants.cache = &cache;
    std::string messages = api.head();
    std::string prev_sent;
    std::size_t prev_turns = 0, prev_retired = 0;
    for (std::size_t t = 0; t < n; ++t) {
        SCOPED_TRACE("turn " + std::to_string(t));
        messages += api.turn(t, listing_output(t));
        const std::string body = messages + api.tail;
        headroom::Result r = headroom::process(api.path, body, *config, wants);
        EXPECT_NE(r.fit, FitState::Failed);
        const std::string sent = r.outcome == Outcome::Rewritten ? r.body : body;
        json::ParseResult doc = json::parse(sent, 512);
        EXPECT_TRUE(doc.ok());
        if (!doc.ok()) return st;
        EXPECT_TRUE(paired(api.name, doc.value));
        EXPECT_LE(r.fit_tokens_after, r.fit_budget);
        if (std::string(api.name) != "gemini") {
            EXPECT_NE(sent.find("You are terse."), std::string::npos);
        }
        EXPECT_NE(sent.find("list dir " + std::to_string(t) + "\""), std::string::npos);
        if (t > 0) {
            EXPECT_NE(sent.find("list dir " + std::to_string(t - 1) + "\""), std::string::npos);
        }
        const std::vector<markers::DroppedMarker> found = dropped_markers(sent);
        const std::size_t turns = r.fit == FitState::Fitted ? r.fit_turns_dropped : 0;
        EXPECT_EQ(found.size(), turns > 0 ? 1u : 0u);
        if (r.fit == FitState::Fitted) ++st.fitted;
        // A turn once dropped stays dropped: the next turns' bytes hold.
        EXPECT_GE(turns, prev_turns) << "a dropped turn came back";
        st.retired = std::max(st.retired, r.fit_outputs_retired);
        if (turns > 0 && !found.empty()) {
            EXPECT_EQ(found[0].turns, turns);
            // The oldest turns went: "list dir 0" .. "list dir turns-1".
            for (std::size_t k = 0; k < turns; ++k) {
                EXPECT_EQ(sent.find("list dir " + std::to_string(k) + "\""), std::string::npos) << k;
            }
            EXPECT_NE(sent.find("list dir " + std::to_string(turns) + "\""), std::string::npos);
            bool kept = false;
            for (const headroom::Original& o : r.originals) {
                if (o.id != found[0].id) continue;
                kept = true;
                EXPECT_EQ(markers::output_id(o.text), o.id);
                EXPECT_NE(o.text.find("list dir 0"), std::string::npos);
            }
            EXPECT_TRUE(kept);
        }
        if (!prev_sent.empty()) {
            const bool same = sent.compare(0, prev_sent.size() - 2, prev_sent, 0, prev_sent.size() - 2) == 0;
            if (!same) {
                ++st.changes;
                // Only a cut changes what was sent.
                EXPECT_TRUE(turns != prev_turns || r.fit_outputs_retired != prev_retired) << "changed without a cut";
            }
        }
        prev_sent = sent;
        prev_turns = turns;
        prev_retired = r.fit_outputs_retired;
        st.dropped = turns;
        st.excess = r.fit_tokens_before > r.fit_budget ? r.fit_tokens_before - r.fit_budget : 0;
    }
    return st;
}

// Fitting on, in bytes (no tokenizers): a window of 60 KB for every
// session's model, 4 KB reserved, no margin.
Settings sixty_kb_window() {
    Settings s;
    s.ccr = true;
    s.fit = true;
    s.context_limits = {{"gpt-4o", 60000}, {"claude-", 60000}, {"gemini-", 60000}};
    s.output_reserve = 4000;
    s.fit_margin = 0;
    return s;
}

}  // namespace

// Outputs no marker may replace (retire_min_tokens past them): fitting
// drops whole turns, a quantum of excess at a time.
TEST(Fit, FortyTurnSessionsInEachApiDropTheOldestTurns) {
    for (const AgentApi& api : kAgentApis) {
        SCOPED_TRACE(api.name);
        // Cuts go down to 42 KB, so a quantum of 14 KB (about four turns).
        Settings s = sixty_kb_window();
        s.retire_min_tokens = 1000000;
        const SessionStats st = run_session(api, s, 40);
        EXPECT_GT(st.fitted, 20u);
        EXPECT_EQ(st.retired, 0u);
        EXPECT_GE(st.dropped, 15u);
        // A cut per quantum of growth: 40 turns of 3.9 KB, over from turn 14.
        EXPECT_GE(st.changes, 3u);
        EXPECT_LE(st.changes, 26u * 3900 / 14000 + 2);
    }
}

// Retiring in batches and dropping turns together, in a window that needs
// both: a batch of outputs retired never brings a dropped turn back.
TEST(Fit, RetiringNeverBringsADroppedTurnBack) {
    for (const AgentApi& api : kAgentApis) {
        SCOPED_TRACE(api.name);
        Settings s = sixty_kb_window();
        s.context_limits = {{"gpt-4o", 24000}, {"claude-", 24000}, {"gemini-", 24000}};
        s.protect_tools = {"secret_*"};
        s.retire_batch = 9000;
        const SessionStats st = run_session(api, s, 40);
        EXPECT_GT(st.retired, 0u);
        EXPECT_GE(st.dropped, 10u);
    }
}

// Outputs that may be retired: fitting retires old ones first, in
// batches, and drops turns only when that is not enough.
TEST(Fit, ThirtyTurnSessionsInEachApiRetireOutputsFirst) {
    for (const AgentApi& api : kAgentApis) {
        SCOPED_TRACE(api.name);
        Settings s = sixty_kb_window();
        s.retire_batch = 12000;
        const SessionStats st = run_session(api, s, 30);
        EXPECT_GT(st.fitted, 10u);
        EXPECT_GT(st.retired, 10u);
        EXPECT_EQ(st.dropped, 0u) << "turns dropped though retiring was enough";
        EXPECT_LE(st.changes, 30u * 3900 / 12000 + 2);
    }
}

namespace {

std::shared_ptr<const headroom::tokenizer::Tokenizers> tokenizers() {
    static std::shared_ptr<const headroom::tokenizer::Tokenizers> t = [] {
        std::string error;
        return headroom::tokenizer::Tokenizers::load(HEADROOM_TOKENIZER_DIR, {}, error);
    }();
    return t;
}

std::string chat_session(std::size_t turns, std::size_t max_tokens) {
    std::string m = R"({"model":"gpt-4o","max_tokens":)" + std::to_string(max_tokens) +
                    R"(,"messages":[{"role":"system","content":"You are terse."})";
    for (std::size_t t = 0; t < turns; ++t) {
        m += R"(,{"role":"user","content":"question )" + std::to_string(t) + R"( about the weather in town"})";
        m += R"(,{"role":"assistant","content":"answer )" + std::to_string(t) + R"(: it rains, and it will rain."})";
    }
    return m + "]}";
}

}  // namespace

TEST(Fit, AnOpenAIRequestOverByOneTokenIsCutAndOneAtItIsNot) {
    ASSERT_TRUE(tokenizers());
    Settings s;
    s.ccr = true;
    s.fit = true;
    s.tokenizers = tokenizers();
    const std::string body = chat_session(40, 1000);
    // The request's tokens, as headroom counts them (o200k_base is gpt-4o's own).
    s.context_limits = {{"gpt-4o", 1000000}};
    headroom::Result probe = process("/v1/chat/completions", body, s);
    ASSERT_GT(probe.fit_tokens_before, 200u);
    EXPECT_FALSE(probe.tokens_estimated);
    const std::size_t total = probe.fit_tokens_before;

    // A window whose budget (the limit less max_tokens) is the request: untouched.
    s.context_limits = {{"gpt-4o", total + 1000}};
    headroom::Result at = process("/v1/chat/completions", body, s);
    EXPECT_EQ(at.fit, FitState::None);
    EXPECT_EQ(at.fit_budget, total);
    EXPECT_EQ(at.outcome, Outcome::Passthrough);

    // One token less: cut, down to the target.
    s.context_limits = {{"gpt-4o", total + 999}};
    headroom::Result over = process("/v1/chat/completions", body, s);
    EXPECT_EQ(over.fit, FitState::Fitted);
    ASSERT_EQ(over.outcome, Outcome::Rewritten);
    EXPECT_GT(over.fit_turns_dropped, 0u);
    EXPECT_LE(over.fit_tokens_after, over.fit_budget);
    EXPECT_LE(over.fit_tokens_after, (total - 1) * 3 / 4 + 40);
    EXPECT_EQ(over.by_transform[static_cast<std::size_t>(headroom::Transform::Fit)].applied, 1u);
    EXPECT_NE(over.body.find(R"({"role":"system","content":"You are terse."},{"role":"user","content":"[headroom: )"),
              std::string::npos);
    EXPECT_EQ(over.body.find("question 0 "), std::string::npos);
    EXPECT_NE(over.body.find("question 39 "), std::string::npos);
    EXPECT_NE(over.body.find("question 38 "), std::string::npos);
    // The request says what it counts: a reserve from max_completion_tokens too.
    EXPECT_EQ(at.fit_limit, total + 1000);
}

// The provider checks the signatures of the current turn's thinking (the
// last turns stay whole); an older turn's thinking is not read, and goes
// with its turn.
TEST(Fit, TheCurrentTurnsThinkingStaysAndARequestThatCannotFitIsSentAsItWas) {
    Settings s;
    s.ccr = true;
    s.fit = true;
    s.output_reserve = 100;
    s.fit_margin = 0;
    auto turn = [](int t, bool thinking) {
        std::string filler(2000, 'a' + t % 26);
        std::string m = R"(,{"role":"user","content":"q)" + std::to_string(t) + " " + filler + R"("})";
        m += R"(,{"role":"assistant","content":[)";
        if (thinking) m += R"({"type":"thinking","thinking":"hmm )" + std::to_string(t) + R"(","signature":"sig)" + std::to_string(t) + R"("},)";
        m += R"({"type":"text","text":"a)" + std::to_string(t) + R"("}]})";
        return m;
    };
    std::string body = R"({"model":"acme-1","max_tokens":100,"system":"S","messages":[)";
    body += turn(0, true).substr(1) + turn(1, true) + turn(2, false) + turn(3, true) + turn(4, true) + "]}";
    s.context_limits = {{"acme-", 8000}};
    headroom::Result r = process("/v1/messages", body, s);
    ASSERT_EQ(r.fit, FitState::Fitted);
    EXPECT_EQ(r.body.find("\"q0 "), std::string::npos);
    EXPECT_EQ(r.body.find("\"sig0\""), std::string::npos);
    EXPECT_NE(r.body.find("\"q4 "), std::string::npos);
    EXPECT_NE(r.body.find("\"signature\":\"sig4\""), std::string::npos) << "the current turn's thinking went";
    EXPECT_NE(r.body.find("\"signature\":\"sig3\""), std::string::npos);
    // Oldest first, and a run: the marker stands where they were.
    const std::size_t marker = r.body.find("earlier turns dropped");
    ASSERT_NE(marker, std::string::npos);
    const std::size_t first_kept = r.body.find("\"q", marker);
    for (int t = 0; t < 5; ++t) {
        const std::size_t at = r.body.find("\"q" + std::to_string(t) + " ");
        if (at != std::string::npos) {
            EXPECT_GE(at, first_kept) << t;
        }
    }

    // A window the last two turns alone are over: nothing goes.
    s.context_limits = {{"acme-", 3000}};
    headroom::Result failed = process("/v1/messages", body, s);
    EXPECT_EQ(failed.fit, FitState::Failed);
    EXPECT_EQ(failed.outcome, Outcome::Passthrough);
    EXPECT_GT(failed.fit_tokens_before, failed.fit_budget);

    // A model whose window is not known is not fitted.
    s.context_limits.clear();
    headroom::Result unknown = process("/v1/messages", body, s);
    EXPECT_EQ(unknown.fit, FitState::None);
    EXPECT_EQ(unknown.fit_limit, 0u);
}

TEST(Fit, CheckedWhenCompiled) {
    Settings s;
    s.fit = true;
    std::string error;
    EXPECT_FALSE(headroom::Config::compile(s, error));
    EXPECT_NE(error.find("headroom_fit"), std::string::npos);
    s.ccr = true;
    s.keep_turns = 0;
    EXPECT_FALSE(headroom::Config::compile(s, error));
    EXPECT_NE(error.find("headroom_keep_turns"), std::string::npos);
    s.keep_turns = 2;
    s.fit_target = 0.96;
    EXPECT_FALSE(headroom::Config::compile(s, error));
    s.fit_target = 0.75;
    s.context_limits = {{"", 10}};
    EXPECT_FALSE(headroom::Config::compile(s, error));
    EXPECT_NE(error.find("headroom_context_limit"), std::string::npos);
    EXPECT_EQ(headroom::context_limit("gpt-4o-mini-2024", {}), 128000u);
    EXPECT_EQ(headroom::context_limit("gpt-4.1-nano", {}), 1047576u);
    EXPECT_EQ(headroom::context_limit("gpt-4o-mini", {{"gpt-4o-mini", 5000}}), 5000u);
    EXPECT_FALSE(headroom::context_limit("llama-3", {}));
}
