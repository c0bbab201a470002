// One reading of the question for every crusher, and what it keeps.
#include "core/question.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/markers.h"
#include "core/text.h"
#include "core/transforms/crush_json.h"
#include "core/transforms/crush_log.h"
#include "core/transforms/crush_search.h"
#include "core/transforms/lines.h"
#include "test_tables.h"

using headroom::Question;
namespace json = headroom::json;
namespace tf = headroom::transforms;

namespace {

bool has_term(const Question& q, const std::string& t) {
    return std::find(q.terms().begin(), q.terms().end(), t) != q.terms().end();
}

// The kept items of a crushed JSON array, tables undone, as compact texts.
std::vector<std::string> kept_items(const std::string& crushed) {
    auto v = json::parse(crushed, 64);
    EXPECT_TRUE(v.ok());
    std::vector<std::string> out;
    for (const auto& item : untable(v.value).items) {
        if (!headroom::markers::parse_json(item)) out.push_back(json::serialize(item));
    }
    return out;
}

}  // namespace

TEST(Question, TermsAreWordsIdentifiersNumbersPathsAndQuotes) {
    Question q("Is yajl installed? Which version of libyajl-dev, v1.2 or 2.1.0, is in /usr/lib? "
               "Look for \"connection reset\" on port 8080 at 9.");
    for (const char* t : {"yajl", "installed", "version", "libyajl-dev", "v1.2", "2.1.0", "/usr/lib",
                          "connection reset", "port", "8080"}) {
        EXPECT_TRUE(has_term(q, t)) << t;
    }
    for (const char* t : {"is", "which", "of", "or", "in", "look", "for", "on", "at", "9"}) {
        EXPECT_FALSE(has_term(q, t)) << t;
    }
    EXPECT_TRUE(Question("").empty());
    EXPECT_TRUE(Question("what is it?").empty());
}

TEST(Question, MatchesInsideValuesUpToABoundThenBest) {
    std::vector<std::string> docs;
    for (int i = 0; i < 200; ++i) docs.push_back("pkg-" + std::to_string(i) + (i % 2 ? " error" : " ok"));
    docs[7] = "pkg-7 error error error timeout";
    std::vector<std::string_view> views(docs.begin(), docs.end());
    auto p = Question("which failed with an error or a timeout?").pick(views, 10);
    EXPECT_EQ(p.matched, 100u);  // "error": 100 of 200, selective; "timeout": 1
    EXPECT_EQ(p.matching.size(), 100u);
    ASSERT_EQ(p.kept.size(), 10u);
    EXPECT_TRUE(std::binary_search(p.kept.begin(), p.kept.end(), 7u)) << "the best match is kept";
    // A term in most texts picks nothing out on its own.
    EXPECT_EQ(Question("pkg").pick(views, 10).matched, 0u);
}

// The inventory case: "yajl" is only inside libyajl2 and libyajl-dev.
TEST(Question, JsonItemsMatchInsideTheirValues) {
    std::string in = "[";
    for (int i = 0; i < 300; ++i) {
        std::string name = i == 120 ? "libyajl2" : i == 121 ? "libyajl-dev" : "libpkg" + std::to_string(i);
        in += std::string(i ? ",\n" : "\n") + R"(  {"package": ")" + name + R"(", "version": "2.1.)" +
              std::to_string(i % 7) + R"(", "status": "installed"})";
    }
    in += "\n]";
    auto r = tf::crush_json(in, "Is yajl installed? Which version?", tf::CrushJsonLimits{});
    ASSERT_TRUE(r);
    const std::string kept = r->text;
    EXPECT_NE(kept.find("libyajl2"), std::string::npos);
    EXPECT_NE(kept.find("libyajl-dev"), std::string::npos);
    EXPECT_LT(kept_items(kept).size(), 20u) << "installed and version are in every item: not selective";
}

TEST(Question, MatchesPastTheBoundAreCountedInTheMarkers) {
    std::string in = "[";
    for (int i = 0; i < 400; ++i) {
        in += std::string(i ? "," : "") + R"({"id":)" + std::to_string(i) + R"(,"name":")" +
              (i % 3 == 0 ? "widget" : "gadget") + R"("})";
    }
    in += "]";
    tf::CrushJsonLimits l;
    l.tables = false;
    l.max_matches = 20;
    auto r = tf::crush_json(in, "which widgets?", l);
    ASSERT_TRUE(r);
    auto v = json::parse(r->text, 64);
    ASSERT_TRUE(v.ok());
    std::size_t widgets_kept = 0, counted = 0;
    for (const auto& item : v.value.items) {
        if (auto m = headroom::markers::parse_json(item)) {
            counted += m->matching;
        } else if (item.find("name")->text == "widget") {
            ++widgets_kept;
        }
    }
    EXPECT_GE(widgets_kept, 20u);  // the bound, and the first and last few
    EXPECT_EQ(widgets_kept + counted, 134u);
}

TEST(Question, RankedResultsKeepTheirBest) {
    // 500 search results, shuffled: the best five by score stay.
    std::string in = "[";
    std::vector<int> scores;
    for (int i = 0; i < 500; ++i) scores.push_back((i * 7919) % 1000);
    for (int i = 0; i < 500; ++i) {
        in += std::string(i ? "," : "") + R"({"title":"result )" + std::to_string(i) + R"(","score":0.)" +
              std::to_string(1000 + scores[i]).substr(1) + "}";
    }
    in += "]";
    auto r = tf::crush_json(in, "what are the top 3?", tf::CrushJsonLimits{});
    ASSERT_TRUE(r);
    std::vector<int> sorted = scores;
    std::sort(sorted.rbegin(), sorted.rend());
    for (int k = 0; k < 5; ++k) {
        const std::string s = "0." + std::to_string(1000 + sorted[k]).substr(1);
        EXPECT_NE(r->text.find(s), std::string::npos) << "score " << s;
    }
    // "rank" ranks the other way: the smallest are the best.
    std::string ranked = "[";
    for (int i = 0; i < 200; ++i) {
        ranked += std::string(i ? "," : "") + R"({"name":"n)" + std::to_string(i) + R"(","rank":)" +
                  std::to_string((i * 37) % 200 + 1) + "}";
    }
    ranked += "]";
    auto q = tf::crush_json(ranked, "", tf::CrushJsonLimits{});
    ASSERT_TRUE(q);
    for (int k = 1; k <= 5; ++k) EXPECT_NE(q->text.find("," + std::to_string(k) + "]"), std::string::npos) << k;
}

TEST(Question, SearchAndLogLinesMatchInsideWords) {
    std::string grep;
    for (int f = 0; f < 3; ++f) {
        for (int m = 0; m < 40; ++m) {
            grep += "src/m" + std::to_string(f) + ".c:" + std::to_string(10 + m) + ":    call(" +
                    (f == 1 && m == 20 ? "libyajl_parse" : "other_" + std::to_string(m)) + ");\n";
        }
    }
    auto s = tf::crush_search(grep, "where is yajl parsed?", tf::CrushSearchLimits{});
    ASSERT_TRUE(s);
    EXPECT_NE(s->text.find("libyajl_parse"), std::string::npos);

    std::string log;
    for (int i = 0; i < 100; ++i) {
        log += "2024-01-01 10:00:" + std::to_string(10 + i % 50) + " INFO served block blk_" + std::to_string(5000 + i) + "\n";
    }
    const auto lines = tf::split_lines(log);
    auto l = tf::crush_log(log, lines, "what happened to blk_5042?", tf::CrushLogLimits{}, tf::Origin::of(log));
    ASSERT_TRUE(l);
    EXPECT_NE(l->text.find("INFO served block blk_5042\n"), std::string::npos);
}
