// Fuzz target: the search-result crusher on any text keeps the line
// promise (lines_promise.h). Input: 2 parameter bytes, then the text.
#include <string>

#include "core/transforms/crush_search.h"
#include "fuzz.h"
#include "lines_promise.h"

namespace {
const char* const kQuestions[] = {"", "where is parse_header called", "TODO", "error 42"};
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const headroom_fuzz::Params p(data, size, 2);
    headroom::transforms::CrushSearchLimits l;
    l.min_lines = 2 + p.byte(0) % 32;
    l.keep_first = p.byte(1) % 4;
    l.keep_last = (p.byte(1) >> 2) % 4;
    l.max_matches = (p.byte(1) >> 4) % 8;
    const std::string question = kQuestions[(p.byte(0) >> 5) % 4];
    const std::string text(p.rest(), p.rest_size(size));
    auto r = headroom::transforms::crush_search(text, question, l);
    if (!r) return 0;
    auto again = headroom::transforms::crush_search(text, question, l);
    lines_promise::check(text, r->text, again ? again->text : std::string(), r->omitted);
    headroom_fuzz::fail_on_broken_promise();
    return 0;
}
