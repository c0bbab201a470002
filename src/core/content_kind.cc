#include "core/content_kind.h"

#include "core/text.h"
#include "core/transforms/crush_diff.h"
#include "core/transforms/crush_log.h"
#include "core/transforms/crush_search.h"

namespace headroom {

using transforms::Lines;

namespace {

std::string_view trim(std::string_view s) {
    std::size_t b = s.find_first_not_of(" \t\r");
    if (b == std::string_view::npos) return {};
    std::size_t e = s.find_last_not_of(" \t\r");
    return s.substr(b, e - b + 1);
}

// "     1\t" (cat -n) or "     1→" (agents' file-read tools): the line
// number and the prefix's length.
struct NumberPrefix {
    std::size_t number = 0, length = 0;
};

NumberPrefix number_prefix(std::string_view l) {
    std::size_t i = 0;
    while (i < l.size() && l[i] == ' ') ++i;
    std::size_t start = i, n = 0;
    while (i < l.size() && is_digit(l[i]) && i - start < 9) n = n * 10 + std::size_t(l[i++] - '0');
    if (i == start) return {};
    if (i < l.size() && l[i] == '\t') return {n, i + 1};
    if (l.substr(i, 3) == "\xE2\x86\x92") return {n, i + 3};  // U+2192
    return {};
}

// A file shown with its line numbers: most lines carry the next number.
bool numbered(const Lines& lines) {
    std::size_t hits = 0, expected = 0, nonempty = 0;
    for (std::string_view l : lines) {
        if (l.empty()) continue;
        ++nonempty;
        NumberPrefix p = number_prefix(l);
        if (p.length == 0) continue;
        if (hits == 0 || p.number == expected) ++hits;
        expected = p.number + 1;
    }
    return nonempty > 0 && hits * 10 >= nonempty * 9;
}

Lines without_numbers(const Lines& lines) {
    Lines out;
    out.reserve(lines.size());
    for (std::string_view l : lines) out.push_back(l.substr(number_prefix(l).length));
    return out;
}

constexpr std::string_view kKeywords[] = {
    "import", "from", "def", "class", "return", "if", "elif", "else", "for", "while", "try",
    "except", "finally", "with", "raise", "yield", "async", "await", "lambda", "pass", "break",
    "continue", "function", "const", "let", "var", "export", "module", "require", "package",
    "func", "fn", "pub", "use", "impl", "struct", "enum", "trait", "match", "static", "public",
    "private", "protected", "namespace", "template", "typedef", "switch", "case", "default",
    "catch", "throw", "new", "delete", "void", "int", "char", "bool", "auto", "unsigned", "do",
    "interface", "type", "go", "defer", "select", "end", "begin", "local", "then", "fi", "done",
    "echo", "set", "#include", "#define", "#if", "#ifdef", "#ifndef", "#endif", "#else",
    "#pragma", "@"};

// A line the way source code writes one.
bool code_line(std::string_view raw) {
    std::string_view l = trim(raw);
    if (l.empty()) return false;
    const char last = l.back();
    if (last == '{' || last == '}' || last == ';') return true;
    if (l == ")" || l == "]" || l == "})" || l == "])" || l == "end") return true;
    if (starts_with(l, "//") || starts_with(l, "/*") || starts_with(l, "*/") || starts_with(l, "* ") ||
        starts_with(l, "# ") || starts_with(l, "#!") || starts_with(l, "\"\"\"")) {
        return true;
    }
    for (std::string_view k : kKeywords) {
        if (!starts_with(l, k)) continue;
        if (k == "@") return l.size() > 1 && is_word_char(l[1]);
        if (l.size() == k.size()) return true;
        char next = l[k.size()];
        if (next == ' ' || next == '(' || next == ':' || next == '<') return true;
    }
    // name = ..., name.attr(...), name[i] += ...
    std::size_t i = 0;
    if (is_digit(l[0])) return false;
    while (i < l.size() && (is_word_char(l[i]) || l[i] == '.' || l[i] == '[' || l[i] == ']')) ++i;
    if (i == 0 || i == l.size()) return false;
    if (l[i] == '(') return true;
    while (i < l.size() && l[i] == ' ') ++i;
    std::string_view rest = l.substr(i);
    return (starts_with(rest, "=") && !starts_with(rest, "==")) || starts_with(rest, "+=") ||
           starts_with(rest, "-=") || starts_with(rest, ":=");
}

}  // namespace

const char* content_kind_name(ContentKind k) {
    switch (k) {
    case ContentKind::Json: return "json";
    case ContentKind::Diff: return "diff";
    case ContentKind::Search: return "search";
    case ContentKind::Listing: return "listing";
    case ContentKind::Log: return "log";
    case ContentKind::Code: return "code";
    case ContentKind::Text: return "text";
    }
    return "text";
}

bool is_listing(const Lines& lines) {
    std::size_t nonempty = 0, long_form = 0, tree = 0, paths = 0;
    for (std::string_view raw : lines) {
        std::string_view l = trim(raw);
        if (l.empty()) continue;
        ++nonempty;
        if (transforms::is_ls_long_line(l) || (starts_with(l, "total ") && l.size() > 6 && is_digit(l[6]))) {
            ++long_form;
        } else if (l.find("\xE2\x94\x9C\xE2\x94\x80\xE2\x94\x80") != std::string_view::npos ||  // ├──
                   l.find("\xE2\x94\x94\xE2\x94\x80\xE2\x94\x80") != std::string_view::npos ||  // └──
                   l.find("|-- ") != std::string_view::npos || l.find("`-- ") != std::string_view::npos) {
            ++tree;
        } else if (transforms::is_path(l)) {
            ++paths;
        }
    }
    if (nonempty == 0) return false;
    return (long_form + tree) * 2 >= nonempty || (long_form + tree + paths) * 10 >= nonempty * 8;
}

bool is_code(const Lines& lines) {
    std::size_t nonempty = 0, code = 0;
    for (std::string_view l : lines) {
        if (trim(l).empty()) continue;
        ++nonempty;
        if (code_line(l)) ++code;
    }
    return nonempty > 0 && code * 2 >= nonempty;
}

ContentKind classify_lines(const Lines& lines) {
    transforms::LineLevels levels;
    return classify_lines(lines, levels);
}

ContentKind classify_lines(const Lines& lines, transforms::LineLevels& levels) {
    if (transforms::is_diff(lines)) return ContentKind::Diff;
    if (transforms::is_search_output(lines)) return ContentKind::Search;
    if (is_listing(lines)) return ContentKind::Listing;
    // A file shown with line numbers is judged by what follows them; the
    // numbers alone would make any file look like a log.
    if (numbered(lines)) {
        Lines body = without_numbers(lines);
        if (is_code(body)) return ContentKind::Code;
        return transforms::is_log(body) ? ContentKind::Log : ContentKind::Text;
    }
    if (is_code(lines)) return ContentKind::Code;
    levels = transforms::line_levels(lines);
    if (transforms::is_log(lines, levels)) return ContentKind::Log;
    return ContentKind::Text;
}

}  // namespace headroom
