#include "core/transforms/crush_log.h"

#include <cctype>
#include <map>
#include <vector>

#include "core/content_hash.h"
#include "core/transforms/lines.h"

namespace headroom::transforms {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// WARN and above, as logs spell it.
const char* const kSevere[] = {"WARN", "WARNING", "ERROR", "ERR", "FATAL", "CRITICAL", "CRIT",
                               "SEVERE", "ALERT", "EMERG", "PANIC", "EXCEPTION", "FAILED",
                               "FAILURE", "Exception", "Error", "error", "fatal", "warning",
                               "warn", "failed", "crit", "alert", "emerg"};
const char* const kLevels[] = {"INFO", "DEBUG", "TRACE", "NOTICE", "VERBOSE", "FINE",
                               "info", "debug", "notice", "trace"};
const char* const kDateWords[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
                                  "Oct", "Nov", "Dec", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
                                  "Sun"};

// Starts with a time: a number, or a month or weekday (after "[", "<", "-").
bool stamped(std::string_view line) {
    std::size_t i = line.find_first_not_of(" \t[<-");
    if (i == std::string_view::npos) return false;
    if (is_digit(line[i])) return true;
    for (const char* w : kDateWords) {
        if (line.compare(i, 3, w) == 0 && (i + 3 == line.size() || !std::isalpha(static_cast<unsigned char>(line[i + 3])))) {
            return true;
        }
    }
    return false;
}

bool has_word(std::string_view line, std::string_view w) {
    for (std::size_t at = line.find(w); at != std::string_view::npos; at = line.find(w, at + 1)) {
        bool left = at == 0 || !is_alnum(line[at - 1]);
        std::size_t end = at + w.size();
        bool right = end == line.size() || !std::isalpha(static_cast<unsigned char>(line[end]));
        if (left && right) return true;
    }
    return false;
}

bool is_severe(std::string_view line) {
    for (const char* w : kSevere) {
        if (has_word(line, w)) return true;
    }
    return false;
}

bool has_level(std::string_view line) {
    if (is_severe(line)) return true;
    for (const char* w : kLevels) {
        if (has_word(line, w)) return true;
    }
    return false;
}

// An `ls -l` line: "drwxr-xr-x", "-rw-r--r--" and the like. Listings name
// files such as error.log; they are not logs and must not fold.
bool is_listing_line(std::string_view l) {
    if (l.size() < 10 || std::string_view("-dlcbps").find(l[0]) == std::string_view::npos) return false;
    const char* allowed[] = {"-r", "-w", "-xsS", "-r", "-w", "-xsS", "-r", "-w", "-xtT"};
    for (int k = 0; k < 9; ++k) {
        if (std::string_view(allowed[k]).find(l[1 + k]) == std::string_view::npos) return false;
    }
    return true;
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


}  // namespace

std::string log_template(std::string_view line) {
    std::string out;
    out.reserve(line.size());
    std::size_t i = 0;
    while (i < line.size()) {
        if (!is_hex(line[i])) {
            out.push_back(line[i++]);
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
            out.push_back('#');
        } else {
            out.append(line.substr(i, j - i));
        }
        i = j;
    }
    return out;
}

std::optional<CrushedLog> crush_log(std::string_view text, const CrushLogLimits& limits) {
    std::vector<std::string_view> lines = split_lines(text);
    const std::size_t n = lines.size();
    if (n < limits.min_lines) return std::nullopt;

    // A log: most lines start with a number (a timestamp or an id) or name
    // a level.
    std::size_t loglike = 0, nonempty = 0, listing = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (lines[i].empty()) continue;
        ++nonempty;
        if (is_listing_line(lines[i])) ++listing;
        else if (stamped(lines[i]) || has_level(lines[i])) ++loglike;
    }
    if (nonempty == 0 || loglike * 10 < nonempty * 6 || listing * 2 >= nonempty) return std::nullopt;

    // Only now, for a log, the templates.
    std::vector<std::string> templates(n);
    for (std::size_t i = 0; i < n; ++i) {
        if (!lines[i].empty()) templates[i] = log_template(lines[i]);
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
        std::size_t first, last, count = 0, omitted = 0;
    };
    std::map<std::string, Group> groups;
    std::vector<const std::string*> group_of(n, nullptr);
    for (std::size_t i = 0; i < n; ++i) {
        // Severe lines fold only with their own kind; blank lines together.
        std::string key = (is_severe(lines[i]) ? "!" : " ") + templates[i];
        auto [it, fresh] = groups.try_emplace(key, Group{i, i});
        it->second.last = i;
        ++it->second.count;
        group_of[i] = &it->first;
        if (fresh) keep[i] = true;
    }
    for (std::size_t i = 0; i < n; ++i) {
        if (!keep[i]) ++groups[*group_of[i]].omitted;
    }

    std::size_t omitted = 0;
    for (auto& [key, g] : groups) omitted += g.omitted;
    if (omitted == 0) return std::nullopt;

    std::string hash = content_hash(text);
    CrushedLog out;
    out.omitted = omitted;
    out.text.reserve(text.size() / 4);
    LineWriter w(out.text);
    for (std::size_t i = 0; i < n; ++i) {
        if (!keep[i]) continue;
        w.line(lines[i]);
        const Group& g = groups[*group_of[i]];
        if (g.first == i && g.omitted > 0) {
            w.line("[headroom: " + std::to_string(g.omitted) +
                   " more lines like the one above omitted (lines " + std::to_string(g.first + 1) +
                   "-" + std::to_string(g.last + 1) + "), original " + hash + "]");
        }
    }
    w.finish(text);
    return out;
}

}  // namespace headroom::transforms
