// Test helper: the loghub logs in ../shared/corpus/loghub, as (file name,
// text) in name order; empty when the corpus is not there.
#pragma once

#include <dirent.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

inline std::vector<std::pair<std::string, std::string>> loghub_logs() {
    std::vector<std::pair<std::string, std::string>> logs;
    const std::string dir = HEADROOM_LOGHUB_DIR;
    DIR* d = opendir(dir.c_str());
    if (d == nullptr) return logs;
    while (dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (n.size() < 5 || n.compare(n.size() - 4, 4, ".log") != 0) continue;
        std::ifstream f(dir + "/" + n, std::ios::binary);
        std::stringstream buf;
        buf << f.rdbuf();
        logs.emplace_back(n, buf.str());
    }
    closedir(d);
    std::sort(logs.begin(), logs.end());
    return logs;
}

// The EventId column of a log's *_structured.csv (RFC 4180 quoting): each
// line's event in the ground truth. Empty when the file is not there.
inline std::vector<std::string> loghub_events(const std::string& log_name) {
    std::ifstream f(std::string(HEADROOM_LOGHUB_DIR) + "/" + log_name + "_structured.csv", std::ios::binary);
    std::stringstream buf;
    buf << f.rdbuf();
    const std::string text = buf.str();
    std::vector<std::vector<std::string>> rows(1);
    std::string cell;
    bool quoted = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
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
        } else if (c == ',' || c == '\n') {
            rows.back().push_back(std::move(cell));
            cell.clear();
            if (c == '\n') rows.emplace_back();
        } else if (c != '\r') {
            cell += c;
        }
    }
    if (!cell.empty() || !rows.back().empty()) rows.back().push_back(cell);
    if (rows.back().empty()) rows.pop_back();
    std::vector<std::string> events;
    if (rows.empty()) return events;
    const auto col = std::find(rows[0].begin(), rows[0].end(), "EventId") - rows[0].begin();
    for (std::size_t r = 1; r < rows.size(); ++r) {
        events.push_back(std::size_t(col) < rows[r].size() ? rows[r][std::size_t(col)] : "");
    }
    return events;
}
