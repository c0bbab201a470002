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
#include "json_promise.h"
#include "test_tables.h"
#include "core/question.h"
#include "core/text.h"

namespace json = headroom::json;
namespace markers = headroom::markers;
using headroom::transforms::crush_json;
using headroom::transforms::CrushJsonLimits;

using json_promise::check;
using json_promise::Tally;

namespace {
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

// Found by fuzz_crush_json: a row whose object names a key twice is kept
// as it came (the first value, then the second); the check matches
// duplicates in order.
TEST(CrushJsonProperty, ADuplicateKeyInATableRowIsKeptInOrder) {
    std::string hits;
    for (int i = 1; i <= 40; ++i) {
        const std::string n = std::to_string(i);
        const std::string source = i == 1 ? "{\"text\":3,\"path\":\"src/a.c\",\"text\":\"call zeta(1)\"}"
                                          : "{\"line\":" + std::to_string(3 * i) + ",\"path\":\"src/f" + n +
                                                ".c\",\"text\":\"call f(" + n + ")\"}";
        hits += std::string(i > 1 ? ",\n" : "") + "{\"_id\":\"doc-" + n + "\",\"_score\":" +
                std::to_string(10.0 - i / 100.0) + ",\"_source\":" + source + "}";
    }
    const std::string text = "{\"hits\":{\"hits\":[" + hits + "],\"total\":40}}";
    CrushJsonLimits l;
    l.max_items = 6;
    l.keep_first = 3;
    l.keep_last = 2;
    l.keep_top = 0;
    l.max_matches = 0;
    l.max_depth = 64;
    const Tally t = check(text, "which ones failed?", l);
    EXPECT_GT(t.omitted, 0u);
}
