// Fuzz target: the body decoders. Any bytes, fed in any pieces, never
// decode past the caps (max_size, and max_ratio times the compressed
// bytes: the declared length, or those seen); and any text, compressed as
// clients do (gzip in several members, zlib or raw deflate, zstd in
// several frames) and fed in pieces, decodes to itself, or stops at a cap
// it really exceeds. Input: 3 parameter bytes, then the bytes.
#include <brotli/encode.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <string>
#include <string_view>

#include "core/decode.h"
#include "fuzz.h"

namespace {

using headroom::Decoder;
using headroom::Encoding;

// zlib's deflate in one of its wrappings: 31 gzip, 15 zlib, -15 raw.
std::string deflate_with(std::string_view in, int window_bits) {
    z_stream z{};
    if (deflateInit2(&z, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) std::abort();
    std::string out(deflateBound(&z, in.size()) + 64, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) std::abort();
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

std::string zstd_frame(std::string_view in) {
    std::string out(ZSTD_compressBound(in.size()), '\0');
    const std::size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
    if (ZSTD_isError(n)) std::abort();
    out.resize(n);
    return out;
}

// `encoded` fed in pieces of 1 to 64 << (shift) bytes.
Decoder::Status feed_all(Decoder& d, std::string_view encoded, unsigned shift) {
    const std::size_t piece = std::size_t(1 + shift % 64) << (shift % 5);
    Decoder::Status s = Decoder::Status::More;
    for (std::size_t at = 0; at < encoded.size() || at == 0; at += piece) {
        const std::string_view part = encoded.substr(std::min(at, encoded.size()), piece);
        s = d.feed(part, at + piece >= encoded.size());
        if (at + piece >= encoded.size()) break;
    }
    return s;
}

std::string brotli_stream(std::string_view in) {
    std::string out(BrotliEncoderMaxCompressedSize(in.size()) + 16, '\0');
    std::size_t n = out.size();
    if (!BrotliEncoderCompress(1, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC, in.size(),
                               reinterpret_cast<const std::uint8_t*>(in.data()), &n,
                               reinterpret_cast<std::uint8_t*>(out.data()))) {
        std::abort();
    }
    out.resize(n);
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const headroom_fuzz::Params p(data, size, 3);
    const std::string_view bytes(p.rest(), p.rest_size(size));
    headroom::DecodeLimits limits;
    limits.max_size = std::size_t(1) << (10 + p.byte(1) % 12);  // 1 KB to 2 MB
    limits.max_ratio = 1 + p.byte(1) / 2;
    const Encoding enc = Encoding(1 + p.byte(0) % 4);
    const bool roundtrip = (p.byte(0) & 0x80) != 0;

    if (!roundtrip) {
        limits.declared = (p.byte(0) & 0x40) ? bytes.size() : 0;
        Decoder d(enc, limits);
        const Decoder::Status s = feed_all(d, bytes, p.byte(2));
        const std::size_t basis = std::max(limits.declared, d.compressed_bytes());
        EXPECT_LE(d.decoded().size(), limits.max_size);
        EXPECT_LE(d.decoded().size(), limits.max_ratio * basis);
        EXPECT_NE(s, Decoder::Status::OutOfMemory);
        headroom_fuzz::fail_on_broken_promise();
        return 0;
    }

    // As clients build them: the text cut into 1 to 4 members or frames.
    const std::size_t parts = 1 + (p.byte(0) >> 4) % 4;
    const bool raw = (p.byte(0) & 0x40) != 0;
    std::string encoded;
    for (std::size_t i = 0; i < parts; ++i) {
        const std::size_t from = bytes.size() * i / parts, to = bytes.size() * (i + 1) / parts;
        const std::string_view piece = bytes.substr(from, to - from);
        switch (enc) {
        case Encoding::Gzip: encoded += deflate_with(piece, 31); break;
        case Encoding::Zstd: encoded += zstd_frame(piece); break;
        default: break;
        }
    }
    // deflate is one stream: zlib-wrapped or raw; brotli likewise.
    if (enc == Encoding::Deflate) encoded = deflate_with(bytes, raw ? -15 : 15);
    if (enc == Encoding::Brotli) encoded = brotli_stream(bytes);
    limits.declared = encoded.size();
    Decoder d(enc, limits);
    const Decoder::Status s = feed_all(d, encoded, p.byte(2));
    const std::size_t cap = std::min(limits.max_size, limits.max_ratio * encoded.size());
    if (bytes.size() <= cap) {
        EXPECT_EQ(s, Decoder::Status::Done);
        EXPECT_TRUE(d.decoded() == bytes) << "decoded bytes differ from what was compressed";
    } else {
        EXPECT_EQ(s, Decoder::Status::TooLarge);
        EXPECT_LE(d.decoded().size(), cap);
    }
    headroom_fuzz::fail_on_broken_promise();
    return 0;
}
