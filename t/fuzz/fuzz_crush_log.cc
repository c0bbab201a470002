// Fuzz target: the log crusher on any text under any limits keeps its
// promises (t/unit/log_promise.h). Input: 3 parameter bytes, then the
// tool output's text.
#include <string>

#include "core/transforms/crush_log.h"
#include "fuzz.h"
#include "log_promise.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const headroom_fuzz::Params p(data, size, 3);
    headroom::transforms::CrushLogLimits l;
    l.min_lines = 2 + p.byte(0) % 40;
    l.keep_first = p.byte(1) % 8;
    l.keep_last = 1 + (p.byte(1) >> 3) % 8;
    l.values_share = (p.byte(2) % 11) / 10.0;
    const std::string text(p.rest(), p.rest_size(size));
    if (!headroom::transforms::crush_log(text, l)) return 0;
    log_promise::check(text, l);
    headroom_fuzz::fail_on_broken_promise();
    return 0;
}
