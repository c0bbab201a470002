#include "core/transforms/minify_json.h"

#include <gtest/gtest.h>

#include <string>

using headroom::transforms::minify_json;

TEST(MinifyJson, PrettyObjectBecomesCompact) {
    std::string t = "{\n  \"id\": 12345678901234567890,\n  \"tags\": [\n    \"a\",\n    \"b\"\n  ]\n}\n";
    EXPECT_TRUE(minify_json(t, 512));
    EXPECT_EQ(t, R"({"id":12345678901234567890,"tags":["a","b"]})");
}

TEST(MinifyJson, PrettyArrayWithLeadingWhitespace) {
    std::string t = "\n\n[ 1, 2, 3 ]";
    EXPECT_TRUE(minify_json(t, 512));
    EXPECT_EQ(t, "[1,2,3]");
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
        std::string t = k;
        EXPECT_FALSE(minify_json(t, 512)) << k;
        EXPECT_EQ(t, k);
    }
}

TEST(MinifyJson, RespectsDepthLimit) {
    std::string t = std::string(20, '[') + " " + std::string(20, ']');
    std::string orig = t;
    EXPECT_FALSE(minify_json(t, 10));
    EXPECT_EQ(t, orig);
    EXPECT_TRUE(minify_json(t, 20));
}

TEST(MinifyJson, WhitespaceInsideStringsIsKept) {
    std::string t = "{ \"msg\" : \"two  spaces\\n and a newline\" }";
    EXPECT_TRUE(minify_json(t, 512));
    EXPECT_EQ(t, R"({"msg":"two  spaces\n and a newline"})");
}
