#include "core/pipeline.h"

#include <algorithm>
#include <new>
#include <optional>

#include "core/content_kind.h"
#include "core/dialect/dialect.h"
#include "core/json.h"
#include "core/json_path.h"
#include "core/markers.h"
#include "core/prefix_hash.h"
#include "core/tokenizer/tokenizers.h"
#include "core/tokenizer/utf8.h"
#include "core/transforms/canonical_tools.h"
#include "core/transforms/crush_diff.h"
#include "core/transforms/crush_json.h"
#include "core/transforms/crush_log.h"
#include "core/transforms/crush_search.h"
#include "core/transforms/fill_retrievals.h"
#include "core/transforms/minify_json.h"
#include "core/transforms/move_volatile.h"

namespace headroom {

const char* transform_name(Transform t) {
    switch (t) {
    case Transform::MinifyJson: return "minify_json";
    case Transform::CrushJson: return "crush_json";
    case Transform::CrushLogs: return "crush_logs";
    case Transform::CrushSearch: return "crush_search";
    case Transform::CrushDiffs: return "crush_diffs";
    case Transform::MoveVolatile: return "move_volatile";
    case Transform::CanonicalTools: return "canonical_tools";
    case Transform::CacheBreakpoints: return "cache_breakpoints";
    case Transform::PromptCacheKey: return "prompt_cache_key";
    case Transform::RetrieveTool: return "retrieve_tool";
    case Transform::RetrieveFill: return "retrieve_fill";
    }
    return "unknown";
}

namespace {

// The crusher that made a rewrite of this kind; lossless JSON rewrites
// (minified, tables) are told from lossy ones by what they left out.
Transform transform_of(ContentKind kind, std::size_t omitted) {
    switch (kind) {
    case ContentKind::Json: return omitted > 0 ? Transform::CrushJson : Transform::MinifyJson;
    case ContentKind::Diff: return Transform::CrushDiffs;
    case ContentKind::Search: return Transform::CrushSearch;
    default: return Transform::CrushLogs;
    }
}

void count(Result& r, Transform t, std::size_t applied, std::size_t tokens_saved = 0) {
    TransformCounts& c = r.by_transform[static_cast<std::size_t>(t)];
    c.applied += applied;
    c.tokens_saved += tokens_saved;
}

Result passthrough(Result r, Reason reason, std::string detail = {}) {
    r.outcome = Outcome::Passthrough;
    r.reason = reason;
    r.detail = std::move(detail);
    r.body.clear();
    r.by_transform = {};  // nothing was applied
    r.originals.clear();  // nor anything left out
    return r;
}

Reason reason_of(json::ParseError e) {
    switch (e) {
    case json::ParseError::TooDeep: return Reason::TooDeep;
    case json::ParseError::LoneSurrogate: return Reason::LoneSurrogate;
    case json::ParseError::OutOfMemory: return Reason::OutOfMemory;
    default: return Reason::InvalidJson;
    }
}

// A candidate rewrite of one text, and the crusher's kind.
struct Candidate {
    ContentKind kind = ContentKind::Text;
    std::optional<transforms::Crushed> crushed;
};

// What the crushers did to one tool output's texts.
class Pieces {
public:
    // A text a crusher looked at, and its kind.
    void looked_at(ContentKind kind, std::size_t tokens) {
        if (tokens > largest_) {
            largest_ = tokens;
            largest_kind_ = kind;
        }
    }
    // A rewrite kept: its kind, what it left out, what it saved.
    void add(ContentKind kind, std::size_t omitted, std::size_t saved) {
        list_.push_back(Piece{kind, omitted, saved});
        omitted_ += omitted;
    }
    bool empty() const { return list_.empty(); }
    std::size_t omitted() const { return omitted_; }
    void clear() {
        list_.clear();
        omitted_ = 0;
    }
    // The output's kind: the one that saved the most, or else the largest
    // text looked at, or JSON.
    ContentKind kind() const {
        ContentKind kind = largest_kind_;
        std::size_t most = 0;
        for (const Piece& p : list_) {
            if (p.saved > most) {
                most = p.saved;
                kind = p.kind;
            }
        }
        return kind;
    }

private:
    struct Piece {
        ContentKind kind;
        std::size_t omitted, saved;
    };
    std::vector<Piece> list_;
    std::size_t omitted_ = 0;
    std::size_t largest_ = 0;
    ContentKind largest_kind_ = ContentKind::Json;
};

// The request's tool outputs, one at a time.
class OutputPass {
public:
    OutputPass(const Config& config, Result& r, const tokenizer::Encoding* encoding)
        : s_(config.settings()), config_(config), r_(r), encoding_(encoding) {}

    std::size_t size_of(std::string_view text) const { return encoding_ ? encoding_->count(text) : text.size(); }

    void text_output(json::Value& doc, const ToolOutputSite& site, std::string_view question);
    void structured_output(json::Value& doc, const ToolOutputSite& site, std::string_view question);

private:
    // Detection decides the one crusher that may touch a text: JSON by
    // parsing it, the rest by its lines (split once, here). Listings, code
    // and text get none.
    Candidate crush(const std::string& text, std::string_view question, const transforms::Origin& origin) const;

    void count_kind(ContentKind kind, std::size_t before, std::size_t after) {
        KindCounts& k = r_.by_kind[static_cast<std::size_t>(kind)];
        ++k.outputs;
        if (encoding_ != nullptr) {
            k.tokens_before += before;
            k.tokens_after += after;
        }
    }

    void count_tokens(std::size_t before, std::size_t after) {
        if (encoding_ == nullptr) return;
        r_.tokens_before += before;
        r_.tokens_after += after;
    }

    transforms::Measure measure() const {
        return transforms::Measure{[this](std::string_view t) { return size_of(t); },
                                   encoding_ ? encoding_->max_token_bytes() : 1};
    }

    transforms::CrushJsonLimits json_limits() const {
        transforms::CrushJsonLimits limits;
        limits.max_items = s_.json_max_items;
        limits.keep_first = s_.json_keep_first;
        limits.keep_last = s_.json_keep_last;
        limits.keep_top = s_.json_keep_top;
        limits.max_matches = s_.question_max_matches;
        limits.max_depth = s_.max_depth;
        limits.tables = s_.json_tables;
        limits.measure = measure();
        return limits;
    }

    // Counts one output looked at: crushed or minified, by its kind; the
    // crusher of its kind gets the whole saving, so that the transforms'
    // savings add up.
    void settle(const Pieces& pieces, std::size_t before, std::size_t after) {
        const ContentKind kind = pieces.kind();
        if (!pieces.empty()) {
            if (pieces.omitted() > 0) {
                ++r_.crushed;
                r_.omitted += pieces.omitted();
            } else {
                ++r_.minified;
            }
            count(r_, transform_of(kind, pieces.omitted()), 1, encoding_ ? before - after : 0);
        }
        count_kind(kind, before, after);
        count_tokens(before, after);
    }

    // An original given back is never crushed again.
    bool protects(const ToolOutputSite& site) const {
        return site.tool_name == retrieval::kToolName || config_.protects(site.tool_name);
    }

    // Left alone for its size or its tool; true when so.
    bool left_alone(std::size_t before, const ToolOutputSite& site) {
        if (before < s_.min_tokens) {
            ++r_.small;
            return true;
        }
        if (protects(site)) {
            ++r_.protected_;
            return true;
        }
        return false;
    }

    const Settings& s_;
    const Config& config_;
    Result& r_;
    const tokenizer::Encoding* encoding_;
};

Candidate OutputPass::crush(const std::string& text, std::string_view question,
                            const transforms::Origin& origin) const {
    const transforms::Measure measure = this->measure();
    Candidate c;
    if (json::opens_object_or_array(text) && (s_.crush_json || s_.minify_tool_json)) {
        if (s_.crush_json) {
            if (auto j = transforms::crush_json(text, question, json_limits(), origin)) c.crushed = std::move(*j);
        } else if (auto m = transforms::minify_json(text, s_.max_depth)) {
            c.crushed = transforms::Crushed{std::move(*m), 0, {}};
        }
        if (c.crushed) {
            c.kind = ContentKind::Json;
            return c;
        }
    }
    const transforms::Lines lines = transforms::split_lines(text);
    c.kind = classify_lines(lines);
    switch (c.kind) {
    case ContentKind::Diff:
        if (s_.crush_diffs) {
            transforms::CrushDiffLimits limits;
            limits.context = s_.diff_context;
            limits.measure = measure;
            c.crushed = transforms::crush_diff(text, lines, limits, origin);
        }
        break;
    case ContentKind::Search:
        if (s_.crush_search) {
            transforms::CrushSearchLimits limits;
            limits.max_matches = s_.question_max_matches;
            limits.measure = measure;
            c.crushed = transforms::crush_search(text, lines, question, limits, origin);
        }
        break;
    case ContentKind::Log:
        if (s_.crush_logs) {
            transforms::CrushLogLimits limits;
            limits.values_share = s_.log_values;
            limits.max_matches = s_.question_max_matches;
            limits.measure = measure;
            c.crushed = transforms::crush_log(text, lines, question, limits, origin);
        }
        break;
    default: break;
    }
    return c;
}

// An output of one string or of text parts: one tool output, whose parts
// are each looked at on its own. The rewrites wait until every part has
// been, so that the output's id (of all its parts joined, made once) is
// made of what came.
void OutputPass::text_output(json::Value& doc, const ToolOutputSite& site, std::string_view question) {
    std::vector<std::string*> texts;
    for (const json::Path& p : site.parts) {
        json::Value* v = json::resolve(doc, p);
        if (v != nullptr && v->is_string()) texts.push_back(&v->text);
    }
    if (texts.empty()) return;
    ++r_.tool_outputs;
    auto whole = [&texts] {
        std::string all;
        for (const std::string* t : texts) all += *t;
        return all;
    };
    std::string id;
    auto make_id = [&]() -> std::string {
        if (id.empty()) id = markers::output_id(texts.size() == 1 ? std::string_view(*texts[0]) : whole());
        return id;
    };

    std::vector<std::size_t> before(texts.size());
    std::size_t total_before = 0;
    bool large = false;
    for (std::size_t k = 0; k < texts.size(); ++k) {
        before[k] = size_of(*texts[k]);
        total_before += before[k];
        large = large || before[k] >= s_.min_tokens;
    }
    if (!large || protects(site)) {
        ++(large ? r_.protected_ : r_.small);
        count_tokens(total_before, total_before);
        return;
    }

    struct Rewrite {
        std::size_t part;
        std::string text;
    };
    std::vector<Rewrite> rewrites;
    Pieces pieces;
    std::size_t total_after = total_before, line_offset = 0;
    for (std::size_t k = 0; k < texts.size(); ++k) {
        const std::string& text = *texts[k];
        const std::size_t lines_here = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
        if (before[k] >= s_.min_tokens) {
            Candidate c = crush(text, question, transforms::Origin(make_id, line_offset, config_.marker_way()));
            pieces.looked_at(c.kind, before[k]);
            // A rewrite is kept only with strictly fewer tokens.
            const std::size_t size = c.crushed ? size_of(c.crushed->text) : before[k];
            if (size < before[k]) {
                pieces.add(c.kind, c.crushed->omitted, before[k] - size);
                total_after -= before[k] - size;
                rewrites.push_back(Rewrite{k, std::move(c.crushed->text)});
            }
        }
        line_offset += lines_here;
    }
    if (pieces.omitted() > 0) {
        // The original, once, under the id its markers carry.
        r_.originals.push_back(Original{make_id(), texts.size() == 1 ? *texts[0] : whole()});
    }
    for (Rewrite& w : rewrites) texts[w.part]->swap(w.text);
    settle(pieces, total_before, total_after);
}

// Every string of `v`, at any depth.
template <typename F>
void for_each_string(json::Value& v, F&& f) {
    if (v.is_string()) {
        f(v.text);
    } else if (v.is_array()) {
        for (json::Value& item : v.items) for_each_string(item, f);
    } else if (v.is_object()) {
        for (json::Member& m : v.members) for_each_string(m.value, f);
    }
}

// A structured output (Gemini's functionResponse.response): one tool
// output whose tokens are those of its compact JSON. The value itself is
// crushed as JSON (long arrays sampled, like objects as tables); then
// every string in it is a text of its own, crushed by its kind, with the
// string's own id.
void OutputPass::structured_output(json::Value& doc, const ToolOutputSite& site, std::string_view question) {
    json::Value* v = json::resolve(doc, site.value);
    if (v == nullptr) return;
    ++r_.tool_outputs;
    const std::string received = json::serialize(*v);
    const std::size_t before = size_of(received);
    if (left_alone(before, site)) {
        count_tokens(before, before);
        return;
    }

    Pieces pieces;
    std::vector<Original> originals;
    std::optional<json::Value> kept;  // the value as it came, while it may change

    // The value as JSON: long arrays sampled, arrays of like objects as
    // tables (lossless). Its strings are left to the texts' pass below.
    if (s_.crush_json) {
        transforms::CrushJsonLimits limits = json_limits();
        limits.embedded = false;
        auto j = transforms::crush_json(received, question, limits,
                                        transforms::Origin::of(received, config_.marker_way()));
        if (j) {
            const std::size_t size = size_of(j->text);
            json::ParseResult parsed = json::parse(j->text, s_.max_depth);
            if (size < before && parsed.ok()) {
                kept = std::move(*v);
                *v = std::move(parsed.value);
                pieces.add(ContentKind::Json, j->omitted, before - size);
                if (j->omitted > 0) originals.push_back(Original{j->id, received});
            }
        }
    }
    for_each_string(*v, [&](std::string& text) {
        // Fewer bytes than the floor is fewer tokens too: not even counted.
        if (text.size() < s_.min_tokens) return;
        const std::size_t text_before = size_of(text);
        if (text_before < s_.min_tokens) return;
        Candidate c = crush(text, question, transforms::Origin::of(text, config_.marker_way()));
        pieces.looked_at(c.kind, text_before);
        if (!c.crushed) return;
        const std::size_t size = size_of(c.crushed->text);
        if (size >= text_before) return;
        if (!kept) kept = *v;
        pieces.add(c.kind, c.crushed->omitted, text_before - size);
        if (c.crushed->omitted > 0) originals.push_back(Original{c.crushed->id, text});
        text.swap(c.crushed->text);
    });

    std::size_t after = before;
    if (!pieces.empty()) {
        after = size_of(json::serialize(*v));
        if (after >= before) {  // escaping can undo a string's saving
            *v = std::move(*kept);
            after = before;
            pieces.clear();
            originals.clear();
        }
    }
    for (Original& o : originals) r_.originals.push_back(std::move(o));
    settle(pieces, before, after);
}

Result run(std::string_view path, std::string_view body, const Config& config, Wants wants) {
    Result r;
    const Settings& s = config.settings();

    // Cheap first: most gateway traffic may be other endpoints.
    const Dialect* dialect = dialect_for_path(path);
    if (dialect == nullptr) return passthrough(std::move(r), Reason::UnknownShape);
    if (body.empty()) return passthrough(std::move(r), Reason::Empty);
    if (body.size() > s.max_body_size) return passthrough(std::move(r), Reason::TooLarge);
    // yajl lets overlong forms and encoded surrogates through; a rewrite
    // would pass them on as if they were text.
    if (std::size_t valid = tokenizer::valid_utf8_prefix(body); valid != body.size()) {
        return passthrough(std::move(r), Reason::InvalidJson,
                           "invalid UTF-8 at byte " + std::to_string(valid));
    }

    json::ParseResult parsed = json::parse(body, s.max_depth);
    if (!parsed.ok()) return passthrough(std::move(r), reason_of(parsed.error), std::move(parsed.message));
    json::Value& doc = parsed.value;
    if (!doc.is_object() || !dialect->accepts(doc)) return passthrough(std::move(r), Reason::UnknownShape);
    r.shape = dialect->name();
    r.model = dialect->model(path, doc);

    // The size that decides: tokens of the request's model, else bytes.
    const tokenizer::Encoding* encoding = nullptr;
    if (s.tokenizers != nullptr) {
        auto pick = s.tokenizers->for_model(r.model);
        encoding = pick.encoding;
        r.tokens_estimated = !pick.exact;
        r.encoding = encoding ? encoding->name().c_str() : "";
    }

    const RequestMap map = dialect->tool_outputs(doc);
    OutputPass outputs(config, r, encoding);
    for (const ToolOutputSite& site : map.outputs) {
        const std::string& question = map.questions[site.question];
        if (site.structured) {
            outputs.structured_output(doc, site, question);
        } else {
            outputs.text_output(doc, site, question);
        }
    }

    // Retrievals answered from the store, once the crushers are done: an
    // original given back is never crushed again.
    if (s.ccr && wants.lookup != nullptr) {
        const transforms::FillCounts fills = transforms::fill_retrievals(*dialect, doc, map, *wants.lookup, s.max_body_size);
        r.fills_found = fills.filled;
        r.fills_missing = fills.missing;
        r.fills_unavailable = fills.unavailable;
        count(r, Transform::RetrieveFill, fills.changed());
    }

    // The prefix: made stable, headroom_retrieve added last (after any
    // sorting: the same bytes at the same place on every turn), marked for
    // caching (before the note about volatile values follows the newest
    // message: the next call will not have it), then named.
    if (s.stabilize_prefix && s.canonical_tools) {
        for (const json::Path& p : dialect->tool_lists(doc)) {
            json::Value* tools = json::resolve(doc, p);
            if (tools != nullptr && transforms::canonicalize_tools(*tools)) r.tools_sorted = true;
        }
    }
    if (s.ccr && s.ccr_tool) {
        auto edit = dialect->add_tool(doc, retrieval::kToolName, retrieval::description(),
                                      retrieval::parameters(dialect->upper_schema_types()));
        r.retrieve_tool_added = edit && apply(*edit, doc);
        count(r, Transform::RetrieveTool, r.retrieve_tool_added ? 1 : 0);
    }
    if (s.stabilize_prefix) {
        if (s.cache_breakpoints) r.breakpoints_added = dialect->add_cache_breakpoints(doc);
        if (s.move_volatile && s.volatile_patterns != nullptr) {
            r.volatile_moved = transforms::move_volatile_values(*dialect, doc, *s.volatile_patterns);
        }
    }
    const bool cache_key = s.stabilize_prefix && s.prompt_cache_key;
    if (wants.prefix_hash || s.stabilize_prefix) r.prefix_hash = prefix_hash(*dialect, r.model, doc);
    if (cache_key) r.cache_key_set = dialect->set_cache_key(doc, r.prefix_hash);
    count(r, Transform::MoveVolatile, r.volatile_moved > 0 ? 1 : 0);
    count(r, Transform::CanonicalTools, r.tools_sorted ? 1 : 0);
    count(r, Transform::CacheBreakpoints, r.breakpoints_added > 0 ? 1 : 0);
    count(r, Transform::PromptCacheKey, r.cache_key_set ? 1 : 0);
    // Additions, like cache hints, may cost a few bytes: the "fewer tokens"
    // rule is the crushers'.
    const bool prefix_changed = r.tools_sorted || r.volatile_moved > 0 || r.breakpoints_added > 0 ||
                                r.cache_key_set || r.retrieve_tool_added ||
                                r.by_transform[static_cast<std::size_t>(Transform::RetrieveFill)].applied > 0;

    if (r.minified == 0 && r.crushed == 0 && !prefix_changed) {
        return passthrough(std::move(r), Reason::NoChange);
    }

    r.body.reserve(body.size());
    json::serialize(doc, r.body);
    // Crushing must pay for itself; cache hints may cost a few bytes.
    if (!prefix_changed && r.body.size() >= body.size()) {
        return passthrough(std::move(r), Reason::NotSmaller);
    }

    r.outcome = Outcome::Rewritten;
    return r;
}

}  // namespace

Result process(std::string_view path, std::string_view body, const Config& config, Wants wants) noexcept {
    try {
        return run(path, body, config, wants);
    } catch (const std::bad_alloc&) {
        return passthrough(Result{}, Reason::OutOfMemory);
    } catch (...) {
        // No allocation here: this function must not throw.
        return passthrough(Result{}, Reason::InternalError);
    }
}

}  // namespace headroom
