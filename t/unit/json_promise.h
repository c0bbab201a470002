// The JSON crusher's promise, checked over every JSON fixture and many
// generated arrays (crush_property_test) and over fuzzed input
// (t/fuzz): the output is JSON; every item it keeps is byte-identical to
// the input's item at that place (arrays inside a kept item are checked the
// same way, JSON inside strings too); every run left out is one marker
// naming exactly those indices and the original's id; and kept items plus
// the markers' counts add up to the input's. Failures are gtest failures.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/markers.h"
#include "core/question.h"
#include "core/text.h"
#include "core/transforms/crush_json.h"
#include "test_tables.h"

namespace json_promise {

namespace json = headroom::json;
namespace markers = headroom::markers;
using headroom::transforms::crush_json;
using headroom::transforms::CrushJsonLimits;

struct Tally {
    size_t omitted = 0;  // items the markers count
    size_t markers = 0;
};

// `out` stands for `in`: equal, or crushed as promised.
inline void same(const json::Value& in, const json::Value& out_as_sent, const std::string& id, Tally& t,
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
            // A row rebuilt from a table has its members by name, not place
            // (a duplicate name: its first, second... in both).
            const json::Value* o = &out.members[i].value;
            if (by_name) {
                size_t nth = 0;
                for (size_t k = 0; k < i; ++k) nth += in.members[k].key == in.members[i].key;
                o = nullptr;
                for (const json::Member& m : out.members) {
                    if (m.key == in.members[i].key && nth-- == 0) {
                        o = &m.value;
                        break;
                    }
                }
            }
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
inline Tally check(const std::string& text, const std::string& question, const CrushJsonLimits& limits) {
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
        if (limits.keep_top > 0 && scored.size() * 2 >= texts.size() && scored.size() > limits.keep_top) {
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

}  // namespace json_promise
