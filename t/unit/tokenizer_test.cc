#include <gtest/gtest.h>

#include <random>
#include <string>

#include "core/tokenizer/encoding.h"
#include "core/tokenizer/models.h"
#include "core/tokenizer/rank_file.h"
#include "core/tokenizer/unicode_align.h"
#include "core/tokenizer/utf8.h"

namespace tk = headroom::tokenizer;

TEST(Utf8, RepairsMaximalSubparts) {
    EXPECT_EQ(tk::repair_utf8("abc"), "abc");
    EXPECT_EQ(tk::repair_utf8("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
    // A truncated 3-byte sequence is one replacement; the next byte stands.
    EXPECT_EQ(tk::repair_utf8("\xE2\x82" "x"), "\xEF\xBF\xBD" "x");
    // Overlong and surrogate encodings: one replacement per byte.
    EXPECT_EQ(tk::repair_utf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");
    EXPECT_EQ(tk::repair_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    EXPECT_EQ(tk::repair_utf8("\xF4\x90\x80\x80"),
              "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    EXPECT_EQ(tk::valid_utf8_prefix("ok\xF0\x9F\x98\x80" "\xC3"), 6u);
}

TEST(RankFile, RoundTripsAndRejectsDamage) {
    tk::RankTable t{"tiny", "\\S+|\\s+", {"a", "b", "ab", "\xFF"}};
    std::string bytes = tk::write_rank_file(t);
    tk::RankFileView v;
    std::string error;
    ASSERT_TRUE(tk::read_rank_file(bytes, v, error)) << error;
    EXPECT_EQ(v.name, "tiny");
    EXPECT_EQ(v.token_count, 4u);
    EXPECT_EQ(v.token(2), "ab");
    EXPECT_FALSE(tk::read_rank_file(bytes.substr(0, bytes.size() - 1), v, error));
    EXPECT_FALSE(tk::read_rank_file("garbage", v, error));
    std::string dup = tk::write_rank_file({"dup", "x", {"a", "a"}});
    EXPECT_EQ(tk::Encoding::from_bytes(dup, error), nullptr);
    EXPECT_EQ(tk::Encoding::from_bytes(tk::write_rank_file({"bad", "(", {"a"}}), error), nullptr);
    EXPECT_NE(error.find("compile"), std::string::npos) << error;
}

TEST(UnicodeAlign, WidensPropertiesAndSpellsOutSpace) {
    std::string out, error;
    ASSERT_TRUE(tk::align_unicode("\\p{L}+|[^\\s\\p{N}]", out, error)) << error;
    EXPECT_NE(out.find("[\\p{L}\\x{"), std::string::npos) << out;
    EXPECT_EQ(out.find("\\s"), std::string::npos) << out;
    EXPECT_NE(out.find("\\x{3000}"), std::string::npos) << out;
    EXPECT_EQ(out.find("\\x{180E}"), std::string::npos) << out;
    EXPECT_FALSE(tk::align_unicode("\\P{L}", out, error));
    EXPECT_FALSE(tk::align_unicode("[\\S]", out, error));
    EXPECT_FALSE(tk::align_unicode("\\p{Greek}", out, error));
}

// headroom_pcre_jit off: the pre-tokenizer is interpreted, and counts the
// same.
TEST(Encoding, CountsTheSameWithoutJit) {
    tk::RankTable t{"toy", "'s|\\p{L}+| ?\\p{N}+|\\s+|[^\\s\\p{L}\\p{N}]+", {}};
    for (int b = 0; b < 256; ++b) t.tokens.push_back(std::string(1, static_cast<char>(b)));
    for (const char* m : {"he", "ll", "hell", "hello", " 1", "23", "it"}) t.tokens.push_back(m);
    std::string error;
    auto jit = tk::Encoding::from_bytes(tk::write_rank_file(t), error, true);
    auto interpreted = tk::Encoding::from_bytes(tk::write_rank_file(t), error, false);
    ASSERT_NE(jit, nullptr) << error;
    ASSERT_NE(interpreted, nullptr) << error;
    EXPECT_TRUE(jit->jit()) << "PCRE2 here is built with its JIT";
    EXPECT_FALSE(interpreted->jit());
    for (const char* s : {"hello world 123 it's", "", "  \n\t x", "caf\xc3\xa9 \xff 42"}) {
        EXPECT_EQ(jit->count(s), interpreted->count(s)) << s;
    }
}

TEST(Merge, ScanAndHeapAgree) {
    // A small vocabulary where merge order matters.
    tk::RankTable t{"toy", "\\S+|\\s+", {}};
    for (int b = 0; b < 256; ++b) t.tokens.push_back(std::string(1, static_cast<char>(b)));
    for (const char* m : {"ab", "bc", "abc", "aa", "aaa", "aaaa", "cd", "bcd", "abcd", "dd"}) {
        t.tokens.push_back(m);
    }
    std::string error;
    auto e = tk::Encoding::from_bytes(tk::write_rank_file(t), error);
    ASSERT_NE(e, nullptr) << error;
    std::mt19937 rng(7);
    for (int i = 0; i < 2000; ++i) {
        std::string s;
        // The scan handles up to 128 bytes; longer pieces go to the heap.
        for (int n = 2 + static_cast<int>(rng() % 127); n > 0; --n) s.push_back("abcdx"[rng() % 5]);
        EXPECT_EQ(e->merge_count_scan(s), e->merge_count_heap(s)) << s;
        EXPECT_EQ(e->merge_count_scan(s), e->merge_count_buckets(s)) << s;
    }
    EXPECT_EQ(e->piece_tokens("abcd"), 1u);
    EXPECT_EQ(e->piece_tokens("aaaaa"), 2u);
    EXPECT_EQ(e->count("aaaa abcd x"), 5u);
}

// The three ways of merging agree on the real tables, on long pieces of
// letters without a separator (the pathological input) and of real words.
TEST(Merge, HeapAndBucketsAgreeOnTheRealTables) {
    for (const char* name : {"o200k_base", "cl100k_base"}) {
        std::string error;
        auto e = tk::Encoding::load(std::string(HEADROOM_TOKENIZER_DIR) + "/" + name + ".tok", error);
        ASSERT_NE(e, nullptr) << error;
        std::mt19937 rng(11);
        const char* words[] = {"alpha", "beta", "gamma", "delta", "the", "tokenizer", "zz", "q", "ing", "tion"};
        for (int i = 0; i < 60; ++i) {
            std::string s;
            const std::size_t n = 100 + rng() % (i < 50 ? 3000 : 40000);
            while (s.size() < n) s += i % 2 ? words[rng() % 10] : std::string(1, "abcdefghijklmnopqrstuvwxyz"[rng() % 26]);
            const std::size_t heap = e->merge_count_heap(s);
            EXPECT_EQ(heap, e->merge_count_buckets(s)) << name << " " << s.size();
            if (s.size() <= 128) {
                EXPECT_EQ(heap, e->merge_count_scan(s));
            }
        }
    }
}

TEST(Models, PrefixRules) {
    EXPECT_EQ(tk::encoding_for_model("gpt-4o-mini", {}).encoding, "o200k_base");
    EXPECT_EQ(tk::encoding_for_model("gpt-4.1-2025-04-14", {}).encoding, "o200k_base");
    EXPECT_EQ(tk::encoding_for_model("gpt-4-turbo", {}).encoding, "cl100k_base");
    EXPECT_EQ(tk::encoding_for_model("gpt-3.5-turbo", {}).encoding, "cl100k_base");
    EXPECT_EQ(tk::encoding_for_model("o3-mini", {}).encoding, "o200k_base");
    EXPECT_TRUE(tk::encoding_for_model("gpt-5", {}).exact);
    auto claude = tk::encoding_for_model("claude-sonnet-4-5", {});
    EXPECT_FALSE(claude.exact);
    EXPECT_EQ(claude.encoding, "o200k_base");
    std::vector<tk::ModelRule> o{{"claude", "cl100k_base"}, {"gpt-4o-legacy", "cl100k_base"}};
    EXPECT_EQ(tk::encoding_for_model("claude-3", o).encoding, "cl100k_base");
    EXPECT_EQ(tk::encoding_for_model("gpt-4o-legacy-1", o).encoding, "cl100k_base");
    EXPECT_EQ(tk::encoding_for_model("gpt-4o", o).encoding, "o200k_base");
}
