// What every crusher is given besides the text, and what it gives back.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "core/markers.h"

namespace headroom::transforms {

// Tokens in the pipeline; bytes where none is set.
using Measure = std::function<std::size_t(std::string_view)>;

inline std::size_t measured(const Measure& m, std::string_view s) { return m ? m(s) : s.size(); }

// The tool output a crusher's text belongs to: the text itself, or one of
// its parts (then the output's lines before it shift every line number).
class Origin {
public:
    // `make_id` gives the whole output's id; asked only when a marker is
    // written, once.
    Origin(std::function<std::string()> make_id, std::size_t line_offset)
        : make_id_(std::move(make_id)), line_offset_(line_offset) {}

    // The text is the whole output.
    static Origin of(std::string_view text) {
        return Origin([text] { return markers::output_id(text); }, 0);
    }

    const std::string& id() const {
        if (id_.empty()) id_ = make_id_();
        return id_;
    }
    std::size_t line_offset() const { return line_offset_; }

private:
    std::function<std::string()> make_id_;
    std::size_t line_offset_;
    mutable std::string id_;
};

struct Crushed {
    std::string text;         // the rewrite
    std::size_t omitted = 0;  // items or lines left out
    // The id every marker in `text` carries: the original is to be kept
    // under it. "" when nothing was left out.
    std::string id;
};

// A marker is worth writing only when it costs less than what it replaces.
// Text many times the marker's size is many tokens more too: only near the
// line are both counted.
inline bool worth_marking(std::string_view replaced, std::string_view marker, const Measure& m) {
    if (replaced.size() >= 16 * marker.size()) return true;
    return measured(m, replaced) > measured(m, marker);
}

}  // namespace headroom::transforms
