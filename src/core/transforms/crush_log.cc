#include "core/transforms/crush_log.h"

#include <algorithm>
#include <cstdint>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/question.h"
#include "core/text.h"
#include "core/transforms/lines.h"
#include "core/transforms/log_templates.h"

namespace headroom::transforms {

namespace {

// WARN and above, as logs spell it.
constexpr std::string_view kSevere[] = {
    "WARN", "WARNING", "ERROR", "ERR", "FATAL", "CRITICAL", "CRIT", "SEVERE", "ALERT", "EMERG",
    "PANIC", "EXCEPTION", "FAILED", "FAILURE", "Exception", "Error", "error", "fatal", "warning",
    "warn", "failed", "crit", "alert", "emerg"};
constexpr std::string_view kLevels[] = {"INFO", "DEBUG", "TRACE", "NOTICE", "VERBOSE", "FINE",
                                        "info", "debug", "notice", "trace"};
constexpr std::string_view kDateWords[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
                                           "Aug", "Sep", "Oct", "Nov", "Dec", "Mon", "Tue",
                                           "Wed", "Thu", "Fri", "Sat", "Sun"};

using Level = LineLevel;

// The level a word names. Most words name none: only those whose first
// letter and length fit a level word are compared.
Level word_level(std::string_view word) {
    if (word.size() < 3 || word.size() > 9) return Level::None;
    switch (word[0]) {
    case 'W': case 'E': case 'F': case 'C': case 'S': case 'A': case 'P': case 'e': case 'f': case 'w':
    case 'c': case 'a':
        for (std::string_view w : kSevere) {
            if (w == word) return Level::Severe;
        }
        break;
    default: break;
    }
    switch (word[0]) {
    case 'I': case 'D': case 'T': case 'N': case 'V': case 'F': case 'i': case 'd': case 'n': case 't':
        for (std::string_view w : kLevels) {
            if (w == word) return Level::Other;
        }
        break;
    default: break;
    }
    return Level::None;
}

// The level a line names: a word of the lists above standing alone (after
// a non-alphanumeric, before a non-letter). One pass over the line's words.
Level level_of(std::string_view line) {
    Level found = Level::None;
    for (std::size_t i = 0; i < line.size();) {
        if (!is_alpha(line[i]) || (i > 0 && is_alnum(line[i - 1]))) {
            ++i;
            continue;
        }
        std::size_t j = i;
        while (j < line.size() && is_alpha(line[j])) ++j;
        const Level l = word_level(line.substr(i, j - i));
        if (l == Level::Severe) return l;
        if (l == Level::Other) found = l;
        i = j;
    }
    return found;
}

bool is_date_word(std::string_view w) {
    if (w.size() != 3 || w[0] < 'A' || w[0] > 'Z') return false;
    for (std::string_view d : kDateWords) {
        if (d == w) return true;
    }
    return false;
}

// Starts with a time: a number, or a month or weekday (after "[", "<", "-").
bool stamped(std::string_view line) {
    std::size_t i = line.find_first_not_of(" \t[<-");
    if (i == std::string_view::npos) return false;
    if (is_digit(line[i])) return true;
    for (std::string_view w : kDateWords) {
        if (line.compare(i, 3, w) == 0 && (i + 3 == line.size() || !is_alpha(line[i + 3]))) {
            return true;
        }
    }
    return false;
}

// Continuation lines of a stack trace (Java, Python, Go, Node, Rust).
bool is_trace_line(std::string_view line) {
    std::size_t i = line.find_first_not_of(" \t");
    if (i == std::string_view::npos) return false;
    std::string_view rest = line.substr(i);
    if (i > 0 && (rest.rfind("at ", 0) == 0 || rest.rfind("File \"", 0) == 0 ||
                  rest.rfind("...", 0) == 0 || rest.rfind("/", 0) == 0)) {
        return true;
    }
    return rest.rfind("Caused by:", 0) == 0 || rest.rfind("Traceback (most recent call last)", 0) == 0 ||
           rest.rfind("goroutine ", 0) == 0;
}

// Where a line's header ends: after its level word, else after its first
// "name:" (a program, a component), else after the run of stamps it opens
// with. What comes after is the message, whose values are facts.
std::size_t header_end(std::string_view line) {
    constexpr std::size_t kHeaderWords = 10;
    struct Word {
        std::size_t end;
        std::string_view bare;  // without brackets, colons and dashes around it
        bool colon, stamp;
    };
    Word words[kHeaderWords];
    std::size_t count = 0;
    for (std::size_t i = 0; i < line.size() && count < kHeaderWords;) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        std::size_t j = i;
        while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
        if (j == i) break;
        std::string_view w = line.substr(i, j - i);
        std::size_t a = w.find_first_not_of("[(<-"), b = w.find_last_not_of("])>:,-");
        std::string_view bare = a == std::string_view::npos || b < a ? std::string_view() : w.substr(a, b - a + 1);
        bool digits = false;
        for (char c : w) digits = digits || is_digit(c);
        words[count++] = Word{j, bare, w.back() == ':' && !digits, digits || is_date_word(bare) || w == "-"};
        i = j;
    }
    for (std::size_t k = 0; k < count; ++k) {
        if (word_level(words[k].bare) != Level::None) return words[k].end;
    }
    for (std::size_t k = 0; k < count; ++k) {
        if (words[k].colon) return words[k].end;
    }
    std::size_t end = 0;
    for (std::size_t k = 0; k < count && words[k].stamp; ++k) end = words[k].end;
    return end;
}

std::string header_blanked(std::string_view line) {
    const std::size_t header = header_end(line);
    std::string key;
    key.reserve(line.size());
    for (std::size_t i = 0; i < header; ++i) {
        if (!is_digit(line[i])) {
            key.push_back(line[i]);
        } else if (key.empty() || key.back() != '#') {
            key.push_back('#');
        }
    }
    key.append(line.substr(header));
    return key;
}

// Where the run of stamps a line opens with ends: words without a letter
// (times, dates, sequence numbers) and month or weekday names ("[Sun").
std::size_t stamps_end(std::string_view line) {
    std::size_t end = 0;
    for (std::size_t i = 0; i < line.size();) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        std::size_t j = i;
        bool letters = false;
        for (; j < line.size() && line[j] != ' ' && line[j] != '\t'; ++j) letters = letters || is_alpha(line[j]);
        if (j == i) break;
        if (letters) {
            std::string_view w = line.substr(i, j - i);
            const std::size_t a = w.find_first_not_of("[(<-"), b = w.find_last_not_of("])>:,-");
            if (a == std::string_view::npos || b < a || !is_date_word(w.substr(a, b - a + 1))) break;
        }
        end = i = j;
    }
    return end;
}

// The values of the fields that vary among a group's lines (its first and
// those left out): each field's distinct values among the lines left out,
// in order, ", " between them and " | " between fields; "" when nothing
// varies. Taken from the lines' messages, or, with `all`, from all but the
// stamps they open with (a severe line's program, host and component are
// facts too).
std::string varying_values(const Lines& lines, const LogTemplates& t, std::size_t first,
                           const std::vector<std::size_t>& omitted, bool all) {
    auto message_values = [&](std::size_t i) {
        // once a line: each is in one group
        const std::size_t header = all ? stamps_end(lines[i]) : header_end(lines[i]);
        std::vector<std::string_view> vs;
        for (std::size_t k = t.values_at[i]; k < t.values_at[i + 1]; ++k) {
            std::string_view v = LogTemplates::value(lines[i], t.values[k]);
            if (!v.empty() && std::size_t(v.data() - lines[i].data()) >= header) vs.push_back(v);
        }
        return vs;
    };
    const std::vector<std::string_view> example = message_values(first);
    std::vector<std::vector<std::string_view>> fields;  // distinct, in order
    std::vector<std::unordered_set<std::string_view>> seen;
    std::vector<bool> varies;
    for (std::size_t i : omitted) {
        const std::vector<std::string_view> vs = message_values(i);
        for (std::size_t f = 0; f < vs.size(); ++f) {
            if (f == fields.size()) {
                fields.emplace_back();
                seen.emplace_back();
                varies.push_back(false);
            }
            if (f >= example.size() || vs[f] != example[f]) varies[f] = true;
            if (seen[f].insert(vs[f]).second) fields[f].push_back(vs[f]);
        }
    }
    std::string out;
    for (std::size_t f = 0; f < fields.size(); ++f) {
        if (!varies[f]) continue;
        if (!out.empty()) out += " | ";
        for (std::size_t k = 0; k < fields[f].size(); ++k) {
            if (k > 0) out += ", ";
            out += fields[f][k];
        }
    }
    return out;
}

}  // namespace

bool is_severe_line(std::string_view line) { return level_of(line) == Level::Severe; }

std::string repeat_key(std::string_view line) { return header_blanked(line); }

namespace {

// is_log() on levels found once.
bool looks_like_a_log(const Lines& lines, const std::vector<Level>& levels) {
    // Most lines start with a number (a timestamp or an id) or name a
    // level. Listings name files such as error.log: never a log.
    std::size_t loglike = 0, nonempty = 0, listing = 0;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        std::string_view l = lines[i];
        if (l.empty()) continue;
        ++nonempty;
        if (is_ls_long_line(l)) ++listing;
        else if (stamped(l) || levels[i] != Level::None) ++loglike;
    }
    return nonempty > 0 && loglike * 10 >= nonempty * 6 && listing * 2 < nonempty;
}

}  // namespace

LineLevels line_levels(const Lines& lines) {
    LineLevels levels(lines.size());
    for (std::size_t i = 0; i < lines.size(); ++i) levels[i] = level_of(lines[i]);
    return levels;
}

bool is_log(const Lines& lines) { return looks_like_a_log(lines, line_levels(lines)); }

bool is_log(const Lines& lines, const LineLevels& levels) {
    return levels.size() == lines.size() && looks_like_a_log(lines, levels);
}

std::optional<CrushedLog> crush_log(std::string_view text, const CrushLogLimits& limits) {
    return crush_log(text, split_lines(text), "", limits, Origin::of(text));
}

std::optional<CrushedLog> crush_log(std::string_view text, const Lines& lines, std::string_view question,
                                    const CrushLogLimits& limits, const Origin& origin,
                                    const LineLevels* given) {
    const std::size_t n = lines.size();
    if (n < limits.min_lines) return std::nullopt;
    LineLevels found;
    if (given == nullptr || given->size() != n) found = line_levels(lines);
    const LineLevels& levels = found.empty() && n > 0 ? *given : found;
    if (!looks_like_a_log(lines, levels)) return std::nullopt;

    std::vector<bool> keep(n, false);
    for (std::size_t i = 0; i < n && i < limits.keep_first; ++i) keep[i] = true;
    for (std::size_t i = n > limits.keep_last ? n - limits.keep_last : 0; i < n; ++i) keep[i] = true;

    // Stack traces whole, with the line that opened them.
    for (std::size_t i = 0; i < n; ++i) {
        if (!is_trace_line(lines[i])) continue;
        keep[i] = true;
        if (i > 0) keep[i - 1] = true;
    }

    // Lines that match the question stay, up to the bound; those past it
    // are counted in their marker.
    std::vector<bool> asked(n, false);
    if (const Question q(question); !q.empty()) {
        const Question::Picked picked = q.pick_lines(text, lines, limits.max_matches);
        for (std::size_t i : picked.kept) keep[i] = true;
        for (std::size_t i : picked.matching) asked[i] = !keep[i];
    }

    // Severe lines are facts: each stays, but for exact repeats. Where they
    // are the bulk of the log, they fold by template too, every value said.
    std::vector<bool> severe(n, false);
    std::size_t severe_lines = 0, nonempty = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (lines[i].empty()) continue;
        ++nonempty;
        severe[i] = levels[i] == Level::Severe;
        severe_lines += severe[i];
    }
    const bool severe_bulk = severe_lines * 2 > nonempty;

    const LogTemplates templates = mine_templates(lines);

    struct Group {
        std::size_t first;
        bool all_values;  // severe lines: every value, whatever it costs
        std::vector<std::size_t> omitted;
        std::size_t omitted_bytes = 0;
        std::string marker;
    };
    std::vector<Group> groups;
    // Groups by template, other lines and severe ones apart; severe lines
    // that are not the bulk by their repeat key.
    std::vector<std::size_t> by_template(2 * templates.groups, SIZE_MAX);
    std::unordered_map<std::string, std::size_t> by_repeat;
    std::vector<std::size_t> group_of(n);
    for (std::size_t i = 0; i < n; ++i) {
        std::size_t* slot;
        if (severe[i] && !severe_bulk) {
            slot = &by_repeat.try_emplace(header_blanked(lines[i]), SIZE_MAX).first->second;
        } else {
            slot = &by_template[2 * templates.group_of[i] + (severe[i] ? 1 : 0)];
        }
        if (*slot == SIZE_MAX) {
            *slot = groups.size();
            groups.push_back(Group{i, severe[i], {}, 0, {}});
            keep[i] = true;
        }
        group_of[i] = *slot;
        if (keep[i]) continue;
        Group& g = groups[*slot];
        g.omitted.push_back(i);
        g.omitted_bytes += lines[i].size() + 1;
    }

    // A marker for each group that is worth one; the others keep their lines.
    const std::size_t offset = origin.line_offset();
    std::size_t omitted = 0;
    for (Group& g : groups) {
        if (g.omitted.size() < 2) {  // one line costs less than its marker
            g.omitted.clear();
            continue;
        }
        auto replaced = [&] {
            std::string lines_text;
            for (std::size_t i : g.omitted) {
                lines_text.append(lines[i]);
                lines_text.push_back('\n');
            }
            return lines_text;
        };
        markers::TextMarker m;
        m.count = g.omitted.size();
        m.what = "more lines like the one above";
        m.lines = {offset + g.omitted.front() + 1, offset + g.omitted.back() + 1};
        m.id = origin.id();
        m.way = origin.way();
        // Severe lines that fold by template (where they are the bulk) say
        // every value; repeats differ in their header's numbers only.
        std::string values = varying_values(lines, templates, g.first, g.omitted, g.all_values && severe_bulk);
        if (!g.all_values && !values.empty()) {
            // Values are listed when they cost a small part of the lines,
            // which count as the first of them counts, byte for byte.
            const double per_byte = double(limits.measure(lines[g.first]) + 1) / double(lines[g.first].size() + 1);
            if (double(limits.measure(values)) > limits.values_share * per_byte * double(g.omitted_bytes)) {
                values.clear();
            }
        }
        std::size_t matching = 0;
        for (std::size_t i : g.omitted) matching += asked[i];
        if (matching > 0) m.detail = std::to_string(matching) + " matching the question";
        if (!values.empty()) m.detail += (m.detail.empty() ? "" : "; ") + values;
        g.marker = markers::write_text(m);
        if (worth_marking(g.omitted_bytes, replaced, g.marker + "\n", limits.measure)) {
            omitted += g.omitted.size();
            continue;
        }
        g.marker.clear();
        g.omitted.clear();
    }
    if (omitted == 0) return std::nullopt;

    std::vector<bool> out_line(n, true);
    for (const Group& g : groups) {
        for (std::size_t i : g.omitted) out_line[i] = false;
    }
    CrushedLog out;
    out.omitted = omitted;
    out.id = origin.id();
    out.text.reserve(text.size() / 4);
    LineWriter w(out.text);
    for (std::size_t i = 0; i < n; ++i) {
        if (!out_line[i]) continue;
        w.line(lines[i]);
        const Group& g = groups[group_of[i]];
        if (g.first == i && !g.omitted.empty()) w.line(g.marker);
    }
    w.finish(text);
    return out;
}

}  // namespace headroom::transforms
