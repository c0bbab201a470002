#include "core/context_window.h"

#include <algorithm>

#include "core/context_limits.h"
#include "core/markers.h"
#include "core/summaries.h"
#include "core/transforms/fit_window.h"
#include "core/transforms/retire_outputs.h"

namespace headroom::context_window {

namespace {

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
               transforms::Measure measure, std::vector<Output>& outputs, const std::optional<Turns>& turns,
               const retrieval::Lookup* lookup, Result& r)
    : dialect_(dialect), doc_(doc), map_(map), config_(config), measure_(std::move(measure)), outputs_(outputs),
      turns_(turns), lookup_(lookup), r_(r), marks_(outputs.size()), mark_tokens_(outputs.size(), 0),
      retirable_(outputs.size(), false) {
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

json::Value* Window::items() {
    if (!turns_) return nullptr;
    json::Value* items = json::resolve(doc_, turns_->array);
    if (items == nullptr || !items->is_array() || items->items.size() != turns_->items.size()) return nullptr;
    return items;
}

std::size_t Window::number_turns(std::vector<std::size_t>& turn_of) const {
    turn_of.assign(turns_->items.size(), 0);
    std::size_t n = 0;
    for (std::size_t j = 0; j < turns_->items.size(); ++j) {
        if (turns_->items[j] == Turns::Item::Opens) ++n;
        turn_of[j] = n;
    }
    return n;
}

std::optional<std::size_t> Window::retire_one(std::size_t i) {
    Output& o = outputs_[i];
    if (o.retired || o.gone) return std::nullopt;
    json::Value* content = json::resolve(doc_, *map_.outputs[i].content);
    if (content == nullptr) return std::nullopt;
    *content = dialect_.output_value(std::move(marks_[i]));
    o.retired = true;
    keep_original(o.id, std::move(*o.original));
    const std::size_t saved = o.after - mark_tokens_[i];
    if (r_.encoding[0] != '\0') r_.tokens_after -= std::min(r_.tokens_after, saved);
    return saved;
}

void Window::retire() {
    const Settings& s = config_.settings();
    const std::vector<bool> go = to_retire(outputs_.size(), s.retire_after, s.retire_batch);
    std::size_t retired = 0, saved = 0;
    for (std::size_t i = 0; i < go.size(); ++i) {
        if (!go[i]) continue;
        if (auto n = retire_one(i)) {
            saved += *n;
            ++retired;
        }
    }
    count(r_, Transform::Retire, retired, r_.encoding[0] != '\0' ? saved : 0);
}

void Window::keep_original(const std::string& id, std::string text) {
    // Once, though a crusher may have kept it already.
    const bool kept = std::any_of(r_.originals.begin(), r_.originals.end(),
                                  [&](const Original& k) { return k.id == id; });
    if (!kept) r_.originals.push_back(Original{id, std::move(text)});
}

std::string Window::original_of(const std::vector<std::size_t>& span) {
    json::Value* list = items();
    std::string original;
    for (std::size_t j : span) {
        if (!original.empty()) original += '\n';
        original += json::serialize(list->items[j]);
    }
    return original;
}

void Window::replace_span(const std::vector<std::size_t>& span, std::string text) {
    json::Value* list = items();
    if (gone_.empty()) gone_.assign(list->items.size(), false);
    for (std::size_t k = 0; k < span.size(); ++k) {
        list->items[span[k]] = k == 0 ? dialect_.user_message(std::move(text)) : json::Value{};
        if (k > 0) gone_[span[k]] = true;
    }
    for (std::size_t i = 0; i < outputs_.size(); ++i) {
        if (std::binary_search(span.begin(), span.end(), map_.outputs[i].message_index)) outputs_[i].gone = true;
    }
}

std::string Window::summary_of(const std::string& id, const std::string& original) {
    const Settings& s = config_.settings();
    if (!s.summarize || lookup_ == nullptr) return {};
    const std::string sid = summaries::summary_id(s.summarize_model, id);
    const retrieval::Stored stored = (*lookup_)(sid);
    if (stored.state == retrieval::Stored::State::Found && !stored.text.empty()) {
        ++r_.summaries_used;
        return std::string(stored.text);
    }
    const bool asked = std::any_of(r_.summaries_wanted.begin(), r_.summaries_wanted.end(),
                                   [&](const SummaryWanted& w) { return w.id == sid; });
    if (!asked) r_.summaries_wanted.push_back(SummaryWanted{sid, summaries::request_body(s.summarize_model, original)});
    return {};
}

void Window::summarize_turns(RequestTokens& tokens) {
    const Settings& s = config_.settings();
    json::Value* list = items();
    if (list == nullptr) return;
    std::vector<std::size_t> turn_of;
    const std::size_t nturns = number_turns(turn_of);
    if (nturns <= s.summarize_after) return;
    const std::size_t old = nturns - s.summarize_after;  // turns 1..old may go

    // Each old turn's tokens and items. (Only the current turn's thinking
    // signatures are checked: older turns' thinking may go.)
    count_raw(tokens);
    std::vector<std::size_t> size(old + 1, 0);
    std::vector<std::vector<std::size_t>> members(old + 1);
    for (std::size_t j = 0; j < turns_->items.size(); ++j) {
        const std::size_t t = turn_of[j];
        if (t == 0 || t > old || turns_->items[j] == Turns::Item::Pinned) continue;
        size[t] += raw_items_[j];
        members[t].push_back(j);
    }
    std::size_t old_tokens = 0;
    for (std::size_t t = 1; t <= old; ++t) old_tokens += size[t];
    const std::size_t batch = std::max<std::size_t>(s.summarize_batch, 1);
    const std::size_t boundary = old_tokens / batch * batch;

    // Spans: the turns that begin in one batch, while before the boundary.
    std::size_t start = 0, replaced = 0, saved = 0;
    std::size_t t = 1;
    while (t <= old && start < boundary) {
        const std::size_t span_batch = start / batch;
        std::vector<std::size_t> span;
        std::size_t span_turns = 0, span_tokens = 0;
        while (t <= old && start < boundary && start / batch == span_batch) {
            span.insert(span.end(), members[t].begin(), members[t].end());
            span_tokens += size[t];
            start += size[t];
            ++span_turns;
            ++t;
        }
        if (span.empty()) continue;
        const std::string original = original_of(span);
        markers::DroppedMarker m;
        m.turns = span_turns;
        m.tokens = span_tokens;
        m.id = markers::output_id(original);
        m.way = std::string(config_.marker_way());
        m.summary = summary_of(m.id, original);
        if (m.summary.empty()) continue;  // until the store has it
        std::string text = markers::write_dropped(m);
        const std::size_t cost = measure_(text);
        if (cost >= span_tokens) continue;  // never worse than nothing
        keep_original(m.id, original);
        replace_span(span, std::move(text));
        replaced += span_turns;
        saved += span_tokens - cost;
    }
    r_.turns_summarized = replaced;
    count(r_, Transform::Summarize, replaced, r_.encoding[0] != '\0' ? saved : 0);
}

std::vector<bool> Window::to_retire(std::size_t n, std::size_t after, std::size_t batch) const {
    std::vector<transforms::RetireCandidate> candidates(n);
    for (std::size_t i = 0; i < n; ++i) candidates[i] = {outputs_[i].after, retirable_[i]};
    transforms::RetireLimits limits;
    limits.after = after;
    limits.min_tokens = config_.settings().retire_min_tokens;
    limits.batch = batch;
    return transforms::outputs_to_retire(candidates, limits);
}

void Window::count_raw(RequestTokens& tokens) {
    if (!raw_items_.empty()) return;
    json::Value* list = items();
    if (list == nullptr) return;
    raw_items_.resize(list->items.size());
    for (std::size_t j = 0; j < list->items.size(); ++j) raw_items_[j] = tokens.count_part(list->items[j]);
    // What headroom_retire took is counted back in: as it came from the
    // crushers.
    for (std::size_t i = 0; i < outputs_.size(); ++i) {
        if (outputs_[i].retired) raw_items_[map_.outputs[i].message_index] += outputs_[i].after - mark_tokens_[i];
    }
}

// How many of the oldest turns a request of the first `end` items cuts, as
// fitting works it out from sizes that only grow (as the crushers left the
// outputs, before any retiring or summary): its tool outputs retired in
// batches first, then its oldest whole turns, in quanta of excess.
std::optional<std::size_t> Window::cut_of(std::size_t end, const Fitting& f) const {
    const Settings& s = config_.settings();
    const std::size_t total = f.base + f.cum_raw[end];
    if (total <= f.bounds.budget) return 0;
    std::size_t outs = 0;  // outputs of the first `end` items
    while (outs < outputs_.size() && map_.outputs[outs].message_index < end) ++outs;
    std::vector<bool> go = to_retire(outs, s.keep_turns, f.batch);
    if (s.retire) {
        const std::vector<bool> also = to_retire(outs, s.retire_after, s.retire_batch);
        for (std::size_t i = 0; i < outs; ++i) go[i] = go[i] || also[i];
    }
    std::vector<std::size_t> gain(end, 0);
    std::size_t gained = 0;
    for (std::size_t i = 0; i < outs; ++i) {
        if (!go[i]) continue;
        gain[map_.outputs[i].message_index] += outputs_[i].after - mark_tokens_[i];
        gained += outputs_[i].after - mark_tokens_[i];
    }
    if (total - std::min(total, gained) <= f.bounds.budget) return 0;

    // The turns of those items; the last keep_turns of them stay.
    std::size_t nturns = end > 0 ? f.turn_of[end - 1] : 0;
    const std::size_t droppable = nturns > s.keep_turns ? nturns - s.keep_turns : 0;
    std::vector<transforms::FitTurn> turns(droppable);
    for (std::size_t j = 0; j < end; ++j) {
        const std::size_t t = f.turn_of[j];
        if (t == 0 || t > droppable || turns_->items[j] == Turns::Item::Pinned) continue;
        turns[t - 1].droppable = true;
        turns[t - 1].tokens += f.raw[j] - std::min(gain[j], f.raw[j]);
    }
    const transforms::FitCut cut = transforms::turns_to_drop(total - gained, turns, f.bounds, f.marker);
    if (!cut.fits) return std::nullopt;
    return static_cast<std::size_t>(std::count(cut.drop.begin(), cut.drop.end(), true));
}

void Window::fit(RequestTokens& tokens, bool exact_model, std::size_t extra) {
    const Settings& s = config_.settings();
    const std::optional<std::size_t> limit = context_limit(r_.model, s.context_limits);
    json::Value* list = items();
    if (!limit || list == nullptr) return;
    const std::size_t reserve = dialect_.max_output_tokens(doc_).value_or(s.output_reserve);
    std::size_t budget = *limit > reserve ? *limit - reserve : 0;
    const std::size_t total = tokens.count(static_cast<std::size_t>(-1)) + extra;
    if (tokens.estimated()) r_.tokens_estimated = true;
    // Counts of a tokenizer that is not the model's, or from samples, may
    // fall short.
    if (!exact_model || tokens.estimated()) {
        budget -= static_cast<std::size_t>(static_cast<double>(budget) * s.fit_margin);
    }
    r_.fit_limit = *limit;
    r_.fit_budget = budget;
    r_.fit_tokens_before = r_.fit_tokens_after = total;

    // What every turn works out alike: sizes before retiring and summaries,
    // which only grow as the conversation does.
    Fitting f;
    count_raw(tokens);
    f.raw = raw_items_;
    f.cum_raw.assign(f.raw.size() + 1, 0);
    std::size_t items_now = 0;
    for (std::size_t j = 0; j < f.raw.size(); ++j) {
        f.cum_raw[j + 1] = f.cum_raw[j] + f.raw[j];
        items_now += tokens.count_part(list->items[j]);
    }
    f.base = total - std::min(total, items_now);
    f.bounds = transforms::fit_bounds(budget, s.fit_target);
    // Outputs go in batches no larger than a quantum: a small window gains
    // from retiring too.
    f.batch = std::max<std::size_t>(std::min(s.retire_batch, f.bounds.quantum()), 1);
    number_turns(f.turn_of);
    markers::DroppedMarker m;
    m.turns = 99999;
    m.tokens = 99999999;
    m.id = std::string(32, 'f');
    m.way = std::string(config_.marker_way());
    f.marker = measure_(markers::write_dropped(m));
    const std::size_t n = f.raw.size();
    if (f.base + f.cum_raw[n] <= budget) return;

    // The cut: the largest any earlier request of the conversation (each
    // place a request may have ended: before a user's message, after a tool
    // output) made, and this one's, so that a turn, once dropped, stays
    // dropped. A request that cannot fit at all is sent as it is.
    const std::optional<std::size_t> own = cut_of(n, f);
    if (!own) {
        r_.fit = FitState::Failed;  // the provider's own error says it best
        return;
    }
    std::size_t cut = *own;
    std::vector<bool> ends(n + 1, false);
    for (std::size_t j = 0; j + 1 < n; ++j) ends[j + 1] = turns_->items[j + 1] == Turns::Item::Opens;
    for (const ToolOutputSite& site : map_.outputs) ends[std::min(site.message_index + 1, n)] = true;
    for (std::size_t e = 1; e < n; ++e) {
        if (!ends[e] || f.base + f.cum_raw[e] <= budget) continue;
        if (auto c = cut_of(e, f)) cut = std::max(cut, *c);
    }

    // What goes: the items of the first `cut` turns but pinned ones and
    // those gone already; the outputs retired in batches, but theirs.
    std::vector<std::size_t> dropped;
    for (std::size_t j = 0; j < n; ++j) {
        const bool gone = !gone_.empty() && gone_[j];
        if (f.turn_of[j] != 0 && f.turn_of[j] <= cut && !gone && turns_->items[j] != Turns::Item::Pinned) {
            dropped.push_back(j);
        }
    }
    const std::vector<bool> go = to_retire(outputs_.size(), s.keep_turns, f.batch);
    std::size_t after = total;
    std::size_t retired = 0;
    for (std::size_t i = 0; i < go.size(); ++i) {
        if (!go[i] || std::binary_search(dropped.begin(), dropped.end(), map_.outputs[i].message_index)) continue;
        if (auto saved = retire_one(i)) {
            after -= std::min(after, *saved);
            ++retired;
        }
    }
    if (!dropped.empty()) {
        // The original: the items that went, a line each.
        const std::string original = original_of(dropped);
        m.tokens = 0;
        for (std::size_t j : dropped) m.tokens += tokens.count_part(list->items[j]);
        after -= std::min(after, m.tokens);
        m.turns = cut;
        m.id = markers::output_id(original);
        m.summary = summary_of(m.id, original);
        std::string marker = markers::write_dropped(m);
        if (!m.summary.empty() && after + measure_(marker) > budget) {
            m.summary.clear();  // a summary that does not fit is not sent
            marker = markers::write_dropped(m);
        }
        after += measure_(marker);
        keep_original(m.id, original);
        replace_span(dropped, std::move(marker));
        r_.fit_turns_dropped = cut;
    }
    r_.fit = FitState::Fitted;
    r_.fit_outputs_retired = retired;
    r_.fit_tokens_after = after;
    count(r_, Transform::Fit, 1, r_.encoding[0] != '\0' ? total - std::min(total, after) : 0);
}

void Window::finish() {
    json::Value* list = items();
    if (list == nullptr || gone_.empty()) return;
    std::size_t kept = 0;
    for (std::size_t j = 0; j < list->items.size(); ++j) {
        if (gone_[j]) continue;
        if (kept != j) list->items[kept] = std::move(list->items[j]);
        ++kept;
    }
    list->items.resize(kept);
}

}  // namespace headroom::context_window
