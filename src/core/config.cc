#include "core/config.h"

#include <fnmatch.h>

#include "core/content_hash.h"

namespace headroom {

namespace {

// The classes fnmatch() knows inside brackets: "[[:alpha:]]".
bool known_class(std::string_view name) {
    for (std::string_view c : {"alnum", "alpha", "blank", "cntrl", "digit", "graph", "lower", "print",
                               "punct", "space", "upper", "xdigit"}) {
        if (name == c) return true;
    }
    return false;
}

}  // namespace

bool glob_is_valid(std::string_view glob) {
    for (std::size_t i = 0; i < glob.size(); ++i) {
        if (glob[i] == '\0') return false;
        if (glob[i] == '\\') {
            if (++i == glob.size()) return false;
            continue;
        }
        if (glob[i] != '[') continue;
        // "[!...]" and "[^...]" negate; a ']' first is a member.
        std::size_t j = i + 1;
        if (j < glob.size() && (glob[j] == '!' || glob[j] == '^')) ++j;
        if (j < glob.size() && glob[j] == ']') ++j;
        while (j < glob.size() && glob[j] != ']') {
            if (glob[j] == '\\') {  // escapes the next character, ']' too
                j += 2;
                continue;
            }
            // "[:alpha:]" and the like hold a ']' of their own.
            if (glob[j] == '[' && j + 1 < glob.size() &&
                (glob[j + 1] == ':' || glob[j + 1] == '.' || glob[j + 1] == '=')) {
                const char close[] = {glob[j + 1], ']', '\0'};
                std::size_t end = glob.find(close, j + 2);
                if (end == std::string_view::npos) return false;
                if (glob[j + 1] == ':' && !known_class(glob.substr(j + 2, end - j - 2))) return false;
                j = end + 2;
                continue;
            }
            ++j;
        }
        if (j >= glob.size()) return false;
        i = j;
    }
    return true;
}

std::shared_ptr<const Config> Config::compile(Settings s, std::string& error) {
    auto bounded = [&](const char* directive, std::size_t v, std::size_t lo, std::size_t hi) {
        if (v >= lo && v <= hi) return true;
        error = std::string("\"") + directive + "\" must be between " + std::to_string(lo) + " and " +
                std::to_string(hi);
        return false;
    };
    if (!bounded("headroom_json_max_items", s.json_max_items, 1, kMaxJsonItemsLimit) ||
        !bounded("headroom_json_keep_first", s.json_keep_first, 0, kMaxJsonItemsLimit) ||
        !bounded("headroom_json_keep_last", s.json_keep_last, 0, kMaxJsonItemsLimit) ||
        !bounded("headroom_json_keep_top", s.json_keep_top, 0, kMaxJsonItemsLimit) ||
        !bounded("headroom_question_max_matches", s.question_max_matches, 0, kMaxJsonItemsLimit) ||
        !bounded("headroom_diff_context", s.diff_context, 0, kMaxDiffContext)) {
        return nullptr;
    }
    if (!(s.log_values >= 0 && s.log_values <= 1)) {
        error = "\"headroom_log_values\" must be between 0 and 1";
        return nullptr;
    }
    if (s.max_decode_ratio == 0) {
        error = "\"headroom_max_decode_ratio\" must be at least 1";
        return nullptr;
    }
    if (s.max_body_size == 0 || s.max_body_size > kMaxBodySizeLimit) {
        error = "\"headroom_max_body_size\" must be greater than zero and at most 1024m";
        return nullptr;
    }
    if (s.retire && !s.ccr) {
        error = "\"headroom_retire\" needs \"headroom_ccr on\": the originals of retired outputs are kept in its store";
        return nullptr;
    }
    if (s.fit && !s.ccr) {
        error = "\"headroom_fit\" needs \"headroom_ccr on\": the originals of what it drops are kept in its store";
        return nullptr;
    }
    if (!(s.fit_margin >= 0 && s.fit_margin <= 0.5)) {
        error = "\"headroom_fit_margin\" must be between 0% and 50%";
        return nullptr;
    }
    if (!(s.fit_target >= 0.1 && s.fit_target <= 0.95)) {
        error = "\"headroom_fit_target\" must be between 10% and 95%";
        return nullptr;
    }
    if (s.keep_turns == 0) {
        error = "\"headroom_keep_turns\" must be at least 1: the newest turn is the question";
        return nullptr;
    }
    for (const auto& [prefix, limit] : s.context_limits) {
        if (prefix.empty() || limit == 0) {
            error = "\"headroom_context_limit\" takes a model prefix and a number of tokens above 0";
            return nullptr;
        }
    }
    if (s.summarize && !s.ccr) {
        error = "\"headroom_summarize\" needs \"headroom_ccr on\": summaries and what they stand for are kept in its store";
        return nullptr;
    }
    if (s.summarize_turns && !s.summarize) {
        error = "\"headroom_summarize_turns\" needs \"headroom_summarize\": the location that summarizes";
        return nullptr;
    }
    if (s.summarize_turns && (s.summarize_after == 0 || s.summarize_batch == 0)) {
        error = "\"headroom_summarize_turns\" takes after=N and batch=T of at least 1";
        return nullptr;
    }
    if (s.summarize && (s.summarize_model.empty() || s.summarize_model.size() > 256)) {
        error = "\"headroom_summarize\" takes model=NAME of 1 to 256 bytes";
        return nullptr;
    }
    if (s.retire && s.retire_batch == 0) {
        error = "\"headroom_retire\" takes batch=N of at least 1 token";
        return nullptr;
    }
    for (const std::string& glob : s.protect_tools) {
        if (glob.empty() || !glob_is_valid(glob)) {
            error = "\"headroom_protect_tools\" takes glob patterns; \"" + glob + "\" is not one";
            return nullptr;
        }
    }
    return std::shared_ptr<const Config>(new Config(std::move(s)));
}

// Every setting a crusher reads, and this build: a module built again may
// crush differently, and a reload keeps the zone that caches results.
Config::Config(Settings s) : settings_(std::move(s)) {
    const Settings& c = settings_;
    std::string all = "headroom results 1 " __DATE__ " " __TIME__;
    for (std::size_t n : {c.max_depth, c.json_max_items, c.json_keep_first, c.json_keep_last, c.json_keep_top,
                          c.question_max_matches, c.diff_context, c.min_tokens, c.max_body_size}) {
        all += ' ' + std::to_string(n);
    }
    for (bool b : {c.minify_tool_json, c.crush_json, c.json_tables, c.crush_logs, c.crush_search, c.crush_diffs,
                   c.exact_counts, c.retire || c.fit}) {
        all += b ? " 1" : " 0";
    }
    all += ' ' + std::to_string(c.log_values);
    for (const std::string& glob : c.protect_tools) all += " " + std::to_string(glob.size()) + ":" + glob;
    all += " way:";
    all += marker_way();
    fingerprint_ = sha256_hex(all, 64);
}

bool Config::protects(std::string_view tool) const {
    if (tool.empty() || settings_.protect_tools.empty()) return false;
    std::string name(tool);  // fnmatch wants it NUL-terminated
    for (const std::string& glob : settings_.protect_tools) {
        if (fnmatch(glob.c_str(), name.c_str(), 0) == 0) return true;
    }
    return false;
}

std::string_view Config::marker_way() const {
    if (!settings_.ccr) return {};
    // Without the tool in the request, the ways that need none.
    return settings_.ccr_tool ? "headroom_retrieve" : "MCP headroom_retrieve or ccr endpoint";
}

}  // namespace headroom
