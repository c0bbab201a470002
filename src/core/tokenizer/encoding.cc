#include "core/tokenizer/encoding.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <array>
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
    for (std::size_t i = 0; i < n; ++i) w |= std::uint64_t(static_cast<unsigned char>(p[i])) << (8 * i);
    h = (h ^ w) * 0xff51afd7ed558ccdull;
    h ^= h >> 32;
    return h;
}

std::size_t short_index(std::string_view b) {
    auto u = [&](std::size_t i) { return static_cast<std::size_t>(static_cast<unsigned char>(b[i])); };
    return b.size() == 1 ? u(0) : 256 + (u(0) << 8 | u(1));
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

constexpr std::uint32_t kNone32 = 0xffffffffu;  // no part

// Pieces longer than this merge through one bucket per rank: linear in the
// piece (and the table), where a heap of every pair thrashes the cache.
constexpr std::size_t kHeapLimit = 16 * 1024;

// The parts of a piece being merged, as a list by index: ranks[i] is the
// rank of part i joined with the next (kNoRank for none, or once part i
// is gone). Parts are numbered in 32 bits: a piece is part of a body, and
// bodies are at most headroom_max_body_size (1 GB at most).
struct Parts {
    Parts(const Encoding& e, std::string_view p)
        : encoding(e), piece(p), next(p.size()), prev(p.size()), ranks(p.size(), Encoding::kNoRank), count(p.size()) {
        for (std::size_t i = 0; i < p.size(); ++i) {
            next[i] = i + 1 < p.size() ? static_cast<std::uint32_t>(i + 1) : kNone32;
            prev[i] = i > 0 ? static_cast<std::uint32_t>(i - 1) : kNone32;
            if (i + 1 < p.size()) ranks[i] = e.rank(p.substr(i, 2));
        }
    }

    std::uint32_t pair_rank(std::uint32_t i) const {
        if (i == kNone32 || next[i] == kNone32) return Encoding::kNoRank;
        const std::uint32_t j = next[i];
        const std::size_t end = next[j] == kNone32 ? piece.size() : next[j];
        // No token is longer than the longest in the table.
        return end - i > encoding.max_token_bytes() ? Encoding::kNoRank : encoding.rank(piece.substr(i, end - i));
    }

    // Part next[i] joins part i; the two parts whose pairs changed (i and
    // the one before it, or kNone32) have their new ranks.
    std::array<std::uint32_t, 2> join(std::uint32_t i) {
        const std::uint32_t j = next[i];
        ranks[j] = Encoding::kNoRank;
        next[i] = next[j];
        if (next[j] != kNone32) prev[next[j]] = i;
        --count;
        const std::uint32_t p = prev[i];
        ranks[i] = pair_rank(i);
        if (p != kNone32) ranks[p] = pair_rank(p);
        return {i, p};
    }

    const Encoding& encoding;
    std::string_view piece;
    std::vector<std::uint32_t> next, prev, ranks;
    std::size_t count;
};

}  // namespace

// Matches always start where the previous one ended (the patterns cover
// every character), so they are compiled anchored.
bool Encoding::compile(std::string_view pattern, Regex& out, std::string& error, bool jit) {
    int rc = 0;
    PCRE2_SIZE at = 0;
    pcre2_code* re = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_ANCHORED, &rc, &at, nullptr);
    if (re == nullptr) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(rc, msg, sizeof msg);
        error = "pattern does not compile: " + std::string(reinterpret_cast<char*>(msg));
        return false;
    }
    out.code = re;
    out.jit = jit && pcre2_jit_compile(re, PCRE2_JIT_COMPLETE) == 0;
    return true;
}

std::shared_ptr<const Encoding> Encoding::from_bytes(std::string bytes, std::string& error,
                                                     bool jit) {
    std::shared_ptr<Encoding> e(new Encoding());
    e->bytes_ = std::move(bytes);
    if (!read_rank_file(e->bytes_, e->view_, error)) return nullptr;
    e->name_ = std::string(e->view_.name);

    const std::uint32_t n = e->view_.token_count;
    e->offsets_.resize(std::size_t(n) + 1);
    for (std::uint32_t r = 0; r <= n; ++r) {
        const unsigned char* p = e->view_.offsets + 4 * std::size_t(r);
        e->offsets_[r] = std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 |
                         std::uint32_t(p[2]) << 16 | std::uint32_t(p[3]) << 24;
    }

    auto duplicate = [&] {
        error = "rank file lists a token twice";
        return nullptr;
    };
    e->short_ranks_.assign(256 + 65536, kNoRank);
    std::size_t cap = 1;
    while (cap < std::size_t(n) * 5 / 2) cap <<= 1;
    e->slots_.assign(cap, Slot{});
    e->mask_ = cap - 1;
    for (std::uint32_t r = 0; r < n; ++r) {
        std::string_view t = e->token(r);
        e->max_token_bytes_ = std::max(e->max_token_bytes_, t.size());
        if (t.size() <= 2) {
            std::uint32_t& slot = e->short_ranks_[short_index(t)];
            if (slot != kNoRank) return duplicate();
            slot = r;
            continue;
        }
        std::uint64_t h = hash_bytes(t.data(), t.size());
        std::uint64_t i = h & e->mask_;
        while (e->slots_[i].rank != kNoRank) {
            if (e->token(e->slots_[i].rank) == t) return duplicate();
            i = (i + 1) & e->mask_;
        }
        e->slots_[i] = Slot{r, e->offsets_[r], static_cast<std::uint16_t>(t.size()),
                            static_cast<std::uint16_t>(h >> 48)};
    }

    std::string aligned;
    if (!align_unicode(e->view_.pattern, aligned, error)) {
        error = "pattern cannot be aligned with tiktoken's Unicode: " + error;
        return nullptr;
    }
    if (!compile(e->view_.pattern, e->plain_, error, jit) ||
        !compile(aligned, e->aligned_, error, jit)) {
        return nullptr;
    }
    return e;
}

std::shared_ptr<const Encoding> Encoding::load(const std::string& path, std::string& error,
                                               bool jit) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        error = "cannot open " + path;
        return nullptr;
    }
    std::ostringstream buf;
    buf << in.rdbuf();
    auto e = from_bytes(buf.str(), error, jit);
    if (e == nullptr) error = path + ": " + error;
    return e;
}

Encoding::~Encoding() {
    pcre2_code_free(code(plain_.code));
    pcre2_code_free(code(aligned_.code));
}

std::uint32_t Encoding::rank(std::string_view b) const {
    if (b.size() <= 2) return b.empty() ? kNoRank : short_ranks_[short_index(b)];
    std::uint64_t h = hash_bytes(b.data(), b.size());
    const auto check = static_cast<std::uint16_t>(h >> 48);
    for (std::uint64_t i = h & mask_;; i = (i + 1) & mask_) {
        const Slot& slot = slots_[i];
        if (slot.rank == kNoRank) return kNoRank;
        if (slot.check == check && slot.length == b.size() &&
            std::memcmp(view_.data + slot.offset, b.data(), b.size()) == 0) {
            return slot.rank;
        }
    }
}

std::size_t Encoding::count(std::string_view text) const {
    if (valid_utf8_prefix(text) == text.size()) return count_valid(text);
    return count_valid(repair_utf8(text));
}

std::size_t Encoding::estimate(std::string_view text, std::size_t samples, std::size_t sample) const {
    auto char_start = [&](std::size_t i) {
        while (i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) ++i;
        return i;
    };
    std::size_t tokens = 0, bytes = 0;
    for (std::size_t q = 0; q < samples; ++q) {
        const std::size_t at = char_start(text.size() / samples * q);
        const std::size_t end = char_start(std::min(text.size(), at + sample));
        tokens += count(text.substr(at, end - at));
        bytes += end - at;
    }
    if (bytes == 0) return count(text);
    return static_cast<std::size_t>((static_cast<double>(tokens) * text.size()) / bytes + 0.5);
}

namespace {

// One anchored match at `off`: its end, or `off` when nothing matches.
std::size_t match_at(pcre2_code* re, bool jit, pcre2_match_data* md, std::string_view s,
                     std::size_t off) {
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(s.data());
    int rc = jit ? pcre2_jit_match(re, subject, s.size(), off, 0, md, nullptr)
                 : PCRE2_ERROR_JIT_STACKLIMIT;
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
        rc = pcre2_match(re, subject, s.size(), off, PCRE2_NO_UTF_CHECK, md, nullptr);
    }
    if (rc == PCRE2_ERROR_NOMATCH) return off;
    if (rc < 0) throw std::runtime_error("pre-tokenization failed");
    return pcre2_get_ovector_pointer(md)[1];
}

// True when s[from, to) plus the character after holds a byte that starts
// a code point of U+0800 or more: where the two patterns may differ.
bool high_code_points(std::string_view s, std::size_t from, std::size_t to) {
    std::size_t end = std::min(s.size(), to + 4);
    for (std::size_t i = from; i < end; ++i) {
        if (static_cast<unsigned char>(s[i]) >= 0xE0) return true;
    }
    return false;
}

}  // namespace

namespace {

// Pieces that are not a single token recur (numbers, ids, words of logs):
// their counts are remembered for the rest of the text. An entry points at
// an earlier occurrence in the same text, so a hit is checked byte for byte.
class PieceMemo {
public:
    template <typename F>
    std::size_t tokens(std::string_view text, std::size_t off, std::size_t len, F&& compute) {
        if (slots_.empty()) slots_.resize(kSlots);
        std::string_view piece = text.substr(off, len);
        Slot& slot = slots_[hash_bytes(piece.data(), len) & (kSlots - 1)];
        if (slot.length == len && text.compare(slot.offset, len, piece) == 0) return slot.tokens;
        std::size_t n = compute(piece);
        slot = Slot{off, static_cast<std::uint32_t>(len), static_cast<std::uint32_t>(n)};
        return n;
    }

private:
    static constexpr std::size_t kSlots = 4096;
    struct Slot {
        std::size_t offset = 0;
        std::uint32_t length = 0;  // 0: empty
        std::uint32_t tokens = 0;
    };
    std::vector<Slot> slots_;
};

}  // namespace

std::size_t Encoding::count_valid(std::string_view s) const {
    MatchData m(code(aligned_.code));  // sized for the larger pattern
    PieceMemo memo;
    std::size_t tokens = 0, off = 0;
    while (off < s.size()) {
        std::size_t end = match_at(code(plain_.code), plain_.jit, m.md, s, off);
        if (end == off || high_code_points(s, off, end)) {
            end = match_at(code(aligned_.code), aligned_.jit, m.md, s, off);
        }
        if (end == off) {
            // Unreachable with tiktoken's patterns, which match every
            // character; tiktoken would skip it unencoded.
            ++off;
            while (off < s.size() && (static_cast<unsigned char>(s[off]) & 0xC0) == 0x80) ++off;
            continue;
        }
        std::string_view piece = s.substr(off, end - off);
        if (piece.size() <= 1 || rank(piece) != kNoRank) {
            tokens += 1;
        } else {
            tokens += memo.tokens(s, off, piece.size(),
                                  [&](std::string_view p) { return merge_count(p); });
        }
        off = end;
    }
    return tokens;
}

std::size_t Encoding::piece_tokens(std::string_view piece) const {
    if (piece.size() <= 1 || rank(piece) != kNoRank) return piece.size() == 0 ? 0 : 1;
    return merge_count(piece);
}

// Short pieces rescan (tiktoken's way), longer ones go through a heap, and
// the longest (a run of letters without a separator) through buckets.
std::size_t Encoding::merge_count(std::string_view piece) const {
    if (piece.size() <= kScanLimit) return merge_count_scan(piece);
    return piece.size() <= kHeapLimit ? merge_count_heap(piece) : merge_count_buckets(piece);
}

// Merges the adjacent pair of lowest rank, leftmost first, until no pair is
// a token; the parts left are the tokens.
std::size_t Encoding::merge_count_scan(std::string_view piece) const {
    const std::size_t n = piece.size();
    if (n < 2 || n > kScanLimit) return n < 2 ? n : merge_count_heap(piece);
    // starts[i]: where part i begins (starts[parts] == n); ranks[i]: rank
    // of parts i and i + 1 joined.
    std::size_t starts[kScanLimit + 1];
    std::uint32_t ranks[kScanLimit + 1];
    for (std::size_t i = 0; i <= n; ++i) starts[i] = i;
    for (std::size_t i = 0; i + 1 < n; ++i) ranks[i] = rank(piece.substr(i, 2));
    ranks[n - 1] = ranks[n] = kNoRank;

    std::size_t parts = n;
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
        // Part best + 1 joins part best.
        for (std::size_t k = best + 1; k < parts; ++k) {
            starts[k] = starts[k + 1];
            ranks[k] = ranks[k + 1];
        }
        --parts;
        ranks[best] = joined_rank(best);
        if (best > 0) ranks[best - 1] = joined_rank(best - 1);
    }
}

// The same merges in the same order, with a heap of (rank, start) packed
// in one integer (the leftmost of the lowest rank first, as the rescan
// picks) and a linked list of parts: entries made stale by a merge are
// skipped. O(n log n) for a piece of n bytes; pieces this long are rare
// (a megabyte of letters without a separator), and each part's rank is
// looked up at most twice per merge.
std::size_t Encoding::merge_count_heap(std::string_view piece) const {
    if (piece.size() < 2) return piece.size();
    Parts parts(*this, piece);
    auto entry = [](std::uint32_t r, std::uint32_t i) { return static_cast<std::uint64_t>(r) << 32 | i; };
    std::vector<std::uint64_t> heap;
    heap.reserve(piece.size());
    for (std::size_t i = 0; i + 1 < piece.size(); ++i) {
        if (parts.ranks[i] != kNoRank) heap.push_back(entry(parts.ranks[i], static_cast<std::uint32_t>(i)));
    }
    std::make_heap(heap.begin(), heap.end(), std::greater<>());
    while (!heap.empty()) {
        std::pop_heap(heap.begin(), heap.end(), std::greater<>());
        const std::uint64_t top = heap.back();
        heap.pop_back();
        const auto r = static_cast<std::uint32_t>(top >> 32);
        const auto i = static_cast<std::uint32_t>(top);
        if (parts.ranks[i] != r) continue;  // stale
        for (const std::uint32_t k : parts.join(i)) {
            if (k == kNone32 || parts.ranks[k] == kNoRank) continue;
            heap.push_back(entry(parts.ranks[k], k));
            std::push_heap(heap.begin(), heap.end(), std::greater<>());
        }
    }
    return parts.count;
}

// The heap's merges in the heap's order, with the pairs kept by rank: a
// list per rank (the table's size), walked from the lowest rank up. A
// merge makes a token whose pairs with its neighbours come later in the
// table, so the walk seldom goes back; when one does (a table need not
// promise it), the walk goes back to that rank, as the heap would. Within
// a rank, the leftmost pair first. Linear in the piece, but for sorting
// each rank's few pairs.
std::size_t Encoding::merge_count_buckets(std::string_view piece) const {
    const std::size_t n = piece.size();
    if (n < 2) return n;
    const std::size_t table = offsets_.size();  // ranks are below this
    Parts parts(*this, piece);
    std::vector<std::uint32_t>& ranks = parts.ranks;

    // head[r]: the last pair added with rank r; link: the one before it.
    std::vector<std::uint32_t> head(table, kNone32), start, link;
    start.reserve(2 * n);
    link.reserve(2 * n);
    std::size_t r = table;        // the rank being merged
    std::size_t back_to = table;  // a lower rank a merge made a pair of
    auto add = [&](std::uint32_t rank_of_pair, std::uint32_t i) {
        start.push_back(i);
        link.push_back(head[rank_of_pair]);
        head[rank_of_pair] = static_cast<std::uint32_t>(start.size() - 1);
        if (rank_of_pair < r) back_to = std::min<std::size_t>(back_to, rank_of_pair);
    };
    for (std::size_t i = 0; i + 1 < n; ++i) {
        if (ranks[i] != kNoRank) add(ranks[i], static_cast<std::uint32_t>(i));
    }

    // Rank r's pairs by start: those listed (in the order added, which is
    // mostly the order of the text) sorted once, and a heap for the few a
    // merge of this very rank makes.
    std::vector<std::uint32_t> now, extra;
    r = back_to;  // the lowest rank of all
    back_to = table;
    while (r < table) {
        now.clear();
        extra.clear();
        for (std::uint32_t e = head[r]; e != kNone32; e = link[e]) now.push_back(start[e]);
        head[r] = kNone32;
        std::reverse(now.begin(), now.end());
        if (!std::is_sorted(now.begin(), now.end())) std::sort(now.begin(), now.end());
        std::size_t at = 0;
        while ((at < now.size() || !extra.empty()) && back_to == table) {
            std::uint32_t i;
            if (!extra.empty() && (at == now.size() || extra.front() < now[at])) {
                std::pop_heap(extra.begin(), extra.end(), std::greater<>());
                i = extra.back();
                extra.pop_back();
            } else {
                i = now[at++];
            }
            if (ranks[i] != r) continue;  // stale
            for (const std::uint32_t k : parts.join(i)) {
                if (k == kNone32 || ranks[k] == kNoRank) continue;
                if (ranks[k] == r) {
                    extra.push_back(k);
                    std::push_heap(extra.begin(), extra.end(), std::greater<>());
                } else {
                    add(ranks[k], k);
                }
            }
        }
        now.erase(now.begin(), now.begin() + static_cast<std::ptrdiff_t>(at));
        now.insert(now.end(), extra.begin(), extra.end());
        if (back_to < table) {
            // A lower rank first, as the heap would: this rank's pairs wait.
            std::sort(now.begin(), now.end());
            for (auto it = now.rbegin(); it != now.rend(); ++it) add(static_cast<std::uint32_t>(r), *it);
            r = back_to;
            back_to = table;
            continue;
        }
        do {
            ++r;
        } while (r < table && head[r] == kNone32);
    }
    return parts.count;
}

}  // namespace headroom::tokenizer
