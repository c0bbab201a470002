// The core's stages on the bodies of bench/bodies, at 1 KB, 100 KB and
// 1 MB (and two agent sessions' last turns), for `make bench`: a bare yajl
// event parse (the floor), the tree parse, each pass on a tool output of
// the body's size, the tokenizer, serialization, and the whole pipeline,
// fresh (every output new) and replayed (every output in the results'
// cache, as on an agent's next turn).
//   HEADROOM_BENCH_BODIES=build/bench/bodies build/cmake/bench_stages
#include <benchmark/benchmark.h>
#include <yajl/yajl_parse.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>

#include "core/dialect/dialect.h"
#include "core/json.h"
#include "core/output_cache.h"
#include "core/pipeline.h"
#include "core/prefix_hash.h"
#include "core/routing.h"
#include "core/tokenizer/tokenizers.h"
#include "core/content_kind.h"
#include "core/transforms/crush_diff.h"
#include "core/transforms/crush_json.h"
#include "core/transforms/crush_log.h"
#include "core/transforms/crush_search.h"
#include "core/transforms/lines.h"

namespace {

namespace oc = headroom::output_cache;
namespace tf = headroom::transforms;

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path + " (bench/bodies makes it)");
    std::ostringstream buf;
    buf << in.rdbuf();
    return buf.str();
}

std::string bodies_dir() {
    const char* d = std::getenv("HEADROOM_BENCH_BODIES");
    return d ? d : "build/bench/bodies";
}

std::shared_ptr<const headroom::tokenizer::Tokenizers> tokenizers() {
    static const auto t = [] {
        std::string error;
        auto t = headroom::tokenizer::Tokenizers::load(HEADROOM_TOKENIZER_DIR, {}, error);
        if (!t) throw std::runtime_error(error);
        return t;
    }();
    return t;
}

// As the module runs it: sizes in tokens, the prefix made stable.
std::shared_ptr<const headroom::Config> config() {
    static const auto c = [] {
        headroom::Settings s;
        s.tokenizers = tokenizers();
        std::string error;
        auto c = headroom::Config::compile(s, error);
        if (!c) throw std::runtime_error(error);
        return c;
    }();
    return c;
}

// The same with a routing rule that counts the whole request on every
// turn (sticky=off, its bound never reached): the most routing can cost.
// A sticky rule costs less: a session's later turns are not counted.
std::shared_ptr<const headroom::Config> routed_config() {
    static const auto c = [] {
        headroom::Settings s;
        s.tokenizers = tokenizers();
        headroom::routing::Rule huge;
        huge.name = "huge";
        huge.tokens_op = headroom::routing::Rule::Tokens::Above;
        huge.tokens = std::size_t(1) << 40;
        huge.to = "long-context";
        huge.sticky = false;  // decided every turn: counted every turn
        std::string error;
        s.routes = headroom::routing::Rules::compile({huge}, error);
        auto c = headroom::Config::compile(s, error);
        if (!s.routes || !c) throw std::runtime_error(error);
        return c;
    }();
    return c;
}

// A session's memory, as the module's zone keeps it.
class Sessions final : public headroom::routing::Sessions {
public:
    std::optional<std::string> get(std::string_view session) const override {
        auto it = kept_.find(std::string(session));
        if (it == kept_.end()) return std::nullopt;
        return it->second;
    }
    void put(std::string_view session, std::string_view rule) const override {
        kept_[std::string(session)] = std::string(rule);
    }

private:
    mutable std::map<std::string, std::string> kept_;
};

struct Body {
    std::string name, path, bytes;
    std::string tool_text;  // its largest tool output, as text
};

int ignore_value(void*) { return 1; }
int ignore_bool(void*, int) { return 1; }
int ignore_number(void*, const char*, size_t) { return 1; }
int ignore_string(void*, const unsigned char*, size_t) { return 1; }

const yajl_callbacks kNoCallbacks = {ignore_value,  ignore_bool,  nullptr,      nullptr,     ignore_number,
                                     ignore_string, ignore_value, ignore_string, ignore_value, ignore_value,
                                     ignore_value};

// The floor: yajl's own event parse, every event ignored.
void BM_YajlEvents(benchmark::State& state, const Body* b) {
    for (auto _ : state) {
        yajl_handle h = yajl_alloc(&kNoCallbacks, nullptr, nullptr);
        yajl_config(h, yajl_dont_validate_strings, 1);
        const auto* p = reinterpret_cast<const unsigned char*>(b->bytes.data());
        if (yajl_parse(h, p, b->bytes.size()) != yajl_status_ok || yajl_complete_parse(h) != yajl_status_ok) {
            state.SkipWithError("yajl refused the body");
        }
        yajl_free(h);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * b->bytes.size()));
}

void BM_ParseTree(benchmark::State& state, const Body* b) {
    for (auto _ : state) benchmark::DoNotOptimize(headroom::json::parse(b->bytes, 512));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * b->bytes.size()));
}

void BM_Serialize(benchmark::State& state, const Body* b) {
    auto parsed = headroom::json::parse(b->bytes, 512);
    for (auto _ : state) benchmark::DoNotOptimize(headroom::json::serialize(parsed.value));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * b->bytes.size()));
}

void BM_Dialect(benchmark::State& state, const Body* b) {
    auto parsed = headroom::json::parse(b->bytes, 512);
    const headroom::Dialect* d = headroom::dialect_for_path(b->path);
    for (auto _ : state) {
        benchmark::DoNotOptimize(d->tool_outputs(parsed.value));
        benchmark::DoNotOptimize(headroom::prefix_hash(*d, "m", parsed.value));
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * b->bytes.size()));
}

void BM_CountTokens(benchmark::State& state, const Body* b) {
    const auto* e = tokenizers()->find("o200k_base");
    for (auto _ : state) benchmark::DoNotOptimize(e->count(b->tool_text));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * b->tool_text.size()));
}

void BM_Classify(benchmark::State& state, const Body* b) {
    for (auto _ : state) {
        auto lines = tf::split_lines(b->tool_text);
        benchmark::DoNotOptimize(headroom::classify_lines(lines));
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * b->tool_text.size()));
}

// A crusher on a text of the body's size: `make` builds it from `text`.
template <typename Crush>
void BM_Crusher(benchmark::State& state, std::string text, Crush crush) {
    for (auto _ : state) benchmark::DoNotOptimize(crush(text));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

void BM_PipelineNew(benchmark::State& state, const Body* b) {
    auto c = config();
    for (auto _ : state) benchmark::DoNotOptimize(headroom::process(b->path, b->bytes, *c));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * b->bytes.size()));
}

// A turn replayed with `c`: the earlier turn first, then each iteration;
// `wrong` says what is wrong with a result, or nullptr.
void replay(benchmark::State& state, const Body* b, const headroom::Config& c, headroom::Wants w,
            const char* (*wrong)(const headroom::Result&)) {
    oc::InProcess store;
    const oc::Cache cache = store.cache();
    w.cache = &cache;
    headroom::process(b->path, b->bytes, c, w);  // the earlier turn
    for (auto _ : state) {
        auto r = headroom::process(b->path, b->bytes, c, w);
        if (const char* why = wrong(r)) state.SkipWithError(why);
        benchmark::DoNotOptimize(r);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * b->bytes.size()));
}

void BM_PipelineReplayed(benchmark::State& state, const Body* b) {
    replay(state, b, *config(), {}, [](const headroom::Result& r) {
        return r.cache_misses != 0 ? "not all in the cache" : nullptr;
    });
}

// A replayed turn with routing: every part of the request counted (its
// counts from the cache), the session looked up.
void BM_PipelineReplayedRouted(benchmark::State& state, const Body* b) {
    Sessions sessions;
    headroom::Wants w;
    w.sessions = &sessions;
    replay(state, b, *routed_config(), w, [](const headroom::Result& r) {
        return r.request_tokens == 0 ? "not counted" : nullptr;
    });
}

// The same with retiring and fitting on, a window of 8,000 tokens the agent
// turns are well over: every turn retires and cuts (its counts from the
// cache), the most the context window costs.
std::shared_ptr<const headroom::Config> fitted_config() {
    static const auto c = [] {
        headroom::Settings s;
        s.tokenizers = tokenizers();
        s.ccr = true;
        s.retire = true;
        s.retire_after = 2;
        s.fit = true;
        s.context_limits = {{"claude-", 8000}, {"gpt-", 8000}};
        std::string error;
        auto c = headroom::Config::compile(s, error);
        if (!c) throw std::runtime_error(error);
        return c;
    }();
    return c;
}

void BM_PipelineReplayedFitted(benchmark::State& state, const Body* b) {
    replay(state, b, *fitted_config(), {}, [](const headroom::Result& r) {
        return r.fit_limit == 0 ? "no window" : nullptr;
    });
}

// `n` bytes of `text` repeated, cut at a line's end.
std::string sized(const std::string& text, std::size_t n) {
    std::string s;
    while (s.size() < n) s += text;
    s.resize(n);
    return s.substr(0, s.rfind('\n') + 1);
}

std::string json_records(std::size_t n) {
    std::string s = "[";
    for (int i = 0; s.size() < n; ++i) {
        s += std::string(i ? ",\n" : "\n") + "  {\"id\": " + std::to_string(i) + ", \"name\": \"item-" +
             std::to_string(i) + "\", \"status\": \"" + (i % 97 ? "ok" : "failed") +
             "\", \"latency_ms\": " + std::to_string(i % 13 * 7) + "}";
    }
    return s + "\n]";
}

}  // namespace

int main(int argc, char** argv) {
    const std::string dir = bodies_dir();
    static std::vector<Body> bodies;
    for (const char* name : {"small_1k", "new_100k", "new_1m", "agent100k_8", "agent700k_8"}) {
        Body b;
        b.name = name;
        b.bytes = slurp(dir + "/" + name + ".json");
        b.path = b.name.rfind("agent", 0) == 0 ? "/v1/messages" : "/v1/chat/completions";
        auto parsed = headroom::json::parse(b.bytes, 512);
        const auto map = headroom::dialect_for_path(b.path)->tool_outputs(parsed.value);
        for (const auto& site : map.outputs) {
            for (const auto& p : site.parts) {
                const auto* v = headroom::json::resolve(parsed.value, p);
                if (v && v->is_string() && v->text.size() > b.tool_text.size()) b.tool_text = v->text;
            }
        }
        bodies.push_back(std::move(b));
    }
    for (const Body& b : bodies) {
        const Body* p = &b;
        auto reg = [&](const char* stage, void (*f)(benchmark::State&, const Body*)) {
            benchmark::RegisterBenchmark((std::string(stage) + "/" + b.name).c_str(), f, p)
                ->Unit(benchmark::kMicrosecond);
        };
        reg("yajl_events", BM_YajlEvents);
        reg("parse_tree", BM_ParseTree);
        reg("dialect_and_prefix", BM_Dialect);
        reg("serialize", BM_Serialize);
        reg("count_tokens", BM_CountTokens);
        reg("classify_lines", BM_Classify);
        reg("pipeline_new", BM_PipelineNew);
        reg("pipeline_replayed", BM_PipelineReplayed);
        reg("pipeline_replayed_routed", BM_PipelineReplayedRouted);
        reg("pipeline_replayed_fitted", BM_PipelineReplayedFitted);
        if (b.name.rfind("agent", 0) == 0) continue;
        const std::size_t n = b.tool_text.size();
        benchmark::RegisterBenchmark(("crush_log/" + b.name).c_str(), BM_Crusher<std::function<bool(const std::string&)>>,
                                     b.tool_text, [](const std::string& t) {
                                         return tf::crush_log(t, tf::CrushLogLimits{}).has_value();
                                     })->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark(("crush_json/" + b.name).c_str(), BM_Crusher<std::function<bool(const std::string&)>>,
                                     json_records(n), [](const std::string& t) {
                                         return tf::crush_json(t, "which item failed?", tf::CrushJsonLimits{}).has_value();
                                     })->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark(("crush_search/" + b.name).c_str(), BM_Crusher<std::function<bool(const std::string&)>>,
                                     sized(slurp(dir + "/search.txt"), n), [](const std::string& t) {
                                         return tf::crush_search(t, "ngx_http", tf::CrushSearchLimits{}).has_value();
                                     })->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark(("crush_diff/" + b.name).c_str(), BM_Crusher<std::function<bool(const std::string&)>>,
                                     sized(slurp(dir + "/diff.txt"), n), [](const std::string& t) {
                                         return tf::crush_diff(t, tf::CrushDiffLimits{}).has_value();
                                     })->Unit(benchmark::kMicrosecond);
    }
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
