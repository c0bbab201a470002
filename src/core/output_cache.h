// The results of tool outputs, kept by the caller (in nginx, a shared-memory
// zone) so that an agent's turn N, which resends turns 1..N-1 byte for byte,
// pays only for its new outputs. Crushing is a pure function of the output,
// its question, its tool and the compiled configuration (the "material"):
// the key is a fast XXH3-128 of it, and each entry keeps the material
// itself, compared byte for byte before a hit is taken, so that no crafted
// collision can hand one request another's content.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/content_kind.h"

namespace headroom::output_cache {

using Key = std::array<unsigned char, 16>;

// The caller's store. get: on an entry under `key`, hands it to `take`
// (which checks and copies what it needs) and returns what take said.
// Both may be called from any thread; neither may throw.
struct Cache {
    std::function<bool(const Key& key, const std::function<bool(std::string_view entry)>& take)> get;
    std::function<void(const Key& key, std::string_view entry)> put;
};

// The material an output is keyed by, fed in order; each piece is framed
// by its length, so that no two different sequences give the same bytes.
// The pieces are not copied: they must outlive the Material.
class Material {
public:
    Material();
    ~Material();
    Material(const Material&) = delete;
    Material& operator=(const Material&) = delete;
    void add(std::string_view piece);
    Key key() const;  // once every piece is in
    std::size_t framed_size() const { return framed_size_; }
    // True when `bytes` are exactly this material, framed.
    bool same_as(std::string_view bytes) const;
    void append_to(std::string& out) const;

private:
    void* state_;  // XXH3_state_t
    std::vector<std::string_view> pieces_;
    std::size_t framed_size_ = 0;
};

// What became of one tool output, as the counts and the body need it.
struct Effect {
    enum class Fate : std::uint8_t { Small, Protected, LookedAt };
    Fate fate = Fate::LookedAt;
    std::size_t before = 0;  // tokens (or bytes) as received
    std::size_t after = 0;   // as sent
    ContentKind kind = ContentKind::Json;
    bool changed = false;      // some part rewritten
    bool estimated = false;    // `before` counted from samples
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

// A cache in this process's memory, unbounded: for tools, tests and
// benchmarks (nginx keeps its own in shared memory). Not thread-safe.
class InProcess {
public:
    Cache cache();
    std::size_t size() const { return entries_.size(); }
    std::size_t gets = 0, puts = 0;
    std::map<Key, std::string>& entries() { return entries_; }

private:
    std::map<Key, std::string> entries_;
};

// A cache entry: the material it answers, then the effect.
std::string entry(const Material& m, const Effect& e);
// The effect in `entry` when the entry answers `m` (else nullopt).
std::optional<Effect> open(std::string_view entry, const Material& m);

}  // namespace headroom::output_cache
