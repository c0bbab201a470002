#include "core/pipeline.h"

#include <fnmatch.h>

#include <new>
#include <optional>

#include "core/content_kind.h"
#include "core/json.h"
#include "core/prefix_hash.h"
#include "core/tokenizer/tokenizers.h"
#include "core/tool_outputs.h"
#include "core/transforms/cache_hints.h"
#include "core/transforms/canonical_tools.h"
#include "core/transforms/crush_json.h"
#include "core/transforms/crush_diff.h"
#include "core/transforms/crush_log.h"
#include "core/transforms/crush_search.h"
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

Result passthrough(Result r, const char* reason, std::string detail = {}) {
    r.outcome = Outcome::Passthrough;
    r.reason = reason;
    r.detail = std::move(detail);
    r.body.clear();
    r.by_transform = {};  // nothing was applied
    return r;
}

bool is_protected(std::string_view tool, const Options& options) {
    if (tool.empty() || options.protect_tools.empty()) return false;
    std::string name(tool);
    for (const auto& glob : options.protect_tools) {
        if (fnmatch(glob.c_str(), name.c_str(), 0) == 0) return true;
    }
    return false;
}

struct Crushed {
    ContentKind kind = ContentKind::Text;
    std::optional<std::string> text;  // the candidate rewrite, if any
    std::size_t omitted = 0;          // items or lines it leaves out
};

// Detection decides the one crusher that may touch an output: JSON by
// parsing it, the rest by its lines (split once, here). Listings, code and
// text get none.
template <typename SizeOf>
Crushed crush(const ToolOutput& out, const Options& options, const SizeOf& size_of) {
    Crushed c;
    if (json::opens_object_or_array(out.text) && (options.crush_json || options.minify_tool_json)) {
        if (options.crush_json) {
            transforms::CrushJsonLimits limits;
            limits.max_items = options.json_max_items;
            limits.keep_first = options.json_keep_first;
            limits.keep_last = options.json_keep_last;
            limits.max_depth = options.max_depth;
            limits.tables = options.json_tables;
            limits.measure = size_of;
            if (auto j = transforms::crush_json(out.text, out.question, limits)) {
                c.text = std::move(j->text);
                c.omitted = j->omitted;
            }
        } else {
            c.text = transforms::minify_json(out.text, options.max_depth);
        }
        if (c.text) {
            c.kind = ContentKind::Json;
            return c;
        }
    }
    const transforms::Lines lines = transforms::split_lines(out.text);
    c.kind = classify_lines(lines);
    switch (c.kind) {
    case ContentKind::Diff:
        if (options.crush_diffs) {
            transforms::CrushDiffLimits limits;
            limits.context = options.diff_context;
            limits.measure = size_of;
            if (auto d = transforms::crush_diff(out.text, lines, limits)) {
                c.text = std::move(d->text);
                c.omitted = d->omitted;
            }
        }
        break;
    case ContentKind::Search:
        if (options.crush_search) {
            if (auto s = transforms::crush_search(out.text, lines, out.question,
                                                  transforms::CrushSearchLimits{})) {
                c.text = std::move(s->text);
                c.omitted = s->omitted;
            }
        }
        break;
    case ContentKind::Log:
        if (options.crush_logs) {
            if (auto l = transforms::crush_log(out.text, lines, transforms::CrushLogLimits{})) {
                c.text = std::move(l->text);
                c.omitted = l->omitted;
            }
        }
        break;
    default: break;
    }
    return c;
}

Result run(std::string_view path, std::string_view body, const Options& options) {
    Result r;

    // Cheap first: most gateway traffic may be other endpoints.
    if (shape_from_path(path) == Shape::Unknown) return passthrough(std::move(r), "unknown_shape");

    json::ParseResult parsed = json::parse(body, options.max_depth);
    if (!parsed.ok()) {
        return passthrough(std::move(r), json::parse_error_name(parsed.error),
                           std::move(parsed.message));
    }
    json::Value& doc = parsed.value;

    r.shape = detect_shape(path, doc);
    if (r.shape == Shape::Unknown) return passthrough(std::move(r), "unknown_shape");
    if (const json::Value* model = doc.find("model"); model && model->is_string()) {
        r.model = model->text;
    }

    // The size that decides: tokens of the request's model, else bytes.
    const tokenizer::Encoding* encoding = nullptr;
    if (options.tokenizers != nullptr) {
        auto pick = options.tokenizers->for_model(r.model);
        encoding = pick.encoding;
        r.tokens_estimated = !pick.exact;
        r.encoding = encoding ? encoding->name().c_str() : "";
    }
    auto size_of = [&](std::string_view text) -> std::size_t {
        return encoding ? encoding->count(text) : text.size();
    };

    for_each_tool_output(r.shape, doc, [&](ToolOutput& out) {
        ++r.tool_outputs;
        const std::size_t before = size_of(out.text);
        std::size_t after = before;
        if (before < options.min_tokens) {
            ++r.small;
        } else if (is_protected(out.tool_name, options)) {
            ++r.protected_;
        } else {
            Crushed c = crush(out, options, size_of);
            // A rewrite is kept only with strictly fewer tokens.
            std::size_t size = c.text ? size_of(*c.text) : before;
            if (size < before) {
                out.text.swap(*c.text);
                after = size;
                if (c.omitted > 0) {
                    ++r.crushed;
                    r.omitted += c.omitted;
                } else {
                    ++r.minified;
                }
                count(r, transform_of(c.kind, c.omitted), 1, encoding ? before - after : 0);
            }
            KindCounts& k = r.by_kind[static_cast<std::size_t>(c.kind)];
            ++k.outputs;
            if (encoding != nullptr) {
                k.tokens_before += before;
                k.tokens_after += after;
            }
        }
        if (encoding != nullptr) {
            r.tokens_before += before;
            r.tokens_after += after;
        }
    });

    // The prefix: made stable, marked for caching (before the note about
    // volatile values follows the newest message: the next call will not
    // have it), then named.
    if (options.stabilize_prefix) {
        if (options.canonical_tools) r.tools_sorted = transforms::canonicalize_tools(doc);
        if (r.shape == Shape::AnthropicMessages && options.cache_breakpoints) {
            r.breakpoints_added = transforms::add_cache_breakpoints(doc);
        }
        if (options.move_volatile && options.volatile_patterns != nullptr) {
            r.volatile_moved = transforms::move_volatile_values(r.shape, doc, *options.volatile_patterns);
        }
    }
    const bool cache_key = options.stabilize_prefix && options.prompt_cache_key &&
                           r.shape != Shape::AnthropicMessages;
    if (options.want_prefix_hash || cache_key) r.prefix_hash = prefix_hash(r.shape, doc);
    if (cache_key) r.cache_key_set = transforms::set_prompt_cache_key(doc, r.prefix_hash);
    count(r, Transform::MoveVolatile, r.volatile_moved > 0 ? 1 : 0);
    count(r, Transform::CanonicalTools, r.tools_sorted ? 1 : 0);
    count(r, Transform::CacheBreakpoints, r.breakpoints_added > 0 ? 1 : 0);
    count(r, Transform::PromptCacheKey, r.cache_key_set ? 1 : 0);
    const bool prefix_changed =
        r.tools_sorted || r.volatile_moved > 0 || r.breakpoints_added > 0 || r.cache_key_set;

    if (r.minified == 0 && r.crushed == 0 && !prefix_changed) {
        return passthrough(std::move(r), "no_change");
    }

    r.body.reserve(body.size());
    json::serialize(doc, r.body);
    // Crushing must pay for itself; cache hints may cost a few bytes.
    if (!prefix_changed && r.body.size() >= body.size()) {
        return passthrough(std::move(r), "not_smaller");
    }

    r.outcome = Outcome::Rewritten;
    r.reason = "optimized";
    return r;
}

}  // namespace

Result process(std::string_view path, std::string_view body, const Options& options) noexcept {
    try {
        return run(path, body, options);
    } catch (const std::bad_alloc&) {
        return passthrough(Result{}, "out_of_memory");
    } catch (...) {
        // No allocation here: this function must not throw.
        return passthrough(Result{}, "internal_error");
    }
}

}  // namespace headroom
