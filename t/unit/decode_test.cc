#include "core/decode.h"

#include <gtest/gtest.h>

#include "compress_for_tests.h"

#include <random>
#include <string>
#include <vector>

using headroom::Decoder;
using headroom::DecodeLimits;
using headroom::Encoding;
using headroom::encoding_of;
using compress_for_tests::deflate;
using compress_for_tests::gzip;
using compress_for_tests::zstd;
using compress_for_tests::brotli;

namespace {

DecodeLimits limits(std::size_t max_size = 1 << 26, std::size_t ratio = 100000, std::size_t declared = 0) {
    return DecodeLimits{max_size, ratio, declared};
}

// Feeds `in` in pieces of `step` bytes (the last flagged).
Decoder::Status decode(Decoder& d, const std::string& in, std::size_t step) {
    Decoder::Status s = Decoder::Status::More;
    for (std::size_t at = 0; at < in.size() || at == 0; at += step) {
        const std::size_t n = std::min(step, in.size() - std::min(at, in.size()));
        s = d.feed(std::string_view(in).substr(std::min(at, in.size()), n), at + n >= in.size());
        if (at + n >= in.size()) break;
    }
    return s;
}

std::string json_body(std::size_t approx) {
    std::string s = "{\"model\":\"claude-sonnet-4-5\",\"messages\":[";
    for (int i = 0; s.size() < approx; ++i) {
        s += (i ? "," : "") + std::string("{\"role\":\"user\",\"content\":\"line ") + std::to_string(i * 7919 % 10007) +
             " of a tool output\"}";
    }
    return s + "]}";
}

}  // namespace

TEST(Decode, EncodingNames) {
    EXPECT_EQ(encoding_of("gzip"), Encoding::Gzip);
    EXPECT_EQ(encoding_of(" X-GZIP "), Encoding::Gzip);
    EXPECT_EQ(encoding_of("Deflate"), Encoding::Deflate);
    EXPECT_EQ(encoding_of("zstd"), Encoding::Zstd);
    EXPECT_EQ(encoding_of("identity"), Encoding::Identity);
    EXPECT_EQ(encoding_of("br"), Encoding::Brotli);
    EXPECT_EQ(encoding_of(" BR"), Encoding::Brotli);
    EXPECT_EQ(encoding_of("compress"), std::nullopt);
    EXPECT_EQ(encoding_of("gzip, br"), std::nullopt);
    EXPECT_EQ(encoding_of("gzip,gzip"), std::nullopt);
    EXPECT_EQ(encoding_of(""), std::nullopt);
    EXPECT_STREQ(headroom::encoding_name(Encoding::Zstd), "zstd");
    EXPECT_STREQ(headroom::encoding_name(Encoding::Brotli), "br");
}

// Every encoding, every wrapping, fed whole, byte by byte and in odd
// pieces: the same bytes back, and Done only at the end.
TEST(Decode, RoundTripsInAnyPieces) {
    const std::string body = json_body(200000);
    struct Case {
        const char* name;
        Encoding encoding;
        std::string wire;
    };
    const std::vector<Case> cases = {
        {"gzip", Encoding::Gzip, gzip(body)},
        {"gzip, sync-flushed blocks", Encoding::Gzip, gzip(body, 17)},
        {"gzip, three members", Encoding::Gzip,
         gzip(body.substr(0, 1000)) + gzip(body.substr(1000, 50000)) + gzip(body.substr(51000))},
        {"deflate (zlib)", Encoding::Deflate, deflate(body, 15)},
        {"deflate (raw)", Encoding::Deflate, deflate(body, -15, 5)},
        {"zstd", Encoding::Zstd, zstd(body)},
        {"zstd, three frames", Encoding::Zstd,
         zstd(body.substr(0, 7)) + zstd(body.substr(7, 90000)) + zstd(body.substr(90007))},
        {"br", Encoding::Brotli, brotli(body)},
    };
    for (const Case& c : cases) {
        for (std::size_t step : {c.wire.size(), std::size_t(1), std::size_t(7), std::size_t(4096)}) {
            Decoder d(c.encoding, limits());
            EXPECT_EQ(decode(d, c.wire, step), Decoder::Status::Done) << c.name << " step " << step;
            EXPECT_TRUE(d.decoded() == body) << c.name << " step " << step;
            EXPECT_EQ(d.compressed_bytes(), c.wire.size());
        }
    }
}

TEST(Decode, RandomBodiesAndSplits) {
    std::mt19937 rng(7);
    for (int round = 0; round < 60; ++round) {
        std::string body(rng() % 5000, '\0');
        for (char& ch : body) ch = static_cast<char>(rng() % (round % 2 ? 256 : 4) + (round % 2 ? 0 : 'a'));
        const Encoding e = round % 3 == 0 ? Encoding::Gzip : round % 3 == 1 ? Encoding::Deflate : Encoding::Zstd;
        const std::string wire = e == Encoding::Gzip ? gzip(body, 1 + round % 4)
                                 : e == Encoding::Deflate ? deflate(body, round % 2 ? 15 : -15)
                                                          : zstd(body);
        Decoder d(e, limits());
        EXPECT_EQ(decode(d, wire, 1 + rng() % 300), Decoder::Status::Done) << round;
        EXPECT_TRUE(d.decoded() == body) << round;
    }
}

TEST(Decode, CutShortOrNotThatEncoding) {
    const std::string body = json_body(20000);
    for (Encoding e : {Encoding::Gzip, Encoding::Deflate, Encoding::Zstd, Encoding::Brotli}) {
        const std::string wire = compress_for_tests::encode(e, body);
        Decoder cut(e, limits());
        EXPECT_EQ(decode(cut, wire.substr(0, wire.size() - 3), 100), Decoder::Status::Error) << int(e);
        Decoder plain(e, limits());
        EXPECT_EQ(decode(plain, body, 100), Decoder::Status::Error) << int(e);
        Decoder empty(e, limits());
        EXPECT_EQ(empty.feed("", true), Decoder::Status::Error) << int(e);
    }
    // Bytes after a deflate stream, or after gzip members that are not one.
    Decoder trailing(Encoding::Deflate, limits());
    EXPECT_EQ(decode(trailing, deflate(body, 15) + "xx", 50), Decoder::Status::Error);
    Decoder junk(Encoding::Gzip, limits());
    EXPECT_EQ(decode(junk, gzip(body) + "{\"a\":1}", 50), Decoder::Status::Error);
    // A brotli stream is one: bytes after it are not part of the body.
    Decoder after_br(Encoding::Brotli, limits());
    EXPECT_EQ(decode(after_br, brotli(body) + "x", 50), Decoder::Status::Error);
    // Once failed, it stays failed.
    EXPECT_EQ(junk.feed(gzip(body), true), Decoder::Status::Error);
}

// A gigabyte of zeros is about a megabyte of gzip: the decoder stops at the
// cap, having decoded (and allocated) no more than the cap and one byte.
TEST(Decode, BombsStopAtTheCap) {
    const std::string zeros(16 << 20, '\0');  // 16 MB of zeros: 16 KB of gzip
    for (Encoding e : {Encoding::Gzip, Encoding::Zstd, Encoding::Brotli}) {
        const std::string wire = compress_for_tests::encode(e, zeros);
        // The ratio against what has arrived so far (no declared length).
        Decoder by_ratio(e, limits(1 << 30, 100));
        EXPECT_EQ(decode(by_ratio, wire, 16384), Decoder::Status::TooLarge) << int(e);
        EXPECT_LE(by_ratio.decoded().size(), 100 * by_ratio.compressed_bytes());
        // Against the declared length.
        Decoder declared(e, limits(1 << 30, 100, wire.size()));
        EXPECT_EQ(decode(declared, wire, wire.size()), Decoder::Status::TooLarge) << int(e);
        EXPECT_LE(declared.decoded().size(), 100 * wire.size());
        // Against max_size, the ratio aside.
        Decoder by_size(e, limits(1 << 20, 1000000));
        EXPECT_EQ(decode(by_size, wire, 4096), Decoder::Status::TooLarge) << int(e);
        EXPECT_LE(by_size.decoded().size(), (1u << 20));
    }
    // Exactly at the cap is not over it.
    const std::string body = json_body(5000);
    Decoder exact(Encoding::Gzip, limits(body.size(), 1000000));
    EXPECT_EQ(decode(exact, gzip(body), 10), Decoder::Status::Done);
    Decoder one_less(Encoding::Gzip, limits(body.size() - 1, 1000000));
    EXPECT_EQ(decode(one_less, gzip(body), 10), Decoder::Status::TooLarge);
}

// A brotli stream that declares a window larger than what may be decoded
// costs no more memory than the budget: libbrotli's allocations past it
// are refused, and the body is too large.
TEST(Decode, BrotliWindowsStayWithinTheBudget) {
    const std::string body = json_body(200000);  // ~ several MB window at quality 5
    const std::string wire = brotli(body);
    Decoder small(Encoding::Brotli, limits(1000, 1000000));
    EXPECT_EQ(decode(small, wire, 4096), Decoder::Status::TooLarge);
    EXPECT_LE(small.decoded().size(), 1000u);
    Decoder fits(Encoding::Brotli, limits(body.size(), 1000000));
    EXPECT_EQ(decode(fits, wire, 4096), Decoder::Status::Done);
    EXPECT_TRUE(fits.decoded() == body);
}
