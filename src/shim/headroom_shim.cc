// The shim: translates between the C interface and the core, and makes sure
// nothing thrown inside the core reaches nginx.
#include "shim/headroom.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <new>
#include <string_view>

#include "core/pipeline.h"
#include "core/prices.h"
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

namespace {

void copy_error(const std::string& msg, char* error, size_t error_len) {
    if (error == nullptr || error_len == 0) return;
    size_t n = std::min(msg.size(), error_len - 1);
    std::memcpy(error, msg.data(), n);
    error[n] = '\0';
}

headroom::Options to_options(const headroom_options_t* in) {
    headroom::Options o;
    if (in != nullptr) {
        o.max_depth = in->max_depth;
        o.minify_tool_json = in->minify_tool_json != 0;
        o.tokenizers = in->tokenizers ? in->tokenizers->tokenizers.get() : nullptr;
        o.min_tokens = in->min_tokens;
        o.crush_json = in->crush_json != 0;
        o.json_max_items = in->json_max_items;
        o.json_keep_first = in->json_keep_first;
        o.json_keep_last = in->json_keep_last;
        o.json_tables = in->json_tables != 0;
        o.crush_logs = in->crush_logs != 0;
        o.crush_search = in->crush_search != 0;
        o.crush_diffs = in->crush_diffs != 0;
        o.diff_context = in->diff_context;
        for (size_t i = 0; i < in->nprotect_tools; ++i) o.protect_tools.emplace_back(in->protect_tools[i]);
        o.stabilize_prefix = in->stabilize_prefix != 0;
        o.move_volatile = in->move_volatile != 0;
        o.volatile_patterns = in->volatile_patterns ? in->volatile_patterns->patterns.get() : nullptr;
        o.canonical_tools = in->canonical_tools != 0;
        o.cache_breakpoints = in->cache_breakpoints != 0;
        o.prompt_cache_key = in->prompt_cache_key != 0;
        o.want_prefix_hash = in->want_prefix_hash != 0;
    }
    return o;
}

void fill(headroom_result_t* out, const headroom::Result& r, const void* owner) {
    out->outcome = r.outcome == headroom::Outcome::Rewritten ? HEADROOM_REWRITTEN
                                                             : HEADROOM_PASSTHROUGH;
    out->reason = r.reason;
    out->detail = r.detail.c_str();
    out->shape = headroom::shape_name(r.shape);
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
    out->volatile_moved = r.volatile_moved;
    out->tools_sorted = r.tools_sorted ? 1 : 0;
    out->breakpoints_added = r.breakpoints_added;
    out->cache_key_set = r.cache_key_set ? 1 : 0;
    out->owner = const_cast<void*>(owner);
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

void headroom_options_init(headroom_options_t* options) {
    headroom::Options defaults;
    options->max_depth = defaults.max_depth;
    options->minify_tool_json = defaults.minify_tool_json ? 1 : 0;
    options->tokenizers = nullptr;
    options->min_tokens = defaults.min_tokens;
    options->crush_json = defaults.crush_json ? 1 : 0;
    options->json_max_items = defaults.json_max_items;
    options->json_keep_first = defaults.json_keep_first;
    options->json_keep_last = defaults.json_keep_last;
    options->json_tables = defaults.json_tables ? 1 : 0;
    options->crush_logs = defaults.crush_logs ? 1 : 0;
    options->crush_search = defaults.crush_search ? 1 : 0;
    options->crush_diffs = defaults.crush_diffs ? 1 : 0;
    options->diff_context = defaults.diff_context;
    options->protect_tools = nullptr;
    options->nprotect_tools = 0;
    options->stabilize_prefix = defaults.stabilize_prefix ? 1 : 0;
    options->move_volatile = defaults.move_volatile ? 1 : 0;
    options->volatile_patterns = nullptr;
    options->canonical_tools = defaults.canonical_tools ? 1 : 0;
    options->cache_breakpoints = defaults.cache_breakpoints ? 1 : 0;
    options->prompt_cache_key = defaults.prompt_cache_key ? 1 : 0;
    options->want_prefix_hash = defaults.want_prefix_hash ? 1 : 0;
}

headroom_tokenizers_t* headroom_tokenizers_load(const char* dir, const char* const* rules,
                                                size_t nrules, char* error, size_t error_len) {
    try {
        std::vector<headroom::tokenizer::ModelRule> list;
        for (size_t i = 0; i < nrules; ++i) list.push_back({rules[2 * i], rules[2 * i + 1]});
        std::string why;
        auto t = headroom::tokenizer::Tokenizers::load(dir, std::move(list), why);
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
                                                                 size_t npairs, char* error,
                                                                 size_t error_len) {
    try {
        std::vector<headroom::VolatilePatterns::Extra> extra;
        for (size_t i = 0; i < npairs; ++i) extra.push_back({pairs[2 * i], pairs[2 * i + 1]});
        std::string why;
        auto p = headroom::VolatilePatterns::compile(extra, why);
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

const char* headroom_default_tokenizer_dir(void) { return HEADROOM_TOKENIZER_DIR; }

int headroom_path_may_rewrite(const char* path, size_t path_len) {
    return headroom::shape_from_path(std::string_view(path, path_len)) != headroom::Shape::Unknown;
}

void headroom_process(const headroom_options_t* options, const char* path, size_t path_len,
                      const unsigned char* body, size_t body_len, headroom_result_t* result) {
    auto* r = new (std::nothrow) headroom::Result;
    if (r == nullptr) {
        *result = headroom_result_t{};
        result->outcome = HEADROOM_PASSTHROUGH;
        result->reason = "out_of_memory";
        result->detail = "";
        result->shape = "unknown";
        result->encoding = "";
        result->prefix_hash = "";
        result->model = "";
        return;
    }
    try {
        *r = headroom::process(std::string_view(path, path_len),
                               std::string_view(reinterpret_cast<const char*>(body), body_len),
                               to_options(options));
    } catch (...) {  // copying the options failed; process() itself never throws
        r->reason = "out_of_memory";
    }
    fill(result, *r, r);
}

void headroom_result_free(headroom_result_t* result) {
    if (result == nullptr) return;
    delete static_cast<headroom::Result*>(result->owner);
    result->owner = nullptr;
    result->body = nullptr;
    result->body_len = 0;
}

}  // extern "C"
