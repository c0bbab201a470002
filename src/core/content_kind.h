// What a tool output holds, which decides the crusher that may touch it.
// JSON is known by parsing it (the JSON crusher does); the rest is told
// from the lines, most specific first:
//   diff     unified diff: a file header and a hunk header
//   search   grep -n / ripgrep: path:line:text, line numbers rising per file
//   listing  ls -l, tree, find: names of files, kept whole
//   log      most lines open with a time or an id, or name a level
//   code     most lines end or open the way source code does
//   text     anything else, prose included
// Listings, code and text are never changed.
#pragma once

#include <cstddef>

#include "core/transforms/crush_log.h"
#include "core/transforms/lines.h"

namespace headroom {

enum class ContentKind : unsigned char { Json, Diff, Search, Listing, Log, Code, Text };

inline constexpr std::size_t kContentKinds = 7;

const char* content_kind_name(ContentKind k);

// The kind of a text that is not JSON.
ContentKind classify_lines(const transforms::Lines& lines);
// The same; where the lines were judged a log (or might have been),
// `levels` holds their levels for the log crusher, found once.
ContentKind classify_lines(const transforms::Lines& lines, transforms::LineLevels& levels);

bool is_listing(const transforms::Lines& lines);
bool is_code(const transforms::Lines& lines);

}  // namespace headroom
