// The results of tool outputs, kept by the caller (in nginx, a shared-memory
// zone) so that an agent's turn N, which resends turns 1..N-1 byte for byte,
// pays only for its new outputs. Crushing is a pure function of the output,
// its question, its tool and the compiled configuration: the key is a
// SHA-256 of all of them, so a hit is always right, and no crafted
// collision can hand one request another's content.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/content_kind.h"

namespace headroom::output_cache {

using Key = std::array<unsigned char, 32>;

// The caller's store. get: true and `value` filled on a hit. Both may be
// called from any thread; neither may throw.
struct Cache {
    std::function<bool(const Key& key, std::string& value)> get;
    std::function<void(const Key& key, std::string_view value)> put;
};

// What to key an output by, fed in order; each piece is framed by its
// length, so that no two different sequences give the same bytes.
class KeyMaker {
public:
    KeyMaker();
    ~KeyMaker();
    KeyMaker(const KeyMaker&) = delete;
    KeyMaker& operator=(const KeyMaker&) = delete;
    void add(std::string_view piece);
    Key done();

private:
    void* ctx_;  // EVP_MD_CTX
};

// What became of one tool output, as the counts and the body need it.
struct Effect {
    enum class Fate : std::uint8_t { Small, Protected, LookedAt };
    Fate fate = Fate::LookedAt;
    std::size_t before = 0;  // tokens (or bytes) as received
    std::size_t after = 0;   // as sent
    ContentKind kind = ContentKind::Json;
    bool changed = false;      // some part rewritten
    std::size_t omitted = 0;   // items and lines left out
    std::string id;            // the original's, when omitted > 0
    struct Rewrite {
        std::size_t part;  // which of the output's texts
        std::string text;
    };
    std::vector<Rewrite> rewrites;
    // A structured output's originals (its texts are not at hand on a hit).
    struct Kept {
        std::string id, text;
    };
    std::vector<Kept> originals;
};

std::string encode(const Effect& e);
// nullopt when `bytes` is not what encode() makes (another version's entry).
std::optional<Effect> decode(std::string_view bytes);

}  // namespace headroom::output_cache
