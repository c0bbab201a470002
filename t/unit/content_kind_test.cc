#include "core/content_kind.h"

#include <gtest/gtest.h>


#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "core/pipeline.h"
#include "loghub.h"
#include "test_options.h"

using headroom::classify_lines;
using headroom::content_kind_name;
using headroom::ContentKind;
using headroom::transforms::split_lines;

namespace {

std::string kind_of(const std::string& text) { return content_kind_name(classify_lines(split_lines(text))); }

std::string repeat(int n, const std::function<std::string(int)>& line) {
    std::string s;
    for (int i = 0; i < n; ++i) s += line(i);
    return s;
}

std::string c_source() {
    return repeat(20, [](int i) {
        return "static int\nhandler_" + std::to_string(i) + "(ngx_http_request_t *r)\n{\n"
               "    if (r->method != NGX_HTTP_POST) {\n        return NGX_DECLINED;\n    }\n\n"
               "    /* the body is read once */\n    rc = ngx_http_read_client_request_body(r, done);\n"
               "    return rc;\n}\n\n";
    });
}

std::string python_source() {
    return repeat(20, [](int i) {
        return "def load_" + std::to_string(i) + "(path):\n    \"\"\"Read one file.\"\"\"\n"
               "    with open(path) as f:\n        data = json.load(f)\n    items = data['items']\n"
               "    for item in items:\n        total += item.size\n    return total\n\n";
    });
}

// "     1\tline" as cat -n prints a file.
std::string numbered(const std::string& text, const std::string& sep = "\t") {
    std::string out;
    int n = 1;
    for (auto l : split_lines(text)) {
        char num[16];
        std::snprintf(num, sizeof num, "%6d", n++);
        out += num + sep + std::string(l) + "\n";
    }
    return out;
}

std::string prose() {
    return repeat(30, [](int i) {
        return "Paragraph " + std::to_string(i) +
               " explains how the gateway reads a request body, and why it never changes what "
               "people wrote.\n\n";
    });
}

}  // namespace

TEST(ContentKind, EachKindIsToldApart) {
    EXPECT_EQ(kind_of(repeat(40, [](int i) {
                  return "2024-05-01T10:00:" + std::to_string(10 + i % 50) + "Z INFO worker " +
                         std::to_string(i) + " done\n";
              })),
              "log");
    EXPECT_EQ(kind_of(repeat(40, [](int i) {
                  return "src/ngx/a.c:" + std::to_string(10 + i) + ":    ngx_int_t rc;\n";
              })),
              "search");
    EXPECT_EQ(kind_of("diff --git a/x.c b/x.c\n--- a/x.c\n+++ b/x.c\n@@ -1,3 +1,3 @@\n a\n-b\n+c\n d\n"), "diff");
    EXPECT_EQ(kind_of("total 48\n" + repeat(40, [](int i) {
                          return "-rw-r--r-- 1 root root  " + std::to_string(1000 + i) +
                                 " Nov 22 10:00 error-" + std::to_string(i) + ".log\n";
                      })),
              "listing");
    EXPECT_EQ(kind_of(".\n" + repeat(40, [](int i) {
                          return std::string(i % 5 ? "\xE2\x94\x82   \xE2\x94\x9C\xE2\x94\x80\xE2\x94\x80 "
                                                   : "\xE2\x94\x94\xE2\x94\x80\xE2\x94\x80 ") +
                                 "file" + std::to_string(i) + ".c\n";
                      })),
              "listing");
    EXPECT_EQ(kind_of(repeat(40, [](int i) { return "./src/core/file_" + std::to_string(i) + ".cc\n"; })),
              "listing");
    EXPECT_EQ(kind_of(c_source()), "code");
    EXPECT_EQ(kind_of(python_source()), "code");
    EXPECT_EQ(kind_of(prose()), "text");
}

// Line numbers alone would make any file look like a log, and a log
// crusher would fold its "}" lines together.
TEST(ContentKind, NumberedFilesAreJudgedByTheirText) {
    EXPECT_EQ(kind_of(numbered(c_source())), "code");
    EXPECT_EQ(kind_of(numbered(c_source(), "\xE2\x86\x92")), "code");
    EXPECT_EQ(kind_of(numbered(prose())), "text");
    EXPECT_EQ(kind_of(numbered(repeat(40, [](int i) {
                  return "081109 2036" + std::to_string(10 + i) + " 148 INFO dfs.DataNode: served blk_" +
                         std::to_string(i) + "\n";
              }))),
              "log");
}

TEST(ContentKind, EveryLoghubLogIsALog) {
    const auto logs = loghub_logs();
    if (logs.empty()) GTEST_SKIP() << HEADROOM_LOGHUB_DIR << " is missing";
    EXPECT_EQ(logs.size(), 16u);
    for (const auto& [name, text] : logs) EXPECT_EQ(kind_of(text), "log") << name;
}

namespace {

std::string chat_with_tool_output(const std::string& output) {
    std::string escaped;
    for (char c : output) {
        if (c == '\n') escaped += "\\n";
        else if (c == '\t') escaped += "\\t";
        else if (c == '"' || c == '\\') escaped += std::string("\\") + c;
        else escaped += c;
    }
    return R"({"model":"gpt-4o","messages":[{"role":"user","content":"show me"},)"
           R"({"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function",)"
           R"("function":{"name":"read_file","arguments":"{}"}}]},)"
           R"({"role":"tool","tool_call_id":"c1","content":")" + escaped + R"("}]})";
}

}  // namespace

// Listings, code and text pass whole, and are counted under their kind.
TEST(ContentKind, ListingsCodeAndTextAreNeverChanged) {
    struct Case {
        std::string text;
        ContentKind kind;
    };
    const std::vector<Case> cases = {
        {numbered(c_source()), ContentKind::Code},
        {c_source(), ContentKind::Code},
        {prose(), ContentKind::Text},
        {"total 48\n" + repeat(60, [](int i) {
             return "-rw-r--r-- 1 root root  " + std::to_string(1000 + i) + " Nov 22 10:00 error-" +
                    std::to_string(i) + ".log\n";
         }),
         ContentKind::Listing},
    };
    for (const auto& c : cases) {
        headroom::Settings o = any_size();
        auto r = process("/v1/chat/completions", chat_with_tool_output(c.text), o);
        EXPECT_EQ(r.outcome, headroom::Outcome::Passthrough) << content_kind_name(c.kind);
        EXPECT_STREQ(headroom::reason_name(r.reason), "no_change");
        EXPECT_EQ(r.by_kind[static_cast<std::size_t>(c.kind)].outputs, 1u) << content_kind_name(c.kind);
    }
}
