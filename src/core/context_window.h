// The context window of a conversation: old tool outputs retired
// (headroom_retire) and requests over their model's window fitted
// (headroom_fit), once the output pass has left each output as it would
// be sent. Which outputs and turns go is a pure function of the request
// (transforms/retire_outputs.h, transforms/fit_window.h); here they are
// replaced by their markers and their originals kept.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/dialect/dialect.h"
#include "core/pipeline.h"
#include "core/request_tokens.h"
#include "core/transforms/crushed.h"

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
};

// The first item of the last `keep` turns; items.size() when none.
std::size_t kept_from(const Turns& turns, std::size_t keep);

class Window {
public:
    // `outputs` is in the order of map.outputs.
    Window(const Dialect& dialect, json::Value& doc, const RequestMap& map, const Config& config,
           transforms::Measure measure, std::vector<Output>& outputs, Result& r);

    // headroom_retire: the old outputs, in batches; counted as retire.
    void retire();

    // headroom_fit, for the model `r.model` whose counts are exact or not:
    // `tokens` counts the request as it is (outputs as sent), `extra`
    // what will be added to it yet. Counted as fit, or said failed.
    void fit(const Turns& turns, RequestTokens& tokens, bool exact_model, std::size_t extra);

    // Turns went: the items after them (and their strings) moved.
    bool dropped() const { return dropped_; }

private:
    std::vector<bool> to_retire(std::size_t after) const;
    // Replaces the output's content by its marker; the tokens it saved.
    std::size_t retire_one(std::size_t i);

    const Dialect& dialect_;
    json::Value& doc_;
    const RequestMap& map_;
    const Config& config_;
    transforms::Measure measure_;
    std::vector<Output>& outputs_;
    Result& r_;
    // Each output's marker and its size, where it may be retired.
    std::vector<std::string> marks_;
    std::vector<std::size_t> mark_tokens_;
    std::vector<bool> retirable_;
    bool dropped_ = false;
};

}  // namespace headroom::context_window
