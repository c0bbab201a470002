#include "core/content_hash.h"

#include <openssl/sha.h>

#include <stdexcept>

namespace headroom {

std::string sha256_hex(std::string_view text, std::size_t digits) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    if (SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest) == nullptr) {
        throw std::runtime_error("SHA-256 failed");
    }
    static const char hex[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < digits && i < 2 * SHA256_DIGEST_LENGTH; ++i) {
        unsigned char byte = digest[i / 2];
        out.push_back(hex[i % 2 == 0 ? byte >> 4 : byte & 0xf]);
    }
    return out;
}


}  // namespace headroom
