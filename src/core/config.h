// Everything the core's output depends on besides the request bytes.
// Settings are the directives' values, every default in this one place;
// a Config is Settings checked and compiled once (per nginx location), then
// shared read-only by every request that runs with it.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/context_limits.h"

namespace headroom {

namespace tokenizer {
class Tokenizers;
}
class VolatilePatterns;
namespace routing {
class Rules;
}

// Bounds that Config::compile enforces (the nginx glue names the directive).
inline constexpr std::size_t kMaxJsonItemsLimit = 100000;  // json_max_items, keep_first, keep_last
inline constexpr std::size_t kMaxDiffContext = 100;
// Offsets into a body are 32-bit (spans, the tokenizer's parts).
inline constexpr std::size_t kMaxBodySizeLimit = std::size_t(1) << 30;

struct Settings {
    // Larger bodies go upstream as they came (the nginx glue's cap; the
    // core refuses them too).
    std::size_t max_body_size = 32 * 1024 * 1024;  // Anthropic's request limit
    // A compressed body decodes to this many times its compressed size at
    // most (and to max_body_size at most): bombs stop at the cap.
    std::size_t max_decode_ratio = 100;
    // Deeper documents pass through: bounds the parser's and serializer's
    // recursion (and stack) on hostile input.
    std::size_t max_depth = 512;
    bool minify_tool_json = true;
    // Lossy: long arrays in JSON outputs keep what an answer needs.
    bool crush_json = true;
    std::size_t json_max_items = 30;
    std::size_t json_keep_first = 5;
    std::size_t json_keep_last = 3;
    // Ranked results (a score-like field) keep their best this many.
    std::size_t json_keep_top = 5;
    // Lossless: arrays of like objects as tables, when that saves tokens.
    bool json_tables = true;
    // Lossy: log lines fold by template.
    bool crush_logs = true;
    // A fold lists the values of the fields that vary when they cost at
    // most this share of the lines it replaces (0 to 1).
    double log_values = 0.3;
    // Lossy: search results keep each file's first and last matches.
    bool crush_search = true;
    // Lossy: diffs keep every change and a little context.
    bool crush_diffs = true;
    std::size_t diff_context = 3;  // unchanged lines kept beside a change
    // Items and lines that match the question are kept, this many at most
    // in an output (the best by BM25 past it).
    std::size_t question_max_matches = 50;
    // Tool outputs smaller than this (in tokens, or bytes without
    // tokenizers) are left as they are: too little to gain.
    std::size_t min_tokens = 200;
    // Outputs of tools whose name matches one of these globs (fnmatch) are
    // never changed.
    std::vector<std::string> protect_tools;
    // Prefix stabilization, so that the provider's prompt cache hits: off
    // unless stabilize_prefix, then each part on unless turned off.
    bool stabilize_prefix = false;
    // System and developer text: values that change from call to call move
    // to a labelled note at the end. Needs volatile_patterns.
    bool move_volatile = true;
    std::shared_ptr<const VolatilePatterns> volatile_patterns;
    // Tools sorted by name, their keys by name.
    bool canonical_tools = true;
    // Anthropic: cache_control breakpoints when the request has none.
    bool cache_breakpoints = true;
    // OpenAI: prompt_cache_key (the prefix hash) when the request has none.
    bool prompt_cache_key = true;
    // Reversible compression: the originals of what is crushed are kept
    // (by the caller's store) and every marker says how to get them back.
    bool ccr = false;
    // With ccr: requests that define tools get headroom_retrieve too, and
    // its calls' error results are filled from the store.
    bool ccr_tool = true;
    // Large tool outputs (16 KB and more) are counted from samples where
    // that decides as well as a full count would: those no crusher changes,
    // and those whose rewrite is plainly smaller. Their figures are then
    // estimates (Result::tokens_estimated). true: every count exact.
    bool exact_counts = false;
    // Every size decision is made in tokens of the request's model. Without
    // tokenizers (tests, tools), bytes stand in and no tokens are reported.
    std::shared_ptr<const tokenizer::Tokenizers> tokenizers;
    // headroom_retire: tool outputs older than the retire_after most recent
    // are replaced by a marker, their originals kept by the store (so it
    // needs ccr), in batches of retire_batch tokens at least
    // (transforms/retire_outputs.h); outputs under retire_min_tokens stay.
    bool retire = false;
    std::size_t retire_after = 0;
    std::size_t retire_min_tokens = 100;
    std::size_t retire_batch = 16384;
    // headroom_fit: a request over its model's window (its context limit,
    // less the output reserve, less fit_margin where counts are estimates)
    // is cut down in quanta (transforms/fit_window.h): old tool outputs
    // retired, then the oldest whole turns dropped but the last keep_turns;
    // their originals kept by the store (so it needs ccr).
    bool fit = false;
    ContextLimits context_limits;  // the operator's, before the shipped table
    std::size_t output_reserve = 4096;  // where the request sets no maximum
    double fit_margin = 0.05;
    std::size_t keep_turns = 2;
    double fit_target = 0.75;  // of the budget: what a cut goes down to
    // headroom_summarize: turns that go are summarized by `summarize_model`
    // (the summaries kept in the store, asked for by the caller: see
    // summaries.h); with summarize_turns, turns older than the
    // summarize_after most recent are replaced by their summaries in
    // batches of summarize_batch tokens even when the request fits.
    bool summarize = false;
    std::string summarize_model = "gpt-4o-mini";
    bool summarize_turns = false;
    std::size_t summarize_after = 4;
    std::size_t summarize_batch = 16384;
    // headroom_route: the rules, in order; none: no routing. Not part of
    // the fingerprint: no tool output's result depends on them.
    std::shared_ptr<const routing::Rules> routes;
};

// A glob fnmatch() reads as its author meant: every '[' opens a bracket
// expression that closes, and no '\' ends it.
bool glob_is_valid(std::string_view glob);

class Config {
public:
    // nullptr when a value is out of bounds, with the reason (naming the
    // directive) in `error`.
    static std::shared_ptr<const Config> compile(Settings settings, std::string& error);

    const Settings& settings() const { return settings_; }

    // The tool's outputs are never changed (headroom_protect_tools).
    bool protects(std::string_view tool) const;

    // What markers say before the id: how to get the original back; ""
    // where originals are not kept.
    std::string_view marker_way() const;

    // 64 hex digits naming everything a tool output's result depends on
    // besides the output, its question and its tool, this build's code
    // included: the results' cache (output_cache.h) keys by it.
    const std::string& fingerprint() const { return fingerprint_; }

private:
    explicit Config(Settings s);
    Settings settings_;
    std::string fingerprint_;
};

}  // namespace headroom
