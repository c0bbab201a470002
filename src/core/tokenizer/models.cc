#include "core/tokenizer/models.h"

#include "core/text.h"

namespace headroom::tokenizer {

namespace {

struct BuiltIn {
    const char* prefix;
    const char* encoding;
};

// From tiktoken's model table (model names and prefixes).
const BuiltIn kRules[] = {
    {"gpt-5", "o200k_base"},      {"gpt-4.5", "o200k_base"},    {"gpt-4.1", "o200k_base"},
    {"gpt-4o", "o200k_base"},     {"chatgpt-4o", "o200k_base"}, {"gpt-oss", "o200k_base"},
    {"o1", "o200k_base"},         {"o3", "o200k_base"},         {"o4", "o200k_base"},
    {"codex", "o200k_base"},      {"ft:gpt-4o", "o200k_base"},  {"ft:gpt-4.1", "o200k_base"},
    {"gpt-4", "cl100k_base"},     {"gpt-3.5", "cl100k_base"},   {"gpt-35", "cl100k_base"},
    {"ft:gpt-4", "cl100k_base"},  {"ft:gpt-3.5", "cl100k_base"},
    {"text-embedding-3", "cl100k_base"}, {"text-embedding-ada-002", "cl100k_base"},
};

}  // namespace

EncodingChoice encoding_for_model(std::string_view model, const std::vector<ModelRule>& overrides) {
    const ModelRule* best = nullptr;
    for (const auto& r : overrides) {
        if (starts_with(model, r.prefix) && (best == nullptr || r.prefix.size() > best->prefix.size())) {
            best = &r;
        }
    }
    if (best != nullptr) return {best->encoding, true};

    const BuiltIn* built = nullptr;
    std::size_t len = 0;
    for (const auto& r : kRules) {
        std::string_view p = r.prefix;
        if (starts_with(model, p) && p.size() > len) {
            built = &r;
            len = p.size();
        }
    }
    if (built != nullptr) return {built->encoding, true};
    return {"o200k_base", false};
}

}  // namespace headroom::tokenizer
