// What crushing keeps and saves, measured (README "What crushing keeps"):
//   - per loghub log: o200k_base tokens before and after the log crusher,
//     the severe lines (WARN and above) and how each was kept: verbatim, as
//     an exact repeat of a kept line, or by value in its fold's marker;
//     and how well the template miner groups lines against the ground
//     truth that ships with loghub (*_structured.csv names every line's
//     event; a line counts when the lines grouped with it are exactly the
//     lines of its event, as the log-parsing benchmarks count it);
//   - per JSON fixture (t/fixtures/json): tokens as the tool returned it,
//     minified, lossless (tables: constants said once, like objects
//     flattened) and lossy (the crusher's defaults).
//   build/cmake/fidelity_report [LOGHUB_DIR] [FIXTURES_DIR]   (make bench)
#include <dirent.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/tokenizer/encoding.h"
#include "core/transforms/crush_json.h"
#include "core/transforms/crush_log.h"
#include "core/transforms/lines.h"
#include "core/transforms/log_templates.h"
#include "core/transforms/minify_json.h"
#include "core/markers.h"

namespace {

namespace tf = headroom::transforms;

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream buf;
    buf << in.rdbuf();
    return buf.str();
}

// The values of column `name` of a CSV file (RFC 4180 quoting).
std::vector<std::string> csv_column(const std::string& text, const std::string& name) {
    std::vector<std::vector<std::string>> rows(1);
    std::string cell;
    bool quoted = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (quoted) {
            if (c != '"') {
                cell += c;
            } else if (i + 1 < text.size() && text[i + 1] == '"') {
                cell += '"';
                ++i;
            } else {
                quoted = false;
            }
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            rows.back().push_back(std::move(cell));
            cell.clear();
        } else if (c == '\n') {
            rows.back().push_back(std::move(cell));
            cell.clear();
            rows.emplace_back();
        } else if (c != '\r') {
            cell += c;
        }
    }
    if (!cell.empty() || !rows.back().empty()) rows.back().push_back(cell);
    if (rows.back().empty()) rows.pop_back();
    std::vector<std::string> out;
    std::size_t col = 0;
    while (col < rows[0].size() && rows[0][col] != name) ++col;
    for (std::size_t r = 1; r < rows.size(); ++r) out.push_back(col < rows[r].size() ? rows[r][col] : "");
    return out;
}

double accuracy(const tf::Lines& lines, const std::vector<std::string>& events) {
    const auto t = tf::mine_templates(lines);
    std::map<std::size_t, std::vector<std::size_t>> mined;
    std::map<std::string, std::vector<std::size_t>> truth;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        mined[t.group_of[i]].push_back(i);
        truth[events[i]].push_back(i);
    }
    std::size_t right = 0;
    for (std::size_t i = 0; i < lines.size(); ++i) right += mined[t.group_of[i]] == truth[events[i]];
    return double(right) / double(lines.size());
}

struct Severe {
    std::size_t lines = 0, verbatim = 0, repeats = 0, by_value = 0;
};

// How each severe line of `in` came through `out`.
Severe severe_kept(const tf::Lines& in, const std::string& out) {
    Severe s;
    const auto kept = tf::split_lines(out);
    std::set<std::string_view> kept_lines(kept.begin(), kept.end());
    std::set<std::string> kept_keys;
    std::string values;
    for (std::string_view l : kept) {
        if (auto m = headroom::markers::parse_text(l)) {
            values += m->detail;
            values += '\n';
        } else if (tf::is_severe_line(l)) {
            kept_keys.insert(tf::repeat_key(l));
        }
    }
    for (std::string_view l : in) {
        if (!tf::is_severe_line(l)) continue;
        ++s.lines;
        if (kept_lines.count(l)) {
            ++s.verbatim;
        } else if (kept_keys.count(tf::repeat_key(l))) {
            ++s.repeats;
        } else {
            ++s.by_value;
        }
    }
    return s;
}

std::vector<std::string> json_fixtures(const std::string& dir) {
    std::vector<std::string> names;
    if (DIR* d = opendir(dir.c_str())) {
        while (dirent* e = readdir(d)) {
            std::string n = e->d_name;
            if (n.size() > 5 && n.compare(n.size() - 5, 5, ".json") == 0) names.push_back(n);
        }
        closedir(d);
    }
    std::sort(names.begin(), names.end());
    return names;
}

double pct(std::size_t before, std::size_t after) {
    return before ? 100.0 * double(before - std::min(before, after)) / double(before) : 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string dir = argc > 1 ? argv[1] : "../shared/corpus/loghub";
    const std::string fixtures = argc > 2 ? argv[2] : "t/fixtures/json";
    std::string error;
    auto enc = headroom::tokenizer::Encoding::load(HEADROOM_TOKENIZER_DIR "/o200k_base.tok", error);
    if (!enc) {
        std::fprintf(stderr, "fidelity_report: %s\n", error.c_str());
        return 1;
    }
    tf::Measure measure{[&](std::string_view t) { return enc->count(t); }, enc->max_token_bytes()};

    const char* names[] = {"Android", "Apache", "BGL", "HDFS", "HPC", "Hadoop", "HealthApp", "Linux",
                           "Mac", "OpenSSH", "OpenStack", "Proxifier", "Spark", "Thunderbird", "Windows",
                           "Zookeeper"};
    double total_accuracy = 0;
    std::size_t before_all = 0, after_all = 0;
    Severe all;
    std::printf("| log | tokens before | after | saved | severe lines | kept verbatim | as repeats | by value "
                "| grouping accuracy |\n|---|---|---|---|---|---|---|---|---|\n");
    for (const char* name : names) {
        const std::string log = slurp(dir + "/" + name + "_2k.log");
        const auto events = csv_column(slurp(dir + "/" + name + "_2k.log_structured.csv"), "EventId");
        auto lines = tf::split_lines(log);
        if (log.empty() || lines.size() != events.size()) {
            std::fprintf(stderr, "fidelity_report: %s is missing or does not match its CSV in %s\n", name,
                         dir.c_str());
            return 1;
        }
        tf::Lines bare = lines;
        for (auto& l : bare) {
            if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
        }
        const double acc = accuracy(bare, events);
        tf::CrushLogLimits limits;
        limits.measure = measure;
        const auto crushed = tf::crush_log(log, lines, "", limits, tf::Origin::of(log));
        const std::string out = crushed ? crushed->text : log;
        const std::size_t before = enc->count(log), after = enc->count(out);
        const Severe s = severe_kept(lines, out);
        std::printf("| %s | %zu | %zu | %.1f%% | %zu | %zu | %zu | %zu | %.3f |\n", name, before, after,
                    pct(before, after), s.lines, s.verbatim, s.repeats, s.by_value, acc);
        before_all += before;
        after_all += after;
        all.lines += s.lines;
        all.verbatim += s.verbatim;
        all.repeats += s.repeats;
        all.by_value += s.by_value;
        total_accuracy += acc;
    }
    std::printf("| **all** | **%zu** | **%zu** | **%.1f%%** | %zu | %zu | %zu | %zu | **%.3f** (average) |\n\n",
                before_all, after_all, pct(before_all, after_all), all.lines, all.verbatim, all.repeats,
                all.by_value, total_accuracy / 16);

    std::printf("| JSON fixture | tokens as returned | minified | lossless | beyond minifying | lossy |\n"
                "|---|---|---|---|---|---|\n");
    for (const std::string& f : json_fixtures(fixtures)) {
        const std::string text = slurp(fixtures + "/" + f);
        const std::size_t as_returned = enc->count(text);
        const auto minified = tf::minify_json(text, 512);
        tf::CrushJsonLimits lossless;
        lossless.max_items = SIZE_MAX;  // nothing sampled: tables only
        lossless.measure = measure;
        tf::CrushJsonLimits lossy;
        lossy.measure = measure;
        const auto l = tf::crush_json(text, "", lossless), y = tf::crush_json(text, "", lossy);
        const std::size_t m = enc->count(*minified), ll = enc->count(l->text), ly = enc->count(y->text);
        std::printf("| %s | %zu | %zu (%.1f%%) | %zu (%.1f%%) | %.1f%% | %zu (%.1f%%) |\n", f.c_str(), as_returned, m,
                    pct(as_returned, m), ll, pct(as_returned, ll), pct(m, ll), ly, pct(as_returned, ly));
    }
    return 0;
}
