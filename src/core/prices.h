// Token prices by model, to put a figure in dollars on the tokens headroom
// saves and on what a call cost. The text format, one rule a line:
//
//   # comment
//   MODEL_PREFIX  INPUT [CACHED_INPUT CACHE_WRITE OUTPUT]
//
// in USD per million tokens. A model takes the prices of the longest
// prefix that matches it. A line with the input price only puts a figure
// on savings, not on a call.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace headroom {

class Prices {
public:
    struct Rule {
        std::string prefix;
        double usd_per_mtok = 0;  // input
        bool full = false;        // the three prices below are known
        double cached_input = 0, cache_write = 0, output = 0;
    };

    // nullptr on a malformed line, with its number and why in `error`.
    static std::unique_ptr<const Prices> parse(std::string_view text, std::string& error);

    // The table shipped with headroom (conf-examples/headroom-prices.conf).
    static std::string_view built_in_text();

    // USD per million input tokens; negative when no rule matches.
    double usd_per_mtok(std::string_view model) const;

    // What a call of `model` cost in USD: `input` tokens in all, of which
    // `cached` were read from the provider's cache and `cache_write`
    // written to it, and `output`. Negative when no rule matches or the
    // rule gives the input price only.
    double cost_usd(std::string_view model, std::uint64_t input, std::uint64_t cached, std::uint64_t cache_write,
                    std::uint64_t output) const;

    const std::vector<Rule>& rules() const { return rules_; }

private:
    const Rule* rule_for(std::string_view model) const;
    std::vector<Rule> rules_;
};

}  // namespace headroom
