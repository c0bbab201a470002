// headroom_retire: which outputs go (a pure function of the request that
// only grows from turn to turn, in whole batches), the marker's grammar,
// and 30-turn sessions in each API whose retired part changes once per
// batch and is otherwise sent byte for byte as on the turn before.
#include <gtest/gtest.h>

#include "test_options.h"

#include <random>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/markers.h"
#include "core/output_cache.h"
#include "core/transforms/retire_outputs.h"
#include "agent_sessions.h"

using headroom::Outcome;
using headroom::Settings;
using headroom::transforms::outputs_to_retire;
using headroom::transforms::RetireCandidate;
using headroom::transforms::RetireLimits;
namespace markers = headroom::markers;

namespace {

std::vector<RetireCandidate> random_outputs(std::mt19937& rng, std::size_t n) {
    std::vector<RetireCandidate> v(n);
    for (RetireCandidate& c : v) {
        c.tokens = std::uniform_int_distribution<std::size_t>(0, 9000)(rng);
        c.retirable = std::uniform_int_distribution<int>(0, 5)(rng) != 0;
    }
    return v;
}

std::size_t retired_tokens(const std::vector<RetireCandidate>& v, const std::vector<bool>& go) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < v.size(); ++i) n += go[i] ? v[i].tokens : 0;
    return n;
}

}  // namespace

TEST(Retire, NothingUntilAWholeBatchIsOld) {
    RetireLimits l;
    l.after = 2;
    l.min_tokens = 10;
    l.batch = 1000;
    std::vector<RetireCandidate> v = {{400, true}, {500, true}, {300, true}, {300, true}};
    // Old: the first two, 900 tokens: no whole batch.
    EXPECT_EQ(outputs_to_retire(v, l), std::vector<bool>({false, false, false, false}));
    v.push_back({50, true});
    // Old: 1200 tokens; the batch boundary (1000) is reached by the third.
    EXPECT_EQ(outputs_to_retire(v, l), std::vector<bool>({true, true, true, false, false}));
    // Protected and small outputs stay and do not count.
    v = {{400, true}, {5000, false}, {9, true}, {700, true}, {1, true}, {1, true}};
    EXPECT_EQ(outputs_to_retire(v, l), std::vector<bool>({true, false, false, true, false, false}));
    l.after = 10;
    EXPECT_EQ(outputs_to_retire(v, l), std::vector<bool>(6, false));
}

// The property every turn relies on: a later turn (the same outputs and
// more) retires a superset, and the retired set changes only when the old
// outputs reach another whole batch.
TEST(Retire, LaterTurnsRetireASupersetInWholeBatches) {
    std::mt19937 rng(7);
    for (int round = 0; round < 300; ++round) {
        RetireLimits l;
        l.after = std::uniform_int_distribution<std::size_t>(0, 6)(rng);
        l.min_tokens = std::uniform_int_distribution<std::size_t>(0, 500)(rng);
        l.batch = std::uniform_int_distribution<std::size_t>(1, 30000)(rng);
        const std::vector<RetireCandidate> all = random_outputs(rng, 60);
        std::vector<bool> prev;
        std::size_t prev_batches = 0;
        for (std::size_t n = 0; n <= all.size(); ++n) {
            std::vector<RetireCandidate> turn(all.begin(), all.begin() + n);
            std::vector<bool> go = outputs_to_retire(turn, l);
            std::size_t old_tokens = 0;
            for (std::size_t i = 0; i + l.after < n; ++i) {
                if (turn[i].retirable && turn[i].tokens >= l.min_tokens) old_tokens += turn[i].tokens;
            }
            const std::size_t batches = old_tokens / l.batch;
            for (std::size_t i = 0; i < n; ++i) {
                if (!go[i]) continue;
                EXPECT_TRUE(turn[i].retirable);
                EXPECT_GE(turn[i].tokens, l.min_tokens);
                EXPECT_LT(i + l.after, n) << "a recent output retired";
            }
            for (std::size_t i = 0; i < prev.size(); ++i) {
                if (prev[i]) {
                    EXPECT_TRUE(go[i]) << "an output came back";
                }
            }
            std::vector<bool> prev_grown = prev;
            prev_grown.resize(n, false);
            if (batches == prev_batches) {
                EXPECT_EQ(go, prev_grown) << "changed within a batch";
            }
            const std::size_t gone = retired_tokens(turn, go);
            EXPECT_GE(gone, batches * l.batch);
            if (gone > 0) {
                EXPECT_GE(gone, l.batch);
            }
            prev = go;
            prev_batches = batches;
        }
    }
}

TEST(Retire, MarkerGrammar) {
    markers::RetiredMarker m;
    m.tool = "read_file";
    m.tokens = 5120;
    m.first_line = markers::first_line("  \n\timport os; (x)  \nrest");
    m.id = std::string(32, 'a');
    m.way = "headroom_retrieve";
    const std::string text = markers::write_retired(m);
    EXPECT_EQ(text, "[headroom: output of read_file retired (5120 tokens; first line: import os; (x)); "
                    "headroom_retrieve id=" + std::string(32, 'a') + "]");
    auto back = markers::parse_retired(text);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->tool, "read_file");
    EXPECT_EQ(back->tokens, 5120u);
    EXPECT_EQ(back->first_line, "import os; (x)");
    EXPECT_EQ(back->id, m.id);
    EXPECT_EQ(back->way, "headroom_retrieve");
    m.way.clear();
    m.first_line.clear();
    m.tool = "bad;(name)\n";
    back = markers::parse_retired(markers::write_retired(m));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->tool, "bad__name__");
    EXPECT_EQ(back->first_line, "");
    EXPECT_FALSE(markers::parse_retired("[headroom: output of x retired (12 tokens); id=zz]"));
    EXPECT_FALSE(markers::parse_text(text));  // not an omission marker
    // Cut on a character's boundary, control characters as spaces.
    EXPECT_EQ(markers::first_line(std::string(79, 'x') + "\xc3\xa9" + "y", 80), std::string(79, 'x') + "...");
    EXPECT_EQ(markers::first_line("a\tb\x01" "c"), "a b c");
    EXPECT_EQ(markers::tool_label(""), "a tool");
}

TEST(Retire, ThirtyTurnSessionsInEachApiMoveInBatches) {
    for (const AgentApi& api : kAgentApis) {
        SCOPED_TRACE(api.name);
        Settings s;
        s.ccr = true;
        s.retire = true;
        s.retire_after = 4;
        s.retire_min_tokens = 100;
        s.retire_batch = 12000;  // bytes: no tokenizers here
        s.protect_tools = {"secret_*"};
        std::string error;
        auto config = headroom::Config::compile(s, error);
        ASSERT_TRUE(config) << error;
        headroom::output_cache::InProcess store;
        const headroom::output_cache::Cache cache = store.cache();
        headroom::Wants wants;
        wants.cache = &cache;

        std::string messages = api.head();
        std::string prev_sent;
        std::size_t prev_retired = 0, changes = 0, batches_seen = 0;
        for (std::size_t t = 0; t < 30; ++t) {
            messages += api.turn(t, listing_output(t));
            const std::string body = messages + api.tail;
            headroom::Result r = headroom::process(api.path, body, *config, wants);
            const std::size_t retired = r.by_transform[static_cast<std::size_t>(headroom::Transform::Retire)].applied;
            const std::string sent = r.outcome == Outcome::Rewritten ? r.body : body;
            if (retired > 0) {
                ASSERT_EQ(r.outcome, Outcome::Rewritten);
            }
            ASSERT_TRUE(headroom::json::parse(sent, 512).ok());
            // Every marker's original is kept, under the id it names.
            std::size_t markers_seen = 0;
            for (std::size_t at = sent.find("[headroom: output of "); at != std::string::npos;
                 at = sent.find("[headroom: output of ", at + 1)) {
                const std::size_t end = sent.find(']', at);
                auto m = markers::parse_retired(sent.substr(at, end - at + 1));
                ASSERT_TRUE(m) << sent.substr(at, 200);
                EXPECT_EQ(m->tool, "list_dir");  // protected tools stay
                bool kept = false;
                for (const headroom::Original& o : r.originals) {
                    if (o.id != m->id) continue;
                    kept = true;
                    EXPECT_EQ(markers::output_id(o.text), m->id);
                }
                EXPECT_TRUE(kept);
                ++markers_seen;
            }
            EXPECT_EQ(markers_seen, retired);
            EXPECT_GE(retired, prev_retired);
            if (!prev_sent.empty()) {
                const std::string before = prev_sent.substr(0, prev_sent.size() - 2);
                const bool same = sent.compare(0, before.size(), before) == 0;
                if (retired == prev_retired) {
                    EXPECT_TRUE(same) << "turn " << t << ": the sent prefix changed without a batch";
                } else {
                    EXPECT_FALSE(same);
                    ++changes;
                }
            }
            if (retired != prev_retired) ++batches_seen;
            prev_sent = sent;
            prev_retired = retired;
        }
        // 30 outputs of about 3.7 KB, 24 of them retirable: several batches,
        // each a change of the prefix, and no other change.
        EXPECT_GE(batches_seen, 3u);
        EXPECT_LE(batches_seen, 30u * 3800 / 12000 + 1);
        EXPECT_EQ(changes, batches_seen);
        EXPECT_GE(prev_retired, 15u);
        EXPECT_LE(prev_retired, 24u - 3);
    }
}

TEST(Retire, NeedsTheStore) {
    Settings s;
    s.retire = true;
    std::string error;
    EXPECT_FALSE(headroom::Config::compile(s, error));
    EXPECT_NE(error.find("headroom_retire"), std::string::npos);
}
