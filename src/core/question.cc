#include "core/question.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "core/text.h"

namespace headroom {

namespace {

constexpr std::string_view kStopWords[] = {
    "the", "and", "for", "with", "what", "which", "this", "that", "from", "have", "does", "show",
    "list", "find", "give", "tell", "about", "into", "there", "their", "them", "they", "when", "where",
    "will", "would", "could", "should", "please", "all", "any", "are", "how", "why", "who", "can",
    "you", "your", "our", "its", "was", "were", "not", "but", "get", "use", "using", "out", "one",
    "some", "more", "than", "then", "also", "just", "only", "top", "has", "had", "did", "been",
    "being", "these", "those", "here", "many", "much", "each", "other", "such", "most", "very",
    "let", "see", "look", "want", "need", "like", "make", "take", "know", "over", "under", "after",
    "before", "between", "both", "few", "own", "same", "too", "now", "may", "might", "must"};

bool is_stop_word(std::string_view w) {
    for (std::string_view s : kStopWords) {
        if (s == w) return true;
    }
    return false;
}

// A character of an identifier, a path or a number.
bool is_term_char(char c) {
    return is_alnum(c) || c == '_' || c == '-' || c == '.' || c == '/' || c == ':' || c == '@';
}

std::size_t occurrences(std::string_view text, std::string_view term) {
    std::size_t n = 0;
    for (std::size_t at = text.find(term); at != std::string_view::npos; at = text.find(term, at + 1)) ++n;
    return n;
}

}  // namespace

Question::Question(std::string_view text) {
    auto add = [&](std::string term) {
        // Trailing punctuation of a sentence is not part of a term.
        while (!term.empty() && (term.back() == '.' || term.back() == ':' || term.back() == '-')) term.pop_back();
        while (!term.empty() && (term.front() == '.' || term.front() == '-')) term.erase(term.begin());
        if (term.empty() || std::find(terms_.begin(), terms_.end(), term) != terms_.end()) return;
        bool letters = false, special = false;
        std::size_t n_digits = 0;
        for (char c : term) {
            letters = letters || is_alpha(c);
            n_digits += is_digit(c);
            special = special || !is_alnum(c);
        }
        const bool digits = n_digits > 0;
        const bool identifier = letters && (digits || special);  // libyajl-dev, v1.2, src/a.c
        const bool number = !letters && n_digits >= 2;
        const bool word = letters && !digits && !special && term.size() >= 3 && !is_stop_word(term);
        // A plural matches its singular too, as a substring: "errors" is
        // looked for as "error".
        if (word && term.size() >= 5 && term.back() == 's' && term[term.size() - 2] != 's') {
            term.pop_back();
            if (std::find(terms_.begin(), terms_.end(), term) != terms_.end()) return;
        }
        if (identifier || number || word) terms_.push_back(std::move(term));
    };
    const std::string l = lower(text);
    for (std::size_t i = 0; i < l.size();) {
        const char c = l[i];
        if (c == '"' || c == '`' || (c == '\'' && (i == 0 || !is_alnum(l[i - 1])))) {
            // A quoted string is one term, as it is.
            const std::size_t end = l.find(c, i + 1);
            if (end != std::string::npos && end > i + 1 && end - i <= 80) {
                std::string quoted = l.substr(i + 1, end - i - 1);
                if (quoted.size() >= 3 && std::find(terms_.begin(), terms_.end(), quoted) == terms_.end()) {
                    terms_.push_back(std::move(quoted));
                }
                i = end + 1;
                continue;
            }
        }
        if (!is_term_char(c)) {
            ++i;
            continue;
        }
        std::size_t j = i;
        while (j < l.size() && is_term_char(l[j])) ++j;
        add(l.substr(i, j - i));
        i = j;
    }
}

Question::Picked Question::pick(const std::vector<std::string_view>& texts, std::size_t max) const {
    Picked p;
    if (terms_.empty()) return p;
    // Term frequencies, and in how many texts each term is.
    const std::size_t terms = terms_.size();
    std::vector<std::uint16_t> tf(texts.size() * terms, 0);  // text i, term t: [i * terms + t]
    std::vector<std::size_t> df(terms, 0);
    for (std::size_t i = 0; i < texts.size(); ++i) {
        for (std::size_t t = 0; t < terms; ++t) {
            tf[i * terms + t] = static_cast<std::uint16_t>(std::min<std::size_t>(occurrences(texts[i], terms_[t]), 65535));
            df[t] += tf[i * terms + t] > 0;
        }
    }
    // A term in more than half of the texts (a field name, "installed")
    // picks nothing out: it weighs in the scores, but a text matches only
    // by a term that is selective.
    std::vector<bool> selective(terms_.size());
    for (std::size_t t = 0; t < terms_.size(); ++t) selective[t] = df[t] * 2 <= texts.size() || texts.size() < 4;
    std::vector<std::size_t> matching;
    for (std::size_t i = 0; i < texts.size(); ++i) {
        for (std::size_t t = 0; t < terms_.size(); ++t) {
            if (selective[t] && tf[i * terms + t] > 0) {
                matching.push_back(i);
                break;
            }
        }
    }
    p.matched = matching.size();
    p.matching = matching;
    if (matching.size() <= max) {
        p.kept = std::move(matching);
        return p;
    }
    // BM25 (k1 1.2, b 0.75) over all the texts.
    double total = 0;
    for (std::string_view t : texts) total += double(t.size());
    const double avg = texts.empty() ? 1 : std::max(1.0, total / double(texts.size()));
    const double n = double(texts.size());
    std::vector<std::pair<double, std::size_t>> scored;
    for (std::size_t i : matching) {
        const double len = double(texts[i].size());
        double score = 0;
        for (std::size_t t = 0; t < terms_.size(); ++t) {
            if (tf[i * terms + t] == 0) continue;
            const double idf = std::log((n - double(df[t]) + 0.5) / (double(df[t]) + 0.5) + 1);
            const double f = double(tf[i * terms + t]);
            score += idf * f * 2.2 / (f + 1.2 * (0.25 + 0.75 * len / avg));
        }
        scored.push_back({-score, i});
    }
    std::sort(scored.begin(), scored.end());
    for (std::size_t k = 0; k < max; ++k) p.kept.push_back(scored[k].second);
    std::sort(p.kept.begin(), p.kept.end());
    return p;
}

Question::Picked Question::pick_lines(std::string_view text, const std::vector<std::string_view>& lines,
                                     std::size_t max) const {
    const std::string lowered = lower(text);
    std::vector<std::string_view> texts(lines.size());
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const std::size_t at = std::size_t(lines[i].data() - text.data());
        texts[i] = std::string_view(lowered).substr(at, lines[i].size());
    }
    return pick(texts, max);
}

}  // namespace headroom
