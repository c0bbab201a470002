// Positions in a JSON document, as the dialects give them: from the root,
// the index of an object's member or an array's item at each level. A
// position outlives any one tree, so that the pipeline (or a later
// single-pass splicer) can act on it without the dialect's pointers.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/json.h"

namespace headroom::json {

class Path {
public:
    // Dialects name places at most this deep (Gemini's part text is 5).
    static constexpr std::size_t kMaxDepth = 16;

    std::size_t depth() const { return depth_; }
    std::size_t operator[](std::size_t i) const { return steps_[i]; }
    // False when a step was lost to kMaxDepth: such a path leads nowhere.
    bool valid() const { return valid_; }

    Path then(std::size_t index) const {
        Path p = *this;
        if (p.depth_ == kMaxDepth || index > UINT32_MAX) {
            p.valid_ = false;
        } else {
            p.steps_[p.depth_++] = static_cast<std::uint32_t>(index);
        }
        return p;
    }

    friend bool operator==(const Path& a, const Path& b) {
        if (a.depth_ != b.depth_ || a.valid_ != b.valid_) return false;
        for (std::size_t i = 0; i < a.depth_; ++i) {
            if (a.steps_[i] != b.steps_[i]) return false;
        }
        return true;
    }

private:
    std::array<std::uint32_t, kMaxDepth> steps_{};
    std::uint8_t depth_ = 0;
    bool valid_ = true;
};

// The value at `path`, or nullptr when the path leads nowhere in `root`.
const Value* resolve(const Value& root, const Path& path);
Value* resolve(Value& root, const Path& path);

// Bytes [begin, end) of the request a value was parsed from; 0 and 0 when
// not known (a value built in code).
struct Span {
    std::uint32_t begin = 0;
    std::uint32_t end = 0;
    bool known() const { return end > begin; }
};

// A value together with its position, for reading a request: each step
// down knows where it is.
struct Ref {
    const Value* value = nullptr;
    Path path;

    explicit operator bool() const { return value != nullptr; }
    const Value& operator*() const { return *value; }
    const Value* operator->() const { return value; }

    // The last member named `key`, as json::Value::find resolves it.
    Ref get(std::string_view key) const;
    // The first of two spellings present (proto JSON takes both
    // "functionResponse" and "function_response").
    Ref get(std::string_view key, std::string_view alias) const;
    // The array's item `i`.
    Ref at(std::size_t i) const;
    // Items of an array; 0 for anything else.
    std::size_t size() const { return value && value->is_array() ? value->items.size() : 0; }

    Span span() const { return value ? Span{value->begin, value->end} : Span{}; }

    bool is_string() const { return value && value->is_string(); }
    bool is_array() const { return value && value->is_array(); }
    bool is_object() const { return value && value->is_object(); }
    bool equals(std::string_view s) const { return value && value->equals(s); }
};

inline Ref root_ref(const Value& root) { return Ref{&root, Path{}}; }

}  // namespace headroom::json
