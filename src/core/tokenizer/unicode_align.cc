#include "core/tokenizer/unicode_align.h"

#include <cstdio>
#include <vector>

namespace headroom::tokenizer {

namespace {

struct Range {
    unsigned first, last;
};

struct Delta {
    const char* prop;  // "L", "Lu", ..., "s"
    std::vector<Range> added, removed;
};

const Delta kDeltas[] = {
#include "core/tokenizer/unicode_delta.inc"
};

const Delta* delta_for(std::string_view prop) {
    for (const auto& d : kDeltas) {
        if (prop == d.prop) return &d;
    }
    return nullptr;
}

std::string ranges(const std::vector<Range>& rs) {
    std::string out;
    char buf[40];
    for (const auto& r : rs) {
        if (r.first == r.last) {
            std::snprintf(buf, sizeof buf, "\\x{%X}", r.first);
        } else {
            std::snprintf(buf, sizeof buf, "\\x{%X}-\\x{%X}", r.first, r.last);
        }
        out += buf;
    }
    return out;
}

// Reads the escape at p[i] ('\\'); returns its length and, for \p{X}, the
// property name.
std::size_t escape_at(std::string_view p, std::size_t i, std::string_view& prop) {
    prop = {};
    if (i + 1 >= p.size()) return 1;
    char c = p[i + 1];
    if ((c == 'p' || c == 'P') && i + 2 < p.size() && p[i + 2] == '{') {
        std::size_t close = p.find('}', i + 3);
        if (close == std::string_view::npos) return p.size() - i;
        prop = p.substr(i + 3, close - i - 3);
        return close - i + 1;
    }
    if (c == 'x' && i + 2 < p.size() && p[i + 2] == '{') {
        std::size_t close = p.find('}', i + 3);
        return close == std::string_view::npos ? p.size() - i : close - i + 1;
    }
    return 2;
}

}  // namespace

bool align_unicode(std::string_view p, std::string& out, std::string& error) {
    out.clear();
    const Delta* space = delta_for("s");
    std::size_t i = 0;
    while (i < p.size()) {
        char c = p[i];
        if (c == '\\') {
            std::string_view prop;
            std::size_t n = escape_at(p, i, prop);
            std::string_view esc = p.substr(i, n);
            if (!prop.empty() && esc[1] == 'P') {
                error = "\\P{...} is not supported";
                return false;
            }
            if (!prop.empty()) {
                const Delta* d = delta_for(prop);
                if (d == nullptr) {
                    error = "no Unicode data for \\p{" + std::string(prop) + "}";
                    return false;
                }
                if (!d->removed.empty()) out += "(?![" + ranges(d->removed) + "])";
                out += "[" + std::string(esc) + ranges(d->added) + "]";
            } else if (esc == "\\s" || esc == "\\S") {
                out += (esc == "\\s" ? "[" : "[^") + ranges(space->added) + "]";
            } else {
                out += esc;
            }
            i += n;
            continue;
        }
        if (c != '[') {
            out.push_back(c);
            ++i;
            continue;
        }

        // A character class: members copied, each \p{X} widened, \s
        // spelled out as Unicode 16's White_Space.
        std::size_t j = i + 1;
        bool negated = j < p.size() && p[j] == '^';
        if (negated) ++j;
        std::string body;
        if (j < p.size() && p[j] == ']') body += p[j++];  // a literal ']' first
        while (j < p.size() && p[j] != ']') {
            if (p[j] == '[') {
                error = "nested classes are not supported";
                return false;
            }
            if (p[j] != '\\') {
                body.push_back(p[j++]);
                continue;
            }
            std::string_view prop;
            std::size_t n = escape_at(p, j, prop);
            std::string_view esc = p.substr(j, n);
            if (!prop.empty()) {
                const Delta* d = delta_for(prop);
                if (d == nullptr || esc[1] == 'P' || !d->removed.empty()) {
                    error = "cannot align " + std::string(esc) + " inside a class";
                    return false;
                }
                body += std::string(esc) + ranges(d->added);
            } else if (esc == "\\S") {
                error = "cannot align \\S inside a class";
                return false;
            } else if (esc == "\\s") {
                body += ranges(space->added);
            } else {
                body += esc;
            }
            j += n;
        }
        if (j >= p.size()) {
            error = "unterminated class";
            return false;
        }
        out += std::string(negated ? "[^" : "[") + body + "]";
        i = j + 1;
    }
    return true;
}

}  // namespace headroom::tokenizer
