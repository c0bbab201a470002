// Which encoding a model name uses: prefix rules, the longest prefix wins,
// configured rules before the built-in ones.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace headroom::tokenizer {

struct ModelRule {
    std::string prefix;    // "gpt-4o", "ft:gpt-4"
    std::string encoding;  // "o200k_base"
};

struct EncodingChoice {
    std::string_view encoding;
    bool exact;  // false: the model's own tokenizer is not public; estimated
};

// OpenAI models map to their encoding. Others (Claude, Gemini, ...) get
// o200k_base as an estimate, marked inexact.
EncodingChoice encoding_for_model(std::string_view model, const std::vector<ModelRule>& overrides);

}  // namespace headroom::tokenizer
