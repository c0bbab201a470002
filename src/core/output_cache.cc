#include "core/output_cache.h"

#include <openssl/evp.h>

#include <new>
#include <stdexcept>

namespace headroom::output_cache {

KeyMaker::KeyMaker() : ctx_(EVP_MD_CTX_new()) {
    if (ctx_ == nullptr) throw std::bad_alloc();
    if (EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr) != 1) {
        EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_));
        throw std::runtime_error("SHA-256 failed");
    }
}

KeyMaker::~KeyMaker() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void KeyMaker::add(std::string_view piece) {
    unsigned char len[8];
    std::uint64_t n = piece.size();
    for (unsigned char& b : len) {
        b = static_cast<unsigned char>(n & 0xff);
        n >>= 8;
    }
    auto* ctx = static_cast<EVP_MD_CTX*>(ctx_);
    if (EVP_DigestUpdate(ctx, len, sizeof len) != 1 || EVP_DigestUpdate(ctx, piece.data(), piece.size()) != 1) {
        throw std::runtime_error("SHA-256 failed");
    }
}

Key KeyMaker::done() {
    Key key{};
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), key.data(), &len) != 1 || len != key.size()) {
        throw std::runtime_error("SHA-256 failed");
    }
    return key;
}

namespace {

// The first byte of every entry: another layout is a miss, never misread.
constexpr unsigned char kVersion = 1;

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
    put_number(out, e.changed ? 1 : 0);
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
        !in.number(e.after) || !in.number(kind) || kind >= kContentKinds || !in.number(changed) || changed > 1 ||
        !in.number(e.omitted) || !in.text(e.id) || !in.number(n) || n > bytes.size()) {
        return std::nullopt;
    }
    e.fate = static_cast<Effect::Fate>(fate);
    e.kind = static_cast<ContentKind>(kind);
    e.changed = changed == 1;
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

}  // namespace headroom::output_cache
