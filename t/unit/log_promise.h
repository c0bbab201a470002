// The log crusher's promises, checked over loghub (crush_log_test) and over
// fuzzed input (t/fuzz): kept lines are input lines, in order; every line
// left out is counted by a marker after a line of its kind; severe lines
// stay verbatim, as exact repeats, or with every value in their marker; a
// marker never costs more than what it replaces. Failures are gtest
// failures.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/markers.h"
#include "core/transforms/crush_log.h"
#include "core/transforms/log_templates.h"
#include "test_lines.h"

namespace log_promise {

using headroom::transforms::crush_log;
using headroom::transforms::CrushLogLimits;
using headroom::transforms::is_severe_line;
using headroom::transforms::repeat_key;

// The line past the stamps it opens with: words without a letter (times,
// dates, numbers), and month or weekday names.
inline std::string after_stamps(const std::string& line) {
    static const std::set<std::string> dates = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
                                                "Aug", "Sep", "Oct", "Nov", "Dec", "Mon", "Tue",
                                                "Wed", "Thu", "Fri", "Sat", "Sun"};
    std::size_t at = 0;
    for (;;) {
        const std::size_t i = line.find_first_not_of(" \t", at);
        if (i == std::string::npos) return "";
        std::size_t j = line.find_first_of(" \t", i);
        if (j == std::string::npos) j = line.size();
        std::string w = line.substr(i, j - i);
        const bool letters = std::any_of(w.begin(), w.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); });
        const std::size_t a = w.find_first_not_of("[(<-"), b = w.find_last_not_of("])>:,-");
        if (letters && (a == std::string::npos || b < a || !dates.count(w.substr(a, b - a + 1)))) return line.substr(i);
        at = j;
    }
}

struct Checked {
    double ratio = 1;                 // bytes kept
    std::size_t severe = 0;           // severe lines in the input
    std::size_t severe_verbatim = 0;
    std::size_t severe_repeats = 0;   // folded as exact repeats of a kept line
    std::size_t severe_listed = 0;    // folded with their values in the marker
};

// Checks the promises every crushed log keeps; returns what it saw.
inline Checked check(const std::string& in, const CrushLogLimits& limits) {
    Checked c;
    auto r = crush_log(in, limits);
    EXPECT_TRUE(r);
    if (!r) return c;
    EXPECT_EQ(crush_log(in, limits)->text, r->text) << "deterministic";

    const std::vector<std::string> src = lines_of(in), out = lines_of(r->text);
    const std::string id = headroom::markers::output_id(in);
    EXPECT_EQ(r->id, id);
    // What was sent: kept lines, and markers, each after its example.
    std::vector<headroom::markers::TextMarker> found;
    std::vector<std::string> kept_lines;
    std::vector<std::size_t> kept_before;  // each marker's: kept lines above it
    size_t marked = 0;
    for (const std::string& l : out) {
        // (an input line that reads as a marker of another output is a line)
        if (auto m = headroom::markers::parse_text(l); m && m->id == id) {
            EXPECT_EQ(m->what, "more lines like the one above");
            EXPECT_GE(m->count, 2u) << "a single line is never folded";
            EXPECT_GE(m->lines.first, 1u);
            EXPECT_LE(m->lines.last, src.size());
            EXPECT_LE(m->count, m->lines.last - m->lines.first + 1);
            EXPECT_FALSE(kept_lines.empty()) << "a marker follows its example";
            if (kept_lines.empty()) return c;
            found.push_back(*m);
            kept_before.push_back(kept_lines.size());
            marked += m->count;
            continue;
        }
        kept_lines.push_back(l);
    }
    EXPECT_EQ(kept_lines.size() + marked, src.size()) << "every line kept or counted";
    EXPECT_EQ(marked, r->omitted);
    // Each line left out is within the lines of the marker after a line of
    // its kind: its template (or, for a severe repeat, its repeat key).
    std::vector<std::string_view> views(src.begin(), src.end());
    const auto t = headroom::transforms::mine_templates(views);
    std::size_t severe_lines = 0, nonempty = 0;
    for (const std::string& l : src) {
        nonempty += !l.empty();
        severe_lines += is_severe_line(l);
    }
    const bool bulk = severe_lines * 2 > nonempty;
    // As the crusher groups: severe lines by repeat key (by template where
    // they are the bulk), the others by template.
    auto alike = [&](size_t a, size_t b) {
        if (is_severe_line(src[a]) != is_severe_line(src[b])) return false;
        if (is_severe_line(src[a]) && !bulk) return repeat_key(src[a]) == repeat_key(src[b]);
        return t.group_of[a] == t.group_of[b];
    };
    std::map<std::string_view, std::size_t> first_of;  // a line's first place
    for (size_t i = 0; i < src.size(); ++i) first_of.emplace(src[i], i);
    auto may_stand_for = [&](size_t k, size_t i) {
        const auto e = first_of.find(kept_lines[kept_before[k] - 1]);
        return e != first_of.end() && found[k].lines.first <= i + 1 && i + 1 <= found[k].lines.last &&
               alike(e->second, i);
    };
    // Lines no marker may stand for must be among the kept ones.
    std::vector<bool> must_keep(src.size(), true);
    for (size_t i = 0; i < src.size(); ++i) {
        for (size_t k = 0; k < found.size() && must_keep[i]; ++k) must_keep[i] = !may_stand_for(k, i);
    }
    // Kept lines are input lines, in order, and include every line that
    // must be kept. Where a log repeats a line exactly, any copy will do:
    // can[i][j] says whether kept lines j.. can be matched within input
    // lines i.., and the earliest match that can is taken.
    const size_t n = src.size(), m = kept_lines.size();
    std::vector<char> can((n + 1) * (m + 1), 0);
    auto at = [&](size_t i, size_t j) -> char& { return can[i * (m + 1) + j]; };
    at(n, m) = 1;
    for (size_t i = n; i-- > 0;) {
        for (size_t j = 0; j <= m; ++j) {
            const bool match = j < m && src[i] == kept_lines[j] && at(i + 1, j + 1);
            at(i, j) = match || (!must_keep[i] && at(i + 1, j));
        }
    }
    if (!at(0, 0)) {
        ADD_FAILURE() << "kept lines are not input lines in order, or a line left out is unmarked";
        return c;
    }
    std::vector<bool> kept_at(n, false);
    std::vector<std::size_t> kept_index;
    for (size_t i = 0, j = 0; i < n; ++i) {
        if (j < m && src[i] == kept_lines[j] && at(i + 1, j + 1)) {
            kept_at[i] = true;
            kept_index.push_back(i);
            ++j;
        }
    }
    std::vector<std::size_t> example_of;  // each marker's line above it
    for (std::size_t k : kept_before) example_of.push_back(kept_index[k - 1]);
    std::vector<int> marker_of(src.size(), -1);
    for (size_t i = 0; i < src.size(); ++i) {
        if (kept_at[i]) continue;
        for (size_t k = 0; k < found.size() && marker_of[i] < 0; ++k) {
            if (example_of[k] < i && may_stand_for(k, i)) marker_of[i] = int(k);
        }
        EXPECT_GE(marker_of[i], 0) << "line " << i + 1 << " left out unmarked";
    }
    for (size_t i = 0; i < src.size() && i < limits.keep_first; ++i) EXPECT_TRUE(kept_at[i]);
    EXPECT_TRUE(kept_at[src.size() - 1]);

    // Severe lines are facts: verbatim, or an exact repeat of a kept line,
    // or (where they are the bulk) with every value in their marker.
    std::set<std::string> kept_repeats;
    for (size_t i = 0; i < src.size(); ++i) {
        if (kept_at[i] && is_severe_line(src[i])) kept_repeats.insert(repeat_key(src[i]));
    }
    for (size_t i = 0; i < src.size(); ++i) {
        if (!is_severe_line(src[i])) continue;
        ++c.severe;
        if (kept_at[i]) {
            ++c.severe_verbatim;
            continue;
        }
        if (marker_of[i] < 0) continue;
        if (kept_repeats.count(repeat_key(src[i]))) {
            ++c.severe_repeats;
            continue;
        }
        // Every word of the line but the stamps it opens with (its program,
        // host, component, ids: all of it) is among the marker's values, or,
        // the same in every line, in the example above it.
        const auto& m = found[size_t(marker_of[i])];
        const std::string& example = src[example_of[size_t(marker_of[i])]];
        const std::string msg = after_stamps(src[i]);
        bool listed = true;
        std::string word, missing;
        for (char ch : msg + " ") {
            if (std::string(" \t\r,()[]=\"'{}<>;|").find(ch) != std::string::npos) {
                if (!word.empty() && m.detail.find(word) == std::string::npos &&
                    example.find(word) == std::string::npos) {
                    listed = false;
                    missing = word;
                }
                word.clear();
            } else {
                word += ch;
            }
        }
        EXPECT_TRUE(listed) << "severe line " << i + 1 << " lost: " << src[i] << "\n  missing " << missing
                            << " in values: " << m.detail.substr(0, 300) << "\n  example: " << example;
        if (listed) ++c.severe_listed;
    }
    EXPECT_EQ(c.severe_verbatim + c.severe_repeats + c.severe_listed, c.severe);
    // A marker never costs more than the lines it stands for (bytes here,
    // as the crusher measured them).
    std::vector<std::size_t> replaced(found.size(), 0);
    for (size_t i = 0; i < src.size(); ++i) {
        if (marker_of[i] >= 0) replaced[size_t(marker_of[i])] += src[i].size() + 1;
    }
    for (size_t k = 0; k < found.size(); ++k) {
        EXPECT_LT(headroom::markers::write_text(found[k]).size() + 1, replaced[k]) << "marker " << k;
    }
    c.ratio = double(r->text.size()) / double(in.size());
    return c;
}

}  // namespace log_promise
