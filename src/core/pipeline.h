// bytes -> parse -> dialect -> tool outputs -> prefix -> serialize -> bytes.
// A pure function of the request bytes, its path and the compiled
// configuration: every worker on every node gives the same output for the
// same input.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/content_kind.h"
#include "core/reason.h"
#include "core/output_cache.h"
#include "core/retrieval.h"

namespace headroom {

namespace routing {
struct Sessions;
}

enum class Outcome {
    Passthrough,  // forward the original bytes; `reason` says why
    Rewritten,    // forward `body`
    // More new work than Wants::offload_above: nothing was done; run again
    // off the event loop, without the bound.
    Offload,
};

inline constexpr std::size_t kOutcomes = 3;

// Tool outputs headroom looked at (not small, not protected), by kind.
struct KindCounts {
    std::size_t outputs = 0;
    std::size_t tokens_before = 0;  // as for Result, 0 when not counted
    std::size_t tokens_after = 0;
};

// What changed a request, for counting: each crusher by the directive that
// turns it on, and each part of prefix stabilization.
enum class Transform : unsigned char {
    MinifyJson,  // lossless JSON rewrites (minified, tables)
    CrushJson,
    CrushLogs,
    CrushSearch,
    CrushDiffs,
    MoveVolatile,
    CanonicalTools,
    CacheBreakpoints,
    PromptCacheKey,
    RetrieveTool,  // headroom_retrieve added to the tools
    RetrieveFill,  // its calls' results filled from the store
    Route,         // the model changed by headroom_route
    Retire,        // old tool outputs replaced by markers (headroom_retire)
    Fit,           // cut to fit the model's window (headroom_fit)
    Summarize,     // old turns replaced by their summary (headroom_summarize_turns)
};

inline constexpr std::size_t kTransforms = 15;

// What headroom_fit made of a request.
enum class FitState : unsigned char {
    None,    // not over its window, or its model's window unknown
    Fitted,  // over it, and cut to fit
    Failed,  // over it, and could not be cut enough: sent as it was
};

const char* transform_name(Transform t);

// applied: tool outputs rewritten (crushers), or 1 for the request (the
// prefix transforms). tokens_saved: tokens of the outputs it rewrote, before
// less after; 0 for the prefix transforms and when tokens are not counted.
struct TransformCounts {
    std::size_t applied = 0;
    std::size_t tokens_saved = 0;
};

struct Result;

// Adds to what `t` did to a request.
void count(Result& r, Transform t, std::size_t applied, std::size_t tokens_saved = 0);

// A tool output that a crusher left something out of, as it came: what
// the id in its markers names, to be kept where it can be had again.
struct Original {
    std::string id;  // 32 hex digits (markers.h)
    std::string text;
};

// A summary the store does not have yet: its id, and the body to ask the
// summarizing location with (summaries.h).
struct SummaryWanted {
    std::string id;
    std::string body;
};

struct Result {
    Outcome outcome = Outcome::Passthrough;
    Reason reason = Reason::NoChange;  // why it passed through
    std::string detail;                // free text for logs, may be empty
    const char* shape = "unknown";  // the dialect's name
    std::string body;
    std::size_t tool_outputs = 0;  // tool outputs seen
    std::size_t minified = 0;      // tool outputs minified (lossless)
    std::size_t crushed = 0;       // tool outputs with items or lines left out
    std::size_t omitted = 0;       // items and lines left out, in all outputs
    std::size_t small = 0;         // left alone: under min_tokens
    std::size_t protected_ = 0;    // left alone: a protected tool

    // Tokens of the tool outputs (the text headroom may change), as
    // received and as sent, in `encoding`; 0 when not counted.
    std::size_t tokens_before = 0;
    std::size_t tokens_after = 0;
    const char* encoding = "";      // "o200k_base", "cl100k_base", or "" (bytes)
    bool tokens_estimated = false;  // the model's tokenizer is not public

    std::array<KindCounts, kContentKinds> by_kind{};  // indexed by ContentKind
    std::array<TransformCounts, kTransforms> by_transform{};  // by Transform

    // The request's "model", as sent; empty when absent or not a string.
    std::string model;

    // The prefix every call of a session shares (model, tools, system) as
    // sent: see prefix_hash.h. Empty when the body was not understood, or
    // the hash was not wanted (Wants::prefix_hash).
    std::string prefix_hash;
    // What prefix stabilization changed.
    std::size_t volatile_moved = 0;     // distinct values moved to the note
    bool tools_sorted = false;
    std::size_t breakpoints_added = 0;  // Anthropic cache_control marks
    bool cache_key_set = false;         // OpenAI prompt_cache_key

    // Of every tool output with items or lines left out, once.
    std::vector<Original> originals;

    // Reversible compression: the tool added, and retrievals answered
    // (from an original found, or saying it is gone or out of reach).
    bool retrieve_tool_added = false;
    std::size_t fills_found = 0;
    std::size_t fills_missing = 0;
    std::size_t fills_unavailable = 0;

    // Tool outputs whose result came from the results' cache, and those
    // looked up in vain (Wants::cache; outputs too small for a key are
    // neither).
    std::size_t cache_hits = 0;
    std::size_t cache_misses = 0;

    // What determines the provider's answer (Wants::answer_key): 64 hex
    // digits of SHA-256 over the API, the path and every byte of the body
    // as sent. Empty when the body was not understood (nothing to key a
    // response cache by) or the key was not wanted.
    std::string answer_key;

    // headroom_route: the rule that decided the model (its name; "" when
    // none did), from the session's memory or the rules; the model it goes
    // to (`model` is then that one), and, where the API has the model in
    // the path, the path to send the request to ("" when unchanged). The
    // session (32 hex digits) when rules were asked; the request's input
    // tokens as sent when a rule counted them (0 when not).
    std::string route;
    bool route_remembered = false;
    std::string model_in;  // as received, when routing changed it
    std::string path_out;
    std::string session;
    std::size_t request_tokens = 0;
    // request_tokens is the whole request's count (Wants::request_tokens),
    // not one that stopped past a rule's bound.
    bool request_tokens_whole = false;

    // headroom_fit: the model's window and the request's budget in it,
    // the request's tokens before and after fitting (0 when its model's
    // window is unknown), and what went.
    FitState fit = FitState::None;
    std::size_t fit_limit = 0;
    std::size_t fit_budget = 0;
    std::size_t fit_tokens_before = 0;
    std::size_t fit_tokens_after = 0;
    std::size_t fit_turns_dropped = 0;
    std::size_t fit_outputs_retired = 0;

    // headroom_summarize: summaries taken from the store, turns replaced by
    // them (headroom_summarize_turns), and those to be asked for.
    std::size_t summaries_used = 0;
    std::size_t turns_summarized = 0;
    std::vector<SummaryWanted> summaries_wanted;
};

// What a caller asks for besides the body, per request.
struct Wants {
    // Result::prefix_hash: hashing the model, tools and system text costs
    // tens of microseconds on an agent's request, so the module asks only
    // when something reads it (stabilization needs it anyway).
    bool prefix_hash = true;
    // Where originals are kept (Settings::ccr): the results of
    // headroom_retrieve calls are filled from it. None: left as they are.
    const retrieval::Lookup* lookup = nullptr;
    // Where tool outputs' results are kept between requests. None: every
    // output is worked out.
    const output_cache::Cache* cache = nullptr;
    // The body as the client sent it, but for what changed (json::splice);
    // false: the whole body serialized again, compactly (tests compare).
    bool splice = true;
    // Bytes of tool output not in the cache past which the request is not
    // worked out here but handed back (Outcome::Offload); 0: never.
    std::size_t offload_above = 0;
    // Result::answer_key, of the body as sent, or of the body as received
    // (where the caller sends that: headroom_mode audit).
    bool answer_key = false;
    bool answer_key_of_original = false;
    // Where the routes of sessions are kept (headroom_route_zone). None:
    // each request is decided by the rules alone.
    const routing::Sessions* sessions = nullptr;
    // Names the rules' place (nginx: the server and location), so that
    // places with rules of their own keep sessions of their own.
    std::string_view session_scope;
    // The caller's store keeps this request's originals (false: no tenant
    // to keep them under). Retiring, fitting and summarizing take whole
    // outputs and turns away: without a store they do nothing.
    bool originals_kept = true;
    // Result::request_tokens, whole, when the provider's answer will not
    // say what the call used (an OpenAI stream without include_usage):
    // spend is then estimated from it.
    bool request_tokens = false;
};

// `path` is the request path without its query string. Never throws:
// every failure is a Passthrough with its reason.
Result process(std::string_view path, std::string_view body, const Config& config, Wants wants = {}) noexcept;

}  // namespace headroom
