// How well the log template miner groups lines, against the ground truth
// that ships with loghub: each *_2k.log_structured.csv names every line's
// event. A line counts when the lines grouped with it are exactly the lines
// of its event, as the log-parsing benchmarks count it.
//   build/cmake/template_accuracy [LOGHUB_DIR]
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/transforms/lines.h"
#include "core/transforms/log_templates.h"

namespace {

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

}  // namespace

int main(int argc, char** argv) {
    const std::string dir = argc > 1 ? argv[1] : "../shared/corpus/loghub";
    const char* names[] = {"Android", "Apache", "BGL", "HDFS", "HPC", "Hadoop", "HealthApp", "Linux",
                           "Mac", "OpenSSH", "OpenStack", "Proxifier", "Spark", "Thunderbird", "Windows",
                           "Zookeeper"};
    double total = 0;
    int logs = 0;
    std::printf("| log | grouping accuracy | templates | events |\n|---|---|---|---|\n");
    for (const char* name : names) {
        const std::string log = slurp(dir + "/" + name + "_2k.log");
        const auto events = csv_column(slurp(dir + "/" + name + "_2k.log_structured.csv"), "EventId");
        if (log.empty() || events.empty()) {
            std::fprintf(stderr, "template_accuracy: %s is missing in %s\n", name, dir.c_str());
            return 1;
        }
        auto lines = headroom::transforms::split_lines(log);
        for (auto& l : lines) {
            if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
        }
        if (lines.size() != events.size()) {
            std::fprintf(stderr, "template_accuracy: %s: %zu lines, %zu events\n", name, lines.size(), events.size());
            return 1;
        }
        const auto t = headroom::transforms::mine_templates(lines);
        std::map<std::size_t, std::vector<std::size_t>> mined;
        std::map<std::string, std::vector<std::size_t>> truth;
        for (std::size_t i = 0; i < lines.size(); ++i) {
            mined[t.group_of[i]].push_back(i);
            truth[events[i]].push_back(i);
        }
        std::size_t right = 0;
        for (std::size_t i = 0; i < lines.size(); ++i) {
            if (mined[t.group_of[i]] == truth[events[i]]) ++right;
        }
        const double accuracy = double(right) / double(lines.size());
        total += accuracy;
        ++logs;
        std::printf("| %s | %.3f | %zu | %zu |\n", name, accuracy, t.groups, truth.size());
    }
    std::printf("| **average** | **%.3f** | | |\n", total / logs);
    return 0;
}
