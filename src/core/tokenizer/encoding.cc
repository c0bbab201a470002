#include "core/tokenizer/encoding.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <functional>
#include <queue>
#include <sstream>

#include "core/tokenizer/unicode_align.h"
#include "core/tokenizer/utf8.h"

namespace headroom::tokenizer {

namespace {

std::uint64_t hash_bytes(const char* p, std::size_t n) {
    std::uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xff51afd7ed558ccdull);
    while (n >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
        h ^= h >> 29;
        p += 8;
        n -= 8;
    }
    std::uint64_t w = 0;
    std::memcpy(&w, p, n);
    h = (h ^ w) * 0xff51afd7ed558ccdull;
    h ^= h >> 32;
    return h;
}

pcre2_code* code(void* p) { return static_cast<pcre2_code*>(p); }

struct MatchData {
    pcre2_match_data* md;
    explicit MatchData(pcre2_code* re) : md(pcre2_match_data_create_from_pattern(re, nullptr)) {
        if (md == nullptr) throw std::bad_alloc();
    }
    ~MatchData() { pcre2_match_data_free(md); }
};

// Pieces up to this long merge by rescanning (tiktoken's way); longer ones
// through a heap, so a megabyte without separators stays linear-ish.
constexpr std::size_t kScanLimit = 128;

}  // namespace

std::shared_ptr<const Encoding> Encoding::from_bytes(std::string bytes, std::string& error) {
    std::shared_ptr<Encoding> e(new Encoding());
    e->bytes_ = std::move(bytes);
    if (!read_rank_file(e->bytes_, e->view_, error)) return nullptr;

    std::size_t cap = 1;
    while (cap < std::size_t(e->view_.token_count) * 5 / 2) cap <<= 1;
    e->slots_.assign(cap, kNoRank);
    e->mask_ = cap - 1;
    for (std::uint32_t r = 0; r < e->view_.token_count; ++r) {
        std::string_view t = e->view_.token(r);
        std::uint64_t i = hash_bytes(t.data(), t.size()) & e->mask_;
        while (e->slots_[i] != kNoRank) {
            if (e->view_.token(e->slots_[i]) == t) {
                error = "rank file lists a token twice";
                return nullptr;
            }
            i = (i + 1) & e->mask_;
        }
        e->slots_[i] = r;
    }

    std::string pattern;
    if (!align_unicode(e->view_.pattern, pattern, error)) {
        error = "pattern cannot be aligned with tiktoken's Unicode: " + error;
        return nullptr;
    }
    int rc = 0;
    PCRE2_SIZE at = 0;
    pcre2_code* re = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF | PCRE2_UCP, &rc, &at, nullptr);
    if (re == nullptr) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(rc, msg, sizeof msg);
        error = "pattern does not compile: " + std::string(reinterpret_cast<char*>(msg));
        return nullptr;
    }
    e->regex_ = re;
    e->jit_ = pcre2_jit_compile(re, PCRE2_JIT_COMPLETE) == 0;
    return e;
}

std::shared_ptr<const Encoding> Encoding::load(const std::string& path, std::string& error) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        error = "cannot open " + path;
        return nullptr;
    }
    std::ostringstream buf;
    buf << in.rdbuf();
    auto e = from_bytes(buf.str(), error);
    if (e == nullptr) error = path + ": " + error;
    return e;
}

Encoding::~Encoding() { pcre2_code_free(code(regex_)); }

std::uint32_t Encoding::rank(std::string_view b) const {
    std::uint64_t i = hash_bytes(b.data(), b.size()) & mask_;
    for (;;) {
        std::uint32_t r = slots_[i];
        if (r == kNoRank || view_.token(r) == b) return r;
        i = (i + 1) & mask_;
    }
}

std::size_t Encoding::count(std::string_view text) const {
    if (valid_utf8_prefix(text) == text.size()) return count_valid(text);
    return count_valid(repair_utf8(text));
}

std::size_t Encoding::count_valid(std::string_view s) const {
    pcre2_code* re = code(regex_);
    MatchData m(re);
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(s.data());
    std::size_t tokens = 0, off = 0;
    while (off < s.size()) {
        int rc = jit_ ? pcre2_jit_match(re, subject, s.size(), off, 0, m.md, nullptr)
                      : PCRE2_ERROR_JIT_STACKLIMIT;
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
            rc = pcre2_match(re, subject, s.size(), off, PCRE2_NO_UTF_CHECK, m.md, nullptr);
        }
        if (rc == PCRE2_ERROR_NOMATCH) break;  // tiktoken drops unmatched text
        if (rc < 0) throw std::runtime_error("pre-tokenization failed");
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(m.md);
        if (ov[1] == ov[0]) {
            // Cannot happen with tiktoken's patterns; step a character.
            off = ov[1] + 1;
            while (off < s.size() && (static_cast<unsigned char>(s[off]) & 0xC0) == 0x80) ++off;
            continue;
        }
        tokens += piece_tokens(s.substr(ov[0], ov[1] - ov[0]));
        off = ov[1];
    }
    return tokens;
}

std::size_t Encoding::piece_tokens(std::string_view piece) const {
    if (piece.size() <= 1 || rank(piece) != kNoRank) return piece.size() == 0 ? 0 : 1;
    return piece.size() <= kScanLimit ? merge_count_scan(piece) : merge_count_heap(piece);
}

// Merges the adjacent pair of lowest rank, leftmost first, until no pair is
// a token; the parts left are the tokens.
std::size_t Encoding::merge_count_scan(std::string_view piece) const {
    const std::size_t n = piece.size();
    if (n < 2) return n;
    // starts[i]: where part i begins; ranks[i]: rank of parts i and i+1 joined.
    std::vector<std::size_t> starts(n + 1);
    std::vector<std::uint32_t> ranks(n + 1, kNoRank);
    for (std::size_t i = 0; i <= n; ++i) starts[i] = i;
    for (std::size_t i = 0; i + 1 < n; ++i) ranks[i] = rank(piece.substr(i, 2));

    std::size_t parts = n;  // parts are starts[0 .. parts), ending at starts[parts]
    auto joined_rank = [&](std::size_t i) {
        return i + 2 <= parts ? rank(piece.substr(starts[i], starts[i + 2] - starts[i])) : kNoRank;
    };
    for (;;) {
        std::size_t best = parts;
        std::uint32_t best_rank = kNoRank;
        for (std::size_t i = 0; i + 1 < parts; ++i) {
            if (ranks[i] < best_rank) {
                best_rank = ranks[i];
                best = i;
            }
        }
        if (best_rank == kNoRank) return parts;
        starts.erase(starts.begin() + best + 1);
        ranks.erase(ranks.begin() + best + 1);
        --parts;
        ranks[best] = joined_rank(best);
        if (best > 0) ranks[best - 1] = joined_rank(best - 1);
    }
}

// The same merges in the same order, with a heap of (rank, start) and a
// linked list of parts: entries made stale by a merge are skipped.
std::size_t Encoding::merge_count_heap(std::string_view piece) const {
    const std::size_t n = piece.size();
    if (n < 2) return n;
    constexpr std::size_t kNone = static_cast<std::size_t>(-1);
    std::vector<std::size_t> next(n), prev(n);
    std::vector<std::uint32_t> ranks(n, kNoRank);
    for (std::size_t i = 0; i < n; ++i) {
        next[i] = i + 1 < n ? i + 1 : kNone;
        prev[i] = i > 0 ? i - 1 : kNone;
    }
    auto end_of = [&](std::size_t i) { return next[i] == kNone ? n : next[i]; };
    auto pair_rank = [&](std::size_t i) {
        if (i == kNone || next[i] == kNone) return kNoRank;
        std::size_t e = end_of(next[i]);
        return rank(piece.substr(i, e - i));
    };

    using Entry = std::pair<std::uint32_t, std::size_t>;  // (rank, start)
    std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap;
    for (std::size_t i = 0; i + 1 < n; ++i) {
        ranks[i] = rank(piece.substr(i, 2));
        if (ranks[i] != kNoRank) heap.push({ranks[i], i});
    }

    std::size_t parts = n;
    std::vector<bool> alive(n, true);
    while (!heap.empty()) {
        auto [r, i] = heap.top();
        heap.pop();
        if (!alive[i] || ranks[i] != r) continue;  // stale
        std::size_t j = next[i];                    // merge part j into part i
        alive[j] = false;
        next[i] = next[j];
        if (next[j] != kNone) prev[next[j]] = i;
        --parts;
        ranks[i] = pair_rank(i);
        if (ranks[i] != kNoRank) heap.push({ranks[i], i});
        std::size_t p = prev[i];
        if (p != kNone) {
            ranks[p] = pair_rank(p);
            if (ranks[p] != kNoRank) heap.push({ranks[p], p});
        }
    }
    return parts;
}

}  // namespace headroom::tokenizer
