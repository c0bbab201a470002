// Counts every case written by t/tokenizer/reference.js with headroom's
// tokenizer and compares with tiktoken's counts.
//   tokenizer_compare CASES TOKENIZER_DIR
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "core/tokenizer/encoding.h"

namespace {

std::uint32_t u32(const std::string& s, std::size_t at) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data() + at);
    return std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 |
           std::uint32_t(p[3]) << 24;
}

std::string shown(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size() && i < 80; ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        char buf[8];
        if (c >= 0x20 && c < 0x7f) out.push_back(static_cast<char>(c));
        else { std::snprintf(buf, sizeof buf, "\\x%02x", c); out += buf; }
    }
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: tokenizer_compare CASES TOKENIZER_DIR\n";
        return 2;
    }
    std::ifstream in(argv[1], std::ios::binary);
    std::ostringstream buf;
    buf << in.rdbuf();
    const std::string data = buf.str();

    std::string error;
    const char* names[] = {"o200k_base", "cl100k_base"};
    std::shared_ptr<const headroom::tokenizer::Encoding> enc[2];
    for (int e = 0; e < 2; ++e) {
        enc[e] = headroom::tokenizer::Encoding::load(std::string(argv[2]) + "/" + names[e] + ".tok", error);
        if (!enc[e]) {
            std::cerr << error << "\n";
            return 2;
        }
    }

    std::size_t passed = 0, failed = 0, at = 0;
    while (at + 4 <= data.size()) {
        std::uint32_t len = u32(data, at);
        if (at + 4 + len + 8 > data.size()) {
            std::cerr << "truncated cases file\n";
            return 2;
        }
        std::string text = data.substr(at + 4, len);
        for (int e = 0; e < 2; ++e) {
            std::uint32_t want = u32(data, at + 4 + len + 4 * e);
            std::size_t got = enc[e]->count(text);
            if (got == want) {
                ++passed;
            } else if (++failed <= 20) {
                std::cout << names[e] << ": got " << got << " want " << want << " for " << len
                          << " bytes: " << shown(text) << "\n";
            }
        }
        at += 4 + len + 8;
    }
    std::cout << passed << " passed, " << failed << " failed\n";
    return failed == 0 ? 0 : 1;
}
