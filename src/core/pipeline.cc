#include "core/pipeline.h"

#include <algorithm>
#include <new>
#include <optional>
#include <unordered_set>

#include "core/content_hash.h"
#include "core/context_window.h"
#include "core/content_kind.h"
#include "core/dialect/dialect.h"
#include "core/json.h"
#include "core/json_path.h"
#include "core/markers.h"
#include "core/output_cache.h"
#include "core/prefix_hash.h"
#include "core/request_tokens.h"
#include "core/routing.h"
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
    case Transform::Route: return "route";
    case Transform::Retire: return "retire";
    case Transform::Fit: return "fit";
    case Transform::Summarize: return "summarize";
    }
    return "unknown";
}

void count(Result& r, Transform t, std::size_t applied, std::size_t tokens_saved) {
    TransformCounts& c = r.by_transform[static_cast<std::size_t>(t)];
    c.applied += applied;
    c.tokens_saved += tokens_saved;
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
    OutputPass(const Config& config, Result& r, const tokenizer::Encoding* encoding,
               const output_cache::Cache* cache)
        : s_(config.settings()), config_(config), r_(r), encoding_(encoding), cache_(cache) {}

    std::size_t size_of(std::string_view text) const { return encoding_ ? encoding_->count(text) : text.size(); }

    // Large texts are counted from samples unless every count is to be
    // exact (or sizes are bytes, which cost nothing).
    bool estimates(std::string_view text) const {
        return encoding_ != nullptr && !s_.exact_counts && text.size() >= tokenizer::Encoding::kEstimateFrom;
    }

    struct Prepared {
        const ToolOutputSite* site = nullptr;
        std::string_view question;
        bool found = false;  // its texts or value are in the request
        std::vector<std::string*> texts;
        json::Value* value = nullptr;  // a structured output's
        std::string received;          // its compact JSON
        std::size_t bytes = 0;
        std::optional<output_cache::Material> material;
        std::optional<output_cache::Key> key;
        std::optional<output_cache::Effect> cached;
        // What finish() made of it, for retiring and fitting.
        context_window::Output window;
    };
    void prepare(json::Value& doc, const ToolOutputSite& site, std::string_view question, Prepared& p);
    void finish(Prepared& p);

    static std::string joined(const std::vector<std::string*>& texts);

    // Tokens (or bytes) as the crushers count them.
    transforms::Measure measure() const {
        return transforms::Measure{[this](std::string_view t) { return size_of(t); },
                                   encoding_ ? encoding_->max_token_bytes() : 1};
    }

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
    void settle(ContentKind kind, bool changed, std::size_t omitted, std::size_t before, std::size_t after) {
        if (changed) {
            if (omitted > 0) {
                ++r_.crushed;
                r_.omitted += omitted;
            } else {
                ++r_.minified;
            }
            count(r_, transform_of(kind, omitted), 1, encoding_ ? before - after : 0);
        }
        count_kind(kind, before, after);
        count_tokens(before, after);
    }
    void settle(const Pieces& pieces, std::size_t before, std::size_t after) {
        settle(pieces.kind(), !pieces.empty(), pieces.omitted(), before, after);
    }

    static bool fits(const output_cache::Effect& e, std::size_t parts);
    bool apply(output_cache::Effect& e, const std::vector<std::string*>& texts);
    output_cache::Effect work_out(const std::vector<std::string*>& texts, const ToolOutputSite& site,
                                  std::string_view question) const;
    bool apply_structured(output_cache::Effect& e, json::Value& v);
    output_cache::Effect work_out_structured(const json::Value& v, const std::string& received,
                                             const ToolOutputSite& site, std::string_view question) const;

    // An output of this size may be retired some day: its id is worked
    // out with its result.
    bool retires(std::size_t tokens) const { return (s_.retire || s_.fit) && tokens >= s_.retire_min_tokens; }

    // An original given back is never crushed again.
    bool protects(const ToolOutputSite& site) const {
        return site.tool_name == retrieval::kToolName || config_.protects(site.tool_name);
    }

    const Settings& s_;
    const Config& config_;
    Result& r_;
    const tokenizer::Encoding* encoding_;
    const output_cache::Cache* cache_;  // nullptr: none
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
    transforms::LineLevels levels;  // found once, for the log crusher too
    c.kind = classify_lines(lines, levels);
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
            c.crushed = transforms::crush_log(text, lines, question, limits, origin, &levels);
        }
        break;
    default: break;
    }
    return c;
}

// A tool output found in the request: its texts (or structured value),
// its key in the results' cache and what the cache holds for it. Every
// output is prepared before any is worked out, so that the work still to
// do is known first (see Wants::offload_above).
void OutputPass::prepare(json::Value& doc, const ToolOutputSite& site, std::string_view question, Prepared& p) {
    p.site = &site;
    p.question = question;
    if (site.structured) {
        p.value = json::resolve(doc, site.value);
        if (p.value == nullptr) return;
        p.received = json::serialize(*p.value);
        p.bytes = p.received.size();
    } else {
        for (const json::Path& path : site.parts) {
            json::Value* v = json::resolve(doc, path);
            if (v != nullptr && v->is_string()) {
                p.texts.push_back(&v->text);
                p.bytes += v->text.size();
            }
        }
        if (p.texts.empty()) return;
    }
    p.found = true;
    // Fewer bytes than the floor is fewer tokens: not worth a key.
    if (cache_ == nullptr || p.bytes < s_.min_tokens) return;
    output_cache::Material& m = p.material.emplace();
    m.add(config_.fingerprint());
    m.add(r_.encoding);
    m.add(site.tool_name);
    m.add(question);
    if (site.structured) {
        m.add("structured");
        m.add(p.received);
    } else {
        for (const std::string* t : p.texts) m.add(*t);
    }
    p.key = m.key();
    cache_->get(*p.key, [&](std::string_view entry) {
        std::optional<output_cache::Effect> e = output_cache::open(entry, m);
        if (!e || (!site.structured && !fits(*e, p.texts.size()))) return false;
        p.cached = std::move(e);
        return true;
    });
}

// The output as sent and counted: from the cache, else worked out (and
// kept there); either way applied the same.
void OutputPass::finish(Prepared& p) {
    if (!p.found) return;
    ++r_.tool_outputs;
    auto apply_to = [&](output_cache::Effect& e) {
        return p.site->structured ? apply_structured(e, *p.value) : apply(e, p.texts);
    };
    auto record = [&](const output_cache::Effect& e) {
        p.window.before = e.before;
        p.window.after = e.after;
        p.window.protected_ = e.fate == output_cache::Effect::Fate::Protected;
        p.window.id = e.id;
    };
    if (p.cached && apply_to(*p.cached)) {
        ++r_.cache_hits;
        record(*p.cached);
        return;
    }
    if (p.key) ++r_.cache_misses;
    output_cache::Effect e = p.site->structured ? work_out_structured(*p.value, p.received, *p.site, p.question)
                                                : work_out(p.texts, *p.site, p.question);
    if (p.key) cache_->put(*p.key, output_cache::entry(*p.material, e));
    record(e);
    apply_to(e);
}

bool OutputPass::fits(const output_cache::Effect& e, std::size_t parts) {
    for (const output_cache::Effect::Rewrite& w : e.rewrites) {
        if (w.part >= parts) return false;
    }
    return e.omitted == 0 || e.id.size() == 32;
}

// The texts as sent, the original kept, the counts. Always true: an entry
// that does not fit the output is refused before (fits()).
bool OutputPass::apply(output_cache::Effect& e, const std::vector<std::string*>& texts) {
    using Fate = output_cache::Effect::Fate;
    if (e.estimated) r_.tokens_estimated = true;
    if (e.fate != Fate::LookedAt) {
        ++(e.fate == Fate::Small ? r_.small : r_.protected_);
        count_tokens(e.before, e.before);
        return true;
    }
    if (e.omitted > 0) {
        // The original, once, under the id its markers carry: moved out of
        // the tree when its one text is about to be replaced anyway.
        const bool replaced = texts.size() == 1 && !e.rewrites.empty();
        r_.originals.push_back(Original{e.id, replaced ? std::move(*texts[0]) : joined(texts)});
    }
    for (output_cache::Effect::Rewrite& w : e.rewrites) texts[w.part]->swap(w.text);
    settle(e.kind, e.changed, e.omitted, e.before, e.after);
    return true;
}

std::string OutputPass::joined(const std::vector<std::string*>& texts) {
    std::string all;
    for (const std::string* t : texts) all += *t;
    return all;
}

output_cache::Effect OutputPass::work_out(const std::vector<std::string*>& texts, const ToolOutputSite& site,
                                          std::string_view question) const {
    using Fate = output_cache::Effect::Fate;
    output_cache::Effect e;
    std::string id;
    auto make_id = [&]() -> std::string {
        if (id.empty()) id = markers::output_id(texts.size() == 1 ? std::string_view(*texts[0]) : joined(texts));
        return id;
    };

    // Each part's tokens, counted, or (a large part) estimated from
    // samples until a decision needs them exact.
    std::vector<std::size_t> before(texts.size());
    std::vector<bool> exact(texts.size(), true);
    bool large = false;
    for (std::size_t k = 0; k < texts.size(); ++k) {
        if (estimates(*texts[k])) {
            before[k] = encoding_->estimate(*texts[k]);
            exact[k] = false;
        } else {
            before[k] = size_of(*texts[k]);
        }
        e.before += before[k];
        large = large || before[k] >= s_.min_tokens;
    }
    auto count_exactly = [&](std::size_t k) {
        if (exact[k]) return;
        const std::size_t n = size_of(*texts[k]);
        e.before = e.before - before[k] + n;
        before[k] = n;
        exact[k] = true;
    };
    e.after = e.before;
    if (!large || protects(site)) {
        // Small or protected: a figure only, unless "small" needs proof.
        for (std::size_t k = 0; k < texts.size() && !large; ++k) count_exactly(k);
        e.after = e.before;
        e.fate = large ? Fate::Protected : Fate::Small;
        e.estimated = std::find(exact.begin(), exact.end(), false) != exact.end();
        // Worked out once, with the result: the id a retired marker names.
        if (e.fate == Fate::Small && retires(e.before)) e.id = make_id();
        return e;
    }

    Pieces pieces;
    std::size_t line_offset = 0, saved = 0;
    for (std::size_t k = 0; k < texts.size(); ++k) {
        const std::string& text = *texts[k];
        const std::size_t lines_here = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
        if (before[k] >= s_.min_tokens) {
            Candidate c = crush(text, question, transforms::Origin(make_id, line_offset, config_.marker_way()));
            if (c.crushed) {
                // A rewrite is kept only with strictly fewer tokens: an
                // estimate decides only with a wide margin.
                const std::size_t size = size_of(c.crushed->text);
                if (!exact[k] && size * 4 >= before[k] * 3) count_exactly(k);
                if (size < before[k]) {
                    pieces.add(c.kind, c.crushed->omitted, before[k] - size);
                    saved += before[k] - size;
                    e.rewrites.push_back(output_cache::Effect::Rewrite{k, std::move(c.crushed->text)});
                }
            }
            pieces.looked_at(c.kind, before[k]);
        }
        line_offset += lines_here;
    }
    e.after = e.before - saved;
    e.estimated = std::find(exact.begin(), exact.end(), false) != exact.end();
    e.kind = pieces.kind();
    e.changed = !pieces.empty();
    e.omitted = pieces.omitted();
    if (e.omitted > 0 || retires(e.after)) e.id = make_id();
    return e;
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

// A structured output's value as sent, its originals, the counts. False
// when the entry's value is not JSON (so not one of ours).
bool OutputPass::apply_structured(output_cache::Effect& e, json::Value& v) {
    using Fate = output_cache::Effect::Fate;
    if (e.fate != Fate::LookedAt) {
        ++(e.fate == Fate::Small ? r_.small : r_.protected_);
        count_tokens(e.before, e.before);
        return true;
    }
    if (e.rewrites.size() > 1) return false;
    if (!e.rewrites.empty()) {
        json::ParseResult parsed = json::parse(e.rewrites[0].text, s_.max_depth);
        if (!parsed.ok()) return false;
        v = std::move(parsed.value);
    }
    for (output_cache::Effect::Kept& k : e.originals) r_.originals.push_back(Original{k.id, std::move(k.text)});
    settle(e.kind, e.changed, e.omitted, e.before, e.after);
    return true;
}

// A structured output (Gemini's functionResponse.response): one tool
// output whose tokens are those of its compact JSON. The value itself is
// crushed as JSON (long arrays sampled, like objects as tables); then
// every string in it is a text of its own, crushed by its kind, with the
// string's own id. `v` is left as it came; the effect says what it becomes.
output_cache::Effect OutputPass::work_out_structured(const json::Value& v, const std::string& received,
                                                     const ToolOutputSite& site, std::string_view question) const {
    using Fate = output_cache::Effect::Fate;
    output_cache::Effect e;
    e.before = e.after = size_of(received);
    if (e.before < s_.min_tokens || protects(site)) {
        e.fate = e.before < s_.min_tokens ? Fate::Small : Fate::Protected;
        if (e.fate == Fate::Small && retires(e.before)) e.id = markers::output_id(received);
        return e;
    }

    Pieces pieces;
    std::vector<output_cache::Effect::Kept> originals;
    json::Value value = v;  // what is sent, as it changes

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
            if (size < e.before && parsed.ok()) {
                value = std::move(parsed.value);
                pieces.add(ContentKind::Json, j->omitted, e.before - size);
                if (j->omitted > 0) originals.push_back({j->id, received});
            }
        }
    }
    for_each_string(value, [&](std::string& text) {
        // Fewer bytes than the floor is fewer tokens too: not even counted.
        if (text.size() < s_.min_tokens) return;
        const std::size_t text_before = size_of(text);
        if (text_before < s_.min_tokens) return;
        Candidate c = crush(text, question, transforms::Origin::of(text, config_.marker_way()));
        pieces.looked_at(c.kind, text_before);
        if (!c.crushed) return;
        const std::size_t size = size_of(c.crushed->text);
        if (size >= text_before) return;
        pieces.add(c.kind, c.crushed->omitted, text_before - size);
        if (c.crushed->omitted > 0) originals.push_back({c.crushed->id, text});
        text.swap(c.crushed->text);
    });

    if (!pieces.empty()) {
        std::string sent = json::serialize(value);
        const std::size_t after = size_of(sent);
        if (after < e.before) {
            e.after = after;
            e.changed = true;
            e.omitted = pieces.omitted();
            e.originals = std::move(originals);
            e.rewrites.push_back(output_cache::Effect::Rewrite{0, std::move(sent)});
        } else {
            pieces.clear();  // escaping can undo a string's saving
        }
    }
    e.kind = pieces.kind();
    if (retires(e.after)) e.id = markers::output_id(received);
    return e;
}

// headroom_route, once the request is as it will be sent but for its
// model: the tokens a rule counts are those sent, and the session is named
// by the prefix with the model asked for and the conversation's first user
// text. Sets the model (in the body, or the path) and says whether it
// changed; `prefix` is left with the prefix hash of the model asked for.
bool route(const Dialect& dialect, std::string_view path, json::Value& doc, const RequestMap& map,
           const routing::Rules& rules, const routing::Sessions* sessions, std::string_view scope,
           RequestTokens& tokens, Result& r, std::string& prefix) {
    prefix = prefix_hash(dialect, r.model, doc);
    const std::string& first = map.questions.size() > 1 ? map.questions[1] : map.questions[0];
    // The caller's scope is part of it: a location with rules of its own
    // keeps its own sessions in a zone all share. A conversation the
    // provider keeps is named by what the request names it by.
    const std::string kept = dialect.kept_conversation(doc);
    r.session = kept.empty() ? sha256_hex_framed({"headroom session 1", scope, r.shape, prefix, first}, 32)
                             : routing::session_of_kept(scope, r.model, kept);
    routing::Facts facts;
    facts.api = r.shape;
    facts.model = r.model;
    facts.tools = dialect.defines_tools(doc);
    facts.newest_user_text = map.questions.back();
    facts.count = RequestTokens::count_of;
    facts.count_data = &tokens;
    const routing::Decision d = routing::decide(rules, facts, r.session, sessions);
    r.request_tokens = tokens.counted();
    if (tokens.estimated()) r.tokens_estimated = true;
    r.route_remembered = d.remembered;
    if (d.rule == nullptr) return false;
    r.route = d.rule->name;
    if (d.rule->to == r.model) return false;
    r.path_out = dialect.path_with_model(path, d.rule->to);
    if (r.path_out.empty() && !dialect.set_model(doc, d.rule->to)) {
        r.route.clear();  // no place for that model (Gemini: a ':' or '/')
        return false;
    }
    r.model_in = std::move(r.model);
    r.model = d.rule->to;
    count(r, Transform::Route, 1);
    return true;
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

    json::ParseResult parsed = json::parse_sealed(body, s.max_depth);
    if (!parsed.ok()) return passthrough(std::move(r), reason_of(parsed.error), std::move(parsed.message));
    json::Value& doc = parsed.value;
    if (!doc.is_object() || !dialect->accepts(doc)) return passthrough(std::move(r), Reason::UnknownShape);
    r.shape = dialect->name();
    r.model = dialect->model(path, doc);

    // The size that decides: tokens of the request's model, else bytes.
    const tokenizer::Encoding* encoding = nullptr;
    bool model_exact = false;  // its counts are the provider's
    if (s.tokenizers != nullptr) {
        auto pick = s.tokenizers->for_model(r.model);
        encoding = pick.encoding;
        model_exact = pick.exact;
        r.tokens_estimated = !pick.exact;
        r.encoding = encoding ? encoding->name().c_str() : "";
    }

    const RequestMap map = dialect->tool_outputs(doc);
    OutputPass outputs(config, r, encoding, wants.cache);
    std::vector<OutputPass::Prepared> prepared(map.outputs.size());
    std::size_t fresh = 0;  // bytes of outputs to work out
    for (std::size_t i = 0; i < map.outputs.size(); ++i) {
        const ToolOutputSite& site = map.outputs[i];
        outputs.prepare(doc, site, map.questions[site.question], prepared[i]);
        if (!prepared[i].cached) fresh += prepared[i].bytes;
    }
    if (wants.offload_above > 0 && fresh > wants.offload_above) {
        // The caller runs it again elsewhere. Its retrievals are asked for
        // here, so that the store has what it needs at hand by then.
        if (s.ccr && wants.lookup != nullptr) transforms::fill_retrievals(*dialect, doc, map, *wants.lookup, s.max_body_size);
        Result off;
        off.outcome = Outcome::Offload;
        off.shape = r.shape;
        return off;
    }
    // The outputs that may be retired or fitted away, as they came:
    // crushing replaces them.
    const bool reshapes = (s.retire || s.fit || s.summarize_turns) && wants.originals_kept;
    std::optional<Turns> turns;
    if (reshapes && (s.fit || s.summarize_turns)) turns = dialect->turns(doc);
    for (std::size_t i = 0; i < map.outputs.size(); ++i) {
        OutputPass::Prepared& p = prepared[i];
        const bool old = reshapes && ((s.retire && i + s.retire_after < map.outputs.size()) ||
                                    (s.fit && turns && i + s.keep_turns < map.outputs.size()));
        if (!old || !p.found || p.bytes < s.retire_min_tokens) continue;
        context_window::Output& w = p.window;
        w.original = p.value != nullptr ? p.received : OutputPass::joined(p.texts);
        // A structured output shows its first string that says something.
        if (p.value != nullptr) {
            for_each_string(*p.value, [&](std::string& t) {
                if (w.first_line.empty()) w.first_line = markers::first_line(t);
            });
        } else {
            w.first_line = markers::first_line(*w.original);
        }
    }
    for (OutputPass::Prepared& p : prepared) outputs.finish(p);

    // Retrievals answered from the store, once the crushers are done: an
    // original given back is never crushed again.
    std::size_t fills_changed = 0;
    if (s.ccr && wants.lookup != nullptr) {
        const transforms::FillCounts fills = transforms::fill_retrievals(*dialect, doc, map, *wants.lookup, s.max_body_size);
        r.fills_found = fills.filled;
        r.fills_missing = fills.missing;
        r.fills_unavailable = fills.unavailable;
        fills_changed = fills.changed();
        count(r, Transform::RetrieveFill, fills_changed);
    }

    // Tool outputs' sizes as the output pass counted them, on their first
    // strings, found where they are now (edits since, such as a cache mark,
    // may have moved them): not the outputs retired or gone with their
    // turns, nor those a retrieval's answer replaced.
    std::vector<context_window::Output> outs;
    auto known_sizes = [&]() {
        RequestTokens::Known known;
        for (std::size_t i = 0; i < prepared.size(); ++i) {
            const ToolOutputSite& site = map.outputs[i];
            const context_window::Output& w = outs.empty() ? prepared[i].window : outs[i];
            if (!prepared[i].found || w.retired || w.gone ||
                (fills_changed > 0 && site.tool_name == retrieval::kToolName)) {
                continue;
            }
            bool first = true;
            auto add = [&](const std::string& t) {
                known.emplace(&t, first ? w.after : 0);
                first = false;
            };
            if (site.structured) {
                if (json::Value* v = json::resolve(doc, site.value)) for_each_string(*v, add);
                continue;
            }
            for (const json::Path& part : site.parts) {
                const json::Value* v = json::resolve(doc, part);
                if (v != nullptr && v->is_string()) add(v->text);
            }
        }
        return known;
    };

    // The context window: old turns summarized, old outputs retired, the
    // model's window fitted (before anything is added to the prefix: the
    // retrieval tool to be added is counted in), then what went erased.
    bool items_changed = false;
    if (reshapes) {
        outs.reserve(prepared.size());
        for (OutputPass::Prepared& p : prepared) outs.push_back(std::move(p.window));
        context_window::Window window(*dialect, doc, map, config, outputs.measure(), outs, turns,
                                      s.summarize ? wants.lookup : nullptr, r);
        if (s.summarize_turns) {
            RequestTokens tokens(doc, encoding, wants.cache, s.exact_counts, known_sizes());
            window.summarize_turns(tokens);
        }
        if (s.retire) window.retire();
        if (s.fit) {
            RequestTokens tokens(doc, encoding, wants.cache, s.exact_counts, known_sizes());
            std::size_t extra = 0;
            if (s.ccr && s.ccr_tool) {
                if (auto edit = dialect->add_tool(doc, retrieval::kToolName, retrieval::description(),
                                                  retrieval::parameters(dialect->upper_schema_types()))) {
                    extra = tokens.count_part(edit->value);
                }
            }
            window.fit(tokens, model_exact, extra);
        }
        items_changed = window.changed_items();
        window.finish();
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
    std::string prefix_asked;  // when routing asked for it
    bool routed = false;
    const bool count_whole = wants.request_tokens && !dialect->answer_reports_usage(doc);
    if ((s.routes != nullptr && !r.model.empty()) || count_whole) {
        // Once items went, the outputs' strings moved: all counted anew.
        RequestTokens tokens(doc, encoding, wants.cache, s.exact_counts,
                             items_changed ? RequestTokens::Known{} : known_sizes());
        if (count_whole) {
            r.request_tokens = tokens.count(static_cast<std::size_t>(-1));
            r.request_tokens_whole = true;
            if (tokens.estimated()) r.tokens_estimated = true;
        }
        if (s.routes != nullptr && !r.model.empty()) {
            routed = route(*dialect, path, doc, map, *s.routes, wants.sessions, wants.session_scope, tokens, r,
                           prefix_asked);
        }
    }
    const bool cache_key = s.stabilize_prefix && s.prompt_cache_key;
    if (wants.prefix_hash || s.stabilize_prefix) {
        r.prefix_hash = !prefix_asked.empty() && !routed ? prefix_asked : prefix_hash(*dialect, r.model, doc);
    }
    if (cache_key) r.cache_key_set = dialect->set_cache_key(doc, r.prefix_hash);
    count(r, Transform::MoveVolatile, r.volatile_moved > 0 ? 1 : 0);
    count(r, Transform::CanonicalTools, r.tools_sorted ? 1 : 0);
    count(r, Transform::CacheBreakpoints, r.breakpoints_added > 0 ? 1 : 0);
    count(r, Transform::PromptCacheKey, r.cache_key_set ? 1 : 0);
    // Additions, like cache hints, may cost a few bytes: the "fewer tokens"
    // rule is the crushers'.
    const bool prefix_changed = r.tools_sorted || r.volatile_moved > 0 || r.breakpoints_added > 0 ||
                                r.cache_key_set || r.retrieve_tool_added ||
                                r.by_transform[static_cast<std::size_t>(Transform::RetrieveFill)].applied > 0 ||
                                routed;

    // A response cache's key: the same bytes to the same API and path get
    // the same answer (what the tenant adds is the caller's).
    auto key_answer = [&](std::string_view sent) {
        if (!wants.answer_key) return;
        std::string_view to = r.path_out.empty() ? path : std::string_view(r.path_out);
        if (wants.answer_key_of_original) {
            sent = body;
            to = path;
        }
        r.answer_key = sha256_hex_framed({"headroom answer 1", r.shape, to, sent}, 64);
    };
    const bool window_changed = r.by_transform[static_cast<std::size_t>(Transform::Retire)].applied > 0 ||
                                r.by_transform[static_cast<std::size_t>(Transform::Summarize)].applied > 0 ||
                                r.fit == FitState::Fitted;
    if (r.minified == 0 && r.crushed == 0 && !window_changed && !prefix_changed) {
        key_answer(body);
        return passthrough(std::move(r), Reason::NoChange);
    }

    // What did not change goes out as the client sent it.
    r.body.reserve(body.size());
    if (wants.splice) {
        json::splice(doc, body, r.body);
    } else {
        json::serialize(doc, r.body);
    }
    // Crushing must pay for itself; cache hints may cost a few bytes.
    if (!prefix_changed && !window_changed && r.body.size() >= body.size()) {
        key_answer(body);
        return passthrough(std::move(r), Reason::NotSmaller);
    }

    key_answer(r.body);
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
