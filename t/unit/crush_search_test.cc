#include "core/transforms/crush_search.h"

#include <gtest/gtest.h>

#include "loghub.h"
#include "test_lines.h"


#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "core/markers.h"

using headroom::transforms::crush_search;
using headroom::transforms::CrushSearchLimits;

namespace {

// grep -rn output: `files` files with `per_file` matches each.
std::string grep_output(int files, int per_file) {
    std::string s;
    for (int f = 0; f < files; ++f) {
        for (int m = 0; m < per_file; ++m) {
            s += "src/module" + std::to_string(f) + "/file.c:" + std::to_string(10 + m * 7) +
                 ":    status = handle_request(ctx, " + std::to_string(m) + ");\n";
        }
    }
    return s;
}

}  // namespace

TEST(CrushSearch, EachFileKeepsItsEndsAndTheRestIsCounted) {
    std::string in = grep_output(4, 40);
    in += "src/only.c:5:    status = handle_request(ctx, 0);\n";
    auto r = crush_search(in, "", CrushSearchLimits{});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->omitted, 4u * 35u);
    const auto src = lines_of(in), out = lines_of(r->text);
    const std::string id = headroom::markers::output_id(in);
    size_t at = 0, kept = 0, marked = 0, files = 0;
    for (const auto& l : out) {
        if (auto m = headroom::markers::parse_text(l)) {
            marked += m->count;
            EXPECT_EQ(m->id, id);
            EXPECT_EQ(m->detail, "file lines 31-269");  // the 4th match (10 + 3 * 7) to the 38th
            // The lines of the output they were: the file's 4th to 38th.
            const std::string path = m->what.substr(std::string("more matches in ").size());
            const size_t f = std::stoul(path.substr(std::string("src/module").size()));
            EXPECT_EQ(m->what, "more matches in src/module" + std::to_string(f) + "/file.c");
            EXPECT_EQ(m->lines.first, f * 40 + 4);
            EXPECT_EQ(m->lines.last, f * 40 + 38);
            EXPECT_EQ(src[m->lines.first - 1].substr(0, path.size() + 4), path + ":31:");
            ++files;
            continue;
        }
        while (at < src.size() && src[at] != l) ++at;
        ASSERT_LT(at, src.size()) << "not an input line: " << l;
        ++at;
        ++kept;
    }
    EXPECT_EQ(files, 4u);
    EXPECT_EQ(kept + marked, src.size());
    EXPECT_EQ(kept, 4u * 5u + 1u);
    EXPECT_NE(r->text.find("src/only.c:5:"), std::string::npos);
}

// Found by fuzz_crush_search: with no ends kept, a file's matches went
// without a marker.
TEST(CrushSearch, AFileWithNothingKeptStillHasItsMarker) {
    const std::string in = grep_output(3, 40);
    CrushSearchLimits l;
    l.keep_first = 0;
    l.keep_last = 0;
    auto r = crush_search(in, "", l);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->omitted, 120u);
    const auto out = lines_of(r->text);
    ASSERT_EQ(out.size(), 3u) << r->text;
    for (int f = 0; f < 3; ++f) {
        auto m = headroom::markers::parse_text(out[f]);
        ASSERT_TRUE(m) << out[f];
        EXPECT_EQ(m->count, 40u);
        EXPECT_EQ(m->what, "more matches in src/module" + std::to_string(f) + "/file.c");
        EXPECT_EQ(m->lines.first, 40u * f + 1);
        EXPECT_EQ(m->lines.last, 40u * f + 40);
    }
}

TEST(CrushSearch, MatchesHoldingTheQuestionsTermsStay) {
    std::string in = grep_output(1, 60);
    in.replace(in.find("handle_request(ctx, 30)"), 23, "handle_request(ctx, retry_budget)");
    auto r = crush_search(in, "Where is retry_budget used?", CrushSearchLimits{});
    ASSERT_TRUE(r);
    EXPECT_NE(r->text.find("retry_budget"), std::string::npos);
}

TEST(CrushSearch, NotForOtherText) {
    std::string log;
    for (int i = 0; i < 50; ++i) log += "2024-01-01 10:00:00 INFO request " + std::to_string(i) + " ok\n";
    EXPECT_FALSE(crush_search(log, "", CrushSearchLimits{}));
    EXPECT_FALSE(crush_search(grep_output(1, 10), "", CrushSearchLimits{}));  // too short
    EXPECT_FALSE(crush_search("a b c", "", CrushSearchLimits{}));
    // Logs whose timestamps look like "name:number:" are not search results.
    std::string health, openstack;
    for (int i = 0; i < 50; ++i) {
        health += "20171223-22:15:" + std::to_string(10 + i % 3) + ":606|Step_LSC|30002312|onStandStepChanged " + std::to_string(i) + "\n";
        openstack += "nova-api.log.1.2017-05-16_13:53:" + std::to_string(8 + i % 2) + " 2017-05-16 00:00:00.008 25746 INFO nova\n";
    }
    EXPECT_FALSE(crush_search(health, "", CrushSearchLimits{}));
    EXPECT_FALSE(crush_search(openstack, "", CrushSearchLimits{}));
}

TEST(CrushSearch, NoLoghubLogIsTakenForSearchResults) {
    const auto logs = loghub_logs();
    if (logs.empty()) GTEST_SKIP() << HEADROOM_LOGHUB_DIR << " is missing";
    EXPECT_EQ(logs.size(), 16u);
    for (const auto& [name, text] : logs) EXPECT_FALSE(crush_search(text, "", CrushSearchLimits{})) << name;
}
