#include "core/transforms/crush_log.h"

#include <unordered_map>
#include <vector>

#include "core/text.h"
#include "core/transforms/lines.h"

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

enum class Level { None, Other, Severe };

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
        std::string_view word = line.substr(i, j - i);
        for (std::string_view w : kSevere) {
            if (w[0] == word[0] && w == word) return Level::Severe;
        }
        for (std::string_view w : kLevels) {
            if (w[0] == word[0] && w == word) found = Level::Other;
        }
        i = j;
    }
    return found;
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

// A template is never longer than its line: it is written in place.
void append_template(std::string_view line, std::string& out) {
    const std::size_t base = out.size();
    out.resize(base + line.size());
    char* o = &out[base];
    std::size_t i = 0;
    while (i < line.size()) {
        if (!is_hex(line[i])) {
            *o++ = line[i++];
            continue;
        }
        // A run of hex digits: digits alone (counts, times, addresses), or
        // a hash or id holding a digit, become '#'; words stay.
        std::size_t j = i;
        bool digit = false, letter = false;
        for (; j < line.size() && is_hex(line[j]); ++j) {
            (is_digit(line[j]) ? digit : letter) = true;
        }
        bool word_start = i == 0 || !is_alnum(line[i - 1]);
        bool word_end = j == line.size() || !is_alnum(line[j]);
        bool id = digit && word_end && (word_start || j - i >= 8);
        if ((digit && !letter) || id) {
            *o++ = '#';
        } else {
            for (std::size_t k = i; k < j; ++k) *o++ = line[k];
        }
        i = j;
    }
    out.resize(static_cast<std::size_t>(o - out.data()));
}

}  // namespace

std::string log_template(std::string_view line) {
    std::string out;
    out.reserve(line.size());
    append_template(line, out);
    return out;
}

bool is_log(const Lines& lines) {
    // Most lines start with a number (a timestamp or an id) or name a
    // level. Listings name files such as error.log: never a log.
    std::size_t loglike = 0, nonempty = 0, listing = 0;
    for (std::string_view l : lines) {
        if (l.empty()) continue;
        ++nonempty;
        if (is_ls_long_line(l)) ++listing;
        else if (stamped(l) || level_of(l) != Level::None) ++loglike;
    }
    return nonempty > 0 && loglike * 10 >= nonempty * 6 && listing * 2 < nonempty;
}

std::optional<CrushedLog> crush_log(std::string_view text, const CrushLogLimits& limits) {
    return crush_log(text, split_lines(text), limits, Origin::of(text));
}

std::optional<CrushedLog> crush_log(std::string_view text, const Lines& lines, const CrushLogLimits& limits,
                                    const Origin& origin) {
    const std::size_t n = lines.size();
    if (n < limits.min_lines || !is_log(lines)) return std::nullopt;

    // Only now, for a log, the templates. Severe lines fold only with
    // their own kind ('!'), the others (' ') with theirs.
    std::vector<std::string> templates(n);
    for (std::size_t i = 0; i < n; ++i) {
        if (lines[i].empty()) continue;
        templates[i].push_back(level_of(lines[i]) == Level::Severe ? '!' : ' ');
        append_template(lines[i], templates[i]);
    }

    std::vector<bool> keep(n, false);
    for (std::size_t i = 0; i < n && i < limits.keep_first; ++i) keep[i] = true;
    for (std::size_t i = n > limits.keep_last ? n - limits.keep_last : 0; i < n; ++i) keep[i] = true;

    // Stack traces whole, with the line that opened them.
    for (std::size_t i = 0; i < n; ++i) {
        if (!is_trace_line(lines[i])) continue;
        keep[i] = true;
        if (i > 0) keep[i - 1] = true;
    }

    // Fold by template: the first example stays; the others are counted.
    struct Group {
        std::size_t first;
        std::size_t omitted = 0, omitted_bytes = 0;
        std::size_t first_omitted = 0, last_omitted = 0;
        std::string marker;
    };
    std::vector<Group> groups;
    std::unordered_map<std::string_view, std::size_t> group_index;  // views into templates
    group_index.reserve(n);
    std::vector<std::size_t> group_of(n);
    for (std::size_t i = 0; i < n; ++i) {
        auto [it, fresh] = group_index.try_emplace(templates[i], groups.size());
        if (fresh) {
            groups.push_back(Group{i, 0, 0, 0, 0, {}});
            keep[i] = true;
        }
        group_of[i] = it->second;
        if (keep[i]) continue;
        Group& g = groups[it->second];
        if (g.omitted++ == 0) g.first_omitted = i;
        g.last_omitted = i;
        g.omitted_bytes += lines[i].size() + 1;
    }

    // A marker for each group that is worth one; the others keep their lines.
    const std::size_t offset = origin.line_offset();
    std::size_t omitted = 0;
    for (Group& g : groups) {
        if (g.omitted == 0) continue;
        if (g.omitted > 1) {
            markers::TextMarker m;
            m.count = g.omitted;
            m.what = "more lines like the one above";
            m.lines = {offset + g.first_omitted + 1, offset + g.last_omitted + 1};
            m.id = origin.id();
            g.marker = markers::write_text(m);
            // The group's left-out lines, as text, when they must be counted.
            const std::size_t index = std::size_t(&g - groups.data());
            auto replaced = [&] {
                std::string text;
                for (std::size_t i = g.first_omitted; i <= g.last_omitted; ++i) {
                    if (!keep[i] && group_of[i] == index) {
                        text.append(lines[i]);
                        text.push_back('\n');
                    }
                }
                return text;
            };
            if (worth_marking(g.omitted_bytes, replaced, g.marker + "\n", limits.measure)) {
                omitted += g.omitted;
                continue;
            }
        }
        g.marker.clear();
        g.omitted = 0;
    }
    if (omitted == 0) return std::nullopt;

    CrushedLog out;
    out.omitted = omitted;
    out.id = origin.id();
    out.text.reserve(text.size() / 4);
    LineWriter w(out.text);
    for (std::size_t i = 0; i < n; ++i) {
        const Group& g = groups[group_of[i]];
        if (!keep[i] && g.omitted > 0) continue;
        w.line(lines[i]);
        if (g.first == i && g.omitted > 0) w.line(g.marker);
    }
    w.finish(text);
    return out;
}

}  // namespace headroom::transforms
