#include "core/transforms/crush_log.h"

#include <gtest/gtest.h>

#include "loghub.h"
#include "log_promise.h"
#include "test_lines.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/markers.h"
#include "core/text.h"
#include "core/transforms/log_templates.h"

using headroom::transforms::crush_log;
using headroom::transforms::CrushLogLimits;
using headroom::transforms::is_severe_line;
using headroom::transforms::repeat_key;

using log_promise::check;
using log_promise::Checked;

namespace {

bool has_digit(const std::string& w) {
    return std::any_of(w.begin(), w.end(), [](char x) { return x >= '0' && x <= '9'; });
}

}  // namespace

TEST(CrushLog, EveryLoghubLogKeepsItsPromises) {
    const auto logs = loghub_logs();
    if (logs.empty()) GTEST_SKIP() << HEADROOM_LOGHUB_DIR << " is missing";
    ASSERT_EQ(logs.size(), 16u);
    std::size_t severe = 0, listed = 0;
    for (const auto& [name, text] : logs) {
        SCOPED_TRACE(name);
        Checked c = check(text, CrushLogLimits{});
        EXPECT_LT(c.ratio, 0.7);
        severe += c.severe;
        listed += c.severe_listed;
    }
    EXPECT_GT(severe, 1000u) << "the corpus has severe lines to keep";
    EXPECT_GT(listed, 0u) << "and a log where they are the bulk";
}

// HDFS: every WARN line names its own block; each stays.
TEST(CrushLog, EveryWarningOfAnHdfsLogStays) {
    const auto logs = loghub_logs();
    if (logs.empty()) GTEST_SKIP() << HEADROOM_LOGHUB_DIR << " is missing";
    for (const auto& [name, text] : logs) {
        if (name != "HDFS") continue;
        auto r = crush_log(text, CrushLogLimits{});
        ASSERT_TRUE(r);
        std::size_t warns = 0;
        for (const std::string& l : lines_of(text)) {
            if (l.find(" WARN ") == std::string::npos) continue;
            ++warns;
            EXPECT_NE(r->text.find(l), std::string::npos) << l;
        }
        EXPECT_GT(warns, 10u);
    }
}

// A fold says which values its lines held when that costs little.
TEST(CrushLog, FoldsListTheValuesThatVary) {
    std::string in;
    for (int i = 0; i < 60; ++i) {
        in += "081109 2036" + std::to_string(10 + i) + " 148 INFO dfs.DataNode: Receiving block blk_" +
              std::to_string(1000 + i * 7) + " src: /10.250.19." + std::to_string(i % 3) + ":5001\n";
    }
    auto r = crush_log(in, CrushLogLimits{});
    ASSERT_TRUE(r);
    std::optional<headroom::markers::TextMarker> m;
    for (const std::string& l : lines_of(r->text)) {
        if (!m) m = headroom::markers::parse_text(l);
    }
    ASSERT_TRUE(m) << r->text;
    for (int i = 5; i < 55; ++i) {
        EXPECT_NE(m->detail.find("blk_" + std::to_string(1000 + i * 7)), std::string::npos) << i;
    }
    EXPECT_EQ(m->detail.find("081109"), std::string::npos) << "header stamps are not values: " << m->detail;
    check(in, CrushLogLimits{});
    // Too costly a list is left out: the count and lines remain.
    CrushLogLimits stingy;
    stingy.values_share = 0.01;
    auto s = crush_log(in, stingy);
    ASSERT_TRUE(s);
    for (const std::string& l : lines_of(s->text)) {
        if (auto sm = headroom::markers::parse_text(l)) {
            EXPECT_TRUE(sm->detail.empty()) << l;
        }
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
    // Two short lines of one template cost less than their marker: all
    // three "1 b" stay, while the thirty lines of another template fold.
    std::string shorts;
    for (int i = 0; i < 30; ++i) shorts += "1 line" + std::string(1, char('a' + i % 26)) + std::string(1, char('a' + i / 26)) + "\n";
    shorts += "1 b\n1 b\n1 b\n";
    auto s = crush_log(shorts, CrushLogLimits{});
    ASSERT_TRUE(s);
    EXPECT_NE(s->text.find("1 b\n1 b\n1 b\n"), std::string::npos) << s->text;

    // The same fold with many lines is worth its marker.
    std::string many = shorts;
    for (int i = 0; i < 200; ++i) many += std::to_string(i + 2) + " b\n";  // distinct lines, one template
    auto r = crush_log(many, CrushLogLimits{});
    ASSERT_TRUE(r);
    EXPECT_LT(r->text.size(), many.size());
    check(many, CrushLogLimits{});
}

// A dpkg log names another package on each line: the lines fold by
// template, and the marker names every package it stands for.
TEST(CrushLog, ADpkgLogFoldsAndNamesEveryPackage) {
    const char* names[] = {"libyajl", "libpcre", "zlib", "openssl", "curl", "nginx", "perl", "python",
                           "gcc", "make", "cmake", "git", "vim", "less", "bash", "coreutils",
                           "findutils", "grep", "sed", "gawk", "tar", "gzip", "xz", "bzip",
                           "ca-certificates", "tzdata", "locales", "procps", "iproute", "netbase"};
    std::string dpkg;
    for (const char* n : names) {
        dpkg += std::string("2024-03-01 10:00:01 status unpacked ") + n + ":amd64 1.2.3-4\n";
        dpkg += std::string("2024-03-01 10:00:02 status unpacked ") + n + ":amd64 1.2.3-4\n";
    }
    auto r = crush_log(dpkg, CrushLogLimits{});
    ASSERT_TRUE(r);
    EXPECT_LT(r->text.size(), dpkg.size() / 2);
    for (const char* n : names) EXPECT_NE(r->text.find(std::string(n) + ":amd64"), std::string::npos) << n;
    check(dpkg, CrushLogLimits{});
}

// A line that holds what the question asks about stays, in every log.
TEST(CrushLog, LinesThatMatchTheQuestionStay) {
    const auto logs = loghub_logs();
    if (logs.empty()) GTEST_SKIP() << HEADROOM_LOGHUB_DIR << " is missing";
    for (const auto& [name, text] : logs) {
        SCOPED_TRACE(name);
        const auto src = lines_of(text);
        // The longest digit-holding word of line 1000: an id, an address.
        std::string term;
        std::string word;
        for (char ch : src[1000] + " ") {
            if (ch == ' ' || ch == ',' || ch == '[' || ch == ']' || ch == '(' || ch == ')' || ch == '\r') {
                if (has_digit(word) && word.size() > term.size() && word.size() >= 4) term = word;
                word.clear();
            } else {
                word += ch;
            }
        }
        if (term.empty()) continue;
        const auto lines = headroom::transforms::split_lines(text);
        auto r = crush_log(text, lines, "what happened with " + term + " ?", CrushLogLimits{},
                           headroom::transforms::Origin::of(text));
        ASSERT_TRUE(r);
        std::size_t matching = 0, kept = 0;
        const std::string lowered_term = headroom::lower(term);
        for (const std::string& l : src) {
            if (headroom::lower(l).find(lowered_term) == std::string::npos) continue;
            ++matching;
            kept += r->text.find(l) != std::string::npos;
        }
        if (matching * 2 > src.size()) continue;  // not selective: picks nothing out
        EXPECT_GE(kept, std::min<std::size_t>(matching, 50)) << term << ": " << matching << " lines match";
    }
}

// Where severe lines are the bulk, a fold names every value of theirs but
// the stamps: the component, the program and its pid too.
TEST(CrushLog, SevereFoldsNameTheirProgramsAndComponents) {
    std::string components, programs;
    for (int i = 0; i < 40; ++i) {
        const std::string second = (i < 10 ? "0" : "") + std::to_string(i);
        components += "2024-01-01 10:00:" + second + (i == 12 || i == 20 ? " app.payments" : " app.auth") +
                      " ERROR request failed\n";
        programs += "2024-01-01 10:00:" + second + (i == 15 ? " cron[77]" : " sshd[12]") +
                    " ERROR session closed\n";
    }
    for (const std::string& log : {components, programs}) {
        auto r = crush_log(log, CrushLogLimits{});
        ASSERT_TRUE(r);
        EXPECT_LT(r->text.size(), log.size());
        check(log, CrushLogLimits{});
    }
    EXPECT_NE(crush_log(components, CrushLogLimits{})->text.find("app.payments"), std::string::npos);
    EXPECT_NE(crush_log(programs, CrushLogLimits{})->text.find("cron"), std::string::npos);
    EXPECT_NE(crush_log(programs, CrushLogLimits{})->text.find("77"), std::string::npos);
}

// A method is not a value: lines that call another one are another event.
TEST(CrushLog, MethodsAreNotValues) {
    std::string log;
    for (int i = 0; i < 60; ++i) {
        const std::string second = (i < 10 ? "0" : "") + std::to_string(i);
        log += "2024-01-01 10:00:" + second + " INFO tx 5f0c2a9e8d7b6c5a4f3e2d1c0b9a8f7" + std::to_string(i % 10) +
               " called " + (i == 30 ? "Session.rollback" : "Session.commit") + "\n";
    }
    auto r = crush_log(log, CrushLogLimits{});
    ASSERT_TRUE(r);
    EXPECT_NE(r->text.find("Session.rollback"), std::string::npos);
}
