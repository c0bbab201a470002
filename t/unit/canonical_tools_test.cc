#include "core/transforms/canonical_tools.h"

#include <gtest/gtest.h>

#include <string>

#include "core/json.h"

using headroom::transforms::canonicalize_tools;
namespace json = headroom::json;

namespace {

std::pair<std::string, bool> canonical(const std::string& in) {
    auto r = json::parse(in, 64);
    EXPECT_TRUE(r.ok()) << in;
    json::Value* tools = r.value.find("tools");
    bool changed = tools != nullptr && canonicalize_tools(*tools);
    return {json::serialize(r.value), changed};
}

}  // namespace

TEST(CanonicalTools, ToolsInAnyOrderComeOutAsOne) {
    const std::string a =
        R"({"model":"m","tools":[{"type":"function","function":{"name":"read","parameters":{"type":"object","properties":{"path":{"type":"string"}}}}},)"
        R"({"type":"function","function":{"name":"bash","description":"run","parameters":{"properties":{"cmd":{"type":"string"}},"type":"object"}}}]})";
    const std::string b =
        R"({"model":"m","tools":[{"function":{"parameters":{"type":"object","properties":{"cmd":{"type":"string"}}},"description":"run","name":"bash"},"type":"function"},)"
        R"({"type":"function","function":{"name":"read","parameters":{"properties":{"path":{"type":"string"}},"type":"object"}}}]})";
    auto [ca, changed_a] = canonical(a);
    auto [cb, changed_b] = canonical(b);
    EXPECT_TRUE(changed_a);
    EXPECT_TRUE(changed_b);
    EXPECT_EQ(ca, cb);
    EXPECT_EQ(ca,
        R"({"model":"m","tools":[{"function":{"description":"run","name":"bash","parameters":{"properties":{"cmd":{"type":"string"}},"type":"object"}},"type":"function"},)"
        R"({"function":{"name":"read","parameters":{"properties":{"path":{"type":"string"}},"type":"object"}},"type":"function"}]})");
    // Canonical input stays as it is.
    auto [again, changed] = canonical(ca);
    EXPECT_FALSE(changed);
    EXPECT_EQ(again, ca);
}

TEST(CanonicalTools, PropertyOrderAndDataAreMeaningAndStay) {
    const std::string in =
        R"({"tools":[{"name":"plan","input_schema":{"type":"object","properties":)"
        R"({"reasoning":{"type":"string"},"answer":{"type":"string","enum":["z","a"],"default":{"y":1,"x":2}}},)"
        R"("required":["reasoning","answer"]}}]})";
    auto [out, changed] = canonical(in);
    EXPECT_TRUE(changed);
    EXPECT_EQ(out,
        R"({"tools":[{"input_schema":{"properties":)"
        R"({"reasoning":{"type":"string"},"answer":{"default":{"y":1,"x":2},"enum":["z","a"],"type":"string"}},)"
        R"("required":["reasoning","answer"],"type":"object"},"name":"plan"}]})");
}

TEST(CanonicalTools, ClientCacheControlOnToolsLeavesThemAlone) {
    const std::string in =
        R"({"tools":[{"name":"z","input_schema":{"type":"object"}},)"
        R"({"name":"a","input_schema":{"type":"object"},"cache_control":{"type":"ephemeral"}}]})";
    auto [out, changed] = canonical(in);
    EXPECT_FALSE(changed);
    EXPECT_EQ(out, in);
}

TEST(CanonicalTools, BuiltInToolsSortByTypeAndTiesByDefinition) {
    const std::string a = R"({"tools":[{"type":"web_search"},{"name":"f","x":2},{"name":"f","x":1}]})";
    const std::string b = R"({"tools":[{"name":"f","x":1},{"type":"web_search"},{"name":"f","x":2}]})";
    EXPECT_EQ(canonical(a).first, canonical(b).first);
    EXPECT_EQ(canonical(a).first, R"({"tools":[{"name":"f","x":1},{"name":"f","x":2},{"type":"web_search"}]})");
}

TEST(CanonicalTools, NoToolsNoChange) {
    for (const char* in : {R"({"model":"m"})", R"({"tools":[]})", R"({"tools":"x"})"}) {
        auto [out, changed] = canonical(in);
        EXPECT_FALSE(changed);
        EXPECT_EQ(out, in);
    }
}
