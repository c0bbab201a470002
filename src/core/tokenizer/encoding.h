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
    // `jit`: PCRE2's JIT compiles the pre-tokenizer (off only to prove
    // valgrind's reports about JIT code false: headroom_pcre_jit).
    static std::shared_ptr<const Encoding> from_bytes(std::string bytes, std::string& error,
                                                      bool jit = true);
    static std::shared_ptr<const Encoding> load(const std::string& path, std::string& error,
                                                bool jit = true);

    ~Encoding();
    Encoding(const Encoding&) = delete;
    Encoding& operator=(const Encoding&) = delete;

    const std::string& name() const { return name_; }

    // Whether PCRE2's JIT compiled the pre-tokenizer.
    bool jit() const { return plain_.jit && aligned_.jit; }

    // Tokens in `text` encoded as ordinary text (special-token strings count
    // as the text they are). Invalid UTF-8 counts as U+FFFD, as a
    // JavaScript TextDecoder would read it.
    std::size_t count(std::string_view text) const;

    // Texts this large are counted from samples where an estimate will do
    // (headroom_exact_counts off): tool outputs, and parts of a request.
    static constexpr std::size_t kEstimateFrom = 16 * 1024;

    // Tokens of `samples` pieces of `sample` bytes spread evenly over the
    // text (whole UTF-8 characters), scaled to its length: large texts
    // counted for a fraction of the cost. A piece's edges may split a
    // token or two: a fraction of a percent at kEstimateFrom and more.
    std::size_t estimate(std::string_view text, std::size_t samples = 8, std::size_t sample = 2048) const;

    // The longest token, in bytes: n bytes of any text are at least
    // n / max_token_bytes() tokens.
    std::size_t max_token_bytes() const { return max_token_bytes_; }

    static constexpr std::uint32_t kNoRank = 0xFFFFFFFFu;
    std::uint32_t rank(std::string_view bytes) const;

    // Tokens of one pre-tokenized piece (exposed for tests).
    std::size_t piece_tokens(std::string_view piece) const;
    std::size_t merge_count(std::string_view piece) const;  // not a single token
    std::size_t merge_count_scan(std::string_view piece) const;
    std::size_t merge_count_heap(std::string_view piece) const;
    std::size_t merge_count_buckets(std::string_view piece) const;

private:
    struct Regex {
        void* code = nullptr;  // pcre2_code_8
        bool jit = false;
    };

    Encoding() = default;
    static bool compile(std::string_view pattern, Regex& out, std::string& error, bool jit);
    std::size_t count_valid(std::string_view utf8) const;

    std::string_view token(std::uint32_t rank) const {
        return {view_.data + offsets_[rank], offsets_[rank + 1] - offsets_[rank]};
    }

    std::string bytes_;
    std::string name_;
    RankFileView view_;
    std::vector<std::uint32_t> offsets_;  // decoded from the file
    std::size_t max_token_bytes_ = 1;
    // Ranks of all 1- and 2-byte strings, looked up directly: the first
    // pairs of every merge.
    std::vector<std::uint32_t> short_ranks_;
    // Open addressing for longer tokens. A slot holds where the token's
    // bytes are, so a probe touches the slot and the bytes only; `check` is
    // more of the hash, so it rarely compares bytes in vain.
    struct Slot {
        std::uint32_t rank = kNoRank;
        std::uint32_t offset = 0;
        std::uint16_t length = 0;
        std::uint16_t check = 0;
    };
    std::vector<Slot> slots_;
    std::uint64_t mask_ = 0;
    // tiktoken's pattern as written, and aligned to Unicode 16: they differ
    // only on code points from U+0800 up, so the first serves text below.
    Regex plain_, aligned_;
};

}  // namespace headroom::tokenizer
