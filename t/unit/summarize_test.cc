// headroom_summarize: the summarizer's request and answer, summaries taken
// from the store by the span's id (else asked for, and the plain marker
// sent), and headroom_summarize_turns over 30-turn sessions in each API:
// old turns replaced in batches by their summaries, the same bytes on
// every later turn, each span's original kept.
#include <gtest/gtest.h>

#include "test_options.h"

#include <map>
#include <string>

#include "agent_sessions.h"
#include "core/json.h"
#include "core/markers.h"
#include "core/output_cache.h"
#include "core/summaries.h"

using headroom::Outcome;
using headroom::Settings;
namespace json = headroom::json;
namespace markers = headroom::markers;
namespace summaries = headroom::summaries;
using headroom::retrieval::Stored;

TEST(Summaries, TheRequestAndTheAnswer) {
    const std::string body = summaries::request_body("gpt-4o-mini", "{\"role\":\"user\",\"content\":\"hi\"}");
    json::ParseResult doc = json::parse(body, 16);
    ASSERT_TRUE(doc.ok());
    EXPECT_EQ(doc.value.find("model")->text, "gpt-4o-mini");
    const json::Value& messages = *doc.value.find("messages");
    ASSERT_EQ(messages.items.size(), 2u);
    EXPECT_EQ(messages.items[0].find("role")->text, "system");
    EXPECT_EQ(messages.items[0].find("content")->text, summaries::instruction());
    EXPECT_EQ(messages.items[1].find("content")->text, "{\"role\":\"user\",\"content\":\"hi\"}");

    EXPECT_EQ(summaries::summary_of_answer(
                  R"({"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"They fixed the build."}}]})"),
              "They fixed the build.");
    EXPECT_FALSE(summaries::summary_of_answer(R"({"choices":[]})"));
    EXPECT_FALSE(summaries::summary_of_answer(R"({"choices":[{"message":{"content":null}}]})"));
    EXPECT_FALSE(summaries::summary_of_answer(R"({"choices":[{"message":{"content":"  \n"}}]})"));
    EXPECT_FALSE(summaries::summary_of_answer("not json"));
    const std::string big(20000, 'x');
    EXPECT_EQ(summaries::summary_of_answer(R"({"choices":[{"message":{"content":")" + big + "\"}}]}")->size(),
              summaries::kMaxSummaryBytes);
    // The id depends on the model and the span, nothing else.
    EXPECT_EQ(summaries::summary_id("m", std::string(32, 'a')), summaries::summary_id("m", std::string(32, 'a')));
    EXPECT_NE(summaries::summary_id("m", std::string(32, 'a')), summaries::summary_id("n", std::string(32, 'a')));
    EXPECT_TRUE(markers::is_output_id(summaries::summary_id("m", std::string(32, 'a'))));

    markers::DroppedMarker m;
    m.turns = 3;
    m.tokens = 900;
    m.id = std::string(32, 'b');
    m.way = "headroom_retrieve";
    m.summary = "They fixed the build.\nTwo tests still fail.";
    const std::string text = markers::write_dropped(m);
    EXPECT_EQ(text, "[headroom: 3 earlier turns summarized (900 tokens); headroom_retrieve id=" + std::string(32, 'b') +
                        "]\nThey fixed the build.\nTwo tests still fail.");
    auto back = markers::parse_dropped(text);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->summary, m.summary);
    EXPECT_EQ(back->turns, 3u);
}

namespace {

// The store, as the module keeps it; the summarizer, as its location
// answers: every summary asked for is kept at once.
struct Store {
    std::map<std::string, std::string> kept;
    headroom::retrieval::Lookup lookup() {
        return [this](std::string_view id) {
            auto it = kept.find(std::string(id));
            if (it == kept.end()) return Stored{Stored::State::Missing, {}};
            return Stored{Stored::State::Found, it->second};
        };
    }
    void summarize(const headroom::Result& r) {
        for (const headroom::SummaryWanted& w : r.summaries_wanted) {
            json::ParseResult body = json::parse(w.body, 64);
            ASSERT_TRUE(body.ok());
            const std::string& turns = body.value.find("messages")->items[1].find("content")->text;
            kept[w.id] = "Summary of " + std::to_string(std::count(turns.begin(), turns.end(), '\n') + 1) +
                         " messages, the first: " + turns.substr(0, 40);
        }
    }
};

}  // namespace

TEST(Summarize, OldTurnsGoInBatchesAndStayTheSame) {
    for (const AgentApi& api : kAgentApis) {
        SCOPED_TRACE(api.name);
        Settings s;
        s.ccr = true;
        s.summarize = true;
        s.summarize_turns = true;
        s.summarize_after = 3;
        s.summarize_batch = 15000;  // bytes: about four turns
        std::string error;
        auto config = headroom::Config::compile(s, error);
        ASSERT_TRUE(config) << error;
        Store store;
        const headroom::retrieval::Lookup lookup = store.lookup();
        headroom::output_cache::InProcess results;
        const headroom::output_cache::Cache cache = results.cache();
        headroom::Wants wants;
        wants.cache = &cache;
        wants.lookup = &lookup;

        std::string messages = api.head();
        std::string prev;
        std::size_t prev_summarized = 0, changes = 0, asked = 0;
        for (std::size_t t = 0; t < 30; ++t) {
            SCOPED_TRACE("turn " + std::to_string(t));
            messages += api.turn(t, listing_output(t));
            const std::string body = messages + api.tail;
            headroom::Result r = headroom::process(api.path, body, *config, wants);
            if (!r.summaries_wanted.empty()) {
                // The module asks the location, then runs again.
                asked += r.summaries_wanted.size();
                store.summarize(r);
                r = headroom::process(api.path, body, *config, wants);
                EXPECT_TRUE(r.summaries_wanted.empty());
            }
            const std::string sent = r.outcome == Outcome::Rewritten ? r.body : body;
            ASSERT_TRUE(json::parse(sent, 512).ok());
            // The last three turns are whole; summarized ones are gone.
            for (std::size_t k = t >= 2 ? t - 2 : 0; k <= t; ++k) {
                EXPECT_NE(sent.find("list dir " + std::to_string(k) + "\""), std::string::npos) << k;
            }
            for (std::size_t k = 0; k < r.turns_summarized; ++k) {
                EXPECT_EQ(sent.find("list dir " + std::to_string(k) + "\""), std::string::npos) << k;
            }
            // Each summary's span is kept under the id its marker names.
            std::size_t found = 0;
            for (std::size_t at = sent.find("[headroom: "); at != std::string::npos;
                 at = sent.find("[headroom: ", at + 1)) {
                // The marker's first line (the summary follows, escaped).
                const std::size_t end = sent.find(']', at);
                auto m = markers::parse_dropped(sent.substr(at, end - at + 1) + "\nS");
                if (!m) continue;
                ++found;
                bool kept = false;
                for (const headroom::Original& o : r.originals) {
                    if (o.id == m->id) kept = markers::output_id(o.text) == o.id;
                }
                EXPECT_TRUE(kept);
            }
            EXPECT_EQ(found > 0, r.turns_summarized > 0);
            EXPECT_GE(r.turns_summarized, prev_summarized);
            if (!prev.empty()) {
                const bool same = sent.compare(0, prev.size() - 2, prev, 0, prev.size() - 2) == 0;
                if (r.turns_summarized == prev_summarized) {
                    EXPECT_TRUE(same) << "changed without a new batch";
                } else {
                    EXPECT_FALSE(same);
                    ++changes;
                }
            }
            prev = sent;
            prev_summarized = r.turns_summarized;
        }
        EXPECT_GE(prev_summarized, 20u);
        EXPECT_GE(changes, 4u);
        EXPECT_LE(changes, 30u * 3900 / 15000 + 1);
        EXPECT_EQ(asked, changes) << "a span is summarized once";
    }
}

TEST(Summarize, FittingSendsTheSummaryOrThePlainMarker) {
    Settings s;
    s.ccr = true;
    s.fit = true;
    s.summarize = true;
    s.summarize_model = "cheap-1";
    s.context_limits = {{"gpt-4o", 30000}};
    s.output_reserve = 1000;
    s.retire_min_tokens = 1000000;  // turns only
    std::string error;
    auto config = headroom::Config::compile(s, error);
    ASSERT_TRUE(config) << error;
    Store store;
    const headroom::retrieval::Lookup lookup = store.lookup();
    headroom::Wants wants;
    wants.lookup = &lookup;
    const AgentApi& api = kAgentApis[0];
    std::string body = api.head();
    for (std::size_t t = 0; t < 12; ++t) body += api.turn(t, listing_output(t));
    body += api.tail;

    headroom::Result plain = headroom::process(api.path, body, *config, wants);
    ASSERT_EQ(plain.fit, headroom::FitState::Fitted);
    ASSERT_EQ(plain.summaries_wanted.size(), 1u);
    EXPECT_NE(plain.body.find(" earlier turns dropped to fit the context window ("), std::string::npos);
    json::ParseResult ask = json::parse(plain.summaries_wanted[0].body, 64);
    ASSERT_TRUE(ask.ok());
    EXPECT_EQ(ask.value.find("model")->text, "cheap-1");

    store.summarize(plain);
    headroom::Result summarized = headroom::process(api.path, body, *config, wants);
    EXPECT_TRUE(summarized.summaries_wanted.empty());
    EXPECT_EQ(summarized.summaries_used, 1u);
    EXPECT_NE(summarized.body.find(" earlier turns summarized ("), std::string::npos);
    EXPECT_NE(summarized.body.find("Summary of "), std::string::npos);
    EXPECT_LE(summarized.fit_tokens_after, summarized.fit_budget);
    // The same span, the same id: the plain marker's original is the summary's.
    auto id_of = [](const std::string& b) { return b.substr(b.find("id=", b.find("earlier turns")) + 3, 32); };
    EXPECT_EQ(id_of(plain.body), id_of(summarized.body));
}
