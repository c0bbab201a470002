// headroom_retire: old tool outputs replaced by a marker that says what
// each was and how to get it back (markers::write_retired), the originals
// kept in the store. Which outputs go is a pure function of the request,
// and moves in batches: an output, once retired, stays retired on every
// later turn, and the retired part changes (busting the provider's prompt
// cache from there on) once per batch of `batch` tokens, never every turn.
#pragma once

#include <cstddef>
#include <vector>

namespace headroom::transforms {

struct RetireLimits {
    std::size_t after = 0;       // the most recent outputs that stay
    std::size_t min_tokens = 0;  // smaller outputs stay
    std::size_t batch = 16384;   // tokens retired at once, at least
};

// One tool output, in request order: its size as it would be sent, and
// whether it may go at all (not protected, not a retrieval's answer,
// nothing in it but text, its marker smaller than it).
struct RetireCandidate {
    std::size_t tokens = 0;
    bool retirable = false;
};

// Which outputs go. The outputs that may go and are at least min_tokens
// are counted in request order from the conversation's start; of them,
// those older than the `after` most recent outputs hold some tokens, of
// which the whole batches are retired: every output that begins before
// the last batch boundary they reach. A later turn resends the same
// outputs and adds some, so it retires the same ones and maybe more.
std::vector<bool> outputs_to_retire(const std::vector<RetireCandidate>& outputs, const RetireLimits& limits);

}  // namespace headroom::transforms
