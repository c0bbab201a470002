// Microbenchmarks of the core on realistic request bodies.
//   build/cmake/bench_pipeline --benchmark_repetitions=5 \
//       --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <stdexcept>
#include <string>

#include "core/json.h"
#include "core/pipeline.h"
#include "core/tokenizer/tokenizers.h"

namespace {

// An OpenAI chat request of about `target` bytes: a short conversation and
// one tool output holding a pretty-printed JSON array of records, the shape
// of a typical API or inventory response.
std::string chat_body(std::size_t target) {
    std::string tool = "[\\n";
    for (int i = 0; tool.size() < target; ++i) {
        if (i != 0) tool += ",\\n";
        tool += "  {\\n    \\\"id\\\": " + std::to_string(100000 + i) +
                ",\\n    \\\"name\\\": \\\"package-" + std::to_string(i) +
                "\\\",\\n    \\\"version\\\": \\\"1." + std::to_string(i % 17) +
                ".0\\\",\\n    \\\"status\\\": \\\"ok\\\",\\n    \\\"tags\\\": [\\n      \\\"a\\\",\\n"
                "      \\\"b\\\"\\n    ]\\n  }";
    }
    tool += "\\n]";
    return R"({"model":"gpt-4o","messages":[{"role":"system","content":"You are helpful."},)"
           R"({"role":"user","content":"List the packages."},)"
           R"({"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function",)"
           R"("function":{"name":"list_packages","arguments":"{}"}}]},)"
           R"({"role":"tool","tool_call_id":"call_1","content":")" +
           tool + R"("}]})";
}

// As the module runs it: every size decision in tokens.
headroom::Options module_options() {
    static const auto tokenizers = [] {
        std::string error;
        auto t = headroom::tokenizer::Tokenizers::load(HEADROOM_TOKENIZER_DIR, {}, error);
        if (!t) throw std::runtime_error(error);
        return t;
    }();
    headroom::Options o;
    o.tokenizers = tokenizers.get();
    return o;
}

void BM_Parse(benchmark::State& state) {
    std::string body = chat_body(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) {
        auto r = headroom::json::parse(body, 512);
        benchmark::DoNotOptimize(r);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}

void BM_Pipeline(benchmark::State& state) {
    std::string body = chat_body(static_cast<std::size_t>(state.range(0)));
    headroom::Options options = module_options();
    for (auto _ : state) {
        auto r = headroom::process("/v1/chat/completions", body, options);
        benchmark::DoNotOptimize(r);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}

void BM_PassthroughUnknownShape(benchmark::State& state) {
    std::string body = chat_body(static_cast<std::size_t>(state.range(0)));
    headroom::Options options = module_options();
    for (auto _ : state) {
        auto r = headroom::process("/v1/embeddings", body, options);
        benchmark::DoNotOptimize(r);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}

}  // namespace

BENCHMARK(BM_Parse)->Arg(10 << 10)->Arg(300 << 10)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Pipeline)->Arg(10 << 10)->Arg(300 << 10)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_PassthroughUnknownShape)->Arg(300 << 10)->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
