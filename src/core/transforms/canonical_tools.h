// Tool definitions in one canonical form, so that a client that lists its
// tools in a different order on each call (tools gathered from several MCP
// servers, a hash map's iteration order) still sends one prompt prefix.
#pragma once

#include "core/json.h"

namespace headroom::transforms {

// Sorts the tools by name and the keys of each definition by name, except
// the names under "properties" (and the like): the model fills in a tool's
// arguments in that order, so it is meaning, not noise. Data inside a
// schema ("default", "enum", "examples", "const") is left as written.
// Nothing changes when a tool carries its own "cache_control": the client
// has laid out its prefix itself. `tools` is an array of definitions (the
// dialect says where). Returns true when it changed.
bool canonicalize_tools(json::Value& tools);

}  // namespace headroom::transforms
