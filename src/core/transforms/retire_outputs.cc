#include "core/transforms/retire_outputs.h"

namespace headroom::transforms {

std::vector<bool> outputs_to_retire(const std::vector<RetireCandidate>& outputs, const RetireLimits& limits) {
    std::vector<bool> retire(outputs.size(), false);
    if (outputs.size() <= limits.after || limits.batch == 0) return retire;
    const std::size_t old = outputs.size() - limits.after;  // outputs [0, old) are old enough
    auto counts = [&](const RetireCandidate& c) { return c.retirable && c.tokens >= limits.min_tokens; };

    std::size_t old_tokens = 0;
    for (std::size_t i = 0; i < old; ++i) {
        if (counts(outputs[i])) old_tokens += outputs[i].tokens;
    }
    // The last whole batch boundary the old outputs reach.
    const std::size_t boundary = old_tokens / limits.batch * limits.batch;
    std::size_t before = 0;  // tokens of the outputs that count, before this one
    for (std::size_t i = 0; i < old && before < boundary; ++i) {
        if (!counts(outputs[i])) continue;
        retire[i] = true;
        before += outputs[i].tokens;
    }
    return retire;
}

}  // namespace headroom::transforms
