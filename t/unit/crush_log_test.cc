#include "core/transforms/crush_log.h"

#include <gtest/gtest.h>

#include "loghub.h"
#include "test_lines.h"


#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/markers.h"

using headroom::transforms::crush_log;
using headroom::transforms::CrushLogLimits;
using headroom::transforms::log_template;

namespace {

bool severe(const std::string& l) {
    for (const char* w : {"ERROR", "WARN", "FATAL", "error", "warning", "fatal", "FAILED", "Exception"}) {
        if (l.find(w) != std::string::npos) return true;
    }
    return false;
}

// Checks the properties every crushed log must have; returns the ratio of
// bytes kept.
double check(const std::string& in, const CrushLogLimits& limits) {
    auto r = crush_log(in, limits);
    EXPECT_TRUE(r);
    if (!r) return 1;
    EXPECT_EQ(crush_log(in, limits)->text, r->text) << "deterministic";

    const std::vector<std::string> src = lines_of(in), out = lines_of(r->text);
    const std::string id = headroom::markers::output_id(in);
    EXPECT_EQ(r->id, id);
    std::set<std::string> kept_templates;
    std::vector<std::string> kept_lines;
    std::vector<bool> kept_at(src.size(), false), covered(src.size(), false);
    size_t at = 0, kept = 0, marked = 0;
    for (const std::string& l : out) {
        if (auto m = headroom::markers::parse_text(l)) {
            EXPECT_EQ(m->id, id);
            EXPECT_EQ(m->what, "more lines like the one above");
            EXPECT_GE(m->count, 2u) << "a single line is never folded";
            EXPECT_GE(m->lines.first, 1u);
            EXPECT_LE(m->lines.last, src.size());
            EXPECT_LE(m->count, m->lines.last - m->lines.first + 1);
            for (size_t k = m->lines.first; k <= m->lines.last && k <= src.size(); ++k) covered[k - 1] = true;
            marked += m->count;
            continue;
        }
        EXPECT_EQ(l.rfind("[headroom:", 0), std::string::npos) << "a marker the grammar cannot read: " << l;
        // A kept line is an input line, byte for byte, in order.
        while (at < src.size() && src[at] != l) ++at;
        EXPECT_LT(at, src.size()) << "not in the input: " << l;
        if (at < src.size()) kept_at[at] = true;
        ++at;
        ++kept;
        kept_lines.push_back(l);
        kept_templates.insert(log_template(l));
    }
    // Every line left out is within the lines a marker names.
    for (size_t i = 0; i < src.size(); ++i) {
        if (!kept_at[i]) {
            EXPECT_TRUE(covered[i]) << "line " << i + 1 << " left out unmarked";
        }
    }
    EXPECT_EQ(kept + marked, src.size()) << "every line kept or counted";
    EXPECT_EQ(marked, r->omitted);
    for (size_t i = 0; i < src.size() && i < limits.keep_first; ++i) EXPECT_EQ(kept_lines[i], src[i]);
    EXPECT_EQ(kept_lines.back(), src.back());
    for (const std::string& l : src) {
        if (severe(l)) {
            EXPECT_TRUE(kept_templates.count(log_template(l))) << "lost: " << l;
        }
    }
    return double(r->text.size()) / double(in.size());
}

}  // namespace

TEST(CrushLog, Templates) {
    EXPECT_EQ(log_template("081109 203615 148 INFO dfs.DataNode: block blk_38865049064139660 done"),
              "# # # INFO dfs.DataNode: block blk_# done");
    EXPECT_EQ(log_template("id 3f2a9c1e-77aa-4b1d from 10.0.0.12:8080 Failed added"),
              "id #-#-# from #.#.#.#:# Failed added");
    EXPECT_EQ(log_template("no numbers here"), "no numbers here");
}

TEST(CrushLog, EveryLoghubLogKeepsItsPromises) {
    const auto logs = loghub_logs();
    if (logs.empty()) GTEST_SKIP() << HEADROOM_LOGHUB_DIR << " is missing";
    ASSERT_EQ(logs.size(), 16u);
    for (const auto& [name, text] : logs) {
        SCOPED_TRACE(name);
        double ratio = check(text, CrushLogLimits{});
        EXPECT_LT(ratio, 0.6);
    }
}

TEST(CrushLog, StackTracesStayWhole) {
    std::string in;
    for (int i = 0; i < 50; ++i) in += "2024-01-01 10:00:" + std::to_string(10 + i) + " INFO request " + std::to_string(i) + " ok\n";
    in += "2024-01-01 10:01:00 ERROR request 51 failed\n"
          "java.lang.IllegalStateException: boom\n"
          "\tat com.example.A.run(A.java:10)\n"
          "\tat com.example.B.call(B.java:20)\n"
          "Caused by: java.io.IOException: disk\n"
          "\t... 3 more\n";
    for (int i = 52; i < 100; ++i) in += "2024-01-01 10:02:" + std::to_string(i - 40) + " INFO request " + std::to_string(i) + " ok\n";
    auto r = crush_log(in, CrushLogLimits{});
    ASSERT_TRUE(r);
    for (const char* l : {"java.lang.IllegalStateException: boom", "\tat com.example.A.run(A.java:10)",
                          "\tat com.example.B.call(B.java:20)", "Caused by: java.io.IOException: disk",
                          "\t... 3 more", "ERROR request 51 failed"}) {
        EXPECT_NE(r->text.find(l), std::string::npos) << l;
    }
    check(in, CrushLogLimits{});
    EXPECT_GT(r->omitted, 80u);
}

TEST(CrushLog, NotForOtherText) {
    std::string prose;
    for (int i = 0; i < 40; ++i) prose += "The quick brown fox jumps over the lazy dog, again and again.\n";
    EXPECT_FALSE(crush_log(prose, CrushLogLimits{}));
    EXPECT_FALSE(crush_log("2024-01-01 INFO one line\n", CrushLogLimits{}));
    // A listing of log files names levels in every line; it is no log.
    std::string ls = "total 4096\n";
    for (int i = 0; i < 60; ++i) {
        ls += "-rw-r--r-- 1 app app " + std::to_string(1000 + i) + " Nov 22 11:0" + std::to_string(i % 10) +
              " service" + std::to_string(i) + "-error.log\n";
    }
    EXPECT_FALSE(crush_log(ls, CrushLogLimits{}));
}

TEST(CrushLog, AMarkerNeverCostsMoreThanItReplaces) {
    // A dpkg log: every package's line comes twice (unpacked, then again
    // when configured), so each template has one line to fold. A marker
    // for one line is longer than the line: nothing folds at all.
    const char* names[] = {"libyajl", "libpcre", "zlib", "openssl", "curl", "nginx", "perl", "python",
                           "gcc", "make", "cmake", "git", "vim", "less", "bash", "coreutils",
                           "findutils", "grep", "sed", "gawk", "tar", "gzip", "xz", "bzip",
                           "ca-certificates", "tzdata", "locales", "procps", "iproute", "netbase"};
    std::string dpkg;
    for (const char* n : names) {
        dpkg += std::string("2024-03-01 10:00:01 status unpacked ") + n + ":amd64 1.2.3-4\n";
        dpkg += std::string("2024-03-01 10:00:02 status unpacked ") + n + ":amd64 1.2.3-4\n";
    }
    EXPECT_FALSE(crush_log(dpkg, CrushLogLimits{})) << crush_log(dpkg, CrushLogLimits{})->text;

    // Two short lines of one template cost less than their marker.
    std::string shorts;
    for (int i = 0; i < 30; ++i) shorts += "1 line" + std::string(1, char('a' + i % 26)) + std::string(1, char('a' + i / 26)) + "\n";
    shorts += "1 b\n1 b\n1 b\n";
    EXPECT_FALSE(crush_log(shorts, CrushLogLimits{}));

    // The same fold with many lines is worth its marker.
    std::string many = shorts;
    for (int i = 0; i < 200; ++i) many += std::to_string(i + 2) + " b\n";  // distinct lines, one template
    auto r = crush_log(many, CrushLogLimits{});
    ASSERT_TRUE(r);
    EXPECT_LT(r->text.size(), many.size());
    check(many, CrushLogLimits{});
}
