#include "core/json.h"

#include <gtest/gtest.h>

#include <string>

using headroom::json::Kind;
using headroom::json::parse;
using headroom::json::ParseError;
using headroom::json::serialize;

namespace {

std::string roundtrip(const std::string& in) {
    auto r = parse(in, 512);
    EXPECT_TRUE(r.ok()) << in << ": " << r.message;
    return serialize(r.value);
}

}  // namespace

TEST(Json, CompactInputRoundTripsByteForByte) {
    const std::string cases[] = {
        R"({"b":1,"a":2,"b":3})",  // key order and duplicates kept
        R"([12345678901234567890123,-0.0e+10,1E400,0.1000,-0])",  // number text kept
        R"({"nested":{"x":[true,false,null,[],{}]},"e":""})",
        R"("just a string")",
        "42",
    };
    for (const auto& c : cases) {
        EXPECT_EQ(roundtrip(c), c);
    }
}

TEST(Json, WhitespaceIsDropped) {
    EXPECT_EQ(roundtrip(" {\n  \"a\" : [ 1 ,\t2 ] ,\r\n \"b\" : { } }\n "),
              R"({"a":[1,2],"b":{}})");
}

TEST(Json, EscapesAreNormalisedWithoutChangingMeaning) {
    EXPECT_EQ(roundtrip(R"(["caf\u00e9","a\/b","\u001f","tab\there"])"),
              "[\"caf\xC3\xA9\",\"a/b\",\"\\u001f\",\"tab\\there\"]");
    EXPECT_EQ(roundtrip(R"(["nul\u0000byte"])"), R"(["nul\u0000byte"])");
    EXPECT_EQ(roundtrip(R"(["quote\"back\\slash\b\f\n\r"])"),
              R"(["quote\"back\\slash\b\f\n\r"])");
    // A surrogate pair becomes the 4-byte UTF-8 of U+1F600.
    EXPECT_EQ(roundtrip(R"(["\ud83d\ude00"])"), "[\"\xF0\x9F\x98\x80\"]");
    // Raw UTF-8 stays raw.
    EXPECT_EQ(roundtrip("[\"\xE4\xB8\xAD\xE6\x96\x87\"]"), "[\"\xE4\xB8\xAD\xE6\x96\x87\"]");
}

TEST(Json, LoneSurrogatesAreRefusedNotAltered) {
    EXPECT_EQ(parse(R"(["\ud800"])", 512).error, ParseError::LoneSurrogate);
    EXPECT_EQ(parse(R"(["\udc00x"])", 512).error, ParseError::LoneSurrogate);
    EXPECT_EQ(parse(R"(["\uD83D\u0041"])", 512).error, ParseError::LoneSurrogate);
    EXPECT_EQ(parse(R"(["\ud83d"])", 512).error, ParseError::LoneSurrogate);
    // An escaped backslash followed by "ud800" is plain text.
    auto r = parse(R"(["\\ud800"])", 512);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value.items[0].text, "\\ud800");
    // Three backslashes: an escaped one, then a lone surrogate.
    EXPECT_EQ(parse(R"(["\\\ud800"])", 512).error, ParseError::LoneSurrogate);
    EXPECT_TRUE(parse(R"(["\\\\ud800","\ud83d\ude00","\n\u0041"])", 512).ok());
    EXPECT_EQ(parse(R"(["a\n\t\u0041\ud83d\ude00 b", "\udfff"])", 512).error, ParseError::LoneSurrogate);
}

// The scan looks at sixteen bytes at a time: every escape, at every offset
// across a block's edge, is judged as a plain byte-by-byte reading does.
TEST(Json, LoneSurrogateScanAgreesAtEveryOffset) {
    auto reference = [](const std::string& t) {
        for (std::size_t i = 0; i + 1 < t.size(); ++i) {
            if (t[i] != '\\') continue;
            if (t[i + 1] != 'u') { ++i; continue; }  // another escape
            auto hex = [&](std::size_t at, unsigned& cp) {
                if (at + 4 > t.size()) return false;
                cp = 0;
                for (std::size_t k = at; k < at + 4; ++k) {
                    char c = t[k];
                    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                          : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
                    if (d < 0) return false;
                    cp = cp << 4 | static_cast<unsigned>(d);
                }
                return true;
            };
            unsigned cp = 0, low = 0;
            if (!hex(i + 2, cp)) { ++i; continue; }
            if (cp >= 0xDC00 && cp <= 0xDFFF) return true;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (!(i + 12 <= t.size() && t[i + 6] == '\\' && t[i + 7] == 'u' && hex(i + 8, low) &&
                      low >= 0xDC00 && low <= 0xDFFF)) {
                    return true;
                }
                i += 11;
                continue;
            }
            i += 5;
        }
        return false;
    };
    const char* escapes[] = {"\\ud800", "\\\\ud800", "\\\\\\ud800", "\\udfff", "\\ud83d\\ude00",
                             "\\u0041", "\\n", "\\\\", "u\\", "\\", "\\u", "\\ud8"};
    int lone = 0;
    for (const char* e : escapes) {
        for (std::size_t at = 0; at < 40; ++at) {
            for (std::size_t tail = 0; tail < 3; ++tail) {
                std::string t = std::string(at, 'x') + e + std::string(tail, 'u');
                EXPECT_EQ(headroom::json::has_lone_surrogate_escape(t), reference(t)) << t;
                lone += reference(t);
            }
        }
    }
    EXPECT_GT(lone, 0);
}

// Escaping skips sixteen plain bytes at a time: every byte below 0x80, at
// every offset across a block's edge, comes out as a byte-by-byte escaper
// writes it.
TEST(Json, EscapingAgreesAtEveryOffset) {
    auto reference = [](const std::string& t) {
        std::string out = "\"";
        for (unsigned char c : t) {
            if (c == '"') out += "\\\"";
            else if (c == '\\') out += "\\\\";
            else if (c == '\b') out += "\\b";
            else if (c == '\f') out += "\\f";
            else if (c == '\n') out += "\\n";
            else if (c == '\r') out += "\\r";
            else if (c == '\t') out += "\\t";
            else if (c < 0x20) {
                char buf[8];
                snprintf(buf, sizeof buf, "\\u%04x", c);
                out += buf;
            } else out += static_cast<char>(c);
        }
        return out + "\"";
    };
    for (int c = 0; c < 0x80; ++c) {
        for (std::size_t at = 0; at < 34; ++at) {
            std::string t = std::string(at, 'a') + static_cast<char>(c) + "z\xc3\xa9" + std::string(at % 5, '"');
            headroom::json::Value v = headroom::json::string_value(t);
            EXPECT_EQ(serialize(v), reference(t)) << c << " at " << at;
        }
    }
}

TEST(Json, MalformedInputIsRejected) {
    const char* bad[] = {
        "",        "   ",           "{",          R"({"a":1,})", R"({"a" 1})",
        "[1] [2]", R"({"a":1} x)", "/* c */ {}", "[01]",      "[1.]",
        "{'a':1}", "[\"\x80\"]",   "[\"\xC3\"]", "nul",       "[\"unterminated]",
    };
    for (const char* b : bad) {
        auto r = parse(b, 512);
        EXPECT_EQ(r.error, ParseError::Invalid) << "input: " << b;
    }
    EXPECT_FALSE(parse("{", 512).message.empty());
}

TEST(Json, DepthIsBounded) {
    std::string deep(600, '[');
    deep += std::string(600, ']');
    EXPECT_EQ(parse(deep, 512).error, ParseError::TooDeep);
    EXPECT_TRUE(parse(deep, 600).ok());
    std::string ok(512, '[');
    ok += std::string(512, ']');
    EXPECT_TRUE(parse(ok, 512).ok());
}

TEST(Json, FindReturnsTheLastDuplicate) {
    auto r = parse(R"({"role":"user","role":"tool"})", 512);
    ASSERT_TRUE(r.ok());
    ASSERT_NE(r.value.find("role"), nullptr);
    EXPECT_EQ(r.value.find("role")->text, "tool");
    EXPECT_EQ(r.value.find("missing"), nullptr);
    EXPECT_EQ(r.value.find("role")->find("x"), nullptr);  // not an object
}

TEST(Json, KindsAreRecorded) {
    auto r = parse(R"([null,true,false,1,"s",[],{}])", 512);
    ASSERT_TRUE(r.ok());
    const Kind kinds[] = {Kind::Null,   Kind::True,  Kind::False, Kind::Number,
                          Kind::String, Kind::Array, Kind::Object};
    ASSERT_EQ(r.value.items.size(), 7u);
    for (size_t i = 0; i < 7; ++i) EXPECT_EQ(r.value.items[i].kind, kinds[i]);
}

TEST(Json, MinifyEqualsParseThenSerialize) {
    const std::string inputs[] = {
        " {\n  \"b\" : [ 1 , {\"x\" : null} , [ ] , { } ] ,\n  \"a\" : \"caf\\u00e9\\n\" ,\n \"b\": -1.5e3 } ",
        "[ true , false , \"\\ud83d\\ude00\" , 12345678901234567890123 ]",
        "\"just text\"",
        "  7  ",
        "{\"k\":{\"k\":{\"k\":[[[]]]}}}",
    };
    for (const auto& in : inputs) {
        std::string out;
        ASSERT_EQ(headroom::json::minify(in, 512, out), ParseError::None) << in;
        EXPECT_EQ(out, roundtrip(in)) << in;
    }
}

TEST(Json, MinifyFailsAsParseDoes) {
    std::string out;
    EXPECT_EQ(headroom::json::minify("[1,", 512, out), ParseError::Invalid);
    EXPECT_EQ(headroom::json::minify("   ", 512, out), ParseError::Invalid);
    EXPECT_EQ(headroom::json::minify("[\"\\ud800\"]", 512, out), ParseError::LoneSurrogate);
    std::string deep = std::string(600, '[') + std::string(600, ']');
    EXPECT_EQ(headroom::json::minify(deep, 512, out), ParseError::TooDeep);
    std::string appended = "prefix:";
    EXPECT_EQ(headroom::json::minify("[ 1 ]", 512, appended), ParseError::None);
    EXPECT_EQ(appended, "prefix:[1]");
}
