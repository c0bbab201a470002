// The encodings a process loads once at start-up, and the rules that pick
// one for a request's model.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/tokenizer/encoding.h"
#include "core/tokenizer/models.h"

namespace headroom::tokenizer {

class Tokenizers {
public:
    // Loads DIR/o200k_base.tok and DIR/cl100k_base.tok. Rules naming any
    // other encoding are refused. `jit` as Encoding::load.
    static std::shared_ptr<const Tokenizers> load(const std::string& dir,
                                                  std::vector<ModelRule> rules, std::string& error,
                                                  bool jit = true);

    struct Pick {
        const Encoding* encoding;
        bool exact;  // false: an estimate for a model whose tokenizer is not public
    };
    Pick for_model(std::string_view model) const;

    const Encoding* find(std::string_view name) const;

private:
    std::map<std::string, std::shared_ptr<const Encoding>, std::less<>> encodings_;
    std::vector<ModelRule> rules_;
};

}  // namespace headroom::tokenizer
