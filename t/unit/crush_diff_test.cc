#include "core/transforms/crush_diff.h"

#include <gtest/gtest.h>

#include "test_lines.h"

#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "core/markers.h"

using headroom::transforms::crush_diff;
using headroom::transforms::CrushDiffLimits;

namespace {

// A diff with 40 lines of context around one change (git diff -U40).
std::string wide_diff() {
    std::string d = "commit abc123\nAuthor: A <a@example.com>\n\n    Fix the bound\n\n"
                    "diff --git a/src/x.c b/src/x.c\nindex 1111111..2222222 100644\n"
                    "--- a/src/x.c\n+++ b/src/x.c\n@@ -60,81 +60,81 @@ int main(void)\n";
    for (int i = 60; i < 100; ++i) d += " int line" + std::to_string(i) + " = " + std::to_string(i) + ";\n";
    d += "-    if (n > limit) {\n+    if (n >= limit) {\n";
    for (int i = 101; i < 141; ++i) d += " int line" + std::to_string(i) + " = " + std::to_string(i) + ";\n";
    return d;
}

}  // namespace

TEST(CrushDiff, ChangesAndHeadersStayContextShrinks) {
    std::string in = wide_diff();
    auto r = crush_diff(in, CrushDiffLimits{});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->omitted, 37u + 37u);
    const auto src = lines_of(in), out = lines_of(r->text);
    for (const char* l : {"commit abc123", "    Fix the bound", "diff --git a/src/x.c b/src/x.c",
                          "--- a/src/x.c", "+++ b/src/x.c", "@@ -60,81 +60,81 @@ int main(void)",
                          "-    if (n > limit) {", "+    if (n >= limit) {", " int line97 = 97;",
                          " int line99 = 99;", " int line101 = 101;", " int line103 = 103;"}) {
        EXPECT_NE(std::find(out.begin(), out.end(), l), out.end()) << l;
    }
    const std::string id = headroom::markers::output_id(in);
    std::vector<std::string> ranges, lines;
    size_t at = 0, kept = 0, marked = 0;
    for (const auto& l : out) {
        if (auto m = headroom::markers::parse_text(l)) {
            marked += m->count;
            EXPECT_EQ(m->what, "unchanged lines");
            EXPECT_EQ(m->id, id);
            EXPECT_EQ(m->count, m->lines.last - m->lines.first + 1);
            ranges.push_back(m->detail);
            lines.push_back(std::to_string(m->lines.first) + "-" + std::to_string(m->lines.last));
            continue;
        }
        while (at < src.size() && src[at] != l) ++at;
        ASSERT_LT(at, src.size()) << l;
        ++at;
        ++kept;
    }
    // Lines of the diff itself: ten lines of headers, then the context.
    EXPECT_EQ(lines, (std::vector<std::string>{"11-47", "56-92"}));
    EXPECT_EQ(kept + marked, src.size());
    // New-file line numbers: context from 60; the change is new line 100.
    EXPECT_EQ(ranges, (std::vector<std::string>{"new lines 60-96", "new lines 104-140"}));
}

TEST(CrushDiff, OrdinaryDiffsAndOtherTextAreLeftAlone) {
    // Three lines of context already: nothing to trim.
    std::string d = "diff --git a/a b/a\n--- a/a\n+++ b/a\n";
    for (int h = 0; h < 8; ++h) {
        d += "@@ -" + std::to_string(h * 20 + 1) + ",7 +" + std::to_string(h * 20 + 1) + ",7 @@\n x\n y\n z\n-old\n+new\n u\n v\n w\n";
    }
    EXPECT_FALSE(crush_diff(d, CrushDiffLimits{}));
    std::string prose;
    for (int i = 0; i < 40; ++i) prose += "--- not a diff ---\n";
    EXPECT_FALSE(crush_diff(prose, CrushDiffLimits{}));
}

// A marker costs more than a couple of short lines: such runs stay, so
// trimming never makes a diff longer, whatever the context asked for.
TEST(CrushDiff, ShortRunsCostLessThanTheirMarker) {
    std::string in = "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,120 +1,120 @@\n";
    for (int i = 0; i < 30; ++i) in += " }\n {\n-old " + std::to_string(i) + "\n+new " + std::to_string(i) + "\n";
    for (std::size_t context = 0; context <= 3; ++context) {
        CrushDiffLimits limits;
        limits.context = context;
        EXPECT_FALSE(crush_diff(in, limits)) << "context " << context;
    }
    // The same runs, long enough to be worth a marker at context 0.
    std::string wide = "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,300 +1,300 @@\n";
    for (int i = 0; i < 30; ++i) {
        wide += "-old " + std::to_string(i) + "\n+new " + std::to_string(i) + "\n";
        for (int k = 0; k < 8; ++k) wide += "     unchanged line of some length " + std::to_string(k) + "\n";
    }
    CrushDiffLimits zero;
    zero.context = 0;
    auto r = crush_diff(wide, zero);
    ASSERT_TRUE(r);
    EXPECT_LT(r->text.size(), wide.size());
    EXPECT_EQ(r->omitted, 29u * 8 + 8);
}
