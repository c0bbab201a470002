#include "core/transforms/minify_json.h"

#include <gtest/gtest.h>

#include <string>

using headroom::transforms::minify_json;

TEST(MinifyJson, PrettyObjectBecomesCompact) {
    auto t = minify_json("{\n  \"id\": 12345678901234567890,\n  \"tags\": [\n    \"a\",\n    \"b\"\n  ]\n}\n", 512);
    ASSERT_TRUE(t);
    EXPECT_EQ(*t, R"({"id":12345678901234567890,"tags":["a","b"]})");
}

TEST(MinifyJson, PrettyArrayWithLeadingWhitespace) {
    auto t = minify_json("\n\n[ 1, 2, 3 ]", 512);
    ASSERT_TRUE(t);
    EXPECT_EQ(*t, "[1,2,3]");
}

TEST(MinifyJson, LeavesNonCandidatesAlone) {
    const std::string keep[] = {
        R"({"already":"compact"})",  // not shorter
        "42",                        // scalar: not a document
        "  \"quoted\"  ",
        "true",
        "{ not json }",
        "[1, 2] and then prose",     // trailing text
        "Error: {\n \"a\": 1\n}",    // prose first
        "",
        "   ",
        "[\"\\ud800\" ,  1]",        // lone surrogate: never altered
    };
    for (const auto& k : keep) {
        EXPECT_FALSE(minify_json(k, 512)) << k;
    }
}

TEST(MinifyJson, RespectsDepthLimit) {
    std::string t = std::string(20, '[') + " " + std::string(20, ']');
    EXPECT_FALSE(minify_json(t, 10));
    EXPECT_TRUE(minify_json(t, 20));
}

TEST(MinifyJson, WhitespaceInsideStringsIsKept) {
    auto t = minify_json("{ \"msg\" : \"two  spaces\\n and a newline\" }", 512);
    ASSERT_TRUE(t);
    EXPECT_EQ(*t, R"({"msg":"two  spaces\n and a newline"})");
}
