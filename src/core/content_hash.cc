#include "core/content_hash.h"

#include <openssl/sha.h>

#include <stdexcept>

namespace headroom {

std::string content_hash(std::string_view text) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    if (SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest) == nullptr) {
        throw std::runtime_error("SHA-256 failed");
    }
    static const char hex[] = "0123456789abcdef";
    std::string out = "sha256:";
    for (int i = 0; i < 8; ++i) {
        out.push_back(hex[digest[i] >> 4]);
        out.push_back(hex[digest[i] & 0xf]);
    }
    return out;
}

}  // namespace headroom
