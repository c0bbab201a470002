#include "core/context_window.h"

#include <algorithm>
#include <unordered_set>

#include "core/context_limits.h"
#include "core/markers.h"
#include "core/transforms/fit_window.h"
#include "core/transforms/retire_outputs.h"

namespace headroom::context_window {

namespace {

void count(Result& r, Transform t, std::size_t applied, std::size_t tokens_saved) {
    TransformCounts& c = r.by_transform[static_cast<std::size_t>(t)];
    c.applied += applied;
    c.tokens_saved += tokens_saved;
}

// Whether a marker may take the place of the output's content: one
// string, or text parts and nothing else (an image or a cache mark would
// be lost), or a structured value.
bool text_only(const json::Value& doc, const ToolOutputSite& site) {
    if (!site.content) return false;
    const json::Value* content = json::resolve(doc, *site.content);
    if (content == nullptr) return false;
    if (site.structured || content->is_string()) return true;
    if (!content->is_array() || content->items.size() != site.parts.size()) return false;
    for (const json::Value& part : content->items) {
        if (!part.is_object() || part.members.size() != 2) return false;
    }
    return true;
}

}  // namespace

std::size_t kept_from(const Turns& turns, std::size_t keep) {
    std::size_t seen = 0;
    for (std::size_t j = turns.items.size(); j-- > 0;) {
        if (turns.items[j] == Turns::Item::Opens && ++seen == keep) return j;
    }
    // Fewer turns than that: all kept, and whatever is before them.
    return 0;
}

Window::Window(const Dialect& dialect, json::Value& doc, const RequestMap& map, const Config& config,
               transforms::Measure measure, std::vector<Output>& outputs, Result& r)
    : dialect_(dialect), doc_(doc), map_(map), config_(config), measure_(std::move(measure)), outputs_(outputs),
      r_(r), marks_(outputs.size()), mark_tokens_(outputs.size(), 0), retirable_(outputs.size(), false) {
    const Settings& s = config.settings();
    for (std::size_t i = 0; i < outputs_.size(); ++i) {
        Output& o = outputs_[i];
        if (!o.original || o.protected_ || o.after < s.retire_min_tokens || !text_only(doc, map.outputs[i])) {
            continue;
        }
        markers::RetiredMarker m;
        m.tool = map.outputs[i].tool_name;
        m.tokens = o.before;
        m.first_line = o.first_line;
        if (o.id.size() != 32) o.id = markers::output_id(*o.original);
        m.id = o.id;
        m.way = std::string(config.marker_way());
        marks_[i] = markers::write_retired(m);
        mark_tokens_[i] = measure_(marks_[i]);
        // Never worse than nothing: a marker costs less than its output.
        retirable_[i] = mark_tokens_[i] < o.after;
    }
}

std::vector<bool> Window::to_retire(std::size_t after) const {
    const Settings& s = config_.settings();
    std::vector<transforms::RetireCandidate> candidates(outputs_.size());
    for (std::size_t i = 0; i < outputs_.size(); ++i) candidates[i] = {outputs_[i].after, retirable_[i]};
    transforms::RetireLimits limits;
    limits.after = after;
    limits.min_tokens = s.retire_min_tokens;
    limits.batch = s.retire_batch;
    return transforms::outputs_to_retire(candidates, limits);
}

std::size_t Window::retire_one(std::size_t i) {
    Output& o = outputs_[i];
    json::Value* content = json::resolve(doc_, *map_.outputs[i].content);
    if (content == nullptr || o.retired) return 0;
    *content = dialect_.output_value(std::move(marks_[i]));
    o.retired = true;
    // Kept once, though a crusher may have kept it already.
    const bool kept = std::any_of(r_.originals.begin(), r_.originals.end(),
                                  [&](const Original& k) { return k.id == o.id; });
    if (!kept) r_.originals.push_back(Original{o.id, std::move(*o.original)});
    const std::size_t saved = o.after - mark_tokens_[i];
    if (r_.encoding[0] != '\0') r_.tokens_after -= std::min(r_.tokens_after, saved);
    return saved;
}

void Window::retire() {
    const std::vector<bool> go = to_retire(config_.settings().retire_after);
    std::size_t retired = 0, saved = 0;
    for (std::size_t i = 0; i < go.size(); ++i) {
        if (!go[i] || outputs_[i].retired) continue;
        saved += retire_one(i);
        ++retired;
    }
    count(r_, Transform::Retire, retired, r_.encoding[0] != '\0' ? saved : 0);
}

void Window::fit(const Turns& turns, RequestTokens& tokens, bool exact_model, std::size_t extra) {
    const Settings& s = config_.settings();
    const std::optional<std::size_t> limit = context_limit(r_.model, s.context_limits);
    if (!limit) return;
    const std::size_t reserve = dialect_.max_output_tokens(doc_).value_or(s.output_reserve);
    std::size_t budget = *limit > reserve ? *limit - reserve : 0;
    // Counts of a tokenizer that is not the model's may fall short.
    if (!exact_model) budget -= static_cast<std::size_t>(static_cast<double>(budget) * s.fit_margin);
    const transforms::FitBounds bounds = transforms::fit_bounds(budget, s.fit_target);
    const std::size_t total = tokens.count(static_cast<std::size_t>(-1)) + extra;
    if (tokens.estimated()) r_.tokens_estimated = true;
    r_.fit_limit = *limit;
    r_.fit_budget = budget;
    r_.fit_tokens_before = r_.fit_tokens_after = total;
    if (total <= budget) return;

    json::Value* items = json::resolve(doc_, turns.array);
    if (items == nullptr || !items->is_array() || items->items.size() != turns.items.size()) {
        r_.fit = FitState::Failed;
        return;
    }
    // First, tool outputs, in batches, but the most recent keep_turns (an
    // agent's loop is one long turn: its old outputs go too).
    const std::vector<bool> go = to_retire(s.keep_turns);
    const std::size_t from = kept_from(turns, s.keep_turns);
    std::vector<std::size_t> gain(turns.items.size(), 0);  // by item
    std::size_t gained = 0;
    for (std::size_t i = 0; i < go.size(); ++i) {
        if (!go[i] || outputs_[i].retired) continue;
        const std::size_t g = outputs_[i].after - mark_tokens_[i];
        gain[map_.outputs[i].message_index] += g;
        gained += g;
    }
    const std::size_t retired_total = total - gained;

    // Then, if that is not enough, the oldest whole turns.
    std::vector<std::size_t> turn_of(turns.items.size(), 0);  // 1-based; 0 before the first
    std::size_t nturns = 0;
    for (std::size_t j = 0; j < turns.items.size(); ++j) {
        if (turns.items[j] == Turns::Item::Opens) ++nturns;
        turn_of[j] = nturns;
    }
    std::vector<transforms::FitTurn> fturns(nturns);
    for (std::size_t t = 0; t < nturns; ++t) fturns[t].droppable = true;
    for (std::size_t j = 0; j < turns.items.size(); ++j) {
        if (turn_of[j] == 0) continue;
        transforms::FitTurn& ft = fturns[turn_of[j] - 1];
        if (j >= from || turns.signed_thinking[j]) ft.droppable = false;
        if (turns.items[j] == Turns::Item::Pinned) continue;
        ft.tokens += tokens.count_part(items->items[j]) - std::min(gain[j], tokens.count_part(items->items[j]));
    }
    markers::DroppedMarker m;
    m.turns = 99999;
    m.tokens = 99999999;
    m.id = std::string(32, 'f');
    m.way = std::string(config_.marker_way());
    const std::size_t marker_most = measure_(markers::write_dropped(m));
    transforms::FitCut cut;
    if (retired_total > budget) {
        cut = transforms::turns_to_drop(retired_total, fturns, bounds, marker_most);
        if (!cut.fits) {
            r_.fit = FitState::Failed;  // the provider's own error says it best
            return;
        }
    }

    // What goes: items of dropped turns but pinned ones.
    std::vector<std::size_t> dropped;
    for (std::size_t j = 0; j < turns.items.size(); ++j) {
        if (turn_of[j] != 0 && cut.drop.size() >= turn_of[j] && cut.drop[turn_of[j] - 1] &&
            turns.items[j] != Turns::Item::Pinned) {
            dropped.push_back(j);
        }
    }
    std::size_t after = total;
    std::size_t retired = 0;
    for (std::size_t i = 0; i < go.size(); ++i) {
        if (!go[i] || outputs_[i].retired) continue;
        // An output of a turn that goes goes with it, as it would be sent.
        if (std::binary_search(dropped.begin(), dropped.end(), map_.outputs[i].message_index)) continue;
        after -= retire_one(i);
        ++retired;
    }
    if (!dropped.empty()) {
        // The original: the items that went, a line each, as they would
        // have been sent.
        std::string original;
        m.tokens = 0;
        for (std::size_t j : dropped) {
            if (!original.empty()) original += '\n';
            original += json::serialize(items->items[j]);
            m.tokens += tokens.count_part(items->items[j]);
        }
        after -= std::min(after, m.tokens);
        m.turns = static_cast<std::size_t>(std::count(cut.drop.begin(), cut.drop.end(), true));
        m.id = markers::output_id(original);
        std::string marker = markers::write_dropped(m);
        after += measure_(marker);
        for (std::size_t k = dropped.size(); k-- > 0;) {
            items->items.erase(items->items.begin() + static_cast<std::ptrdiff_t>(dropped[k]));
        }
        items->items.insert(items->items.begin() + static_cast<std::ptrdiff_t>(dropped.front()),
                            dialect_.user_message(std::move(marker)));
        if (std::none_of(r_.originals.begin(), r_.originals.end(), [&](const Original& k) { return k.id == m.id; })) {
            r_.originals.push_back(Original{m.id, std::move(original)});
        }
        r_.fit_turns_dropped = m.turns;
        dropped_ = true;
    }
    r_.fit = FitState::Fitted;
    r_.fit_outputs_retired = retired;
    r_.fit_tokens_after = after;
    count(r_, Transform::Fit, 1, r_.encoding[0] != '\0' ? total - std::min(total, after) : 0);
}

}  // namespace headroom::context_window
