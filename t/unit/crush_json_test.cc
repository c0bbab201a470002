#include "core/transforms/crush_json.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/json.h"
#include "core/markers.h"
#include "test_tables.h"

using headroom::transforms::crush_json;
using headroom::transforms::CrushJsonLimits;
namespace json = headroom::json;

namespace {

std::string records(int n, int error_at = -1, int outlier_at = -1) {
    std::string s = "[\n";
    for (int i = 0; i < n; ++i) {
        if (i) s += ",\n";
        s += "  {\"id\": " + std::to_string(1000 + i) + ", \"name\": \"package-" + std::to_string(i) +
             "\", \"status\": \"" + (i == error_at ? "failed" : "ok") + "\", \"latency\": " +
             std::to_string(i == outlier_at ? 99999 : 50 + i % 7) + ", \"region\": \"" +
             (i % 2 ? "eu" : "us") + "\"}";
    }
    return s + "\n]";
}

// Walks the output array beside the input: every kept item must equal the
// input item at its index, every marker must name the indices it replaces,
// and together they must cover the input exactly. Returns the kept indices.
std::vector<size_t> check_covers(const std::string& in, const std::string& out) {
    auto a = json::parse(in, 512), b = json::parse(out, 512);
    EXPECT_TRUE(a.ok() && b.ok());
    std::vector<size_t> kept;
    size_t at = 0;
    for (const auto& item : untable(b.value).items) {
        if (item.find("headroom_omitted") != nullptr) {
            auto m = headroom::markers::parse_json(item);
            EXPECT_TRUE(m) << json::serialize(item);
            if (!m) return kept;
            EXPECT_EQ(m->items.first, at);
            EXPECT_EQ(m->count, m->items.last - m->items.first + 1);
            EXPECT_EQ(m->id, headroom::markers::output_id(in));
            at = m->items.last + 1;
        } else {
            EXPECT_LT(at, a.value.items.size());
            EXPECT_EQ(json::serialize(by_key(item)), json::serialize(by_key(a.value.items[at])));
            kept.push_back(at++);
        }
    }
    EXPECT_EQ(at, a.value.items.size());
    return kept;
}

bool has(const std::vector<size_t>& v, size_t x) { return std::find(v.begin(), v.end(), x) != v.end(); }

// `in` crushed under `limits` is its plain compact form: nothing left out.
void expect_only_minified(const std::string& in, const CrushJsonLimits& limits) {
    auto r = crush_json(in, "", limits);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->omitted, 0u);
    std::string compact;
    ASSERT_EQ(json::minify(in, 512, compact), json::ParseError::None);
    EXPECT_EQ(r->text, compact);
}

}  // namespace

TEST(CrushJson, LongArraysKeepEndsErrorsOutliersAndMarkTheRest) {
    std::string in = records(1000, 612, 345);
    auto r = crush_json(in, "", CrushJsonLimits{});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->arrays, 1u);
    EXPECT_GT(r->omitted, 900u);
    auto kept = check_covers(in, r->text);
    for (size_t i : {0, 1, 2, 3, 4, 997, 998, 999}) EXPECT_TRUE(has(kept, i)) << i;
    EXPECT_TRUE(has(kept, 612)) << "the failed item";
    EXPECT_TRUE(has(kept, 345)) << "the latency outlier";
    EXPECT_LT(r->text.size(), in.size() / 10);
}

TEST(CrushJson, ItemsMatchingTheQuestionStay) {
    std::string in = records(500);
    auto r = crush_json(in, "Which version does package-317 have?", CrushJsonLimits{});
    ASSERT_TRUE(r);
    auto kept = check_covers(in, r->text);
    EXPECT_TRUE(has(kept, 317));
    // Terms matching most items pick nothing ("package" is in every item).
    EXPECT_LT(kept.size(), 40u);
}

TEST(CrushJson, RareCategoricalValuesStay) {
    std::string in = records(300);
    // One item in a region no other has.
    size_t at = in.find("\"package-150\"");
    at = in.find("\"region\": \"", at) + 11;
    in.replace(at, 2, "ap");
    auto r = crush_json(in, "", CrushJsonLimits{});
    ASSERT_TRUE(r);
    EXPECT_TRUE(has(check_covers(in, r->text), 150));
}

TEST(CrushJson, DuplicatesGoAndNestedArraysAreSampled) {
    std::string items;
    for (int i = 0; i < 200; ++i) items += std::string(i ? "," : "") + "{\"v\":\"same\"}";
    std::string in = "{\"data\":{\"items\":[" + items + "],\"total\":200},\"small\":[1,2,3]}";
    auto r = crush_json(in, "", CrushJsonLimits{});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->arrays, 1u);
    auto out = json::parse(r->text, 512);
    ASSERT_TRUE(out.ok());
    const auto& arr = out.value.find("data")->find("items")->items;
    EXPECT_EQ(arr.size(), 5u + 1u + 3u);  // first 5, one marker, last 3
    EXPECT_EQ(json::serialize(*out.value.find("small")), "[1,2,3]");
    EXPECT_EQ(out.value.find("data")->find("total")->text, "200");
}

TEST(CrushJson, ShortArraysAreOnlyMinified) {
    CrushJsonLimits no_tables;
    no_tables.tables = false;
    expect_only_minified(records(20), no_tables);
}

TEST(CrushJson, DeterministicAndNotForOtherText) {
    std::string in = records(400, 10, 20);
    auto a = crush_json(in, "package-99", CrushJsonLimits{});
    auto b = crush_json(in, "package-99", CrushJsonLimits{});
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->text, b->text);
    EXPECT_FALSE(crush_json("plain text", "", CrushJsonLimits{}));
    EXPECT_FALSE(crush_json("[1, 2", "", CrushJsonLimits{}));
    EXPECT_FALSE(crush_json("42", "", CrushJsonLimits{}));
}

TEST(CrushJson, ErrorSignalsOfManyShapes) {
    const char* errors[] = {
        R"({"status_code":503})", R"({"exit_code":2})", R"({"ok":false})",
        R"({"error":{"message":"x"}})", R"({"msg":"Connection refused"})",
        R"({"result":"TIMEOUT after 30s"})",
    };
    for (const char* e : errors) {
        std::string in = "[";
        for (int i = 0; i < 100; ++i) in += std::string(i ? "," : "") + (i == 50 ? e : R"({"status_code":200})");
        in += "]";
        auto r = crush_json(in, "", CrushJsonLimits{});
        ASSERT_TRUE(r);
        EXPECT_TRUE(has(check_covers(in, r->text), 50)) << e;
    }
}

TEST(CrushJson, JsonInsideStrings) {
    // {"content":[{"type":"text","text":"<a JSON array of 200 records>"}]}
    std::string inner = records(200, 77);
    std::string in = R"({"content":[{"type":"text","text":)" + json::serialize([&] {
        json::Value v;
        v.kind = json::Kind::String;
        v.text = inner;
        return v;
    }()) + R"(}],"isError":false})";
    auto r = crush_json(in, "", CrushJsonLimits{});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->arrays, 1u);
    auto out = json::parse(r->text, 512);
    ASSERT_TRUE(out.ok());
    const std::string& text = out.value.find("content")->items[0].find("text")->text;
    auto embedded = json::parse(text, 512);
    ASSERT_TRUE(embedded.ok()) << text.substr(0, 200);
    EXPECT_NE(text.find("headroom_omitted"), std::string::npos);
    EXPECT_NE(text.find("\"failed\""), std::string::npos);  // the error record stays
    EXPECT_EQ(out.value.find("isError")->kind, json::Kind::False);

    // Short or non-JSON strings are left exactly as they were.
    std::string plain = R"({"a":"[not json at all, just brackets] and more text to pass the size floor..............................................................................................................................................................................................................."})";
    auto p = crush_json(plain, "", CrushJsonLimits{});
    ASSERT_TRUE(p);
    EXPECT_EQ(p->text, plain);
}

TEST(CrushJson, LikeObjectsBecomeALosslessTable) {
    std::string in = records(20);
    auto r = crush_json(in, "", CrushJsonLimits{});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->omitted, 0u);
    EXPECT_EQ(r->tables, 1u);
    auto out = json::parse(r->text, 512), orig = json::parse(in, 512);
    ASSERT_TRUE(out.ok() && orig.ok());
    ASSERT_NE(out.value.find("headroom_table"), nullptr);
    EXPECT_EQ(json::serialize(by_key(untable(out.value))), json::serialize(by_key(orig.value)));
    EXPECT_LT(r->text.size(), json::serialize(orig.value).size());
}

TEST(CrushJson, TablesOnlyForIdenticalKeysAndWhenSmaller) {
    // Key order differs in one item: no table.
    std::string mixed = R"([{"a":1,"b":2},{"a":3,"b":4},{"b":5,"a":6},{"a":7,"b":8}])";
    auto r = crush_json(mixed, "", CrushJsonLimits{});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->tables, 0u);
    EXPECT_EQ(r->text, mixed);
    // Duplicate keys: no table.
    std::string dup = R"([{"a":1,"a":2},{"a":3,"a":4},{"a":5,"a":6}])";
    EXPECT_EQ(crush_json(dup, "", CrushJsonLimits{})->tables, 0u);
    // A measure that never finds the table smaller: no table.
    CrushJsonLimits stubborn;
    stubborn.measure.count = [](std::string_view s) { return s.find("headroom_table") == std::string_view::npos ? 0u : 1u; };
    EXPECT_EQ(crush_json(records(20), "", stubborn)->tables, 0u);
}

TEST(CrushJson, TablesKeepMarkersBetweenRows) {
    std::string in = records(300, 150);
    auto r = crush_json(in, "", CrushJsonLimits{});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->tables, 1u);
    EXPECT_GT(r->omitted, 0u);
    EXPECT_TRUE(has(check_covers(in, r->text), 150));
}

// Regression: an array longer than max_items of which every item is kept
// (all errors, or keep_first + keep_last covering it) reached the upstream
// as emptied items.
TEST(CrushJson, KeepingEveryItemKeepsEveryItemWhole) {
    std::string in = "[";
    for (int i = 0; i < 31; ++i) {
        in += std::string(i ? ", " : "") + "{\"id\": " + std::to_string(i) + ", \"error\": \"boom " +
              std::to_string(i) + "\"}";
    }
    in += "]";
    CrushJsonLimits no_tables;
    no_tables.tables = false;
    expect_only_minified(in, no_tables);

    CrushJsonLimits covering = no_tables;
    covering.max_items = 10;
    covering.keep_first = 8;
    covering.keep_last = 4;
    expect_only_minified(records(11), covering);
}

// Lossless before lossy: a table says a column that holds one value in
// every row once, and flattens the nested objects of like rows.
TEST(CrushJson, TablesFlattenLikeObjectsAndSayConstantsOnce) {
    std::string in = "[";
    for (int i = 0; i < 20; ++i) {
        in += std::string(i ? ",\n" : "\n") + R"(  {"number": )" + std::to_string(100 + i) +
              R"(, "title": "Issue )" + std::to_string(i) + R"(", "locked": false, "user": {"login": "dev)" +
              std::to_string(i % 4) + R"(", "type": "User", "site_admin": false}, "labels": []})";
    }
    in += "\n]";
    auto r = crush_json(in, "", CrushJsonLimits{});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->omitted, 0u);
    auto out = json::parse(r->text, 64), orig = json::parse(in, 64);
    ASSERT_TRUE(out.ok() && orig.ok());
    const json::Value* t = out.value.find("headroom_table");
    ASSERT_NE(t, nullptr) << r->text;
    EXPECT_EQ(json::serialize(*t->find("columns")), R"(["number","title","user.login"])");
    EXPECT_EQ(json::serialize(*t->find("same")),
              R"({"locked":false,"user.type":"User","user.site_admin":false,"labels":[]})");
    EXPECT_EQ(json::serialize(by_key(untable(out.value))), json::serialize(by_key(orig.value)));
    // A key with a dot of its own: nothing is flattened, names stay names.
    std::string dotted = R"([{"a.b":1,"c":{"d":1}},{"a.b":2,"c":{"d":1}},{"a.b":3,"c":{"d":1}},{"a.b":4,"c":{"d":1}}])";
    auto d = crush_json(dotted, "", CrushJsonLimits{});
    ASSERT_TRUE(d);
    EXPECT_EQ(d->text.find("c.d"), std::string::npos) << d->text;
}
