// The price table: its format, longest-prefix matching, the shipped table.
#include <gtest/gtest.h>

#include <string>

#include "core/prices.h"
#include "shim/headroom.h"

using headroom::Prices;

TEST(Prices, LongestPrefixWins) {
    std::string error;
    auto p = Prices::parse("# comment\ngpt-4o 2.50\n\ngpt-4o-mini\t0.15  # cheap\n", error);
    ASSERT_NE(p, nullptr) << error;
    EXPECT_DOUBLE_EQ(p->usd_per_mtok("gpt-4o-2024-08-06"), 2.50);
    EXPECT_DOUBLE_EQ(p->usd_per_mtok("gpt-4o-mini-2024-07-18"), 0.15);
    EXPECT_LT(p->usd_per_mtok("gpt-4"), 0);
    EXPECT_LT(p->usd_per_mtok(""), 0);
}

TEST(Prices, MalformedLinesAreNamed) {
    std::string error;
    EXPECT_EQ(Prices::parse("gpt-4o 2.50\ngpt-4o-mini\n", error), nullptr);
    EXPECT_NE(error.find("line 2"), std::string::npos) << error;
    EXPECT_EQ(Prices::parse("gpt-4o two\n", error), nullptr);
    EXPECT_NE(error.find("gpt-4o two"), std::string::npos) << error;
    EXPECT_EQ(Prices::parse("gpt-4o 1 2\n", error), nullptr);
    EXPECT_EQ(Prices::parse("gpt-4o -1\n", error), nullptr);
    EXPECT_EQ(Prices::parse("gpt-4o nan\n", error), nullptr);
}

TEST(Prices, ShippedTableParsesAndKnowsCommonModels) {
    std::string error;
    auto p = Prices::parse(Prices::built_in_text(), error);
    ASSERT_NE(p, nullptr) << error;
    EXPECT_GE(p->rules().size(), 20u);
    for (const char* model : {"gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-5", "o3",
                              "claude-sonnet-4-20250514", "claude-opus-4-5-20251101",
                              "claude-3-5-haiku-20241022", "claude-haiku-4-5"}) {
        EXPECT_GT(p->usd_per_mtok(model), 0) << model;
    }
    // a model's own line beats its family's
    EXPECT_LT(p->usd_per_mtok("gpt-4o-mini"), p->usd_per_mtok("gpt-4o"));
    EXPECT_LT(p->usd_per_mtok("claude-opus-4-5"), p->usd_per_mtok("claude-opus-4"));
}

TEST(Prices, ShimLoadsFilesAndNamesFailures) {
    char error[256];
    headroom_prices_t* built_in = headroom_prices_load(nullptr, error, sizeof(error));
    ASSERT_NE(built_in, nullptr) << error;
    EXPECT_GT(headroom_price_per_mtok(built_in, "gpt-4o", 6), 0);
    EXPECT_LT(headroom_price_per_mtok(built_in, "nope", 4), 0);
    headroom_prices_free(built_in);

    EXPECT_EQ(headroom_prices_load("/nonexistent/prices", error, sizeof(error)), nullptr);
    EXPECT_NE(std::string(error).find("/nonexistent/prices"), std::string::npos) << error;
}

// Five columns: what a call cost, by hand. Two-column lines still read,
// and put no figure on a call.
TEST(Prices, ACallCostsWhatItsUsageSays) {
    std::string error;
    auto p = Prices::parse("claude-sonnet-4 3.00 0.30 3.75 15.00\ngpt-4o 2.50\n", error);
    ASSERT_NE(p, nullptr) << error;
    // 20 plain, 30000 read, 1500 written, 410 out.
    EXPECT_DOUBLE_EQ(p->cost_usd("claude-sonnet-4-5", 31520, 30000, 1500, 410),
                     (20 * 3.00 + 30000 * 0.30 + 1500 * 3.75 + 410 * 15.00) / 1e6);
    EXPECT_LT(p->cost_usd("gpt-4o", 100, 0, 0, 10), 0);
    EXPECT_LT(p->cost_usd("gpt-5", 100, 0, 0, 10), 0);
    EXPECT_DOUBLE_EQ(p->usd_per_mtok("claude-sonnet-4-5"), 3.00);
    // A provider that says more cached than input costs no negative tokens.
    EXPECT_DOUBLE_EQ(p->cost_usd("claude-sonnet-4", 10, 20, 0, 0), 20 * 0.30 / 1e6);
    EXPECT_EQ(Prices::parse("gpt-4o 2.50 1.25 2.50\n", error), nullptr);
    EXPECT_NE(error.find("CACHED_INPUT"), std::string::npos) << error;
    EXPECT_EQ(Prices::parse("gpt-4o 2.50 1.25 2.50 10 11\n", error), nullptr);

    auto shipped = Prices::parse(Prices::built_in_text(), error);
    ASSERT_NE(shipped, nullptr) << error;
    for (const auto& rule : shipped->rules()) EXPECT_TRUE(rule.full) << rule.prefix;
    EXPECT_DOUBLE_EQ(shipped->cost_usd("gpt-4o-2024-08-06", 1200, 1024, 0, 340),
                     (176 * 2.50 + 1024 * 1.25 + 340 * 10.00) / 1e6);
}
