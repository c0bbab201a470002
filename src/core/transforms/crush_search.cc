#include "core/transforms/crush_search.h"

#include <map>
#include <vector>

#include "core/question.h"
#include "core/text.h"
#include "core/transforms/lines.h"

namespace headroom::transforms {

namespace {

struct Match {
    std::string_view path;
    std::size_t line_number;
};

// "path:123:text" or "path:123-text" (a context line): the path is what
// comes before the first colon.
std::optional<Match> parse_match(std::string_view line) {
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || !is_path(line.substr(0, colon))) return std::nullopt;
    std::size_t d = colon + 1, n = 0;
    while (d < line.size() && line[d] >= '0' && line[d] <= '9') n = n * 10 + std::size_t(line[d++] - '0');
    if (d == colon + 1 || d >= line.size() || (line[d] != ':' && line[d] != '-')) return std::nullopt;
    return Match{line.substr(0, colon), n};
}

// Which lines are matches, or nothing when `lines` are not search output:
// most lines must be matches, and line numbers rise within each file, as
// grep prints them.
std::optional<std::vector<std::optional<Match>>> find_matches(const Lines& lines) {
    const std::size_t n = lines.size();
    std::vector<std::optional<Match>> matches(n);
    std::size_t found = 0, nonempty = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (lines[i].empty()) continue;
        ++nonempty;
        matches[i] = parse_match(lines[i]);
        if (matches[i]) ++found;
    }
    if (found * 10 < nonempty * 8) return std::nullopt;  // most lines must be matches

    std::map<std::string_view, std::size_t> last_line;
    std::size_t rising = 0, pairs = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (!matches[i]) continue;
        auto [it, fresh] = last_line.try_emplace(matches[i]->path, matches[i]->line_number);
        if (!fresh) {
            ++pairs;
            if (matches[i]->line_number > it->second) ++rising;
            it->second = matches[i]->line_number;
        }
    }
    if (found == 0 || rising * 10 < pairs * 9) return std::nullopt;
    return matches;
}

}  // namespace

bool is_search_output(const Lines& lines) { return find_matches(lines).has_value(); }

std::optional<CrushedSearch> crush_search(std::string_view text, std::string_view question,
                                          const CrushSearchLimits& limits) {
    return crush_search(text, split_lines(text), question, limits, Origin::of(text));
}

std::optional<CrushedSearch> crush_search(std::string_view text, const Lines& lines,
                                          std::string_view question, const CrushSearchLimits& limits,
                                          const Origin& origin) {
    const std::size_t n = lines.size();
    if (n < limits.min_lines) return std::nullopt;
    auto found_matches = find_matches(lines);
    if (!found_matches) return std::nullopt;
    const std::vector<std::optional<Match>>& matches = *found_matches;

    // Per file, in order: which of its matches stay.
    std::map<std::string_view, std::vector<std::size_t>> files;
    std::vector<std::string_view> order;
    for (std::size_t i = 0; i < n; ++i) {
        if (!matches[i]) continue;
        auto [it, fresh] = files.try_emplace(matches[i]->path);
        if (fresh) order.push_back(matches[i]->path);
        it->second.push_back(i);
    }
    // Lines that match the question stay, up to the bound; those past it
    // are counted in their file's marker.
    std::vector<bool> asked(n, false), left_asked(n, false);
    if (const Question q(question); !q.empty()) {
        const Question::Picked picked = q.pick_lines(text, lines, limits.max_matches);
        for (std::size_t i : picked.kept) asked[i] = true;
        for (std::size_t i : picked.matching) left_asked[i] = !asked[i];
    }
    std::vector<bool> keep(n, true);
    struct Gap {
        std::size_t count = 0, bytes = 0, asked = 0;
        std::size_t first_line = 0, last_line = 0;  // the file's line numbers
        std::size_t first = 0, last = 0;            // indices in `lines`
        std::string marker;
    };
    std::map<std::string_view, Gap> gaps;
    for (const auto& [path, idx] : files) {
        const std::size_t m = idx.size();
        for (std::size_t k = 0; k < m; ++k) {
            if (k < limits.keep_first || k + limits.keep_last >= m) continue;
            if (asked[idx[k]]) continue;
            keep[idx[k]] = false;
            Gap& g = gaps[path];
            std::size_t ln = matches[idx[k]]->line_number;
            if (g.count == 0) {
                g.first_line = ln;
                g.first = idx[k];
            }
            g.last_line = ln;
            g.last = idx[k];
            g.bytes += lines[idx[k]].size() + 1;
            g.asked += left_asked[idx[k]];
            ++g.count;
        }
    }
    // Each file's marker, if it costs less than the matches it stands for.
    std::size_t omitted = 0;
    for (auto it = gaps.begin(); it != gaps.end();) {
        Gap& g = it->second;
        markers::TextMarker m;
        m.count = g.count;
        m.what = "more matches in " + std::string(it->first);
        m.detail = "file lines " + std::to_string(g.first_line) + "-" + std::to_string(g.last_line);
        if (g.asked > 0) m.detail += "; " + std::to_string(g.asked) + " matching the question";
        m.lines = {origin.line_offset() + g.first + 1, origin.line_offset() + g.last + 1};
        m.id = origin.id();
        m.way = origin.way();
        g.marker = markers::write_text(m);
        auto replaced = [&] {
            std::string text;
            for (std::size_t i : files[it->first]) {
                if (!keep[i]) {
                    text.append(lines[i]);
                    text.push_back('\n');
                }
            }
            return text;
        };
        if (g.count > 1 && worth_marking(g.bytes, replaced, g.marker + "\n", limits.measure)) {
            omitted += g.count;
            ++it;
            continue;
        }
        for (std::size_t i : files[it->first]) keep[i] = true;
        it = gaps.erase(it);
    }
    if (omitted == 0) return std::nullopt;

    CrushedSearch out;
    out.omitted = omitted;
    out.id = origin.id();
    // Each marker follows its file's last kept line; where the file kept
    // none, it stands where the file's last match was.
    std::vector<const std::string*> marker_after(n, nullptr);
    for (const auto& [path, g] : gaps) {
        const auto& idx = files[path];
        std::size_t at = idx.back();
        for (auto r = idx.rbegin(); r != idx.rend(); ++r) {
            if (keep[*r]) {
                at = *r;
                break;
            }
        }
        marker_after[at] = &g.marker;
    }
    LineWriter w(out.text);
    for (std::size_t i = 0; i < n; ++i) {
        if (keep[i]) w.line(lines[i]);
        if (marker_after[i] != nullptr) w.line(*marker_after[i]);
    }
    w.finish(text);
    return out;
}

}  // namespace headroom::transforms
