// The shim: translates between the C interface and the core, and makes sure
// nothing thrown inside the core reaches nginx.
#include "shim/headroom.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <new>
#include <optional>
#include <string_view>

#include "core/config.h"
#include "core/decode.h"
#include "core/content_hash.h"
#include "core/dialect/dialect.h"
#include "core/mcp.h"
#include "core/pipeline.h"
#include "core/summaries.h"
#include "core/prices.h"
#include "core/usage.h"
#include "core/reason.h"
#include "core/routing.h"
#include "core/tokenizer/tokenizers.h"
#include "core/volatile_values.h"

struct headroom_tokenizers_s {
    std::shared_ptr<const headroom::tokenizer::Tokenizers> tokenizers;
};

struct headroom_prices_s {
    std::unique_ptr<const headroom::Prices> prices;
};

struct headroom_volatile_patterns_s {
    std::shared_ptr<const headroom::VolatilePatterns> patterns;
};

struct headroom_routes_s {
    std::shared_ptr<const headroom::routing::Rules> rules;
};

struct headroom_config_s {
    std::shared_ptr<const headroom::Config> config;
};

struct headroom_decoder_s {
    headroom::Decoder decoder;
};

#define HEADROOM_SAME_ENCODING(c, cc) \
    static_assert(c == static_cast<int>(headroom::Encoding::cc), #c)
HEADROOM_SAME_ENCODING(HEADROOM_ENCODING_IDENTITY, Identity);
HEADROOM_SAME_ENCODING(HEADROOM_ENCODING_GZIP, Gzip);
HEADROOM_SAME_ENCODING(HEADROOM_ENCODING_DEFLATE, Deflate);
HEADROOM_SAME_ENCODING(HEADROOM_ENCODING_ZSTD, Zstd);
HEADROOM_SAME_ENCODING(HEADROOM_ENCODING_BROTLI, Brotli);
#undef HEADROOM_SAME_ENCODING
static_assert(HEADROOM_ENCODINGS == headroom::kEncodings, "one C value per encoding");

#define HEADROOM_SAME_DECODE(c, cc) \
    static_assert(c == static_cast<int>(headroom::Decoder::Status::cc), #c)
HEADROOM_SAME_DECODE(HEADROOM_DECODE_MORE, More);
HEADROOM_SAME_DECODE(HEADROOM_DECODE_DONE, Done);
HEADROOM_SAME_DECODE(HEADROOM_DECODE_TOO_LARGE, TooLarge);
HEADROOM_SAME_DECODE(HEADROOM_DECODE_ERROR, Error);
HEADROOM_SAME_DECODE(HEADROOM_DECODE_OUT_OF_MEMORY, OutOfMemory);
#undef HEADROOM_SAME_DECODE

// The C list mirrors the core's, value for value.
#define HEADROOM_SAME_REASON(c, cc) \
    static_assert(c == static_cast<int>(headroom::Reason::cc), #c)
HEADROOM_SAME_REASON(HEADROOM_REASON_NOT_POST, NotPost);
HEADROOM_SAME_REASON(HEADROOM_REASON_NOT_JSON, NotJson);
HEADROOM_SAME_REASON(HEADROOM_REASON_UNKNOWN_SHAPE, UnknownShape);
HEADROOM_SAME_REASON(HEADROOM_REASON_UNKNOWN_ENCODING, UnknownEncoding);
HEADROOM_SAME_REASON(HEADROOM_REASON_TOO_LARGE, TooLarge);
HEADROOM_SAME_REASON(HEADROOM_REASON_DECODED_TOO_LARGE, DecodedTooLarge);
HEADROOM_SAME_REASON(HEADROOM_REASON_DECODE_ERROR, DecodeError);
HEADROOM_SAME_REASON(HEADROOM_REASON_UNBUFFERED, Unbuffered);
HEADROOM_SAME_REASON(HEADROOM_REASON_BODY_IN_FILE, BodyInFile);
HEADROOM_SAME_REASON(HEADROOM_REASON_EMPTY, Empty);
HEADROOM_SAME_REASON(HEADROOM_REASON_INVALID_JSON, InvalidJson);
HEADROOM_SAME_REASON(HEADROOM_REASON_TOO_DEEP, TooDeep);
HEADROOM_SAME_REASON(HEADROOM_REASON_LONE_SURROGATE, LoneSurrogate);
HEADROOM_SAME_REASON(HEADROOM_REASON_NO_CHANGE, NoChange);
HEADROOM_SAME_REASON(HEADROOM_REASON_NOT_SMALLER, NotSmaller);
HEADROOM_SAME_REASON(HEADROOM_REASON_NO_MEMORY, NoMemory);
HEADROOM_SAME_REASON(HEADROOM_REASON_OUT_OF_MEMORY, OutOfMemory);
HEADROOM_SAME_REASON(HEADROOM_REASON_INTERNAL_ERROR, InternalError);
#undef HEADROOM_SAME_REASON
static_assert(HEADROOM_REASONS == headroom::kReasons, "one C value per reason");
static_assert(HEADROOM_PASSTHROUGH == static_cast<int>(headroom::Outcome::Passthrough), "one outcome");
static_assert(HEADROOM_REWRITTEN == static_cast<int>(headroom::Outcome::Rewritten), "one outcome");
static_assert(HEADROOM_OFFLOAD == static_cast<int>(headroom::Outcome::Offload), "one outcome");
static_assert(HEADROOM_OUTCOMES == headroom::kOutcomes, "one C value per outcome");
static_assert(HEADROOM_CACHE_KEY_LEN == std::tuple_size<headroom::output_cache::Key>::value, "the cache key's size");
static_assert(HEADROOM_JSON_ITEMS_LIMIT == headroom::kMaxJsonItemsLimit, "one bound");
static_assert(HEADROOM_DIFF_CONTEXT_MAX == headroom::kMaxDiffContext, "one bound");
static_assert(HEADROOM_MAX_BODY_SIZE_LIMIT == headroom::kMaxBodySizeLimit, "one bound");
static_assert(HEADROOM_USAGE_MODEL_SIZE == headroom::UsageReader::kMaxModel + 1, "room for the answer's model");

namespace {

void copy_error(const std::string& msg, char* error, size_t error_len) {
    if (error == nullptr || error_len == 0) return;
    size_t n = std::min(msg.size(), error_len - 1);
    std::memcpy(error, msg.data(), n);
    error[n] = '\0';
}

headroom::Settings to_settings(const headroom_settings_t* in) {
    headroom::Settings o;
    o.max_body_size = in->max_body_size;
    o.max_decode_ratio = in->max_decode_ratio;
    o.max_depth = in->max_depth;
    o.minify_tool_json = in->minify_tool_json != 0;
    if (in->tokenizers) o.tokenizers = in->tokenizers->tokenizers;
    o.min_tokens = in->min_tokens;
    o.crush_json = in->crush_json != 0;
    o.json_max_items = in->json_max_items;
    o.json_keep_first = in->json_keep_first;
    o.json_keep_last = in->json_keep_last;
    o.json_keep_top = in->json_keep_top;
    o.question_max_matches = in->question_max_matches;
    o.json_tables = in->json_tables != 0;
    o.crush_logs = in->crush_logs != 0;
    o.log_values = in->log_values;
    o.crush_search = in->crush_search != 0;
    o.crush_diffs = in->crush_diffs != 0;
    o.diff_context = in->diff_context;
    for (size_t i = 0; i < in->nprotect_tools; ++i) o.protect_tools.emplace_back(in->protect_tools[i]);
    o.stabilize_prefix = in->stabilize_prefix != 0;
    o.move_volatile = in->move_volatile != 0;
    if (in->volatile_patterns) o.volatile_patterns = in->volatile_patterns->patterns;
    o.canonical_tools = in->canonical_tools != 0;
    o.cache_breakpoints = in->cache_breakpoints != 0;
    o.prompt_cache_key = in->prompt_cache_key != 0;
    o.ccr = in->ccr != 0;
    o.ccr_tool = in->ccr_tool != 0;
    o.exact_counts = in->exact_counts != 0;
    if (in->routes) o.routes = in->routes->rules;
    o.retire = in->retire != 0;
    o.retire_after = in->retire_after;
    o.retire_min_tokens = in->retire_min_tokens;
    o.retire_batch = in->retire_batch;
    o.fit = in->fit != 0;
    for (size_t i = 0; i < in->ncontext_limits; ++i) {
        o.context_limits.emplace_back(in->context_limit_prefixes[i], in->context_limit_tokens[i]);
    }
    o.output_reserve = in->output_reserve;
    o.fit_margin = in->fit_margin;
    o.keep_turns = in->keep_turns;
    o.fit_target = in->fit_target;
    o.summarize = in->summarize != 0;
    if (in->summarize_model != nullptr) o.summarize_model = in->summarize_model;
    o.summarize_turns = in->summarize_turns != 0;
    o.summarize_after = in->summarize_after;
    o.summarize_batch = in->summarize_batch;
    return o;
}

// What the C result points into, besides the core's Result.
struct Owned {
    headroom::Result result;
    std::vector<headroom_original_t> originals;
    std::vector<headroom_summary_wanted_t> summaries;
};

void fill(headroom_result_t* out, Owned& owned) {
    const headroom::Result& r = owned.result;
    out->outcome = static_cast<headroom_outcome_e>(r.outcome);
    out->reason = static_cast<headroom_reason_e>(r.reason);
    out->detail = r.detail.c_str();
    out->shape = r.shape;
    out->body = reinterpret_cast<const unsigned char*>(r.body.data());
    out->body_len = r.body.size();
    out->tool_outputs = r.tool_outputs;
    out->minified = r.minified;
    out->crushed = r.crushed;
    out->omitted = r.omitted;
    out->tokens_before = r.tokens_before;
    out->tokens_after = r.tokens_after;
    out->encoding = r.encoding;
    out->tokens_estimated = r.tokens_estimated ? 1 : 0;
    static_assert(HEADROOM_CONTENT_KINDS == headroom::kContentKinds, "one name per kind");
    for (std::size_t k = 0; k < headroom::kContentKinds; ++k) {
        out->kinds[k].outputs = r.by_kind[k].outputs;
        out->kinds[k].tokens_before = r.by_kind[k].tokens_before;
        out->kinds[k].tokens_after = r.by_kind[k].tokens_after;
    }
    static_assert(HEADROOM_TRANSFORMS == headroom::kTransforms, "one name per transform");
    for (std::size_t t = 0; t < headroom::kTransforms; ++t) {
        out->transforms[t].applied = r.by_transform[t].applied;
        out->transforms[t].tokens_saved = r.by_transform[t].tokens_saved;
    }
    out->model = r.model.c_str();
    out->model_len = r.model.size();
    out->prefix_hash = r.prefix_hash.c_str();
    out->answer_key = r.answer_key.c_str();
    out->volatile_moved = r.volatile_moved;
    out->tools_sorted = r.tools_sorted ? 1 : 0;
    out->breakpoints_added = r.breakpoints_added;
    out->cache_key_set = r.cache_key_set ? 1 : 0;
    owned.originals.clear();
    for (const headroom::Original& o : r.originals) {
        owned.originals.push_back(headroom_original_t{
            o.id.c_str(), reinterpret_cast<const unsigned char*>(o.text.data()), o.text.size()});
    }
    out->originals = owned.originals.data();
    out->noriginals = owned.originals.size();
    out->retrieve_tool_added = r.retrieve_tool_added ? 1 : 0;
    out->fills_found = r.fills_found;
    out->fills_missing = r.fills_missing;
    out->fills_unavailable = r.fills_unavailable;
    out->cache_hits = r.cache_hits;
    out->cache_misses = r.cache_misses;
    out->route = r.route.c_str();
    out->route_remembered = r.route_remembered ? 1 : 0;
    out->model_in = r.model_in.c_str();
    out->path_out = r.path_out.c_str();
    out->session = r.session.c_str();
    out->request_tokens = r.request_tokens;
    out->request_tokens_whole = r.request_tokens_whole ? 1 : 0;
    static_assert(HEADROOM_FIT_FAILED == static_cast<int>(headroom::FitState::Failed), "one value per state");
    out->fit = static_cast<int>(r.fit);
    out->fit_limit = r.fit_limit;
    out->fit_budget = r.fit_budget;
    out->fit_tokens_before = r.fit_tokens_before;
    out->fit_tokens_after = r.fit_tokens_after;
    out->fit_turns_dropped = r.fit_turns_dropped;
    out->fit_outputs_retired = r.fit_outputs_retired;
    out->summaries_used = r.summaries_used;
    out->turns_summarized = r.turns_summarized;
    owned.summaries.clear();
    for (const headroom::SummaryWanted& w : r.summaries_wanted) {
        owned.summaries.push_back(headroom_summary_wanted_t{
            w.id.c_str(), reinterpret_cast<const unsigned char*>(w.body.data()), w.body.size()});
    }
    out->summaries_wanted = owned.summaries.data();
    out->nsummaries_wanted = owned.summaries.size();
    out->owner = &owned;
}

#define HEADROOM_SAME_STORE(c, cc) \
    static_assert(c == static_cast<int>(headroom::retrieval::Stored::State::cc), #c)
HEADROOM_SAME_STORE(HEADROOM_STORE_FOUND, Found);
HEADROOM_SAME_STORE(HEADROOM_STORE_MISSING, Missing);
HEADROOM_SAME_STORE(HEADROOM_STORE_UNAVAILABLE, Unavailable);
#undef HEADROOM_SAME_STORE
static_assert(HEADROOM_STORE_STATES == 3, "one C value per store state");

// The caller's store as the core asks it. Its answers are copied by the
// caller into memory that outlives the call.
headroom::retrieval::Lookup lookup_of(const headroom_store_t* store) {
    return [store](std::string_view id) {
        headroom::retrieval::Stored stored;
        const std::string name(id);
        const unsigned char* text = nullptr;
        size_t len = 0;
        const headroom_store_e e = store->lookup(store->data, name.c_str(), &text, &len);
        stored.state = static_cast<headroom::retrieval::Stored::State>(
            e == HEADROOM_STORE_FOUND || e == HEADROOM_STORE_UNAVAILABLE ? e : HEADROOM_STORE_MISSING);
        if (stored.state == headroom::retrieval::Stored::State::Found) {
            stored.text = std::string_view(reinterpret_cast<const char*>(text), text ? len : 0);
        }
        return stored;
    };
}

// The caller's results' cache as the core asks it; nothing thrown crosses
// the caller's frames.
headroom::output_cache::Cache cache_of(const headroom_cache_t* cache) {
    using Take = std::function<bool(std::string_view)>;
    headroom::output_cache::Cache c;
    c.get = [cache](const headroom::output_cache::Key& key, const Take& take) noexcept {
        auto call = [](void* sink, const unsigned char* entry, size_t len) -> int {
            try {
                return (*static_cast<const Take*>(sink))(
                           std::string_view(reinterpret_cast<const char*>(entry), entry ? len : 0))
                           ? 1
                           : 0;
            } catch (...) {
                return 0;
            }
        };
        return cache->get(cache->data, key.data(), call, const_cast<Take*>(&take)) != 0;
    };
    c.put = [cache](const headroom::output_cache::Key& key, std::string_view entry) noexcept {
        cache->put(cache->data, key.data(), reinterpret_cast<const unsigned char*>(entry.data()), entry.size());
    };
    return c;
}

// The caller's memory of sessions' routes as the core asks it.
class SessionsOf final : public headroom::routing::Sessions {
public:
    explicit SessionsOf(const headroom_sessions_t* s) : s_(s) {}
    std::optional<std::string> get(std::string_view session) const override {
        const std::string key(session);
        char name[HEADROOM_ROUTE_NAME_SIZE] = {0};
        if (s_->get(s_->data, key.c_str(), name) == 0) return std::nullopt;
        name[sizeof(name) - 1] = '\0';
        return std::string(name);
    }
    void put(std::string_view session, std::string_view rule) const override {
        const std::string key(session);
        s_->put(s_->data, key.c_str(), rule.data(), rule.size());
    }

private:
    const headroom_sessions_t* s_;
};

// `s` in malloc'd memory; false when it ran short.
bool to_text(const std::string& s, headroom_text_t* out) {
    out->data = static_cast<unsigned char*>(std::malloc(s.size() + 1));
    out->len = 0;
    if (out->data == nullptr) return false;
    std::memcpy(out->data, s.data(), s.size());
    out->data[s.size()] = '\0';
    out->len = s.size();
    return true;
}

}  // namespace

extern "C" {

const char* headroom_content_kind_name(size_t kind) {
    if (kind >= headroom::kContentKinds) return nullptr;
    return headroom::content_kind_name(static_cast<headroom::ContentKind>(kind));
}

const char* headroom_transform_name(size_t transform) {
    if (transform >= headroom::kTransforms) return nullptr;
    return headroom::transform_name(static_cast<headroom::Transform>(transform));
}

const char* headroom_reason_name(size_t reason) {
    if (reason >= headroom::kReasons) return nullptr;
    return headroom::reason_name(static_cast<headroom::Reason>(reason));
}

int headroom_reason_is_failure(headroom_reason_e reason) {
    if (static_cast<size_t>(reason) >= headroom::kReasons) return 0;
    return headroom::reason_is_failure(static_cast<headroom::Reason>(reason)) ? 1 : 0;
}

void headroom_settings_init(headroom_settings_t* settings) {
    headroom::Settings d;
    settings->max_body_size = d.max_body_size;
    settings->max_decode_ratio = d.max_decode_ratio;
    settings->max_depth = d.max_depth;
    settings->minify_tool_json = d.minify_tool_json ? 1 : 0;
    settings->tokenizers = nullptr;
    settings->min_tokens = d.min_tokens;
    settings->crush_json = d.crush_json ? 1 : 0;
    settings->json_max_items = d.json_max_items;
    settings->json_keep_first = d.json_keep_first;
    settings->json_keep_last = d.json_keep_last;
    settings->json_keep_top = d.json_keep_top;
    settings->question_max_matches = d.question_max_matches;
    settings->json_tables = d.json_tables ? 1 : 0;
    settings->crush_logs = d.crush_logs ? 1 : 0;
    settings->log_values = d.log_values;
    settings->crush_search = d.crush_search ? 1 : 0;
    settings->crush_diffs = d.crush_diffs ? 1 : 0;
    settings->diff_context = d.diff_context;
    settings->protect_tools = nullptr;
    settings->nprotect_tools = 0;
    settings->stabilize_prefix = d.stabilize_prefix ? 1 : 0;
    settings->move_volatile = d.move_volatile ? 1 : 0;
    settings->volatile_patterns = nullptr;
    settings->canonical_tools = d.canonical_tools ? 1 : 0;
    settings->cache_breakpoints = d.cache_breakpoints ? 1 : 0;
    settings->prompt_cache_key = d.prompt_cache_key ? 1 : 0;
    settings->ccr = d.ccr ? 1 : 0;
    settings->ccr_tool = d.ccr_tool ? 1 : 0;
    settings->exact_counts = d.exact_counts ? 1 : 0;
    settings->routes = nullptr;
    settings->retire = d.retire ? 1 : 0;
    settings->retire_after = d.retire_after;
    settings->retire_min_tokens = d.retire_min_tokens;
    settings->retire_batch = d.retire_batch;
    settings->fit = d.fit ? 1 : 0;
    settings->context_limit_prefixes = nullptr;
    settings->context_limit_tokens = nullptr;
    settings->ncontext_limits = 0;
    settings->output_reserve = d.output_reserve;
    settings->fit_margin = d.fit_margin;
    settings->keep_turns = d.keep_turns;
    settings->fit_target = d.fit_target;
    settings->summarize = d.summarize ? 1 : 0;
    settings->summarize_model = nullptr;
    settings->summarize_turns = d.summarize_turns ? 1 : 0;
    settings->summarize_after = d.summarize_after;
    settings->summarize_batch = d.summarize_batch;
}

headroom_config_t* headroom_config_compile(const headroom_settings_t* settings, char* error,
                                           size_t error_len) {
    try {
        std::string why;
        auto c = headroom::Config::compile(to_settings(settings), why);
        if (c == nullptr) {
            copy_error(why, error, error_len);
            return nullptr;
        }
        return new headroom_config_t{std::move(c)};
    } catch (...) {
        copy_error("out of memory", error, error_len);
        return nullptr;
    }
}

void headroom_config_free(headroom_config_t* config) { delete config; }

size_t headroom_summary_of_answer(const unsigned char* answer, size_t len, unsigned char* out) {
    static_assert(HEADROOM_SUMMARY_MAX == headroom::summaries::kMaxSummaryBytes, "one bound");
    try {
        auto text = headroom::summaries::summary_of_answer(
            std::string_view(reinterpret_cast<const char*>(answer), len));
        if (!text) return 0;
        std::memcpy(out, text->data(), text->size());
        return text->size();
    } catch (...) {
        return 0;
    }
}

const char* headroom_encoding_name(size_t encoding) {
    if (encoding >= headroom::kEncodings) return nullptr;
    return headroom::encoding_name(static_cast<headroom::Encoding>(encoding));
}

int headroom_encoding_of(const char* value, size_t len, headroom_encoding_e* encoding) {
    if (value == nullptr || encoding == nullptr) return -1;
    const auto e = headroom::encoding_of(std::string_view(value, len));
    if (!e) return -1;
    *encoding = static_cast<headroom_encoding_e>(*e);
    return 0;
}

headroom_decoder_t* headroom_decoder_create(const headroom_config_t* config,
                                            headroom_encoding_e encoding, size_t declared) {
    if (config == nullptr || static_cast<size_t>(encoding) >= headroom::kEncodings) return nullptr;
    try {
        const headroom::Settings& s = config->config->settings();
        return new headroom_decoder_t{headroom::Decoder(
            static_cast<headroom::Encoding>(encoding),
            headroom::DecodeLimits{s.max_body_size, s.max_decode_ratio, declared})};
    } catch (...) {
        return nullptr;
    }
}

headroom_decode_e headroom_decoder_feed(headroom_decoder_t* decoder, const unsigned char* data,
                                        size_t len, int last) {
    if (decoder == nullptr) return HEADROOM_DECODE_ERROR;
    try {
        const std::string_view in(reinterpret_cast<const char*>(data), data ? len : 0);
        return static_cast<headroom_decode_e>(decoder->decoder.feed(in, last != 0));
    } catch (...) {
        return HEADROOM_DECODE_OUT_OF_MEMORY;
    }
}

const unsigned char* headroom_decoder_data(const headroom_decoder_t* decoder, size_t* len) {
    if (decoder == nullptr) {
        if (len) *len = 0;
        return nullptr;
    }
    const std::string_view d = decoder->decoder.decoded();
    if (len) *len = d.size();
    return reinterpret_cast<const unsigned char*>(d.data());
}

void headroom_decoder_destroy(headroom_decoder_t* decoder) { delete decoder; }

int headroom_glob_is_valid(const char* glob) {
    return glob != nullptr && headroom::glob_is_valid(glob) ? 1 : 0;
}

headroom_tokenizers_t* headroom_tokenizers_load(const char* dir, const char* const* rules,
                                                size_t nrules, int jit, char* error,
                                                size_t error_len) {
    try {
        std::vector<headroom::tokenizer::ModelRule> list;
        for (size_t i = 0; i < nrules; ++i) list.push_back({rules[2 * i], rules[2 * i + 1]});
        std::string why;
        auto t = headroom::tokenizer::Tokenizers::load(dir, std::move(list), why, jit != 0);
        if (t == nullptr) {
            copy_error(why, error, error_len);
            return nullptr;
        }
        return new headroom_tokenizers_t{std::move(t)};
    } catch (...) {
        copy_error("out of memory", error, error_len);
        return nullptr;
    }
}

void headroom_tokenizers_free(headroom_tokenizers_t* tokenizers) { delete tokenizers; }

headroom_volatile_patterns_t* headroom_volatile_patterns_compile(const char* const* pairs,
                                                                 size_t npairs, int jit,
                                                                 char* error, size_t error_len) {
    try {
        std::vector<headroom::VolatilePatterns::Extra> extra;
        for (size_t i = 0; i < npairs; ++i) extra.push_back({pairs[2 * i], pairs[2 * i + 1]});
        std::string why;
        auto p = headroom::VolatilePatterns::compile(extra, why, jit != 0);
        if (p == nullptr) {
            copy_error(why, error, error_len);
            return nullptr;
        }
        return new headroom_volatile_patterns_t{std::move(p)};
    } catch (...) {
        copy_error("out of memory", error, error_len);
        return nullptr;
    }
}

void headroom_volatile_patterns_free(headroom_volatile_patterns_t* patterns) { delete patterns; }

headroom_routes_t* headroom_routes_compile(const headroom_route_t* rules, size_t nrules, int jit, char* error,
                                           size_t error_len) {
    try {
        using headroom::routing::Rule;
        std::vector<Rule> list;
        auto str = [](const char* s) { return s != nullptr ? std::string(s) : std::string(); };
        for (size_t i = 0; i < nrules; ++i) {
            const headroom_route_t& in = rules[i];
            Rule r;
            r.name = str(in.name);
            r.model = str(in.model);
            r.tokens_op = in.tokens_op == HEADROOM_ROUTE_TOKENS_BELOW   ? Rule::Tokens::Below
                          : in.tokens_op == HEADROOM_ROUTE_TOKENS_ABOVE ? Rule::Tokens::Above
                                                                        : Rule::Tokens::Any;
            r.tokens = in.tokens;
            r.tools = in.tools == HEADROOM_ROUTE_TOOLS_YES  ? Rule::Tools::Yes
                      : in.tools == HEADROOM_ROUTE_TOOLS_NO ? Rule::Tools::No
                                                            : Rule::Tools::Any;
            r.text = str(in.text);
            r.api = str(in.api);
            r.sticky = in.sticky != 0;
            r.to = str(in.to);
            list.push_back(std::move(r));
        }
        std::string why;
        auto compiled = headroom::routing::Rules::compile(std::move(list), why, jit != 0);
        if (compiled == nullptr) {
            copy_error(why, error, error_len);
            return nullptr;
        }
        return new headroom_routes_t{std::move(compiled)};
    } catch (...) {
        copy_error("out of memory", error, error_len);
        return nullptr;
    }
}

void headroom_routes_free(headroom_routes_t* routes) { delete routes; }

headroom_prices_t* headroom_prices_load(const char* path, char* error, size_t error_len) {
    try {
        std::string text;
        if (path == nullptr) {
            text = headroom::Prices::built_in_text();
        } else {
            std::ifstream in(path, std::ios::binary);
            std::ostringstream buf;
            if (!in || !(buf << in.rdbuf())) {
                copy_error(std::string("cannot read ") + path + ": " + std::strerror(errno), error,
                           error_len);
                return nullptr;
            }
            text = buf.str();
        }
        std::string why;
        auto p = headroom::Prices::parse(text, why);
        if (p == nullptr) {
            copy_error(why, error, error_len);
            return nullptr;
        }
        return new headroom_prices_t{std::move(p)};
    } catch (...) {
        copy_error("out of memory", error, error_len);
        return nullptr;
    }
}

void headroom_prices_free(headroom_prices_t* prices) { delete prices; }

double headroom_price_per_mtok(const headroom_prices_t* prices, const char* model,
                               size_t model_len) {
    if (prices == nullptr || model == nullptr) return -1;
    return prices->prices->usd_per_mtok(std::string_view(model, model_len));
}

double headroom_cost_usd(const headroom_prices_t* prices, const char* model, size_t model_len,
                         const headroom_usage_t* usage) {
    if (prices == nullptr || model == nullptr || usage == nullptr || !usage->found) return -1;
    return prices->prices->cost_usd(std::string_view(model, model_len), usage->input, usage->cached,
                                    usage->cache_write, usage->output);
}

struct headroom_usage_reader_s {
    headroom::UsageReader reader;
};

headroom_usage_reader_t* headroom_usage_reader_create(const char* api, int event_stream,
                                                      headroom_encoding_e encoding) {
    if (static_cast<size_t>(encoding) >= headroom::kEncodings) return nullptr;
    try {
        return new headroom_usage_reader_t{headroom::UsageReader(
            api ? api : "", event_stream ? headroom::UsageReader::Form::EventStream : headroom::UsageReader::Form::Json,
            static_cast<headroom::Encoding>(encoding))};
    } catch (...) {
        return nullptr;
    }
}

void headroom_usage_reader_estimate(headroom_usage_reader_t* reader, const headroom_tokenizers_t* tokenizers,
                                    const char* model, size_t model_len, uint64_t input) {
    if (reader == nullptr || tokenizers == nullptr || tokenizers->tokenizers == nullptr) return;
    try {
        auto pick = tokenizers->tokenizers->for_model(std::string_view(model ? model : "", model ? model_len : 0));
        reader->reader.estimate_without_usage(pick.encoding, input);
    } catch (...) {  // no estimate
    }
}

void headroom_usage_reader_feed(headroom_usage_reader_t* reader, const unsigned char* data, size_t len) {
    if (reader == nullptr || data == nullptr) return;
    reader->reader.feed(std::string_view(reinterpret_cast<const char*>(data), len));
}

void headroom_usage_reader_finish(headroom_usage_reader_t* reader, headroom_usage_t* usage) {
    *usage = headroom_usage_t{};
    if (reader == nullptr) return;
    reader->reader.finish();
    headroom::Usage u;
    try {
        u = reader->reader.usage();
    } catch (...) {  // no memory for the answer's names: nothing said
        return;
    }
    usage->input = u.input;
    usage->cached = u.cached;
    usage->cache_write = u.cache_write;
    usage->output = u.output;
    usage->found = u.found ? 1 : 0;
    usage->estimated = u.estimated ? 1 : 0;
    const std::size_t n = std::min(u.model.size(), sizeof(usage->model) - 1);
    std::memcpy(usage->model, u.model.data(), n);
    usage->model[n] = '\0';
    const std::size_t k = std::min(u.response_id.size(), sizeof(usage->response_id) - 1);
    std::memcpy(usage->response_id, u.response_id.data(), k);
    usage->response_id[k] = '\0';
}

int headroom_session_of_response(const char* scope, size_t scope_len, const char* model, size_t model_len,
                                 const char* response_id, size_t len, char out[33]) {
    try {
        const std::string s = headroom::routing::session_of_kept(
            std::string_view(scope ? scope : "", scope ? scope_len : 0),
            std::string_view(model ? model : "", model ? model_len : 0),
            "response:" + std::string(response_id ? response_id : "", response_id ? len : 0));
        if (s.size() != 32) return 0;
        std::memcpy(out, s.data(), 32);
        out[32] = '\0';
        return 1;
    } catch (...) {
        return 0;
    }
}

void headroom_usage_reader_free(headroom_usage_reader_t* reader) { delete reader; }

const char* headroom_default_tokenizer_dir(void) { return HEADROOM_TOKENIZER_DIR; }

const char* headroom_api_of_path(const char* path, size_t path_len) {
    const headroom::Dialect* d = headroom::dialect_for_path(std::string_view(path, path_len));
    return d ? d->name() : nullptr;
}

int headroom_path_may_rewrite(const char* path, size_t path_len) {
    return headroom::dialect_for_path(std::string_view(path, path_len)) != nullptr;
}

void headroom_process(const headroom_config_t* config, unsigned flags, const char* path,
                      size_t path_len, const unsigned char* body, size_t body_len,
                      headroom_result_t* result) {
    headroom_process_with_store(config, flags, path, path_len, body, body_len, nullptr, result);
}

void headroom_process_with_store(const headroom_config_t* config, unsigned flags, const char* path,
                                 size_t path_len, const unsigned char* body, size_t body_len,
                                 const headroom_store_t* store, headroom_result_t* result) {
    const headroom_env_t env{store, nullptr, 0, nullptr, nullptr, 0};
    headroom_process_in(config, flags, path, path_len, body, body_len, &env, result);
}

void headroom_process_in(const headroom_config_t* config, unsigned flags, const char* path, size_t path_len,
                         const unsigned char* body, size_t body_len, const headroom_env_t* env,
                         headroom_result_t* result) {
    const headroom_store_t* store = env ? env->store : nullptr;
    const headroom_cache_t* cache = env ? env->cache : nullptr;
    auto* owned = new (std::nothrow) Owned;
    if (owned == nullptr || config == nullptr) {
        delete owned;
        *result = headroom_result_t{};
        result->outcome = HEADROOM_PASSTHROUGH;
        result->reason = config ? HEADROOM_REASON_OUT_OF_MEMORY : HEADROOM_REASON_INTERNAL_ERROR;
        result->detail = "";
        result->shape = "unknown";
        result->encoding = "";
        result->prefix_hash = "";
        result->answer_key = "";
        result->model = "";
        result->route = "";
        result->model_in = "";
        result->path_out = "";
        result->session = "";
        return;
    }
    headroom::Wants wants;
    wants.prefix_hash = (flags & HEADROOM_WANT_PREFIX_HASH) != 0;
    wants.answer_key = (flags & HEADROOM_WANT_ANSWER_KEY) != 0;
    wants.answer_key_of_original = (flags & HEADROOM_ANSWER_KEY_OF_ORIGINAL) != 0;
    wants.request_tokens = (flags & HEADROOM_WANT_REQUEST_TOKENS) != 0;
    wants.originals_kept = (flags & HEADROOM_ORIGINALS_NOT_KEPT) == 0;
    wants.offload_above = env ? env->offload_above : 0;
    std::optional<headroom::retrieval::Lookup> lookup;
    if (store != nullptr && store->lookup != nullptr) {
        try {
            lookup = lookup_of(store);
            wants.lookup = &*lookup;
        } catch (...) {  // no fill, as without a store
        }
    }
    std::optional<SessionsOf> sessions;
    if (env != nullptr && env->sessions != nullptr && env->sessions->get != nullptr &&
        env->sessions->put != nullptr) {
        sessions.emplace(env->sessions);
        wants.sessions = &*sessions;
        if (env->session_scope != nullptr) {
            wants.session_scope = std::string_view(env->session_scope, env->session_scope_len);
        }
    }
    std::optional<headroom::output_cache::Cache> results;
    if (cache != nullptr && cache->get != nullptr && cache->put != nullptr) {
        try {
            results = cache_of(cache);
            wants.cache = &*results;
        } catch (...) {  // every output worked out, as without a cache
        }
    }
    owned->result = headroom::process(std::string_view(path, path_len),
                                      std::string_view(reinterpret_cast<const char*>(body), body_len),
                                      *config->config, wants);
    try {
        fill(result, *owned);
    } catch (...) {  // the originals' list could not be made
        owned->result.outcome = headroom::Outcome::Passthrough;
        owned->result.reason = headroom::Reason::OutOfMemory;
        owned->result.originals.clear();
        owned->originals.clear();
        fill(result, *owned);
    }
}

void headroom_text_free(headroom_text_t* text) {
    if (text == nullptr) return;
    std::free(text->data);
    text->data = nullptr;
    text->len = 0;
}

int headroom_retrieve_select(const unsigned char* original, size_t len, const char* lines,
                             size_t lines_len, const char* items, size_t items_len, const char* grep,
                             size_t grep_len, headroom_text_t* out) {
    out->data = nullptr;
    out->len = 0;
    try {
        headroom::retrieval::Request req;
        if (lines) req.lines.assign(lines, lines_len);
        if (items) req.items.assign(items, items_len);
        if (grep) req.grep.assign(grep, grep_len);
        std::string why;
        if (!req.items.empty() && (!req.lines.empty() || !req.grep.empty())) {
            why = "items goes alone: not with lines or grep";
        } else if (auto s = headroom::retrieval::select(
                       std::string_view(reinterpret_cast<const char*>(original), original ? len : 0), req, why)) {
            return to_text(s->text, out) ? 0 : -1;
        }
        (void) to_text(why, out);
        return -1;
    } catch (...) {
        return -1;
    }
}

int headroom_sha256_hex(const unsigned char* data, size_t len, char out[65]) {
    try {
        const std::string hex =
            headroom::sha256_hex(std::string_view(reinterpret_cast<const char*>(data), data ? len : 0), 64);
        std::memcpy(out, hex.data(), 64);
        out[64] = '\0';
        return 1;
    } catch (...) {
        out[0] = '\0';
        return 0;
    }
}

void headroom_tenant_of(const unsigned char* credential, size_t len, char out[33]) {
    char hex[65];
    if (headroom_sha256_hex(credential, len, hex)) {
        std::memcpy(out, hex, 32);
    } else {
        std::memset(out, '0', 32);  // one tenant for all: no retrieval
    }
    out[32] = '\0';
}

int headroom_mcp_respond(const unsigned char* body, size_t len, const headroom_store_t* store,
                         size_t max_bytes, headroom_text_t* out, headroom_mcp_counts_t* counts) {
    out->data = nullptr;
    out->len = 0;
    try {
        const headroom::retrieval::Lookup lookup = lookup_of(store);
        headroom::mcp::Answer a = headroom::mcp::respond(
            std::string_view(reinterpret_cast<const char*>(body), body ? len : 0), lookup, max_bytes);
        if (counts) {
            counts->found = a.found;
            counts->missing = a.missing;
            counts->unavailable = a.unavailable;
        }
        if (a.status != 202 && !to_text(a.body, out)) return -1;
        return a.status;
    } catch (...) {
        return -1;
    }
}

void headroom_result_free(headroom_result_t* result) {
    if (result == nullptr) return;
    delete static_cast<Owned*>(result->owner);
    result->owner = nullptr;
    result->body = nullptr;
    result->body_len = 0;
}

}  // extern "C"
