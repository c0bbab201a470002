// headroom_fit: which of a conversation's oldest turns go so that the
// request fits its model's window. A cut goes down to the target, well
// under the budget, so that the turns after it fit without another; and
// how much is cut is a pure function of the request, counted in whole
// quanta (the budget less the target) of excess, so that every turn until
// the request outgrows another quantum cuts exactly the same turns.
#pragma once

#include <cstddef>
#include <vector>

namespace headroom::transforms {

struct FitBounds {
    std::size_t budget = 0;  // tokens a request may have
    std::size_t target = 0;  // what a cut goes down to; under the budget
    std::size_t quantum() const { return budget - target; }
};

// The bounds of a request that may have `budget` tokens: the target is
// `target_share` (at most 95%) of it.
FitBounds fit_bounds(std::size_t budget, double target_share);

// How many quanta `total` is over the budget: 0 when it fits.
std::size_t quanta_over(std::size_t total, const FitBounds& b);

// One turn, oldest first: its tokens (the items that may go) and whether
// it may go at all.
struct FitTurn {
    std::size_t tokens = 0;
    bool droppable = false;
};

struct FitCut {
    std::vector<bool> drop;      // by turn
    std::size_t dropped = 0;     // their tokens
    bool fits = false;           // what is left, with the marker, is in budget
};

// Over by k quanta, the oldest droppable turns go until (k + 1) quanta
// have gone: what is left is then at most the target. When even every
// droppable turn is not that much, they all go if that fits; else nothing
// goes (fits is false). `marker` is what the note of what went costs.
FitCut turns_to_drop(std::size_t total, const std::vector<FitTurn>& turns, const FitBounds& b, std::size_t marker);

}  // namespace headroom::transforms
