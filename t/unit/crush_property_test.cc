// The JSON crusher's promise, checked over every JSON fixture and many
// generated arrays under many limits: the output is JSON; every item it
// keeps is byte-identical to the input's item at that place (arrays inside
// a kept item are checked the same way, JSON inside strings too); every run
// left out is one marker naming exactly those indices and the original's
// id; and kept items plus the markers' counts add up to the input's.
#include "core/transforms/crush_json.h"

#include <dirent.h>
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/markers.h"
#include "test_tables.h"
#include "core/question.h"
#include "core/text.h"

namespace json = headroom::json;
namespace markers = headroom::markers;
using headroom::transforms::crush_json;
using headroom::transforms::CrushJsonLimits;

namespace {

struct Tally {
    size_t omitted = 0;  // items the markers count
    size_t markers = 0;
};

// `out` stands for `in`: equal, or crushed as promised.
void same(const json::Value& in, const json::Value& out_as_sent, const std::string& id, Tally& t,
          const std::string& where, bool by_name = false) {
    const bool table = in.is_array() && out_as_sent.find("headroom_table") != nullptr;
    const json::Value out = table ? untable(out_as_sent) : out_as_sent;
    if (in.kind != out.kind) {
        ADD_FAILURE() << where << ": " << json::serialize(in).substr(0, 80) << " became "
                      << json::serialize(out).substr(0, 80);
        return;
    }
    if (in.is_object()) {
        ASSERT_EQ(in.members.size(), out.members.size()) << where;
        for (size_t i = 0; i < in.members.size(); ++i) {
            // A row rebuilt from a table has its members by name, not place.
            const json::Value* o = by_name ? out.find(in.members[i].key) : &out.members[i].value;
            ASSERT_TRUE(o != nullptr && (by_name || in.members[i].key == out.members[i].key)) << where;
            same(in.members[i].value, *o, id, t, where + "." + in.members[i].key, by_name);
        }
        return;
    }
    if (in.is_array()) {
        size_t at = 0;
        for (const json::Value& item : out.items) {
            if (auto m = markers::parse_json(item)) {
                EXPECT_EQ(m->items.first, at) << where;
                EXPECT_EQ(m->count, m->items.last - m->items.first + 1) << where;
                EXPECT_EQ(m->id, id) << where;
                EXPECT_GE(m->count, 2u) << where << ": a lone item costs less kept";
                EXPECT_GE(m->lines.first, 1u) << where;
                EXPECT_LE(m->lines.first, m->lines.last) << where;
                at = m->items.last + 1;
                t.omitted += m->count;
                ++t.markers;
                continue;
            }
            ASSERT_LT(at, in.items.size()) << where << ": more items out than in";
            same(in.items[at], item, id, t, where + "[" + std::to_string(at) + "]", table);
            ++at;
        }
        EXPECT_EQ(at, in.items.size()) << where << ": kept and counted must cover the input";
        return;
    }
    if (in.is_string() && in.text != out.text) {
        // Only JSON held in a string may change, and only as crushed.
        auto a = json::parse(in.text, 512), b = json::parse(out.text, 512);
        ASSERT_TRUE(a.ok() && b.ok()) << where << ": a string changed";
        same(a.value, b.value, id, t, where + "<embedded>");
        return;
    }
    EXPECT_EQ(json::serialize(in), json::serialize(out)) << where;
}

// Crushes `text` under `limits` and checks the promise; returns what the
// markers count.
Tally check(const std::string& text, const std::string& question, const CrushJsonLimits& limits) {
    Tally t;
    auto r = crush_json(text, question, limits);
    EXPECT_TRUE(r);
    if (!r) return t;
    auto in = json::parse(text, 512), out = json::parse(r->text, 512);
    EXPECT_TRUE(in.ok() && out.ok()) << r->text.substr(0, 200);
    if (!in.ok() || !out.ok()) return t;
    const std::string id = markers::output_id(text);
    same(in.value, out.value, id, t, "$");
    EXPECT_EQ(t.omitted, r->omitted);
    EXPECT_EQ(r->id, r->omitted > 0 ? id : std::string());

    // A top-level array keeps the items that match the question (up to the
    // bound) and the best of a ranked field.
    if (in.value.is_array() && in.value.items.size() > limits.max_items) {
        std::set<std::string> kept;
        const json::Value out_items = untable(out.value);
        for (const json::Value& item : out_items.items) {
            if (!markers::parse_json(item)) kept.insert(json::serialize(by_key(item)));
        }
        std::vector<std::string> texts, lowered;
        for (const json::Value& item : in.value.items) texts.push_back(json::serialize(item));
        std::vector<std::string> keyed;
        for (const json::Value& item : in.value.items) keyed.push_back(json::serialize(by_key(item)));
        for (const std::string& x : texts) lowered.push_back(headroom::lower(x));
        std::vector<std::string_view> views(lowered.begin(), lowered.end());
        const auto picked = headroom::Question(question).pick(views, limits.max_matches);
        for (std::size_t i : picked.kept) {
            // (nested arrays in an item may be crushed: compare only flat ones)
            if (texts[i].find('[') == std::string::npos) {
                EXPECT_TRUE(kept.count(keyed[i])) << "question match lost: " << texts[i];
            }
        }
        std::vector<std::pair<double, std::string>> scored;
        for (std::size_t i = 0; i < texts.size(); ++i) {
            const json::Value* sc = in.value.items[i].is_object() ? in.value.items[i].find("score") : nullptr;
            if (sc && sc->kind == json::Kind::Number) scored.push_back({-std::strtod(sc->text.c_str(), nullptr), keyed[i]});
        }
        if (scored.size() * 2 >= texts.size() && scored.size() > limits.keep_top) {
            std::stable_sort(scored.begin(), scored.end(),
                             [](const auto& a, const auto& b) { return a.first < b.first; });
            // The best (all of them when tied with the last kept).
            const double bar = scored[limits.keep_top - 1].first;
            std::size_t best_kept = 0;
            for (const auto& [score, text] : scored) {
                if (score < bar) {
                    EXPECT_TRUE(kept.count(text)) << "a top-ranked item lost: " << text;
                }
                best_kept += score <= bar && kept.count(text);
            }
            EXPECT_GE(best_kept, std::min<std::size_t>(limits.keep_top, scored.size()));
        }
    }
    EXPECT_EQ(crush_json(text, question, limits)->text, r->text) << "deterministic";
    return t;
}

std::vector<CrushJsonLimits> limit_sets() {
    std::vector<CrushJsonLimits> sets;
    const size_t max_items[] = {1, 5, 30, 100};
    const size_t ends[][2] = {{0, 0}, {5, 3}, {8, 4}, {40, 40}};
    for (size_t m : max_items) {
        for (const auto& e : ends) {
            for (bool tables : {true, false}) {
                CrushJsonLimits l;
                l.max_items = m;
                l.keep_first = e[0];
                l.keep_last = e[1];
                l.tables = tables;
                sets.push_back(l);
            }
        }
    }
    return sets;
}

// A generated array: `n` items of a shape chosen by `seed`.
std::string generated(unsigned seed, size_t n) {
    std::mt19937 rng(seed);
    auto pick = [&](unsigned k) { return static_cast<unsigned>(rng() % k); };
    const unsigned shape = seed % 7;
    std::string s = "[";
    for (size_t i = 0; i < n; ++i) {
        if (i) s += pick(2) ? ",\n  " : ", ";
        const std::string idx = std::to_string(i);
        switch (shape) {
        case 0:  // records, some failing, some duplicated
            if (pick(7) == 0 && i > 0) {
                s += R"({"id": 1, "status": "ok"})";
            } else {
                s += R"({"id": )" + idx + R"(, "status": ")" + (pick(9) ? "ok" : "failed") + R"(", "ms": )" +
                     std::to_string(pick(2) ? pick(100) : pick(100000)) + "}";
            }
            break;
        case 1:  // every item an error: all are kept
            s += R"({"id": )" + idx + R"(, "error": "boom )" + idx + R"("})";
            break;
        case 2:  // bare numbers and strings
            s += pick(2) ? std::to_string(pick(1000)) + "." + std::to_string(pick(10))
                         : "\"v" + std::to_string(pick(50)) + "\"";
            break;
        case 3:  // items holding arrays of their own
            s += R"({"name": "n)" + idx + R"(", "tags": [)";
            for (unsigned k = 0, m = pick(60); k < m; ++k) s += (k ? "," : "") + std::to_string(pick(9));
            s += "]}";
            break;
        case 4:  // JSON inside strings
            s += R"({"k": )" + idx + R"(, "body": ")";
            for (unsigned k = 0, m = 40 + pick(40); k < m; ++k) {
                s += std::string(k ? "," : "[") + R"({\"x\":)" + std::to_string(pick(5)) + "}";
            }
            s += R"(]"})";
            break;
        case 5:  // ranked results, shuffled, some matching the question
            s += R"({"title": "result )" + idx + (pick(9) == 0 ? " v7 match" : "") + R"(", "score": )" +
                 std::to_string(pick(1000)) + "." + std::to_string(pick(10)) + "}";
            break;
        default:  // unlike objects, nulls, booleans, nesting
            switch (pick(5)) {
            case 0: s += "null"; break;
            case 1: s += pick(2) ? "true" : "false"; break;
            case 2: s += R"({"a": {"b": [)" + idx + R"(]}})"; break;
            case 3: s += R"({"region": ")" + std::string(pick(40) ? "eu" : "ap") + R"("})"; break;
            default: s += "[" + idx + ", \"" + idx + "\"]";
            }
        }
    }
    return s + "]";
}

std::vector<std::pair<std::string, std::string>> fixtures() {
    std::vector<std::pair<std::string, std::string>> out;
    const std::string dir = HEADROOM_FIXTURES_DIR "/json";
    DIR* d = opendir(dir.c_str());
    if (d == nullptr) return out;
    while (dirent* e = readdir(d)) {
        std::string name = e->d_name;
        if (name.size() < 5 || name.substr(name.size() - 5) != ".json") continue;
        std::ifstream in(dir + "/" + name, std::ios::binary);
        std::ostringstream buf;
        buf << in.rdbuf();
        out.emplace_back(name, buf.str());
    }
    closedir(d);
    return out;
}

}  // namespace

TEST(CrushProperty, EveryFixtureUnderEveryLimit) {
    const auto files = fixtures();
    ASSERT_GE(files.size(), 5u) << HEADROOM_FIXTURES_DIR;
    size_t omitted = 0;
    for (const auto& [name, text] : files) {
        for (const CrushJsonLimits& l : limit_sets()) {
            SCOPED_TRACE(name + " max_items=" + std::to_string(l.max_items) + " keep=" +
                         std::to_string(l.keep_first) + "+" + std::to_string(l.keep_last));
            omitted += check(text, "which ones failed? web-37 lambda", l).omitted;
        }
    }
    EXPECT_GT(omitted, 0u) << "the property was exercised";
}

TEST(CrushProperty, GeneratedArrays) {
    size_t omitted = 0, markers_seen = 0;
    for (unsigned seed = 1; seed <= 60; ++seed) {
        for (size_t n : {0u, 1u, 2u, 9u, 31u, 32u, 47u, 200u}) {
            const std::string text = generated(seed, n);
            for (const CrushJsonLimits& l : limit_sets()) {
                SCOPED_TRACE("seed " + std::to_string(seed) + " n=" + std::to_string(n) + " max_items=" +
                             std::to_string(l.max_items) + " keep=" + std::to_string(l.keep_first) + "+" +
                             std::to_string(l.keep_last));
                Tally t = check(text, seed % 2 ? "v7" : "", l);
                omitted += t.omitted;
                markers_seen += t.markers;
                if (::testing::Test::HasFailure()) return;
            }
        }
    }
    EXPECT_GT(omitted, 500u);
    EXPECT_GT(markers_seen, 50u);
}

TEST(CrushProperty, LinesOfAPrettyArrayAreTheItemsLines) {
    // One item a line after "[": item i is on line i + 2.
    std::string text = "[\n";
    for (int i = 0; i < 100; ++i) text += std::string(i ? ",\n" : "") + R"({"n": )" + std::to_string(i) + "}";
    text += "\n]";
    CrushJsonLimits l;
    l.tables = false;
    auto r = crush_json(text, "", l);
    ASSERT_TRUE(r);
    auto out = json::parse(r->text, 64);
    ASSERT_TRUE(out.ok());
    size_t seen = 0;
    for (const auto& item : out.value.items) {
        if (auto m = markers::parse_json(item)) {
            EXPECT_EQ(m->lines.first, m->items.first + 2);
            EXPECT_EQ(m->lines.last, m->items.last + 2);
            ++seen;
        }
    }
    EXPECT_EQ(seen, 1u);
}
