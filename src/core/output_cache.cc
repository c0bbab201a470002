#include "core/output_cache.h"

#include <xxhash.h>

#include <cstring>

#include <new>
#include <stdexcept>

namespace headroom::output_cache {

Material::Material() : state_(XXH3_createState()) {
    if (state_ == nullptr || XXH3_128bits_reset(static_cast<XXH3_state_t*>(state_)) != XXH_OK) {
        XXH3_freeState(static_cast<XXH3_state_t*>(state_));
        throw std::bad_alloc();
    }
}

Material::~Material() { XXH3_freeState(static_cast<XXH3_state_t*>(state_)); }

namespace {

void frame(std::uint64_t n, unsigned char (&out)[8]) {
    for (unsigned char& b : out) {
        b = static_cast<unsigned char>(n & 0xff);
        n >>= 8;
    }
}

}  // namespace

void Material::add(std::string_view piece) {
    unsigned char len[8];
    frame(piece.size(), len);
    auto* st = static_cast<XXH3_state_t*>(state_);
    XXH3_128bits_update(st, len, sizeof len);
    XXH3_128bits_update(st, piece.data(), piece.size());
    pieces_.push_back(piece);
    framed_size_ += sizeof len + piece.size();
}

Key Material::key() const {
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits_digest(static_cast<XXH3_state_t*>(state_)));
    Key key;
    std::memcpy(key.data(), c.digest, key.size());
    return key;
}

bool Material::same_as(std::string_view bytes) const {
    if (bytes.size() != framed_size_) return false;
    for (std::string_view piece : pieces_) {
        unsigned char len[8];
        frame(piece.size(), len);
        if (std::memcmp(bytes.data(), len, sizeof len) != 0) return false;
        bytes.remove_prefix(sizeof len);
        if (bytes.compare(0, piece.size(), piece) != 0) return false;
        bytes.remove_prefix(piece.size());
    }
    return true;
}

void Material::append_to(std::string& out) const {
    for (std::string_view piece : pieces_) {
        unsigned char len[8];
        frame(piece.size(), len);
        out.append(reinterpret_cast<const char*>(len), sizeof len);
        out.append(piece);
    }
}

namespace {

// The first byte of every entry: another layout is a miss, never misread.
constexpr unsigned char kVersion = 2;

void put_number(std::string& out, std::uint64_t n) {
    // LEB128: most figures fit a byte or two.
    do {
        unsigned char b = n & 0x7f;
        n >>= 7;
        out.push_back(static_cast<char>(b | (n ? 0x80 : 0)));
    } while (n);
}

void put_text(std::string& out, std::string_view s) {
    put_number(out, s.size());
    out.append(s);
}

class Reader {
public:
    explicit Reader(std::string_view bytes) : in_(bytes) {}
    bool number(std::size_t& n) {
        std::uint64_t v = 0;
        for (unsigned shift = 0; shift < 64; shift += 7) {
            if (in_.empty()) return false;
            const auto b = static_cast<unsigned char>(in_.front());
            in_.remove_prefix(1);
            v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
            if ((b & 0x80) == 0) {
                n = static_cast<std::size_t>(v);
                return true;
            }
        }
        return false;
    }
    bool text(std::string& s) {
        std::size_t n = 0;
        if (!number(n) || n > in_.size()) return false;
        s.assign(in_.substr(0, n));
        in_.remove_prefix(n);
        return true;
    }
    bool at_end() const { return in_.empty(); }
    std::size_t left() const { return in_.size(); }

private:
    std::string_view in_;
};

}  // namespace

std::string encode(const Effect& e) {
    std::string out;
    std::size_t size = 16 + e.id.size();
    for (const Effect::Rewrite& w : e.rewrites) size += 8 + w.text.size();
    for (const Effect::Kept& k : e.originals) size += 8 + k.id.size() + k.text.size();
    out.reserve(size);
    out.push_back(static_cast<char>(kVersion));
    put_number(out, static_cast<std::uint64_t>(e.fate));
    put_number(out, e.before);
    put_number(out, e.after);
    put_number(out, static_cast<std::uint64_t>(e.kind));
    put_number(out, (e.changed ? 1 : 0) | (e.estimated ? 2 : 0));
    put_number(out, e.omitted);
    put_text(out, e.id);
    put_number(out, e.rewrites.size());
    for (const Effect::Rewrite& w : e.rewrites) {
        put_number(out, w.part);
        put_text(out, w.text);
    }
    put_number(out, e.originals.size());
    for (const Effect::Kept& k : e.originals) {
        put_text(out, k.id);
        put_text(out, k.text);
    }
    return out;
}

std::optional<Effect> decode(std::string_view bytes) {
    if (bytes.empty() || static_cast<unsigned char>(bytes[0]) != kVersion) return std::nullopt;
    Reader in(bytes.substr(1));
    Effect e;
    std::size_t fate = 0, kind = 0, changed = 0, n = 0;
    if (!in.number(fate) || fate > static_cast<std::size_t>(Effect::Fate::LookedAt) || !in.number(e.before) ||
        !in.number(e.after) || !in.number(kind) || kind >= kContentKinds || !in.number(changed) || changed > 3 ||
        !in.number(e.omitted) || !in.text(e.id) || !in.number(n) || n > bytes.size()) {
        return std::nullopt;
    }
    e.fate = static_cast<Effect::Fate>(fate);
    e.kind = static_cast<ContentKind>(kind);
    e.changed = (changed & 1) != 0;
    e.estimated = (changed & 2) != 0;
    e.rewrites.resize(n);
    for (Effect::Rewrite& w : e.rewrites) {
        if (!in.number(w.part) || !in.text(w.text)) return std::nullopt;
    }
    if (!in.number(n) || n > bytes.size()) return std::nullopt;
    e.originals.resize(n);
    for (Effect::Kept& k : e.originals) {
        if (!in.text(k.id) || k.id.size() != 32 || !in.text(k.text)) return std::nullopt;
    }
    if (!in.at_end()) return std::nullopt;
    return e;
}

Cache InProcess::cache() {
    Cache c;
    c.get = [this](const Key& k, const std::function<bool(std::string_view)>& take) {
        ++gets;
        auto it = entries_.find(k);
        return it != entries_.end() && take(it->second);
    };
    c.put = [this](const Key& k, std::string_view entry) {
        ++puts;
        entries_[k] = std::string(entry);
    };
    return c;
}

std::string entry(const Material& m, const Effect& e) {
    std::string out;
    put_number(out, m.framed_size());
    out.reserve(out.size() + m.framed_size() + 64);
    m.append_to(out);
    out += encode(e);
    return out;
}

std::optional<Effect> open(std::string_view entry, const Material& m) {
    Reader in(entry);
    std::size_t n = 0;
    const std::size_t before = entry.size();
    if (!in.number(n)) return std::nullopt;
    const std::size_t at = before - in.left();
    if (n > before - at || !m.same_as(entry.substr(at, n))) return std::nullopt;
    return decode(entry.substr(at + n));
}

}  // namespace headroom::output_cache
