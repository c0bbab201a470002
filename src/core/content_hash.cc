#include "core/content_hash.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <cstdint>
#include <memory>

#include <stdexcept>

namespace headroom {

namespace {

std::string hex_of(const unsigned char* digest, std::size_t digits) {
    static const char hex[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < digits && i < 2 * SHA256_DIGEST_LENGTH; ++i) {
        unsigned char byte = digest[i / 2];
        out.push_back(hex[i % 2 == 0 ? byte >> 4 : byte & 0xf]);
    }
    return out;
}

}  // namespace

std::string sha256_hex(std::string_view text, std::size_t digits) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    if (SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest) == nullptr) {
        throw std::runtime_error("SHA-256 failed");
    }
    return hex_of(digest, digits);
}

std::string sha256_hex_framed(std::initializer_list<std::string_view> pieces, std::size_t digits) {
    std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    bool ok = md != nullptr && EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr) == 1;
    for (std::string_view piece : pieces) {
        unsigned char length[8];
        std::uint64_t n = piece.size();
        for (unsigned char& b : length) {
            b = static_cast<unsigned char>(n & 0xff);
            n >>= 8;
        }
        ok = ok && EVP_DigestUpdate(md.get(), length, sizeof length) == 1 &&
             EVP_DigestUpdate(md.get(), piece.data(), piece.size()) == 1;
    }
    unsigned char digest[SHA256_DIGEST_LENGTH];
    unsigned int size = 0;
    if (!ok || EVP_DigestFinal_ex(md.get(), digest, &size) != 1 || size != sizeof digest) {
        throw std::runtime_error("SHA-256 failed");
    }
    return hex_of(digest, digits);
}


}  // namespace headroom
