// Test helpers: the core's settings without the size floor, for tests whose
// tool outputs are small, and the pipeline run on settings compiled for the
// one call (the module compiles once per location).
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include "core/config.h"
#include "core/pipeline.h"

inline headroom::Settings any_size() {
    headroom::Settings o;
    o.min_tokens = 0;
    return o;
}

inline headroom::Result process(std::string_view path, std::string_view body, const headroom::Settings& s,
                                headroom::Wants wants = {}) {
    std::string error;
    auto config = headroom::Config::compile(s, error);
    if (!config) throw std::invalid_argument(error);
    return headroom::process(path, body, *config, wants);
}
