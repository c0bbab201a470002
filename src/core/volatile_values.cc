#define PCRE2_CODE_UNIT_WIDTH 8
#include "core/volatile_values.h"

#include <pcre2.h>

#include <algorithm>
#include <new>

#include "core/text.h"
#include "core/pcre2_message.h"

namespace headroom {

namespace {

// Built from parts so that each shape of a date is written once. Only
// non-capturing groups: group 1 of a built-in alternative is its value.
const std::string kMonth =
    "(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    "|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)";
const std::string kWeekday =
    "(?:Mon(?:day)?|Tue(?:s(?:day)?)?|Wed(?:nesday)?|Thu(?:r(?:s(?:day)?)?)?|Fri(?:day)?"
    "|Sat(?:urday)?|Sun(?:day)?)";
const std::string kYear = "(?:19|20)\\d{2}";
const std::string kMonthNum = "(?:0?[1-9]|1[0-2])";
const std::string kDayNum = "(?:0?[1-9]|[12]\\d|3[01])";
const std::string kDay = "(?:0?[1-9]|[12]\\d|3[01])(?:st|nd|rd|th)?";

const std::string kDate =
    "(?:" + kYear + "-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\\d|3[01])" +
    "|" + kYear + "/(?:0[1-9]|1[0-2])/(?:0[1-9]|[12]\\d|3[01])" +
    "|" + kDayNum + "[/.]" + kDayNum + "[/.]" + kYear +
    "|(?:" + kWeekday + ",?\\s+)?" + kMonth + "\\.?\\s+" + kDay + ",?\\s+" + kYear +
    "|(?:" + kWeekday + ",?\\s+)?" + kDay + "\\s+(?:of\\s+)?" + kMonth + "\\.?,?\\s+" + kYear +
    ")";

const std::string kZone =
    "(?:Z|[+-](?:[01]\\d|2[0-3]):?[0-5]\\d|\\s?(?:UTC|GMT)(?:[+-]\\d{1,2}(?::?\\d{2})?)?"
    "|\\s[A-Z]{1,4}T)(?![\\w])";
const std::string kAmPm = "\\s?[AaPp]\\.?[Mm]\\.?(?![\\w])";
const std::string kClock = "(?:[01]?\\d|2[0-3]):[0-5]\\d";
const std::string kSeconds = ":[0-5]\\d(?:[.,]\\d{1,9})?";
// After a date any clock reading belongs to it; alone, "3:16" could be a
// verse or a ratio, so a time needs its seconds, AM/PM or a zone.
const std::string kTimeAfterDate =
    kClock + "(?:" + kSeconds + ")?(?:" + kAmPm + ")?(?:" + kZone + ")?(?![\\w:])";
const std::string kTimeAlone =
    "(?<![\\w:.])" + kClock + "(?:" + kSeconds + "(?:" + kAmPm + ")?(?:" + kZone + ")?|" + kAmPm +
    "(?:" + kZone + ")?|" + kZone + ")(?![\\w:])";

struct Builtin {
    const char* label;
    std::string regex;
};

const std::vector<Builtin>& builtins() {
    static const std::vector<Builtin> list = {
        {"token", "\\beyJ[\\w-]{8,}\\.[\\w-]{8,}\\.[\\w-]{8,}"},
        {"uuid", "(?<![\\w-])[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-"
                 "[0-9A-Fa-f]{12}(?![\\w-])"},
        // "Request ID: 7f3a..." keeps its key; only the value moves.
        {"id", "(?i:\\b(?:request|req|session|sess|trace|span|correlation|conversation|thread|run"
               "|invocation|execution|transaction|txn)[ _-]?id\\b)[\"']?\\s{0,3}[:=]\\s{0,3}[\"']?"
               "((?=[A-Za-z._:/+-]{0,24}\\d)[A-Za-z0-9][\\w.:/+-]{4,}[A-Za-z0-9])"},
        {"id", "\\b(?:req|sess|trace|span|run|msg|chatcmpl|resp|conv|thread|toolu|call|txn)[_-]"
               "(?=[A-Za-z]{0,40}\\d)[A-Za-z0-9]{8,}\\b"},
        {"timestamp", "(?<![\\w])" + kDate + "(?:T|\\s+at\\s+|,?\\s+)" + kTimeAfterDate},
        // date(1) and asctime(): "Sun Nov 22 10:32:05 UTC 2026"
        {"timestamp", "\\b" + kWeekday + "\\s+" + kMonth + "\\s+" + kDayNum + "\\s+" + kClock +
                          kSeconds + "(?:\\s+[A-Z]{2,5})?\\s+" + kYear + "\\b"},
        {"date", "(?<![\\w])" + kDate + "(?![\\w])"},
        {"time", kTimeAlone},
        {"epoch", "(?<![\\w.-])(?:1[5-9]|20)\\d{8}(?:\\d{3}){0,2}(?:\\.\\d{1,9})?(?![\\w]|\\.\\d)"},
        {"hash", "(?<![\\w-])(?:(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\\d)[0-9a-f]{16,}"
                 "|(?=[0-9A-F]*[A-F])(?=[0-9A-F]*\\d)[0-9A-F]{16,})(?![\\w-])"},
    };
    return list;
}

// Every built-in value holds a digit, no more than this many bytes after
// the match starts (the patterns bound what may come before it): the
// built-ins need only look near digits, and prose without them is skipped.
constexpr std::size_t kDigitReach = 64;

// Backtracking bound for any one match: an operator's pattern that would
// run away finds nothing instead of stalling a worker.
constexpr uint32_t kMatchLimit = 1000000;

// Labels go into placeholders ("[[label-1]]") and the note.
bool valid_label(std::string_view label) {
    if (label.empty() || label.size() > 64) return false;
    for (char c : label) {
        if (!is_alnum(c) && c != '_' && c != '-') return false;
    }
    return true;
}

// PCRE2 knows whether a pattern can match without consuming anything
// (lookarounds and anchors alone, optional items, empty alternatives),
// except where \K moves the match's start: such patterns are refused (a
// capture group says the same).
bool matches_empty(const pcre2_code* re) {
    uint32_t empty = 1;
    return pcre2_pattern_info(re, PCRE2_INFO_MATCHEMPTY, &empty) != 0 || empty != 0;
}

bool has_match_reset(std::string_view regex) {
    for (std::size_t i = 0; i + 1 < regex.size(); ++i) {
        if (regex[i] != '\\') continue;
        if (regex[i + 1] == 'K') return true;
        ++i;  // an escaped character
    }
    return false;
}


}  // namespace

struct VolatilePatterns::Compiled {
    pcre2_code* code = nullptr;
    // The label; for the built-ins (one alternation), the alternative's
    // (*MARK) names it instead.
    std::size_t label = 0;
    bool marked = false;
};

VolatilePatterns::VolatilePatterns() = default;

std::size_t VolatilePatterns::label_index(const std::string& label) {
    auto it = std::find(labels_.begin(), labels_.end(), label);
    if (it != labels_.end()) return static_cast<std::size_t>(it - labels_.begin());
    labels_.push_back(label);
    return labels_.size() - 1;
}

VolatilePatterns::~VolatilePatterns() {
    for (Compiled& c : patterns_) pcre2_code_free(c.code);
    pcre2_match_context_free(static_cast<pcre2_match_context*>(match_context_));
}

std::shared_ptr<const VolatilePatterns> VolatilePatterns::compile(const std::vector<Extra>& extra,
                                                                  std::string& error, bool jit) {
    std::shared_ptr<VolatilePatterns> p(new VolatilePatterns);
    auto add = [&](const std::string& regex, std::size_t label, bool marked) -> bool {
        int code = 0;
        PCRE2_SIZE offset = 0;
        pcre2_code* re = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(regex.data()), regex.size(),
                                       marked ? PCRE2_USE_OFFSET_LIMIT : 0, &code, &offset, nullptr);
        if (re == nullptr) {
            error = pcre2_message(code) + " at offset " + std::to_string(offset);
            return false;
        }
        // Without JIT (not built in, no executable memory) matching still works.
        if (jit) pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
        p->patterns_.push_back(Compiled{re, label, marked});
        return true;
    };

    for (const Extra& e : extra) {
        if (!valid_label(e.label)) {
            error = "label \"" + e.label + "\" may hold only letters, digits, '_' and '-' (1 to 64)";
            return nullptr;
        }
        if (e.regex.empty()) {
            error = "label \"" + e.label + "\" has an empty pattern";
            return nullptr;
        }
        if (has_match_reset(e.regex)) {
            error = "\"" + e.regex + "\": \\K is not taken; a capture group names the value";
            return nullptr;
        }
        if (!add(e.regex, p->label_index(e.label), false)) {
            error = "\"" + e.regex + "\": " + error;
            return nullptr;
        }
        // A pattern that can match nothing at all matches everywhere.
        if (matches_empty(p->patterns_.back().code)) {
            error = "\"" + e.regex + "\" can match the empty string";
            return nullptr;
        }
    }
    // One alternation: a single pass over the text, and at any position the
    // first alternative that matches wins. Branch reset numbers each
    // alternative's value group 1.
    std::string all = "(?|";
    for (std::size_t i = 0; i < builtins().size(); ++i) {
        const Builtin& b = builtins()[i];
        if (i > 0) all += "|";
        all += "(?:" + b.regex + ")(*MARK:" + b.label + ")";
        p->label_index(b.label);
    }
    all += ")";
    if (!add(all, 0, true)) {
        error = "built-in patterns: " + error;
        return nullptr;
    }

    auto* mc = pcre2_match_context_create(nullptr);
    if (mc == nullptr) throw std::bad_alloc();
    pcre2_set_match_limit(mc, kMatchLimit);
    p->match_context_ = mc;
    return p;
}

std::vector<VolatileMatch> VolatilePatterns::find(std::string_view text) const {
    struct Next {
        bool found = false;
        std::size_t start = 0, end = 0;  // the whole match
        VolatileMatch value;
    };
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    auto* mc = static_cast<pcre2_match_context*>(match_context_);
    // The built-ins' own context: its offset limit changes per window.
    pcre2_match_context* windowed = pcre2_match_context_copy(mc);
    if (windowed == nullptr) throw std::bad_alloc();

    std::vector<pcre2_match_data*> data(patterns_.size(), nullptr);
    struct Free {
        std::vector<pcre2_match_data*>& d;
        pcre2_match_context* c;
        ~Free() {
            for (auto* m : d) pcre2_match_data_free(m);
            pcre2_match_context_free(c);
        }
    } free_data{data, windowed};
    for (std::size_t i = 0; i < patterns_.size(); ++i) {
        data[i] = pcre2_match_data_create_from_pattern(patterns_[i].code, nullptr);
        if (data[i] == nullptr) throw std::bad_alloc();
    }

    // Pattern i's first match starting at or after `from` (and, with the
    // windowed context, at or before its offset limit); rc < 0 if none.
    auto match = [&](std::size_t i, std::size_t from, pcre2_match_context* ctx) {
        return pcre2_match(patterns_[i].code, subject, text.size(), from, 0, data[i], ctx);
    };

    // The next match of pattern i at or after `from`.
    auto search = [&](std::size_t i, std::size_t from) -> Next {
        Next n;
        const Compiled& c = patterns_[i];
        std::size_t at = from;
        while (at <= text.size()) {
            int rc = -1;
            if (!c.marked) {
                rc = match(i, at, mc);
            } else {
                // Windows around runs of digits: a match must start within
                // kDigitReach before a digit of the run.
                std::size_t d = at;
                while (d < text.size() && !is_digit(text[d])) ++d;
                if (d == text.size()) return n;
                std::size_t last = d;
                for (std::size_t j = d + 1; j < text.size() && j - last <= kDigitReach; ++j) {
                    if (is_digit(text[j])) last = j;
                }
                std::size_t start = d > at + kDigitReach ? d - kDigitReach : at;
                pcre2_set_offset_limit(windowed, last);
                rc = match(i, start, windowed);
                if (rc < 0) {
                    at = last + 1;
                    continue;
                }
            }
            if (rc < 0) return n;  // no match, or the pattern gave up
            PCRE2_SIZE* ov = pcre2_get_ovector_pointer(data[i]);
            std::size_t vb = ov[0], ve = ov[1];
            if (rc >= 2 && ov[2] != PCRE2_UNSET) {
                vb = ov[2];
                ve = ov[3];
            }
            if (ve <= vb) {  // an empty value moves nothing: look further on
                at = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
                continue;
            }
            std::size_t label = c.label;
            if (c.marked) {
                std::string_view mark(reinterpret_cast<const char*>(pcre2_get_mark(data[i])));
                label = std::find(labels_.begin(), labels_.end(), mark) - labels_.begin();
            }
            n.found = true;
            n.start = ov[0];
            n.end = ov[1];
            n.value = VolatileMatch{vb, ve, label};
            return n;
        }
        return n;
    };

    std::vector<Next> next(patterns_.size());
    for (std::size_t i = 0; i < patterns_.size(); ++i) next[i] = search(i, 0);

    std::vector<VolatileMatch> out;
    for (;;) {
        std::size_t best = patterns_.size();
        for (std::size_t i = 0; i < patterns_.size(); ++i) {
            if (next[i].found && (best == patterns_.size() || next[i].start < next[best].start)) best = i;
        }
        if (best == patterns_.size()) break;
        out.push_back(next[best].value);
        const std::size_t pos = next[best].end;
        for (std::size_t i = 0; i < patterns_.size(); ++i) {
            if (next[i].found && next[i].start < pos) next[i] = search(i, pos);
        }
    }
    return out;
}

}  // namespace headroom
