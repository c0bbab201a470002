// tiktoken's regex engine uses Unicode 16.0 tables; Debian's PCRE2 10.42
// has older ones. This rewrites a pattern so that PCRE2 matches what the
// reference matches: each \p{X} also takes the code points Unicode 16 added
// to X, and \s is spelled out as Unicode 16's White_Space (PCRE2's still
// has U+180E, which Unicode dropped).
// The differences come from unicode_delta.inc (src/core/tokenizer/unicode/
// generate); t/06-tokenizer.t proves the result against tiktoken itself.
#pragma once

#include <string>
#include <string_view>

namespace headroom::tokenizer {

// The aligned pattern; false with `error` set for a construct it does not
// know how to align (the pattern is then not used).
bool align_unicode(std::string_view pattern, std::string& out, std::string& error);

}  // namespace headroom::tokenizer
