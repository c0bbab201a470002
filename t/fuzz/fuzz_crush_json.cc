// Fuzz target: the JSON crusher on any bytes under any limits keeps its
// promise (t/unit/json_promise.h). Input: 4 parameter bytes, then the
// tool output's text.
#include <string>

#include "core/transforms/crush_json.h"
#include "fuzz.h"
#include "json_promise.h"

namespace {
const char* const kQuestions[] = {"", "which ones failed?", "is yajl installed? which version",
                                  "web-37 lambda error", "v7"};
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const headroom_fuzz::Params p(data, size, 4);
    headroom::transforms::CrushJsonLimits l;
    l.max_items = 1 + p.byte(0) % 40;
    l.keep_first = p.byte(1) % 8;
    l.keep_last = (p.byte(1) >> 3) % 8;
    l.tables = (p.byte(2) & 1) != 0;
    l.embedded = (p.byte(2) & 2) == 0;
    l.keep_top = (p.byte(2) >> 2) % 8;
    l.max_matches = p.byte(3) % 16;
    l.max_depth = 64;
    const std::string question = kQuestions[(p.byte(3) >> 4) % 5];
    const std::string text(p.rest(), p.rest_size(size));
    if (!headroom::transforms::crush_json(text, question, l)) return 0;
    json_promise::check(text, question, l);
    headroom_fuzz::fail_on_broken_promise();
    return 0;
}
