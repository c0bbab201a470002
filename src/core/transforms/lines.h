// Line-oriented text as the line crushers (logs, search results, diffs)
// read and write it: kept lines go out byte for byte.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/text.h"

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

using Lines = std::vector<std::string_view>;

// An `ls -l` line: "drwxr-xr-x", "-rw-r--r--" and the like.
inline bool is_ls_long_line(std::string_view l) {
    if (l.size() < 10 || std::string_view("-dlcbps").find(l[0]) == std::string_view::npos) return false;
    const char* allowed[] = {"-r", "-w", "-xsS", "-r", "-w", "-xsS", "-r", "-w", "-xtT"};
    for (int k = 0; k < 9; ++k) {
        if (std::string_view(allowed[k]).find(l[1 + k]) == std::string_view::npos) return false;
    }
    return true;
}

// Looks like a file path: no blanks, and a directory or an extension that
// starts with a letter ("src/a.c", "main.py"), so that timestamps such as
// "20171223-22" or "app.log.2017-05-16_13" are not taken for paths.
inline bool is_path(std::string_view p) {
    if (p.empty() || p.find_first_of(" \t") != std::string_view::npos) return false;
    if (p.find('/') != std::string_view::npos) return true;
    std::size_t dot = p.rfind('.');
    return dot != std::string_view::npos && dot + 1 < p.size() && is_alpha(p[dot + 1]);
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
