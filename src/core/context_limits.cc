#include "core/context_limits.h"

#include "core/text.h"

namespace headroom {

const ContextLimits& shipped_context_limits() {
    // Published context windows (input and output together), as of 2026.
    static const ContextLimits table = {
        {"gpt-3.5-turbo", 16385},
        {"gpt-4", 8192},
        {"gpt-4-32k", 32768},
        {"gpt-4-turbo", 128000},
        {"gpt-4o", 128000},
        {"gpt-4.1", 1047576},
        {"gpt-4.5", 128000},
        {"gpt-5", 400000},
        {"o1", 200000},
        {"o1-mini", 128000},
        {"o3", 200000},
        {"o3-mini", 200000},
        {"o4-mini", 200000},
        {"codex-mini", 200000},
        {"claude-", 200000},
        {"gemini-1.5-flash", 1048576},
        {"gemini-1.5-pro", 2097152},
        {"gemini-2.0-flash", 1048576},
        {"gemini-2.5-", 1048576},
        {"gemini-3", 1048576},
    };
    return table;
}

namespace {

std::optional<std::size_t> longest(std::string_view model, const ContextLimits& table) {
    std::optional<std::size_t> found;
    std::size_t best = 0;
    for (const auto& [prefix, limit] : table) {
        if (prefix.size() >= best && starts_with(model, prefix)) {
            best = prefix.size();
            found = limit;
        }
    }
    return found;
}

}  // namespace

std::optional<std::size_t> context_limit(std::string_view model, const ContextLimits& operators) {
    if (auto n = longest(model, operators)) return n;
    return longest(model, shipped_context_limits());
}

}  // namespace headroom
