// Input token prices by model, to put a figure in dollars on the tokens
// headroom saves. The text format, one rule a line:
//
//   # comment
//   MODEL_PREFIX   USD_PER_MILLION_INPUT_TOKENS
//
// A model takes the price of the longest prefix that matches it.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace headroom {

class Prices {
public:
    struct Rule {
        std::string prefix;
        double usd_per_mtok = 0;
    };

    // nullptr on a malformed line, with its number and why in `error`.
    static std::unique_ptr<const Prices> parse(std::string_view text, std::string& error);

    // The table shipped with headroom (conf-examples/headroom-prices.conf).
    static std::string_view built_in_text();

    // USD per million input tokens; negative when no rule matches.
    double usd_per_mtok(std::string_view model) const;

    const std::vector<Rule>& rules() const { return rules_; }

private:
    std::vector<Rule> rules_;
};

}  // namespace headroom
