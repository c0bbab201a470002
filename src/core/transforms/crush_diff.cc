#include "core/transforms/crush_diff.h"

#include <vector>

#include "core/text.h"
#include "core/transforms/lines.h"

namespace headroom::transforms {

namespace {

// "@@ -a[,b] +c[,d] @@": the new file's first line number, or nullopt.
std::optional<std::size_t> hunk_start(std::string_view l) {
    if (!starts_with(l, "@@ -")) return std::nullopt;
    std::size_t plus = l.find(" +", 4);
    if (plus == std::string_view::npos || l.find(" @@", plus) == std::string_view::npos) return std::nullopt;
    std::size_t i = plus + 2, n = 0;
    if (i >= l.size() || l[i] < '0' || l[i] > '9') return std::nullopt;
    while (i < l.size() && l[i] >= '0' && l[i] <= '9') n = n * 10 + std::size_t(l[i++] - '0');
    return n;
}

// Lines [from, to) as they stand in the text, each with its '\n'.
std::string text_of(const Lines& lines, std::size_t from, std::size_t to) {
    std::string s;
    for (std::size_t k = from; k < to; ++k) {
        s.append(lines[k]);
        s.push_back('\n');
    }
    return s;
}

// `count` unchanged lines [from, to) of the text, which are the new file's
// lines first..last.
std::string marker(std::size_t count, std::size_t first, std::size_t last, std::size_t from,
                   std::size_t to, const Origin& origin) {
    markers::TextMarker m;
    m.count = count;
    m.what = "unchanged lines";
    m.detail = "new lines " + std::to_string(first) + "-" + std::to_string(last);
    m.lines = {origin.line_offset() + from + 1, origin.line_offset() + to};
    m.id = origin.id();
    m.way = origin.way();
    return markers::write_text(m);
}

}  // namespace

bool is_diff(const Lines& lines) {
    const std::size_t n = lines.size();
    bool file_header = false, hunk = false;
    for (std::size_t i = 0; i < n && !(file_header && hunk); ++i) {
        if (starts_with(lines[i], "diff --git ") ||
            (starts_with(lines[i], "--- ") && i + 1 < n && starts_with(lines[i + 1], "+++ "))) {
            file_header = true;
        }
        if (hunk_start(lines[i])) hunk = true;
    }
    return file_header && hunk;
}

std::optional<CrushedDiff> crush_diff(std::string_view text, const CrushDiffLimits& limits) {
    return crush_diff(text, split_lines(text), limits, Origin::of(text));
}

std::optional<CrushedDiff> crush_diff(std::string_view text, const Lines& lines,
                                      const CrushDiffLimits& limits, const Origin& origin) {
    const std::size_t n = lines.size();
    if (n < limits.min_lines || !is_diff(lines)) return std::nullopt;

    // Context lines (in a hunk, starting with ' ') and the new-file line
    // number of each.
    std::vector<bool> context(n, false);
    std::vector<std::size_t> new_line(n, 0);
    bool in_hunk = false;
    std::size_t next_new = 0;
    for (std::size_t i = 0; i < n; ++i) {
        std::string_view l = lines[i];
        if (auto start = hunk_start(l)) {
            in_hunk = true;
            next_new = *start;
            continue;
        }
        if (!in_hunk) continue;
        if (!l.empty() && l[0] == ' ') {
            context[i] = true;
            new_line[i] = next_new++;
        } else if (!l.empty() && l[0] == '+') {
            ++next_new;
        } else if (!l.empty() && (l[0] == '-' || l[0] == '\\')) {
            // removed, or "\ No newline at end of file"
        } else {
            in_hunk = false;  // anything else ends the hunk
        }
    }

    // Each run of context keeps `context` lines on the side of a change.
    std::vector<bool> keep(n, true);
    std::size_t omitted = 0;
    for (std::size_t i = 0; i < n;) {
        if (!context[i]) {
            ++i;
            continue;
        }
        std::size_t j = i;
        while (j < n && context[j]) ++j;  // run [i, j)
        bool change_before = i > 0 && !lines[i - 1].empty() && (lines[i - 1][0] == '+' || lines[i - 1][0] == '-');
        bool change_after = j < n && !lines[j].empty() && (lines[j][0] == '+' || lines[j][0] == '-');
        std::size_t from = i + (change_before ? limits.context : 0);
        std::size_t to = j - (change_after ? std::min(limits.context, j - i) : 0);
        // Cut only what measures more than the marker that replaces it.
        if (to > from &&
            worth_marking(static_cast<std::size_t>(lines[to - 1].end() - lines[from].begin()) + 1,
                          [&] { return text_of(lines, from, to); },
                          marker(to - from, new_line[from], new_line[to - 1], from, to, origin) + "\n",
                          limits.measure)) {
            for (std::size_t k = from; k < to; ++k) keep[k] = false;
            omitted += to - from;
        }
        i = j;
    }
    if (omitted == 0) return std::nullopt;

    CrushedDiff out;
    out.omitted = omitted;
    out.id = origin.id();
    LineWriter w(out.text);
    for (std::size_t i = 0; i < n;) {
        if (keep[i]) {
            w.line(lines[i++]);
            continue;
        }
        std::size_t j = i;
        while (j < n && !keep[j]) ++j;
        w.line(marker(j - i, new_line[i], new_line[j - 1], i, j, origin));
        i = j;
    }
    w.finish(text);
    return out;
}

}  // namespace headroom::transforms
