// Token counting speed: MB/s and tokens/s on logs, JSON, code and prose.
//   build/cmake/bench_tokenizer --benchmark_repetitions=5 \
//       --benchmark_report_aggregates_only=true
// Logs are ../shared/corpus/loghub/*.log when present (run from the
// repository root); the other inputs are this repository's own files.
#include <benchmark/benchmark.h>

#include <dirent.h>

#include <algorithm>
#include <stdexcept>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "core/tokenizer/encoding.h"

namespace {

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream buf;
    buf << in.rdbuf();
    return buf.str();
}

std::string files_in(const std::string& dir, const std::string& suffix) {
    std::string out;
    std::vector<std::string> names;
    if (DIR* d = opendir(dir.c_str())) {
        while (dirent* e = readdir(d)) {
            std::string n = e->d_name;
            if (n.size() > suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0) {
                names.push_back(n);
            }
        }
        closedir(d);
    }
    std::sort(names.begin(), names.end());
    for (const auto& n : names) out += slurp(dir + "/" + n);
    return out;
}

std::string json_text() {
    std::string s = "[";
    for (int i = 0; i < 4000; ++i) {
        s += "{\"id\":" + std::to_string(100000 + i * 7) + ",\"name\":\"package-" + std::to_string(i) +
             "\",\"version\":\"1." + std::to_string(i % 17) + ".3\",\"status\":\"" +
             (i % 13 ? "ok" : "error") + "\",\"latency_ms\":" + std::to_string(i % 997) +
             ".25,\"owner\":{\"team\":\"platform\",\"email\":\"dev" + std::to_string(i) +
             "@example.com\"},\"tags\":[\"a\",\"b\"]},\n";
    }
    return s + "{}]";
}

const std::string& input(int which) {
    static const std::string inputs[] = {
        files_in("../shared/corpus/loghub", ".log"),
        json_text(),
        files_in("src/core", ".cc") + files_in("src/ngx", ".c"),
        slurp("README.md") + slurp("src/core/tokenizer/LICENSE.tiktoken"),
        // Mixed: a megabyte of logs with the JSON, code and prose above.
        files_in("../shared/corpus/loghub", ".log").substr(0, 1 << 20) + json_text() +
            files_in("src/core", ".cc") + files_in("src/ngx", ".c") + slurp("README.md"),
    };
    return inputs[which];
}

std::shared_ptr<const headroom::tokenizer::Encoding> encoding(const char* name) {
    std::string error;
    auto e = headroom::tokenizer::Encoding::load(std::string(HEADROOM_TOKENIZER_DIR "/") + name + ".tok", error);
    if (!e) throw std::runtime_error(error);
    return e;
}

void BM_Count(benchmark::State& state, const char* name, int which) {
    static auto o200k = encoding("o200k_base");
    static auto cl100k = encoding("cl100k_base");
    const auto& enc = std::string(name) == "o200k_base" ? o200k : cl100k;
    const std::string& text = input(which);
    if (text.empty()) {
        state.SkipWithError("input missing (run from the repository root)");
        return;
    }
    std::size_t tokens = 0;
    for (auto _ : state) {
        tokens = enc->count(text);
        benchmark::DoNotOptimize(tokens);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
    state.counters["tokens_per_second"] =
        benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsIterationInvariantRate);
    state.counters["bytes_per_token"] = static_cast<double>(text.size()) / static_cast<double>(tokens);
}

}  // namespace

BENCHMARK_CAPTURE(BM_Count, o200k_logs, "o200k_base", 0)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Count, o200k_json, "o200k_base", 1)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Count, o200k_code, "o200k_base", 2)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Count, o200k_prose, "o200k_base", 3)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Count, o200k_mixed, "o200k_base", 4)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Count, cl100k_mixed, "cl100k_base", 4)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Count, cl100k_logs, "cl100k_base", 0)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Count, cl100k_json, "cl100k_base", 1)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
