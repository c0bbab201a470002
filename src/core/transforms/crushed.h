// What every crusher is given besides the text, and what it gives back.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "core/markers.h"

namespace headroom::transforms {

// What a text costs: tokens in the pipeline; bytes where no count is set.
struct Measure {
    std::function<std::size_t(std::string_view)> count;
    // No token is longer: n bytes are at least n / max_token_bytes tokens.
    std::size_t max_token_bytes = 1;

    std::size_t operator()(std::string_view s) const { return count ? count(s) : s.size(); }
};

// The tool output a crusher's text belongs to: the text itself, or one of
// its parts (then the output's lines before it shift every line number).
class Origin {
public:
    // `make_id` gives the whole output's id; asked only when a marker is
    // written, once.
    // `way` says in every marker how to get the original back ("" where
    // it is not kept).
    Origin(std::function<std::string()> make_id, std::size_t line_offset, std::string_view way = {})
        : make_id_(std::move(make_id)), line_offset_(line_offset), way_(way) {}

    // The text is the whole output.
    static Origin of(std::string_view text, std::string_view way = {}) {
        return Origin([text] { return markers::output_id(text); }, 0, way);
    }

    const std::string& id() const {
        if (id_.empty()) id_ = make_id_();
        return id_;
    }
    std::size_t line_offset() const { return line_offset_; }
    const std::string& way() const { return way_; }

private:
    std::function<std::string()> make_id_;
    std::size_t line_offset_;
    std::string way_;
    mutable std::string id_;
};

struct Crushed {
    std::string text;         // the rewrite
    std::size_t omitted = 0;  // items or lines left out
    // The id every marker in `text` carries: the original is to be kept
    // under it. "" when nothing was left out.
    std::string id;
};

// A marker is worth writing only when it costs less than what it replaces:
// `replaced_bytes` of text, which `replaced()` gives when it must be
// counted. Text long enough that even in the longest tokens it outweighs
// the marker needs no counting.
template <typename Text>
bool worth_marking(std::size_t replaced_bytes, Text&& replaced, std::string_view marker, const Measure& m) {
    const std::size_t marker_cost = m(marker);
    if (replaced_bytes > marker_cost * m.max_token_bytes) return true;
    return m(replaced()) > marker_cost;
}

}  // namespace headroom::transforms
