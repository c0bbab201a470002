// Small byte-string helpers shared by content detection and the
// transforms. Character classes and case are ASCII by rule, never the C
// library's locale: the output must not depend on it.
#pragma once

#include <string>
#include <string_view>

namespace headroom {

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool is_alnum(char c) { return is_digit(c) || is_alpha(c); }
inline bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
// A character of an identifier or word: letters, digits, '_'.
inline bool is_word_char(char c) { return is_alnum(c) || c == '_'; }

inline char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }

// `out` is reused by callers that lower many strings.
inline void lower_into(std::string_view s, std::string& out) {
    out.assign(s);
    for (char& c : out) c = ascii_lower(c);
}

inline std::string lower(std::string_view s) {
    std::string out;
    lower_into(s, out);
    return out;
}

inline bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
inline bool ends_with(std::string_view s, std::string_view p) {
    return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

}  // namespace headroom
