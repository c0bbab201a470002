// Values in a prompt that change from call to call (the current time, a
// request id, a session token) while the text around them stays: found with
// PCRE2 so that they can be moved out of the cacheable prefix. Compiled once
// per configuration, then shared read-only by every request.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace headroom {

// One value found in a text: the bytes [begin, end), and what it is (an
// index into VolatilePatterns::labels()).
struct VolatileMatch {
    std::size_t begin = 0;
    std::size_t end = 0;
    std::size_t label = 0;
};

class VolatilePatterns {
public:
    // An operator's pattern: when it has a capture group, group 1 is the
    // value (the rest of the match stays in place); else the whole match.
    struct Extra {
        std::string label;  // names the value in the note: "label-1"
        std::string regex;
    };

    // The built-in patterns, after `extra` (which win at equal positions).
    // nullptr when a pattern does not compile, with PCRE2's reason, and the
    // pattern, in `error`. `jit`: PCRE2's JIT compiles them (off only to
    // prove valgrind's reports about JIT code false: headroom_pcre_jit).
    static std::shared_ptr<const VolatilePatterns> compile(const std::vector<Extra>& extra,
                                                           std::string& error, bool jit = true);

    ~VolatilePatterns();
    VolatilePatterns(const VolatilePatterns&) = delete;
    VolatilePatterns& operator=(const VolatilePatterns&) = delete;

    // Every value in `text`, leftmost first, none overlapping. A pattern
    // that fails on the text (its match limit, bad UTF-8) finds nothing.
    std::vector<VolatileMatch> find(std::string_view text) const;

    // Each label once: the operators', then the built-in ones not already
    // among them ("token", "uuid", "id", "timestamp", "date", "time",
    // "epoch", "hash"). Patterns that share a label share its numbering, so
    // that no two values get one placeholder.
    const std::vector<std::string>& labels() const { return labels_; }

    struct Compiled;

private:
    VolatilePatterns();
    // The index of `label` in labels_, added if new.
    std::size_t label_index(const std::string& label);
    std::vector<std::string> labels_;
    std::vector<Compiled> patterns_;
    void* match_context_ = nullptr;  // pcre2_match_context_8: the match limit
};

}  // namespace headroom
