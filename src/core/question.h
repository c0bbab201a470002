// The question a tool output answers (the user text before the call), as
// every crusher reads it: one set of terms, matched the same way in JSON
// items, search matches and log lines.
//
// Terms are quoted strings, identifiers, paths and numbers of two digits or
// more, and words of three letters or more that are not stop words, all in
// lower case. A term matches a text when it occurs in it anywhere, in any
// case: "yajl" matches "libyajl2".
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace headroom {

class Question {
public:
    Question() = default;
    explicit Question(std::string_view text);

    const std::vector<std::string>& terms() const { return terms_; }
    bool empty() const { return terms_.empty(); }

    struct Picked {
        std::vector<std::size_t> kept;      // indices of the texts kept, ascending
        std::vector<std::size_t> matching;  // of all that matched, ascending
        std::size_t matched = 0;            // how many matched, kept or not
    };

    // Of `texts` (already in lower case), those that match a selective term
    // (one in half of the texts or fewer): all of them up to `max`, past it
    // the `max` best by BM25 over all terms (ties to the first).
    Picked pick(const std::vector<std::string_view>& texts, std::size_t max) const;

    // The same over `lines`, views into `text` in any case.
    Picked pick_lines(std::string_view text, const std::vector<std::string_view>& lines,
                      std::size_t max) const;

private:
    std::vector<std::string> terms_;
};

}  // namespace headroom
