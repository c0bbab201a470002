// A byte-pair encoding (o200k_base, cl100k_base) that counts tokens exactly
// as OpenAI's tiktoken does: the same pre-tokenization regex, run with
// PCRE2 (JIT where available), then byte-pair merges by rank.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/tokenizer/rank_file.h"

namespace headroom::tokenizer {

class Encoding {
public:
    // From a rank file's bytes; nullptr with `error` set when it is not one
    // or its pattern does not compile. Immutable afterwards: one instance
    // is shared by every request (and every nginx worker, after fork).
    static std::shared_ptr<const Encoding> from_bytes(std::string bytes, std::string& error);
    static std::shared_ptr<const Encoding> load(const std::string& path, std::string& error);

    ~Encoding();
    Encoding(const Encoding&) = delete;
    Encoding& operator=(const Encoding&) = delete;

    std::string_view name() const { return view_.name; }

    // Tokens in `text` encoded as ordinary text (special-token strings count
    // as the text they are). Invalid UTF-8 counts as U+FFFD, as a
    // JavaScript TextDecoder would read it.
    std::size_t count(std::string_view text) const;

    static constexpr std::uint32_t kNoRank = 0xFFFFFFFFu;
    std::uint32_t rank(std::string_view bytes) const;

    // Tokens of one pre-tokenized piece (exposed for tests).
    std::size_t piece_tokens(std::string_view piece) const;
    std::size_t merge_count_scan(std::string_view piece) const;
    std::size_t merge_count_heap(std::string_view piece) const;

private:
    Encoding() = default;
    std::size_t count_valid(std::string_view utf8) const;

    std::string bytes_;
    RankFileView view_;
    std::vector<std::uint32_t> slots_;  // open addressing: rank, or kNoRank
    std::uint64_t mask_ = 0;
    void* regex_ = nullptr;  // pcre2_code_8
    bool jit_ = false;
};

}  // namespace headroom::tokenizer
