// Fuzz target: the diff crusher on any text keeps the line promise
// (lines_promise.h) and never leaves out an added or removed line.
// Input: 1 parameter byte, then the text.
#include <string>

#include "core/transforms/crush_diff.h"
#include "fuzz.h"
#include "lines_promise.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const headroom_fuzz::Params p(data, size, 1);
    headroom::transforms::CrushDiffLimits l;
    l.min_lines = 2 + p.byte(0) % 32;
    l.context = (p.byte(0) >> 5) % 8;
    const std::string text(p.rest(), p.rest_size(size));
    auto r = headroom::transforms::crush_diff(text, l);
    if (!r) return 0;
    auto again = headroom::transforms::crush_diff(text, l);
    lines_promise::check(text, r->text, again ? again->text : std::string(), r->omitted);
    // Only context goes: every line that starts with + or - is sent.
    auto changes = [](const std::string& t) {
        std::size_t n = 0;
        for (const auto& l : lines_of(t)) n += !l.empty() && (l[0] == '+' || l[0] == '-');
        return n;
    };
    EXPECT_EQ(changes(text), changes(r->text)) << "an added or removed line was left out";
    headroom_fuzz::fail_on_broken_promise();
    return 0;
}
