#include "core/tokenizer/rank_file.h"

#include <cstring>

namespace headroom::tokenizer {

namespace {

constexpr char kMagic[8] = {'H', 'R', 'B', 'P', 'E', '0', '1', '\n'};

void put_u32(std::string& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint32_t get_u32(const unsigned char* p) {
    return std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 |
           std::uint32_t(p[3]) << 24;
}

}  // namespace

std::string write_rank_file(const RankTable& t) {
    std::size_t data_len = 0;
    for (const auto& tok : t.tokens) data_len += tok.size();

    std::string out(kMagic, sizeof kMagic);
    put_u32(out, static_cast<std::uint32_t>(t.name.size()));
    put_u32(out, static_cast<std::uint32_t>(t.pattern.size()));
    put_u32(out, static_cast<std::uint32_t>(t.tokens.size()));
    put_u32(out, static_cast<std::uint32_t>(data_len));
    out += t.name;
    out += t.pattern;
    std::uint32_t off = 0;
    for (const auto& tok : t.tokens) {
        put_u32(out, off);
        off += static_cast<std::uint32_t>(tok.size());
    }
    put_u32(out, off);
    for (const auto& tok : t.tokens) out += tok;
    return out;
}

std::string_view RankFileView::token(std::uint32_t rank) const {
    std::uint32_t a = get_u32(offsets + 4 * std::size_t(rank));
    std::uint32_t b = get_u32(offsets + 4 * (std::size_t(rank) + 1));
    return {data + a, b - a};
}

bool read_rank_file(std::string_view bytes, RankFileView& v, std::string& error) {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    const std::size_t header = sizeof kMagic + 16;
    if (bytes.size() < header || std::memcmp(p, kMagic, sizeof kMagic) != 0) {
        error = "not a headroom rank file";
        return false;
    }
    std::uint64_t name_len = get_u32(p + 8), pattern_len = get_u32(p + 12);
    std::uint64_t count = get_u32(p + 16), data_len = get_u32(p + 20);
    std::uint64_t need = header + name_len + pattern_len + 4 * (count + 1) + data_len;
    if (count == 0 || need != bytes.size()) {
        error = "rank file size does not match its header";
        return false;
    }
    v.name = bytes.substr(header, name_len);
    v.pattern = bytes.substr(header + name_len, pattern_len);
    v.token_count = static_cast<std::uint32_t>(count);
    v.offsets = p + header + name_len + pattern_len;
    v.data = bytes.data() + header + name_len + pattern_len + 4 * (count + 1);

    std::uint32_t prev = 0;
    for (std::uint64_t i = 0; i <= count; ++i) {
        std::uint32_t off = get_u32(v.offsets + 4 * i);
        if ((i == 0 && off != 0) || off < prev || off > data_len ||
            (i > 0 && off == prev)) {
            error = "rank file offsets are corrupt";
            return false;
        }
        prev = off;
    }
    if (prev != data_len) {
        error = "rank file offsets are corrupt";
        return false;
    }
    return true;
}

}  // namespace headroom::tokenizer
