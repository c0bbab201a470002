// Line-oriented text as the line crushers (logs, search results, diffs)
// read and write it: kept lines go out byte for byte.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace headroom::transforms {

// The lines of `text`, without their '\n'. A final '\n' ends the last line
// rather than starting an empty one.
inline std::vector<std::string_view> split_lines(std::string_view text) {
    std::vector<std::string_view> lines;
    for (std::size_t start = 0; start < text.size();) {
        std::size_t nl = text.find('\n', start);
        if (nl == std::string_view::npos) nl = text.size();
        lines.push_back(text.substr(start, nl - start));
        start = nl + 1;
    }
    return lines;
}

// Joins lines with '\n' and ends like the input did.
class LineWriter {
public:
    explicit LineWriter(std::string& out) : out_(out) {}

    void line(std::string_view l) {
        if (wrote_) out_.push_back('\n');
        out_.append(l);
        wrote_ = true;
    }

    void finish(std::string_view input) {
        if (!input.empty() && input.back() == '\n') out_.push_back('\n');
    }

private:
    std::string& out_;
    bool wrote_ = false;
};

}  // namespace headroom::transforms
