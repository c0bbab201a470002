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
