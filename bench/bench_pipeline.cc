// Microbenchmarks of the core on realistic request bodies.
//   build/cmake/bench_pipeline --benchmark_repetitions=5 \
//       --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cstdio>
#include <stdexcept>
#include <string>

#include "core/json.h"
#include "core/pipeline.h"
#include "core/tokenizer/tokenizers.h"
#include "core/transforms/crush_json.h"
#include "core/transforms/crush_log.h"
#include "core/volatile_values.h"

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
headroom::Settings module_settings() {
    static const auto tokenizers = [] {
        std::string error;
        auto t = headroom::tokenizer::Tokenizers::load(HEADROOM_TOKENIZER_DIR, {}, error);
        if (!t) throw std::runtime_error(error);
        return t;
    }();
    headroom::Settings o;
    o.tokenizers = tokenizers;
    return o;
}

// Compiled once, as the module does per location.
std::shared_ptr<const headroom::Config> compiled(headroom::Settings s) {
    std::string error;
    auto c = headroom::Config::compile(std::move(s), error);
    if (!c) throw std::runtime_error(error);
    return c;
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
    auto config = compiled(module_settings());
    for (auto _ : state) {
        auto r = headroom::process("/v1/chat/completions", body, *config);
        benchmark::DoNotOptimize(r);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}

// One Anthropic tool result of many text blocks, each a short log: the
// output's id is made once, not once per block.
void BM_ManyParts(benchmark::State& state) {
    std::string blocks;
    for (int b = 0; b < state.range(0); ++b) {
        std::string log;
        for (int i = 0; i < 31; ++i) {
            log += "2024-01-01 10:00:" + std::to_string(10 + i) + " INFO worker " + std::to_string(b) + " step " +
                   std::to_string(i) + " ok\\n";
        }
        blocks += std::string(b ? "," : "") + R"({"type":"text","text":")" + log + R"("})";
    }
    const std::string body = R"({"model":"claude-sonnet-4-5","messages":[{"role":"user","content":[)"
                             R"({"type":"tool_result","tool_use_id":"t","content":[)" + blocks + "]}]}]}";
    auto config = compiled(module_settings());
    for (auto _ : state) {
        auto r = headroom::process("/v1/messages", body, *config);
        benchmark::DoNotOptimize(r);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}

void BM_PassthroughUnknownShape(benchmark::State& state) {
    std::string body = chat_body(static_cast<std::size_t>(state.range(0)));
    auto config = compiled(module_settings());
    for (auto _ : state) {
        auto r = headroom::process("/v1/embeddings", body, *config);
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

// An agent's Anthropic request: a system prompt of about 30 KB (the time
// and a session id, then this repository's README as real prose with
// numbers, code and tables in it), 20 tools with schemas (about 14 KB),
// and a short history. What prefix stabilization works on.
std::string agent_body() {
    std::ifstream in("README.md", std::ios::binary);
    std::ostringstream buf;
    buf << in.rdbuf();
    std::string prose = buf.str();
    if (prose.empty()) throw std::runtime_error("run from the repository root: README.md");
    std::string system = "You are a coding agent. Current time: 2026-11-22T10:32:05Z. "
                         "Session id: 3f2a9c1e-8b7d-4e6f-9a1b-2c3d4e5f6a7b.\n";
    while (system.size() < 30000) system += prose;
    system.resize(30000);
    // as a JSON string
    std::string escaped;
    for (char c : system) {
        unsigned char u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            escaped += '\\';
            escaped += c;
        } else if (u < 0x20) {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\u%04x", u);
            escaped += hex;
        } else {
            escaped += c;
        }
    }
    system = escaped;
    std::string tools;
    for (int i = 19; i >= 0; --i) {
        tools += std::string(i == 19 ? "" : ",") + R"({"name":"tool_)" + std::to_string(i) +
                 R"(","description":"Tool number )" + std::to_string(i) +
                 R"( does one thing well and reports errors plainly.","input_schema":{"type":"object","properties":{)"
                 R"("path":{"type":"string","description":"An absolute path"},)"
                 R"("pattern":{"type":"string","description":"A regular expression"},)"
                 R"("limit":{"type":"integer","description":"At most this many results"}},"required":["path"]}})";
    }
    return R"({"model":"claude-sonnet-4-5","max_tokens":4096,"tools":[)" + tools + R"(],"system":")" +
           system +
           R"(","messages":[{"role":"user","content":"Fix the build."},)"
           R"({"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"tool_3","input":{"path":"/"}}]},)"
           R"({"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"exit 0"}]}]})";
}

std::shared_ptr<const headroom::VolatilePatterns> builtin_patterns() {
    static const auto p = [] {
        std::string error;
        auto v = headroom::VolatilePatterns::compile({}, error);
        if (!v) throw std::runtime_error(error);
        return v;
    }();
    return p;
}

// Arg 0: headroom_stabilize_prefix off; 1: on. The difference is what
// stabilization costs a request.
void BM_AgentRequest(benchmark::State& state) {
    std::string body = agent_body();
    headroom::Settings settings = module_settings();
    settings.stabilize_prefix = state.range(0) != 0;
    settings.volatile_patterns = builtin_patterns();
    auto config = compiled(std::move(settings));
    for (auto _ : state) {
        auto r = headroom::process("/v1/messages", body, *config);
        benchmark::DoNotOptimize(r);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}

// Arg 0: headroom_ccr off; 1: on, its tool added (the request has tools
// and nothing to crush: off, it passes through after the parse; on, it is
// serialized with the tool). The difference is what the tool costs a
// request until the splice.
void BM_AgentRequestCcrTool(benchmark::State& state) {
    std::string body = agent_body();
    headroom::Settings settings = module_settings();
    settings.ccr = state.range(0) != 0;
    auto config = compiled(std::move(settings));
    const headroom::retrieval::Lookup lookup = [](std::string_view) { return headroom::retrieval::Stored{}; };
    headroom::Wants wants;
    wants.lookup = &lookup;
    for (auto _ : state) {
        auto r = headroom::process("/v1/messages", body, *config, wants);
        benchmark::DoNotOptimize(r);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}

void BM_FindVolatile30KB(benchmark::State& state) {
    std::string body = agent_body();
    auto parsed = headroom::json::parse(body, 64);
    const std::string system = parsed.value.find("system")->text;
    for (auto _ : state) {
        auto found = builtin_patterns()->find(system);
        benchmark::DoNotOptimize(found);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * system.size()));
}

}  // namespace

BENCHMARK(BM_CrushLog100KB)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_CrushJson100KB)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Parse)->Arg(10 << 10)->Arg(300 << 10)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Pipeline)->Arg(10 << 10)->Arg(300 << 10)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ManyParts)->Arg(1000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PassthroughUnknownShape)->Arg(300 << 10)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_AgentRequest)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_AgentRequestCcrTool)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FindVolatile30KB)->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
