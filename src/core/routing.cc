#define PCRE2_CODE_UNIT_WIDTH 8
#include "core/routing.h"

#include <fnmatch.h>
#include <pcre2.h>

#include <algorithm>
#include <new>

#include "core/config.h"
#include "core/content_hash.h"
#include "core/pcre2_message.h"

namespace headroom::routing {

namespace {

// Backtracking bound per match: a pathological pattern fails to match
// rather than hold a worker.
constexpr std::uint32_t kMatchLimit = 100000;

// Names show in variables, logs and JSON as they are.
bool valid_name(std::string_view name) {
    if (name.empty() || name.size() > 64 || name == kNone) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
               c == '-' || c == '.';
    });
}

// A model name goes into JSON and, for Gemini, into the path.
bool valid_model(std::string_view model) {
    if (model.empty() || model.size() > 256) return false;
    return std::all_of(model.begin(), model.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
               c == '-' || c == '.' || c == '/' || c == '@' || c == ':';
    });
}

bool known_api(std::string_view api) {
    for (std::string_view a : {"openai_chat", "openai_responses", "anthropic_messages", "gemini"}) {
        if (api == a) return true;
    }
    return false;
}


}  // namespace

Rules::~Rules() {
    for (void* re : regexes_) pcre2_code_free(static_cast<pcre2_code*>(re));
    pcre2_match_context_free(static_cast<pcre2_match_context*>(match_context_));
}

std::shared_ptr<const Rules> Rules::compile(std::vector<Rule> rules, std::string& error, bool jit) {
    std::shared_ptr<Rules> r(new Rules);
    auto* mc = pcre2_match_context_create(nullptr);
    if (mc == nullptr) throw std::bad_alloc();
    pcre2_set_match_limit(mc, kMatchLimit);
    r->match_context_ = mc;
    for (const Rule& rule : rules) {
        auto refuse = [&](const std::string& why) {
            error = "rule \"" + rule.name + "\": " + why;
            return nullptr;
        };
        if (!valid_name(rule.name)) {
            error = "\"" + rule.name + "\" is not a rule name (letters, digits, '_', '-', '.'; 1 to 64; not \"-\")";
            return nullptr;
        }
        for (const Rule& other : r->rules_) {
            if (other.name == rule.name) return refuse("defined twice");
        }
        if (!valid_model(rule.to)) return refuse("to=\"" + rule.to + "\" is not a model name");
        if (!rule.model.empty() && !glob_is_valid(rule.model)) {
            return refuse("if-model=\"" + rule.model + "\" is not a glob pattern");
        }
        if (!rule.api.empty() && !known_api(rule.api)) {
            return refuse("if-api=\"" + rule.api +
                          "\" is none of openai_chat, openai_responses, anthropic_messages, gemini");
        }
        pcre2_code* re = nullptr;
        if (!rule.text.empty()) {
            int code = 0;
            PCRE2_SIZE offset = 0;
            re = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(rule.text.data()), rule.text.size(), PCRE2_UTF,
                               &code, &offset, nullptr);
            if (re == nullptr) {
                return refuse("if-text=\"" + rule.text + "\": " + pcre2_message(code) + " at offset " +
                              std::to_string(offset));
            }
            if (jit) pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
        }
        r->regexes_.push_back(re);
        r->rules_.push_back(rule);
        r->any_sticky_ = r->any_sticky_ || rule.sticky;
        r->any_not_sticky_ = r->any_not_sticky_ || !rule.sticky;
        if (rule.tokens_op != Rule::Tokens::Any) r->most_tokens_ = std::max(r->most_tokens_, rule.tokens);
    }
    return r;
}

const Rule* Rules::named(std::string_view name) const {
    for (const Rule& r : rules_) {
        if (r.name == name) return &r;
    }
    return nullptr;
}

// The cheap conditions first; tokens last, counted once for all rules.
bool Rules::matches(std::size_t i, const Facts& f, std::optional<std::size_t>& tokens) const {
    const Rule& rule = rules_[i];
    if (!rule.api.empty() && rule.api != f.api) return false;
    if (!rule.model.empty()) {
        std::string model(f.model);  // fnmatch wants it NUL-terminated
        if (fnmatch(rule.model.c_str(), model.c_str(), 0) != 0) return false;
    }
    if (rule.tools != Rule::Tools::Any && (rule.tools == Rule::Tools::Yes) != f.tools) return false;
    if (regexes_[i] != nullptr) {
        auto* re = static_cast<pcre2_code*>(regexes_[i]);
        pcre2_match_data* md = pcre2_match_data_create_from_pattern(re, nullptr);
        if (md == nullptr) throw std::bad_alloc();
        const int rc = pcre2_match(re, reinterpret_cast<PCRE2_SPTR>(f.newest_user_text.data()),
                                   f.newest_user_text.size(), 0, 0, md,
                                   static_cast<pcre2_match_context*>(match_context_));
        pcre2_match_data_free(md);
        if (rc < 0) return false;  // no match, or the match limit
    }
    if (rule.tokens_op != Rule::Tokens::Any) {
        // Counted past the largest bound at most: past it, every "<" is
        // false and every ">" true.
        if (!tokens) tokens = f.count != nullptr ? f.count(f.count_data, most_tokens_ + 1) : 0;
        if (rule.tokens_op == Rule::Tokens::Below ? *tokens >= rule.tokens : *tokens <= rule.tokens) return false;
    }
    return true;
}

const Rule* Rules::first_match(const Facts& facts) const {
    std::optional<std::size_t> tokens;
    for (std::size_t i = 0; i < rules_.size(); ++i) {
        if (matches(i, facts, tokens)) return &rules_[i];
    }
    return nullptr;
}

std::string session_of_kept(std::string_view scope, std::string_view model, std::string_view kept) {
    return sha256_hex_framed({"headroom kept session 1", scope, model, kept}, 32);
}

Decision decide(const Rules& rules, const Facts& facts, std::string_view session, const Sessions* sessions) {
    Decision d;
    if (!rules.any_sticky()) sessions = nullptr;
    // Rules a session cannot hold come first; then the session.
    const Rule* match = nullptr;
    bool matched = false;
    if (rules.any_not_sticky()) {
        match = rules.first_match(facts);
        matched = true;
        if (match != nullptr && !match->sticky) {
            d.rule = match;
            return d;
        }
    }
    if (sessions != nullptr) {
        if (std::optional<std::string> kept = sessions->get(session)) {
            if (*kept == kNone) {
                d.remembered = true;
                return d;
            }
            // A rule since removed, or made sticky=off: decided again.
            if (const Rule* r = rules.named(*kept); r != nullptr && r->sticky) {
                d.rule = r;
                d.remembered = true;
                return d;
            }
        }
    }
    d.rule = matched ? match : rules.first_match(facts);
    if (sessions != nullptr && (d.rule == nullptr || d.rule->sticky)) {
        sessions->put(session, d.rule != nullptr ? std::string_view(d.rule->name) : kNone);
        d.remember = true;
    }
    return d;
}

}  // namespace headroom::routing
