#include "core/volatile_values.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

using headroom::VolatilePatterns;

namespace {

std::shared_ptr<const VolatilePatterns> builtins() {
    std::string error;
    auto p = VolatilePatterns::compile({}, error);
    EXPECT_NE(p, nullptr) << error;
    return p;
}

// (label, value) of every match.
std::vector<std::pair<std::string, std::string>> found(const VolatilePatterns& p,
                                                       const std::string& text) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& m : p.find(text)) {
        out.emplace_back(p.labels()[m.label], text.substr(m.begin, m.end - m.begin));
    }
    return out;
}

using Found = std::vector<std::pair<std::string, std::string>>;

}  // namespace

TEST(VolatileValues, FindsEachBuiltInKind) {
    auto p = builtins();
    struct Case {
        std::string text, label, value;
    };
    const std::vector<Case> cases = {
        {"Current time: 2026-11-22T10:32:05Z.", "timestamp", "2026-11-22T10:32:05Z"},
        {"at 2026-11-22T10:32:05.123+01:00 sharp", "timestamp", "2026-11-22T10:32:05.123+01:00"},
        {"now 2026-11-22 10:32 UTC", "timestamp", "2026-11-22 10:32 UTC"},
        {"Sun Nov 22 10:32:05 UTC 2026 (date)", "timestamp", "Sun Nov 22 10:32:05 UTC 2026"},
        {"Date: Sun, 22 Nov 2026 10:32:05 GMT", "timestamp", "Sun, 22 Nov 2026 10:32:05 GMT"},
        {"Today's date is 2026-11-22.", "date", "2026-11-22"},
        {"Today is Sunday, November 22, 2026.", "date", "Sunday, November 22, 2026"},
        {"Today is 22nd of November 2026.", "date", "22nd of November 2026"},
        {"on 11/22/2026 we", "date", "11/22/2026"},
        {"It is 10:32:05 now", "time", "10:32:05"},
        {"It is 10:32 PM now", "time", "10:32 PM"},
        {"id 3f2a9c1e-8b7d-4e6f-9a1b-2c3d4e5f6a7b end", "uuid", "3f2a9c1e-8b7d-4e6f-9a1b-2c3d4e5f6a7b"},
        {"Request ID: 7f3a9b2c1d", "id", "7f3a9b2c1d"},
        {"session_id=\"s-81c2d3e4f5\"", "id", "s-81c2d3e4f5"},
        {"trace-id: 00f067aa0ba902b7.", "id", "00f067aa0ba902b7"},
        {"from req_01HF3Q2Z9X8Y7W6V done", "id", "req_01HF3Q2Z9X8Y7W6V"},
        {"commit 4bf92f3577b34da6a3ce929d0e0e4736 is", "hash", "4bf92f3577b34da6a3ce929d0e0e4736"},
        {"started 1763807525 s", "epoch", "1763807525"},
        {"started 1763807525123 ms", "epoch", "1763807525123"},
        {"ts=1763807525.5 s", "epoch", "1763807525.5"},
        {"Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
         "token",
         "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"},
    };
    for (const Case& c : cases) {
        EXPECT_EQ(found(*p, c.text), (Found{{c.label, c.value}})) << c.text;
    }
}

TEST(VolatileValues, LeavesStableTextAlone) {
    auto p = builtins();
    // Versions, verses, ratios, counts, words that contain the key words,
    // and short hex: none of them changes from call to call.
    for (const char* text : {
             "nginx 1.22.1 on Debian 12", "John 3:16 says", "a 16:9 screen", "listen on port 8787",
             "The session management guide", "Use request ids in logs", "colour #ff8800",
             "commit a1380e1", "call 555-1234 or +1 212 555 0100", "Knowledge cutoff: 2025-01",
             "budget 1234567890123456789 units", "Mar 2026 roadmap", "Set MAX_TOKENS=4096",
             "the id field is required", "x-request-id header", "deadbeef"}) {
        EXPECT_EQ(found(*p, text), Found{}) << text;
    }
}

TEST(VolatileValues, LeftmostFirstAndNoOverlap) {
    auto p = builtins();
    std::string text =
        "Time 2026-11-22T10:32:05Z, session id: 3f2a9c1e-8b7d-4e6f-9a1b-2c3d4e5f6a7b, "
        "again 2026-11-22T10:32:05Z.";
    EXPECT_EQ(found(*p, text), (Found{{"timestamp", "2026-11-22T10:32:05Z"},
                                      {"id", "3f2a9c1e-8b7d-4e6f-9a1b-2c3d4e5f6a7b"},
                                      {"timestamp", "2026-11-22T10:32:05Z"}}));
}

TEST(VolatileValues, OperatorPatternsComeFirstAndGroupOneIsTheValue) {
    std::string error;
    auto p = VolatilePatterns::compile({{"build", "Build (\\d+)"}, {"user", "user-[a-z]+"}}, error);
    ASSERT_NE(p, nullptr) << error;
    EXPECT_EQ(p->labels()[0], "build");
    EXPECT_EQ(p->labels()[1], "user");
    EXPECT_EQ(found(*p, "Build 48213 for user-alice at 10:32:05"),
              (Found{{"build", "48213"}, {"user", "user-alice"}, {"time", "10:32:05"}}));
    // At one position the operator's pattern wins over a built-in one.
    auto q = VolatilePatterns::compile({{"stamp", "\\d{4}-\\d\\d-\\d\\d"}}, error);
    ASSERT_NE(q, nullptr) << error;
    EXPECT_EQ(found(*q, "on 2026-11-22."), (Found{{"stamp", "2026-11-22"}}));
}

TEST(VolatileValues, BadPatternIsRefusedWithPcre2sReason) {
    std::string error;
    EXPECT_EQ(VolatilePatterns::compile({{"x", "(unclosed"}}, error), nullptr);
    EXPECT_NE(error.find("(unclosed"), std::string::npos) << error;
    EXPECT_NE(error.find("missing closing parenthesis"), std::string::npos) << error;
}

TEST(VolatileValues, EmptyMatchesAndRunawayPatternsFindNothing) {
    std::string error;
    // A pattern that can match nothing at all is refused outright.
    EXPECT_EQ(VolatilePatterns::compile({{"empty", "x*"}}, error), nullptr);
    EXPECT_NE(error.find("can match the empty string"), std::string::npos) << error;
    EXPECT_EQ(VolatilePatterns::compile({{"empty", "(?=a)"}}, error), nullptr);
    // \K moves the match's start past what PCRE2 can tell: refused.
    for (const char* k : {"x\\K", "\\bq\\K", "(?:z\\K)+", "Build \\K\\d+"}) {
        EXPECT_EQ(VolatilePatterns::compile({{"k", k}}, error), nullptr) << k;
        EXPECT_NE(error.find("\\K is not taken"), std::string::npos) << error;
    }
    EXPECT_NE(VolatilePatterns::compile({{"k", "a\\\\K"}}, error), nullptr) << "an escaped backslash, then K";
    // An empty value (group 1) moves nothing; a runaway pattern gives up.
    auto p = VolatilePatterns::compile({{"empty", "x(y*)"}, {"slow", "(a+)+$"}}, error);
    ASSERT_NE(p, nullptr) << error;
    std::string text(40, 'a');
    text += "!x";
    EXPECT_EQ(found(*p, text), Found{});
}

TEST(VolatileValues, LabelsAreCheckedAsNginxChecksThem) {
    std::string error;
    EXPECT_EQ(VolatilePatterns::compile({{"a b", "x"}}, error), nullptr);
    EXPECT_NE(error.find("may hold only"), std::string::npos) << error;
    EXPECT_EQ(VolatilePatterns::compile({{"", "x"}}, error), nullptr);
    EXPECT_EQ(VolatilePatterns::compile({{"ok", ""}}, error), nullptr);
    EXPECT_NE(VolatilePatterns::compile({{"build_no-2", "Build (\\d+)"}}, error), nullptr) << error;
}

TEST(VolatileValues, BytesThatAreNotUtf8AreFine) {
    auto p = builtins();
    EXPECT_EQ(found(*p, "\xff\xfe at 10:32:05 \xc3"), (Found{{"time", "10:32:05"}}));
}
