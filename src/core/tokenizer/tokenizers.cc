#include "core/tokenizer/tokenizers.h"

namespace headroom::tokenizer {

std::shared_ptr<const Tokenizers> Tokenizers::load(const std::string& dir,
                                                   std::vector<ModelRule> rules,
                                                   std::string& error, bool jit) {
    auto t = std::make_shared<Tokenizers>();
    for (const char* name : {"o200k_base", "cl100k_base"}) {
        auto e = Encoding::load(dir + "/" + name + ".tok", error, jit);
        if (e == nullptr) return nullptr;
        t->encodings_.emplace(name, std::move(e));
    }
    for (const auto& r : rules) {
        if (t->find(r.encoding) == nullptr) {
            error = "unknown encoding \"" + r.encoding + "\" (o200k_base or cl100k_base)";
            return nullptr;
        }
    }
    t->rules_ = std::move(rules);
    return t;
}

const Encoding* Tokenizers::find(std::string_view name) const {
    auto it = encodings_.find(name);
    return it == encodings_.end() ? nullptr : it->second.get();
}

Tokenizers::Pick Tokenizers::for_model(std::string_view model) const {
    EncodingChoice c = encoding_for_model(model, rules_);
    return {find(c.encoding), c.exact};
}

}  // namespace headroom::tokenizer
