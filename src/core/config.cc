#include "core/config.h"

#include <fnmatch.h>

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
    if (s.max_body_size == 0) {
        error = "\"headroom_max_body_size\" must be greater than zero";
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
