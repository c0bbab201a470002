#include "core/transforms/log_templates.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "core/text.h"

namespace headroom::transforms {

namespace {

constexpr std::size_t kHeaderTokens = 8;     // where header fields are looked for
constexpr std::size_t kHeaderRests = 20;     // rests a header field stands beside
constexpr std::size_t kValueSpread = 5;      // values at one place that make it one
constexpr std::size_t kMaxRounds = 4;
constexpr std::size_t kLongToken = 40;
constexpr std::uint64_t kWild = 0x57494c4457494c44ull;  // a wildcard's token hash
constexpr std::uint64_t kEquals = 0x3d3d3d3d3d3d3d3dull;

constexpr std::string_view kDateWords[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
                                           "Aug", "Sep", "Oct", "Nov", "Dec", "Mon", "Tue",
                                           "Wed", "Thu", "Fri", "Sat", "Sun"};

// Words of at most four bytes, packed into a number to compare at once.
constexpr std::uint32_t pack(std::string_view w) {
    std::uint32_t v = 0;
    for (char c : w) v = v << 8 | static_cast<unsigned char>(c);
    return v;
}

// Units that belong to the number before them: "18.4 KB", "<1 sec".
constexpr std::uint32_t kUnits[] = {pack("B"),   pack("KB"),  pack("MB"),  pack("GB"),   pack("TB"),  pack("KiB"),
                                    pack("MiB"), pack("GiB"), pack("ms"),  pack("us"),   pack("ns"),  pack("s"),
                                    pack("sec"), pack("secs"), pack("min"), pack("mins")};

bool is_unit(std::string_view t) {
    if (t.size() > 4) return false;
    const std::uint32_t v = pack(t);
    for (std::uint32_t u : kUnits) {
        if (v == u) return true;
    }
    return false;
}

// The bytes that end a token, as a table: tokenizing is most of the cost.
struct Separators {
    bool table[256] = {};
    constexpr Separators() {
        for (unsigned char c : std::string_view(" \t[](){}<>,;|\"'=\r")) table[c] = true;
    }
};
constexpr Separators kSeparators;

std::uint64_t mix(std::uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

// A token of the line being read. Only its hash is kept for all lines (a
// log has about a token per four bytes: eight bytes each take twice the
// log); where it was is read again from its line when needed.
struct Token {
    std::uint32_t at;    // where its bytes start in its line
    std::uint32_t size;
    std::uint64_t hash;  // kWild once a wildcard
};

// The tokens of `line`, the one being read. Without `hashes`, only where
// each is (the same tokens: where they are does not depend on hashes).
struct Tokens {
    std::string_view line;
    std::vector<Token> list;
    bool hashes = true;
    Token make(std::string_view bytes, std::uint64_t hash) const {
        return Token{static_cast<std::uint32_t>(bytes.data() - line.data()), static_cast<std::uint32_t>(bytes.size()),
                     hash};
    }
};

// What a token's bytes say of it, a table lookup a byte.
enum : std::uint8_t { kValueByte = 1, kDot = 2, kHexLetter = 4 };
struct ByteClasses {
    std::uint8_t table[256] = {};
    constexpr ByteClasses() {
        for (int c = '0'; c <= '9'; ++c) table[c] = kValueByte;
        table[static_cast<unsigned char>('/')] = kValueByte;
        table[static_cast<unsigned char>('.')] = kDot;
        for (int c = 'a'; c <= 'f'; ++c) table[c] = kHexLetter;
        for (int c = 'A'; c <= 'F'; ++c) table[c] = kHexLetter;
    }
};
constexpr ByteClasses kBytes;

// A host, a package or a file: two dots or more inside ("a.b.c"), or one
// before a short extension ("QQ.exe"); not a method ("Session.commit").
bool dotted_name(std::string_view t) {
    if (t.front() == '.' || t.back() == '.') return false;
    const std::size_t last = t.rfind('.');
    return t.find('.') != last || t.size() - last - 1 <= 4;
}

// One pass over a token: its hash, and whether it holds a value of its own.
std::uint64_t hash_of(std::string_view t) {
    std::uint64_t h = 1469598103934665603ull;  // FNV-1a, then mixed
    std::uint8_t seen = 0;
    for (char c : t) {
        h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
        seen |= kBytes.table[static_cast<unsigned char>(c)];
    }
    bool value = (seen & kValueByte) || t.size() > kLongToken || ((seen & kDot) && dotted_name(t));
    if (!value && seen == kHexLetter && t.size() >= 8) {  // "ffffffff": hex digits only?
        value = std::all_of(t.begin(), t.end(), [](char c) { return kBytes.table[static_cast<unsigned char>(c)] == kHexLetter; });
    }
    if (!value && t.size() == 3 && t[0] >= 'A' && t[0] <= 'Z') {
        for (std::string_view w : kDateWords) value = value || t == w;
    }
    return value ? kWild : mix(h);
}

void push_token(std::string_view text, Tokens& tokens, std::size_t line_first) {
    std::vector<Token>& out = tokens.list;
    if (!tokens.hashes) {
        out.push_back(tokens.make(text, 0));
        return;
    }
    Token t = tokens.make(text, hash_of(text));
    if (t.hash != kWild && out.size() > line_first && out.back().hash == kWild && is_unit(text)) {
        t.hash = kWild;
    }
    out.push_back(t);
}

// A word (between blanks, or | , ;) that holds a value is a value as a
// whole: "LOCAL(0)" is one, like "10.100.20.250". Names stay: of fields
// ("uid" of "uid=0") and of tags ("kernel" of "kernel[0]:").
void end_word(std::string_view line, std::size_t end, Tokens& tokens, std::size_t first) {
    std::vector<Token>& t = tokens.list;
    if (!tokens.hashes || t.size() - first < 2) return;
    bool value = false;
    for (std::size_t k = first; k < t.size(); ++k) value = value || (t[k].hash == kWild && t[k].size > 0);
    if (!value) return;
    const std::size_t name_end = std::size_t(t[first].at) + t[first].size;
    const bool tag = name_end < line.size() && line[name_end] == '[' && line[end - 1] == ':';
    for (std::size_t k = tag ? first + 1 : first; k < t.size(); ++k) {
        const bool name = k + 1 < t.size() && t[k + 1].hash == kEquals;
        if (t[k].hash != kEquals && !name) t[k].hash = kWild;
    }
}

bool ends_word(char c) { return c == ' ' || c == '\t' || c == '|' || c == ',' || c == ';'; }

void tokenize(std::string_view line, Tokens& tokens) {
    tokens.line = line;
    std::vector<Token>& out = tokens.list;
    out.clear();
    const std::size_t first = 0;
    std::size_t start = 0, word = first;
    std::size_t scanned = 0;  // the token's bytes before it hold no '/'
    for (std::size_t i = 0; i < line.size(); ++i) {
        if (!kSeparators.table[static_cast<unsigned char>(line[i])]) continue;
        if (line[i] == '=') {  // a URL's query is part of it
            if (line.substr(scanned, i - scanned).find('/') != std::string_view::npos) scanned = line.size();
            if (scanned == line.size()) continue;
        }
        if (i > start) {
            push_token(line.substr(start, i - start), tokens, first);
        } else if (i > 0 && ((line[i - 1] == '(' && line[i] == ')') || (line[i - 1] == '[' && line[i] == ']'))) {
            out.push_back(tokens.make(line.substr(i, 0), kWild));  // "()" and "[]" hold an empty value
        }
        if (line[i] == '=') out.push_back(tokens.make(line.substr(i, 1), kEquals));
        if (ends_word(line[i])) {
            end_word(line, i, tokens, word);
            word = out.size();
        }
        start = scanned = i + 1;
    }
    if (line.size() > start) push_token(line.substr(start), tokens, first);
    end_word(line, line.size(), tokens, word);
}

// A token's share of its line's hash, at its place.
std::uint64_t part(std::size_t p, std::uint64_t token) { return mix(token ^ (0x9E3779B97F4A7C15ull * (p + 1))); }

// A line's tokens are [begin, end) of one array for all lines.
struct Line {
    std::size_t begin = 0, end = 0;
    std::uint64_t hash = 0;  // the sum of its parts, and its length

    void rehash(const std::vector<std::uint64_t>& t) {
        hash = mix(end - begin);
        for (std::size_t p = 0; p < end - begin; ++p) hash += part(p, t[begin + p]);
    }
    // Whether the token at place p is a field's name ("key" of "key=").
    bool names_a_field(const std::vector<std::uint64_t>& t, std::size_t p) const {
        return begin + p + 1 < end && t[begin + p + 1] == kEquals;
    }
    // The line's hash with place p a wildcard.
    std::uint64_t without(const std::vector<std::uint64_t>& t, std::size_t p) const {
        return hash - part(p, t[begin + p]) + part(p, kWild);
    }
};

// Open addressing over 64-bit keys (never 0: hashes are mixed, and 0 is
// taken as 1), with a small count each: no allocation per entry, and
// clear() forgets only the slots it used, so rounds reuse one table. Eight
// bytes of key and one of count a slot keep a table of a few thousand
// lines in cache.
class FlatCounts {
public:
    explicit FlatCounts(std::size_t expected) {
        std::size_t cap = 16;
        while (cap < 2 * expected) cap <<= 1;
        keys_.assign(cap, 0);
        counts_.assign(cap, 0);
        mask_ = cap - 1;
    }

    void clear() {
        for (std::uint32_t i : used_) {
            keys_[i] = 0;
            counts_[i] = 0;
        }
        used_.clear();
    }
    // Adds one to the key's count, up to 255; returns the count before.
    std::uint8_t add(std::uint64_t key) {
        if (key == 0) key = 1;
        if (2 * (used_.size() + 1) > keys_.size()) grow();
        std::size_t i = key & mask_;
        while (keys_[i] != 0 && keys_[i] != key) i = (i + 1) & mask_;
        if (keys_[i] == 0) {
            keys_[i] = key;
            used_.push_back(static_cast<std::uint32_t>(i));
        }
        const std::uint8_t before = counts_[i];
        if (counts_[i] < 255) ++counts_[i];
        return before;
    }
    std::uint8_t count(std::uint64_t key) const {
        if (key == 0) key = 1;
        std::size_t i = key & mask_;
        while (keys_[i] != 0 && keys_[i] != key) i = (i + 1) & mask_;
        return keys_[i] == 0 ? 0 : counts_[i];
    }

private:
    void grow() {
        std::vector<std::uint64_t> keys = std::move(keys_);
        std::vector<std::uint8_t> counts = std::move(counts_);
        keys_.assign(keys.size() * 2, 0);
        counts_.assign(keys.size() * 2, 0);
        mask_ = keys_.size() - 1;
        used_.clear();
        for (std::size_t k = 0; k < keys.size(); ++k) {
            if (keys[k] == 0) continue;
            std::size_t i = keys[k] & mask_;
            while (keys_[i] != 0) i = (i + 1) & mask_;
            keys_[i] = keys[k];
            counts_[i] = counts[k];
            used_.push_back(static_cast<std::uint32_t>(i));
        }
    }
    std::vector<std::uint64_t> keys_;
    std::vector<std::uint8_t> counts_;
    std::vector<std::uint32_t> used_;
    std::size_t mask_ = 0;
};

// Keys that see at least `enough` distinct values: each (key, value) pair
// is counted once for its key. Keys are hashes already.
class Spread {
public:
    Spread(std::size_t enough, std::size_t expected) : enough_(enough), pairs_(expected), keys_(expected) {}
    void clear() {
        pairs_.clear();
        keys_.clear();
    }
    void see(std::uint64_t key, std::uint64_t value) {
        if (pairs_.add(mix(key ^ (value * 0x632BE59BD9B4E019ull))) == 0) keys_.add(key);
    }
    bool wide(std::uint64_t key) const { return keys_.count(key) >= enough_; }

private:
    std::size_t enough_;
    FlatCounts pairs_, keys_;
};

}  // namespace

LogTemplates mine_templates(const Lines& lines) {
    const std::size_t n = lines.size();
    std::vector<Line> ls(n);
    Tokens tokens;
    std::size_t bytes = 0;
    for (std::string_view l : lines) bytes += l.size();
    std::vector<std::uint64_t> t;  // every line's tokens' hashes
    t.reserve(bytes / 4 + 16);
    for (std::size_t i = 0; i < n; ++i) {
        ls[i].begin = t.size();
        tokenize(lines[i], tokens);
        for (const Token& k : tokens.list) t.push_back(k.hash);
        ls[i].end = t.size();
        ls[i].rehash(t);
    }

    // Lines equal as they stand count once: what the spreads below count
    // is the same for all of them, and logs repeat themselves.
    FlatCounts seen(n);
    auto distinct = [&] {
        seen.clear();
        std::vector<std::size_t> first;
        std::size_t tokens = 0;
        for (std::size_t i = 0; i < n; ++i) {
            if (seen.add(ls[i].hash) == 0) {
                first.push_back(i);
                tokens += ls[i].end - ls[i].begin;
            }
        }
        return std::make_pair(std::move(first), tokens);
    };

    // Header fields: a token that stands beside many different rests.
    auto [lines_now, tokens_now] = distinct();
    {
        Spread rests(kHeaderRests, tokens_now);
        for (std::size_t i : lines_now) {
            const Line& l = ls[i];
            for (std::size_t p = 0; p < l.end - l.begin && p < kHeaderTokens; ++p) {
                const std::uint64_t h = t[l.begin + p];
                if (h != kWild) rests.see(part(p, h), l.without(t, p));
            }
        }
        for (Line& l : ls) {
            bool changed = false;
            for (std::size_t p = 0; p < l.end - l.begin && p < kHeaderTokens; ++p) {
                std::uint64_t& h = t[l.begin + p];
                if (h != kWild && rests.wide(part(p, h))) {
                    h = kWild;
                    changed = true;
                }
            }
            if (changed) l.rehash(t);
        }
    }

    // Places where lines alike in all else take many values, each round on
    // the lines as the round found them.
    std::vector<std::size_t> wide;
    Spread values(kValueSpread, tokens_now);
    for (std::size_t round = 0; round < kMaxRounds; ++round) {
        std::tie(lines_now, tokens_now) = distinct();
        values.clear();
        for (std::size_t i : lines_now) {
            const Line& l = ls[i];
            for (std::size_t p = 0; p < l.end - l.begin; ++p) {
                const std::uint64_t h = t[l.begin + p];
                if (h != kWild && !l.names_a_field(t, p)) values.see(l.without(t, p), h);
            }
        }
        bool changed = false;
        for (Line& l : ls) {
            wide.clear();
            for (std::size_t p = 0; p < l.end - l.begin; ++p) {
                if (t[l.begin + p] != kWild && !l.names_a_field(t, p) && values.wide(l.without(t, p))) {
                    wide.push_back(p);
                }
            }
            if (wide.empty()) continue;
            for (std::size_t p : wide) t[l.begin + p] = kWild;
            l.rehash(t);
            changed = true;
        }
        if (!changed) break;
    }

    // Runs of one token count once; then equal lines are one template.
    LogTemplates out;
    out.group_of.resize(n);
    out.values_at.resize(n + 1);
    std::unordered_map<std::uint64_t, std::size_t> index;  // template key -> group
    index.reserve(n);
    tokens.hashes = false;  // from here on, only where the values are
    out.values.reserve(static_cast<std::size_t>(std::count(t.begin(), t.end(), kWild)));
    for (std::size_t i = 0; i < n; ++i) {
        std::uint64_t key = 0, previous = 0;
        std::size_t at = 0;
        out.values_at[i] = out.values.size();
        const std::size_t first = ls[i].begin;
        if (std::find(t.begin() + first, t.begin() + ls[i].end, kWild) != t.begin() + ls[i].end) {
            tokenize(lines[i], tokens);  // where its values are
        }
        for (std::size_t k = first; k < ls[i].end; ++k) {
            if (t[k] == kWild) {
                const Token& w = tokens.list[k - first];
                out.values.push_back(LogTemplates::Value{w.at, w.size});
                continue;
            }
            if (at > 0 && t[k] == previous) continue;
            key += part(at++, t[k]);
            previous = t[k];
        }
        key += mix(at);
        auto [it, fresh] = index.try_emplace(key, out.groups);
        if (fresh) ++out.groups;
        out.group_of[i] = it->second;
    }
    out.values_at[n] = out.values.size();
    return out;
}

}  // namespace headroom::transforms
