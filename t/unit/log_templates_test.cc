#include "core/transforms/log_templates.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "core/transforms/lines.h"
#include "loghub.h"

using headroom::transforms::LogTemplates;
using headroom::transforms::mine_templates;

namespace {

LogTemplates mine(const std::vector<std::string>& lines) {
    return mine_templates(headroom::transforms::Lines(lines.begin(), lines.end()));
}

// Lines i and j are one template.
bool alike(const std::vector<std::string>& lines, std::size_t i, std::size_t j) {
    const LogTemplates t = mine(lines);
    return t.group_of[i] == t.group_of[j];
}

// The partition of lines into groups, as sets of line indices.
std::vector<std::vector<std::size_t>> partition(const std::vector<std::size_t>& group_of) {
    std::map<std::size_t, std::vector<std::size_t>> groups;
    for (std::size_t i = 0; i < group_of.size(); ++i) groups[group_of[i]].push_back(i);
    std::vector<std::vector<std::size_t>> out;
    for (auto& [g, members] : groups) out.push_back(members);
    std::sort(out.begin(), out.end());
    return out;
}

// A line counts when the lines grouped with it are exactly its event's.
double grouping_accuracy(const std::vector<std::size_t>& group_of, const std::vector<std::string>& events) {
    std::map<std::size_t, std::vector<std::size_t>> mined;
    std::map<std::string, std::vector<std::size_t>> truth;
    for (std::size_t i = 0; i < group_of.size(); ++i) {
        mined[group_of[i]].push_back(i);
        truth[events[i]].push_back(i);
    }
    std::size_t right = 0;
    for (std::size_t i = 0; i < group_of.size(); ++i) right += mined[group_of[i]] == truth[events[i]];
    return double(right) / double(group_of.size());
}

}  // namespace

TEST(LogTemplates, ANumberAndItsUnitAreOneValue) {
    const std::vector<std::string> lines = {
        "chrome.exe - host:80 close, 0 bytes sent, 12 bytes received, lifetime 00:01",
        "chrome.exe - host:80 close, 1190 bytes (1.16 KB) sent, 12 bytes received, lifetime <1 sec",
    };
    EXPECT_TRUE(alike(lines, 0, 1));
}

TEST(LogTemplates, AWordThatHoldsAValueIsOne) {
    const std::vector<std::string> lines = {
        "ntpd[7467]: synchronized to 10.100.20.250, stratum 3",
        "ntpd[1815]: synchronized to LOCAL(0), stratum 10",
        "QQ.exe - open through proxy",
        "chrome.exe - open through proxy",
        "mask=ffffffff vis=40000500",
        "mask=1 vis=0",
    };
    const LogTemplates t = mine(lines);
    EXPECT_EQ(t.group_of[0], t.group_of[1]);
    EXPECT_EQ(t.group_of[2], t.group_of[3]);
    EXPECT_EQ(t.group_of[4], t.group_of[5]);
    // Its parts are values, said as they stand.
    std::vector<std::string_view> second;
    for (std::size_t k = t.values_at[1]; k < t.values_at[2]; ++k) second.push_back(LogTemplates::value(lines[1], t.values[k]));
    EXPECT_NE(std::find(second.begin(), second.end(), "LOCAL"), second.end());
}

TEST(LogTemplates, AURLWithItsQueryIsOneValue) {
    const std::vector<std::string> lines = {
        "10.11.10.1 \"GET /v2/54fa/servers/detail HTTP/1.1\" status: 200 len: 1893",
        "10.11.10.1 \"GET /v2/e974/servers/detail?all_tenants=True&changes-since=2017-05-16T05 HTTP/1.1\" "
        "status: 200 len: 23370",
    };
    EXPECT_TRUE(alike(lines, 0, 1));
}

TEST(LogTemplates, NamesStay) {
    // Field names, however many differ beside like values, and the names
    // of tags ("kernel" of "kernel[0]:").
    std::vector<std::string> lines;
    for (const char* key : {"getDiffTotalSteps", "setTodayTotalDetailSteps", "setDiffTotalSteps",
                            "setWriteDBLastDataMinute", "getTodayBasicStandardSteps", "setGoal"}) {
        lines.push_back(std::string("20171223-22:15:29:635|Step_SPUtils|30002312|") + key + "=1514038440000##7007");
    }
    lines.push_back("Jul  1 09:33:13 host kernel[0]: AirPort: Link Up on awdl0");
    lines.push_back("Jul  1 09:34:13 host corecaptured[37799]: AirPort: Link Up on awdl0");
    const LogTemplates t = mine(lines);
    for (std::size_t i = 1; i < 6; ++i) EXPECT_NE(t.group_of[0], t.group_of[i]) << lines[i];
    EXPECT_NE(t.group_of[6], t.group_of[7]);
}

TEST(LogTemplates, WordsStayWhereNoValueIs) {
    const std::vector<std::string> lines = {
        "connection closed by peer",
        "connection reset by peer",
        "called init()",
        "called shutdown()",
        "called Session.commit",
        "called Session.rollback",
    };
    const LogTemplates t = mine(lines);
    EXPECT_NE(t.group_of[0], t.group_of[1]);
    EXPECT_NE(t.group_of[2], t.group_of[3]);
    EXPECT_NE(t.group_of[4], t.group_of[5]);
}

// A line's tokens are its own: a unit opening a line is not taken for the
// unit of the value that ended the line before.
TEST(LogTemplates, NoLineReadsIntoAnother) {
    const std::vector<std::string> a = {"end 5", "B done", "done"};
    const std::vector<std::string> b = {"B done", "done", "end 5"};
    EXPECT_NE(mine(a).group_of[1], mine(a).group_of[2]);
    EXPECT_NE(mine(b).group_of[0], mine(b).group_of[1]);
}

// Issue 13: one configuration for every log, ≥ 0.86 grouping accuracy on
// average against loghub's ground truth (the log-parsing benchmarks'
// measure), and no log below where it stands today, so that a change that
// helps one log and hurts another is seen. The same lines in another
// order are grouped the same: a line's group does not depend on the lines
// before it.
TEST(LogTemplates, GroupLoghubLikeItsGroundTruth) {
    const std::map<std::string, double> floor = {
        {"Android_2k.log", 0.91},   {"Apache_2k.log", 1.0},     {"BGL_2k.log", 0.95},
        {"HDFS_2k.log", 1.0},       {"HPC_2k.log", 0.75},       {"Hadoop_2k.log", 0.73},
        {"HealthApp_2k.log", 0.90}, {"Linux_2k.log", 0.87},     {"Mac_2k.log", 0.93},
        {"OpenSSH_2k.log", 0.99},   {"OpenStack_2k.log", 1.0},  {"Proxifier_2k.log", 1.0},
        {"Spark_2k.log", 0.99},     {"Thunderbird_2k.log", 0.98}, {"Windows_2k.log", 1.0},
        {"Zookeeper_2k.log", 0.96},
    };
    const auto logs = loghub_logs();
    if (logs.empty()) GTEST_SKIP() << HEADROOM_LOGHUB_DIR << " is missing";
    ASSERT_EQ(logs.size(), floor.size()) << "the corpus: " << HEADROOM_LOGHUB_DIR;
    double total = 0;
    for (const auto& [name, text] : logs) {
        headroom::transforms::Lines lines = headroom::transforms::split_lines(text);
        for (auto& l : lines) {
            if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
        }
        const std::vector<std::string> events = loghub_events(name);
        ASSERT_EQ(lines.size(), events.size()) << name;
        const LogTemplates t = mine_templates(lines);
        const double accuracy = grouping_accuracy(t.group_of, events);
        EXPECT_GE(accuracy + 1e-9, floor.at(name)) << name;
        total += accuracy;

        headroom::transforms::Lines reversed(lines.rbegin(), lines.rend());
        std::vector<std::size_t> back = mine_templates(reversed).group_of;
        std::reverse(back.begin(), back.end());
        EXPECT_EQ(partition(back), partition(t.group_of)) << name;
    }
    EXPECT_GE(total / double(logs.size()), 0.86);
}
