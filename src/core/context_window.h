// The context window of a conversation: old turns summarized
// (headroom_summarize_turns), old tool outputs retired (headroom_retire)
// and requests over their model's window fitted (headroom_fit), once the
// output pass has left each output as it would be sent. Which outputs and
// turns go is a pure function of the request (transforms/retire_outputs.h,
// transforms/fit_window.h); here they are replaced by their markers (or
// summaries, where the store has them) and their originals kept.
//
// Items of the conversation that go are replaced where they are (by the
// marker, or a null to be erased), so that every output's path holds until
// finish() erases them.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/dialect/dialect.h"
#include "core/pipeline.h"
#include "core/request_tokens.h"
#include "core/retrieval.h"
#include "core/transforms/crushed.h"
#include "core/transforms/fit_window.h"

namespace headroom::context_window {

// A tool output as the output pass left it.
struct Output {
    std::size_t before = 0;  // tokens as received
    std::size_t after = 0;   // as it would be sent
    bool protected_ = false;
    std::string id;          // its original's, where worked out already
    // As received, kept where it may go (crushing replaces the texts), and
    // what its marker shows of it.
    std::optional<std::string> original;
    std::string first_line;
    bool retired = false;
    bool gone = false;  // with its turn, summarized or dropped
};

// The first item of the last `keep` turns; 0 when there are no more.
std::size_t kept_from(const Turns& turns, std::size_t keep);

class Window {
public:
    // `outputs` is in the order of map.outputs; `turns` the conversation's
    // items (none where it has no list); `lookup` the store summaries are
    // kept in (none: no summaries).
    Window(const Dialect& dialect, json::Value& doc, const RequestMap& map, const Config& config,
           transforms::Measure measure, std::vector<Output>& outputs, const std::optional<Turns>& turns,
           const retrieval::Lookup* lookup, Result& r);

    // headroom_summarize_turns: the old turns, in batches, each batch
    // replaced by its summary where the store has it (else asked for).
    void summarize_turns(RequestTokens& tokens);

    // headroom_retire: the old outputs, in batches; counted as retire.
    void retire();

    // headroom_fit, for the model `r.model` whose counts are exact or not:
    // `tokens` counts the request as it is (outputs as sent), `extra`
    // what will be added to it yet. Counted as fit, or said failed.
    void fit(RequestTokens& tokens, bool exact_model, std::size_t extra);

    // Erases what went. Every output's path is stale from here on.
    void finish();

    // Items went (or will, at finish()): strings of the request moved.
    bool changed_items() const { return !gone_.empty(); }

private:
    // Which of the first `n` outputs go, retired `after` / `batch` (by their
    // sizes as the crushers left them, whatever went since: a summary or a
    // cut does not move a batch's bounds).
    std::vector<bool> to_retire(std::size_t n, std::size_t after, std::size_t batch) const;
    // `text` kept under `id` in Result::originals, once.
    void keep_original(const std::string& id, std::string text);
    // Each item's tokens as the crushers left it (raw_items_), once.
    void count_raw(RequestTokens& tokens);
    // What fitting works out once for every request point.
    struct Fitting {
        std::vector<std::size_t> raw, cum_raw, turn_of;
        std::size_t base = 0;    // the request but its conversation, and what is to be added
        std::size_t batch = 0;   // outputs retired at once
        std::size_t marker = 0;  // what the marker costs at most
        transforms::FitBounds bounds;
    };
    // How many turns a request of the first `end` items cuts; nullopt when
    // it cannot fit.
    std::optional<std::size_t> cut_of(std::size_t end, const Fitting& f) const;
    // Replaces the output's content by its marker; the tokens it saved, or
    // nullopt where it is not there to replace.
    std::optional<std::size_t> retire_one(std::size_t i);
    // The conversation's array, when it is still as `turns` says.
    json::Value* items();
    // Each item's turn, 1-based (0: before the first); their count.
    std::size_t number_turns(std::vector<std::size_t>& turn_of) const;
    // `span` (ascending item indices) goes: its first item becomes a user
    // message saying `text`, the others are erased at finish(); the outputs
    // in it go too.
    void replace_span(const std::vector<std::size_t>& span, std::string text);
    // The items of `span` a line each, as they would be sent.
    std::string original_of(const std::vector<std::size_t>& span);
    // The summary of the span whose original is `id`, from the store; else
    // asked for (Result::summaries_wanted) and "".
    std::string summary_of(const std::string& id, const std::string& original);

    const Dialect& dialect_;
    json::Value& doc_;
    const RequestMap& map_;
    const Config& config_;
    transforms::Measure measure_;
    std::vector<Output>& outputs_;
    const std::optional<Turns>& turns_;
    const retrieval::Lookup* lookup_;
    Result& r_;
    // Each output's marker and its size, where it may be retired.
    std::vector<std::string> marks_;
    std::vector<std::size_t> mark_tokens_;
    std::vector<bool> retirable_;
    std::vector<bool> gone_;  // by item, once any went
    std::vector<std::size_t> raw_items_;  // by item, once counted
};

}  // namespace headroom::context_window
