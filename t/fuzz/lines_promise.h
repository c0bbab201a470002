// The promise every line crusher keeps (search results, diffs): each line
// it sends is a line of the input, unaltered and in order, or one marker
// the grammar reads, naming the output's id and lines within the input;
// kept lines and the markers' counts add up to the input's lines; a
// marker never costs more than the lines it stands for; the same input
// gives the same text.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/markers.h"
#include "test_lines.h"

namespace lines_promise {

inline void check(const std::string& in, const std::string& out, const std::string& again,
                  std::size_t omitted) {
    EXPECT_EQ(out, again) << "deterministic";
    const std::vector<std::string> src = lines_of(in), got = lines_of(out);
    const std::string id = headroom::markers::output_id(in);
    std::size_t at = 0, kept = 0, counted = 0, marker_bytes = 0, kept_bytes = 0;
    for (const std::string& l : got) {
        // (an input line that reads as a marker of another output is a line)
        if (auto m = headroom::markers::parse_text(l); m && m->id == id) {
            EXPECT_GE(m->lines.first, 1u);
            EXPECT_LE(m->lines.first, m->lines.last);
            EXPECT_LE(m->lines.last, src.size());
            counted += m->count;
            marker_bytes += l.size() + 1;
            continue;
        }
        while (at < src.size() && src[at] != l) ++at;
        EXPECT_LT(at, src.size()) << "not an input line, or out of order: " << l.substr(0, 200);
        ++at;
        ++kept;
        kept_bytes += l.size() + 1;
    }
    EXPECT_EQ(kept + counted, src.size()) << "every line kept or counted";
    EXPECT_EQ(counted, omitted);
    EXPECT_GT(counted, 0u) << "a crush leaves something out";
    // What the markers stand for cost more than the markers (bytes here,
    // as the crushers measured them without a tokenizer).
    std::size_t in_bytes = 0;
    for (const std::string& l : src) in_bytes += l.size() + 1;
    EXPECT_LT(marker_bytes, in_bytes - kept_bytes) << "markers cost more than the lines they replace";
}

}  // namespace lines_promise
