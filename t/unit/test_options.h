// Test helper: the core's options without the size floor, for tests whose
// tool outputs are small.
#pragma once

#include "core/options.h"

inline headroom::Options any_size() {
    headroom::Options o;
    o.min_tokens = 0;
    return o;
}
