// The compact rank file `make` builds from the tiktoken npm package and the
// module loads once at start-up. Little-endian:
//   "HRBPE01\n"  u32 name_len  u32 pattern_len  u32 token_count  u32 data_len
//   name  pattern  u32 offsets[token_count + 1]  token bytes (by rank)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace headroom::tokenizer {

struct RankTable {
    std::string name;                 // "o200k_base"
    std::string pattern;              // tiktoken's pre-tokenization regex
    std::vector<std::string> tokens;  // token bytes; the index is the rank
};

std::string write_rank_file(const RankTable& table);

// A view of a rank file's contents; valid while its bytes live.
struct RankFileView {
    std::string_view name;
    std::string_view pattern;
    std::uint32_t token_count = 0;
    const unsigned char* offsets = nullptr;  // token_count + 1 little-endian u32
    const char* data = nullptr;

    std::string_view token(std::uint32_t rank) const;
};

// Checks every size and offset; false with `error` set when malformed.
bool read_rank_file(std::string_view bytes, RankFileView& view, std::string& error);

}  // namespace headroom::tokenizer
