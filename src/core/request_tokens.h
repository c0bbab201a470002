// The input tokens of a whole request as headroom sends it, for routing
// (headroom_route if-tokens): every string value, tool outputs as the
// output pass counted them; JSON keys and punctuation are not counted (a
// few tokens a message, which a rule's bound need not care about).
//
// Work only on what is new: an agent's turn N resends turns 1..N-1, so
// the count of each part of the request (a message, the tool list, the
// system text) of 2 KB and more is kept in the results' cache under a
// digest of its strings; and counting stops once past what any rule asks.
#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>

#include "core/json.h"
#include "core/output_cache.h"

namespace headroom {

namespace tokenizer {
class Encoding;
}

class RequestTokens {
public:
    // Strings whose size is known already (tool outputs, as the output
    // pass counted them: an output's size on its first string, 0 on the
    // others) and that size. `encoding` nullptr: bytes stand in for
    // tokens. Large strings are estimated from samples unless `exact`.
    using Known = std::unordered_map<const std::string*, std::size_t>;
    RequestTokens(const json::Value& doc, const tokenizer::Encoding* encoding, const output_cache::Cache* cache,
                  bool exact, Known known);

    // The count, or some number past `enough` once the count is past it.
    // A whole count is kept: asked again, it is the answer.
    std::size_t count(std::size_t enough);
    bool whole() const { return whole_; }
    bool estimated() const { return estimated_; }
    // What count() last gave; 0 before.
    std::size_t counted() const { return counted_; }

    // One part of the request (an item of one of its arrays, or a member's
    // value), counted once however often asked.
    std::size_t count_part(const json::Value& part);

    // The same, as routing::Facts::count takes it.
    static std::size_t count_of(void* self, std::size_t enough) {
        return static_cast<RequestTokens*>(self)->count(enough);
    }

private:
    std::size_t count_unit(const json::Value& unit);
    // Its tokens (or bytes); `estimated` set when counted from samples.
    std::size_t size_of(std::string_view text, bool& estimated) const;

    const json::Value& doc_;
    const tokenizer::Encoding* encoding_;
    const output_cache::Cache* cache_;
    bool exact_;
    Known known_;
    std::unordered_map<const json::Value*, std::size_t> parts_;
    bool estimated_ = false;
    std::size_t counted_ = 0;
    bool whole_ = false;
};

}  // namespace headroom
