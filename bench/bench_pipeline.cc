// Microbenchmarks of the core on realistic request bodies.
//   build/cmake/bench_pipeline --benchmark_repetitions=5 \
//       --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <stdexcept>
#include <string>

#include "core/json.h"
#include "core/pipeline.h"
#include "core/tokenizer/tokenizers.h"
#include "core/transforms/crush_json.h"
#include "core/transforms/crush_log.h"

#include <fstream>
#include <sstream>

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

// About 100 KB of a real log (HDFS from loghub when present, run from the
// repository root) or of JSON records, crushed without token counting.
std::string hundred_kb_log() {
    std::ifstream in("../shared/corpus/loghub/HDFS_2k.log", std::ios::binary);
    std::ostringstream buf;
    buf << in.rdbuf();
    std::string log = buf.str();
    if (log.empty()) {
        for (int i = 0; log.size() < 102400; ++i) {
            log += "081109 2036" + std::to_string(10 + i % 50) + " 148 INFO dfs.DataNode: block blk_" +
                   std::to_string(1000000 + i) + " served to /10.0.0." + std::to_string(i % 200) + "\n";
        }
    }
    return log.substr(0, log.rfind('\n', 102400) + 1);
}

std::string hundred_kb_json() {
    std::string s = "[";
    for (int i = 0; s.size() < 102400; ++i) {
        s += std::string(i ? ",\n" : "\n") + "  {\"id\": " + std::to_string(i) + ", \"name\": \"item-" +
             std::to_string(i) + "\", \"status\": \"" + (i % 97 ? "ok" : "failed") +
             "\", \"latency_ms\": " + std::to_string(i % 13 * 7) + "}";
    }
    return s + "\n]";
}

void BM_CrushLog100KB(benchmark::State& state) {
    std::string log = hundred_kb_log();
    for (auto _ : state) {
        auto r = headroom::transforms::crush_log(log, headroom::transforms::CrushLogLimits{});
        benchmark::DoNotOptimize(r);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * log.size()));
}

void BM_CrushJson100KB(benchmark::State& state) {
    std::string json = hundred_kb_json();
    for (auto _ : state) {
        auto r = headroom::transforms::crush_json(json, "which item failed?",
                                                  headroom::transforms::CrushJsonLimits{});
        benchmark::DoNotOptimize(r);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * json.size()));
}

}  // namespace

BENCHMARK(BM_CrushLog100KB)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_CrushJson100KB)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Parse)->Arg(10 << 10)->Arg(300 << 10)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Pipeline)->Arg(10 << 10)->Arg(300 << 10)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_PassthroughUnknownShape)->Arg(300 << 10)->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
