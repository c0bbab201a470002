#include "core/transforms/fit_window.h"

#include <algorithm>

namespace headroom::transforms {

FitBounds fit_bounds(std::size_t budget, double target_share) {
    FitBounds b;
    b.budget = budget;
    b.target = static_cast<std::size_t>(static_cast<double>(budget) * std::min(target_share, 0.95));
    return b;
}

std::size_t quanta_over(std::size_t total, const FitBounds& b) {
    if (total <= b.budget) return 0;
    const std::size_t q = std::max<std::size_t>(b.quantum(), 1);
    return (total - b.budget + q - 1) / q;
}

FitCut turns_to_drop(std::size_t total, const std::vector<FitTurn>& turns, const FitBounds& b, std::size_t marker) {
    FitCut cut;
    cut.drop.assign(turns.size(), false);
    const std::size_t over = quanta_over(total, b);
    if (over == 0) {
        cut.fits = true;
        return cut;
    }
    const std::size_t need = (over + 1) * std::max<std::size_t>(b.quantum(), 1);
    for (std::size_t i = 0; i < turns.size() && cut.dropped < need; ++i) {
        if (!turns[i].droppable) continue;
        cut.drop[i] = true;
        cut.dropped += turns[i].tokens;
    }
    const std::size_t left = total - std::min(total, cut.dropped) + (cut.dropped > 0 ? marker : 0);
    cut.fits = left <= b.budget;
    if (!cut.fits) {
        cut.drop.assign(turns.size(), false);
        cut.dropped = 0;
    }
    return cut;
}

}  // namespace headroom::transforms
