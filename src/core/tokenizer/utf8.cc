#include "core/tokenizer/utf8.h"

#include <cstdint>
#include <cstring>

namespace headroom::tokenizer {

namespace {

// Length of the well-formed sequence starting at s[i], or 0 when s[i]
// starts a maximal invalid subpart; `bad` then gets that subpart's length.
std::size_t sequence_at(std::string_view s, std::size_t i, std::size_t& bad) {
    auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char b0 = byte(i);
    if (b0 < 0x80) return 1;

    std::size_t need;
    unsigned char lo = 0x80, hi = 0xBF;  // bounds of the second byte
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        need = 1;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        need = 2;
        if (b0 == 0xE0) lo = 0xA0;  // no overlongs
        if (b0 == 0xED) hi = 0x9F;  // no surrogates
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        need = 3;
        if (b0 == 0xF0) lo = 0x90;  // no overlongs
        if (b0 == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
    } else {
        bad = 1;
        return 0;
    }

    std::size_t k = 1;
    for (; k <= need; ++k) {
        if (i + k >= s.size()) break;
        unsigned char b = byte(i + k);
        unsigned char l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
        if (b < l || b > h) break;
    }
    if (k > need) return need + 1;
    bad = k;  // the lead byte and the continuation bytes that fitted
    return 0;
}

}  // namespace

std::size_t valid_utf8_prefix(std::string_view s) {
    std::size_t i = 0, bad = 0;
    while (i < s.size()) {
        // Eight ASCII bytes at a time: most text is mostly ASCII.
        while (i + 8 <= s.size()) {
            std::uint64_t w;
            std::memcpy(&w, s.data() + i, 8);
            if (w & 0x8080808080808080ull) break;
            i += 8;
        }
        if (i >= s.size()) break;
        std::size_t n = sequence_at(s, i, bad);
        if (n == 0) return i;
        i += n;
    }
    return i;
}

std::string repair_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 16);
    std::size_t i = 0, bad = 0;
    while (i < s.size()) {
        std::size_t n = sequence_at(s, i, bad);
        if (n != 0) {
            out.append(s.data() + i, n);
            i += n;
        } else {
            out.append("\xEF\xBF\xBD");
            i += bad;
        }
    }
    return out;
}

}  // namespace headroom::tokenizer
