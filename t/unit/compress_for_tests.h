// Compressors for tests: what clients and providers send, built with the
// same libraries the core decodes with.
#pragma once

#include <brotli/encode.h>
#include <gtest/gtest.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <string>

#include "core/decode.h"

namespace compress_for_tests {

// windowBits: 16 + 15 gzip, 15 zlib, -15 raw deflate. `flushes` splits the
// input into that many pieces, each ended with Z_SYNC_FLUSH, as a client
// that builds its stream block by block does.
inline std::string deflate(const std::string& in, int window_bits, int flushes = 1) {
    z_stream z{};
    EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    std::string out(deflateBound(&z, in.size()) + 64 * std::size_t(flushes) + 64, '\0');
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    const std::size_t piece = in.size() / std::size_t(flushes) + 1;
    for (std::size_t at = 0; at < in.size(); at += piece) {
        const std::size_t n = std::min(piece, in.size() - at);
        z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + at));
        z.avail_in = static_cast<uInt>(n);
        EXPECT_EQ(deflate(&z, Z_SYNC_FLUSH), Z_OK);
    }
    EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

inline std::string gzip(const std::string& in, int flushes = 1) { return deflate(in, 16 + 15, flushes); }

inline std::string zstd(const std::string& in) {
    std::string out(ZSTD_compressBound(in.size()), '\0');
    const std::size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
    EXPECT_FALSE(ZSTD_isError(n));
    out.resize(n);
    return out;
}

inline std::string brotli(const std::string& in) {
    std::string out(BrotliEncoderMaxCompressedSize(in.size()) + 16, '\0');
    std::size_t n = out.size();
    EXPECT_TRUE(BrotliEncoderCompress(5, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC, in.size(),
                                      reinterpret_cast<const std::uint8_t*>(in.data()), &n,
                                      reinterpret_cast<std::uint8_t*>(out.data())));
    out.resize(n);
    return out;
}

// `in` as `encoding` sends it (deflate: zlib-wrapped).
inline std::string encode(headroom::Encoding encoding, const std::string& in) {
    switch (encoding) {
    case headroom::Encoding::Gzip: return gzip(in);
    case headroom::Encoding::Deflate: return deflate(in, 15);
    case headroom::Encoding::Zstd: return zstd(in);
    case headroom::Encoding::Brotli: return brotli(in);
    case headroom::Encoding::Identity: break;
    }
    return in;
}

}  // namespace compress_for_tests
