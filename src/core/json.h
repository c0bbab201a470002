// A JSON document tree that keeps what a byte-faithful rewrite needs: object
// key order (duplicates included), number text exactly as written, and
// string contents as decoded UTF-8 bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace headroom::json {

enum class Kind : unsigned char { Null, False, True, Number, String, Array, Object };

struct Member;

struct Value {
    Kind kind = Kind::Null;
    // Where the value was in the text it was parsed from: bytes
    // [begin, end). 0 and 0 for values built in code.
    std::uint32_t begin = 0;
    std::uint32_t end = 0;
    // Parsed with seals (parse_sealed): what the value was, so that
    // splice() can tell it is unchanged: a string's XXH3-64, a
    // container's children (where each was, and each key).
    bool sealed = false;
    mutable unsigned char as_parsed = 0;  // splice()'s answer: 0 not yet, 1 yes, 2 no
    std::uint64_t seal = 0;
    std::string text;            // Number: literal text; String: decoded bytes.
    std::vector<Value> items;    // Array elements.
    std::vector<Member> members; // Object members in input order.

    bool is_string() const { return kind == Kind::String; }
    bool is_array() const { return kind == Kind::Array; }
    bool is_object() const { return kind == Kind::Object; }

    // The last member named `key`, as most JSON readers (and so providers)
    // resolve duplicates; nullptr when absent or not an object.
    const Value* find(std::string_view key) const;
    Value* find(std::string_view key);

    // True when this is a string equal to `s`.
    bool equals(std::string_view s) const { return is_string() && text == s; }
};

struct Member {
    std::string key;
    Value value;
};

// Builders for the few values transforms add.
inline Value string_value(std::string s) {
    Value v;
    v.kind = Kind::String;
    v.text = std::move(s);
    return v;
}

inline Value bool_value(bool b) {
    Value v;
    v.kind = b ? Kind::True : Kind::False;
    return v;
}

inline Value object_value(std::vector<Member> members) {
    Value v;
    v.kind = Kind::Object;
    v.members = std::move(members);
    return v;
}

inline Value array_value(std::vector<Value> items) {
    Value v;
    v.kind = Kind::Array;
    v.items = std::move(items);
    return v;
}

enum class ParseError {
    None,
    Invalid,        // not well-formed JSON (yajl said so)
    TooDeep,        // nesting beyond the configured limit
    LoneSurrogate,  // a \uD800-\uDFFF escape without its pair: yajl would
                    // rewrite it, so we refuse rather than alter it
    OutOfMemory,
};

struct ParseResult {
    ParseError error = ParseError::None;
    std::string message;  // yajl's description when error == Invalid
    Value value;

    bool ok() const { return error == ParseError::None; }
};

// Parses exactly one JSON value (surrounding whitespace allowed).
ParseResult parse(std::string_view text, std::size_t max_depth);

// The same, every value sealed, for splice() against `text` later. `text`
// must be valid UTF-8 (the caller checked it; yajl does not again).
ParseResult parse_sealed(std::string_view text, std::size_t max_depth);

// Appends `v` to `out` as JSON, where `v` is (or grew from) the tree
// parse_sealed() made of `original`: every value still as it was parsed is
// copied from `original` byte for byte (its whitespace and escapes as the
// client wrote them); only what changed is serialized, compactly. The
// result is the same JSON value serialize() gives. Values sealed from any
// other text must not be in `v` (values parse() made may: they are never
// sealed).
void splice(const Value& v, std::string_view original, std::string& out);

// Appends the compact serialization of `v` to `out`.
void serialize(const Value& v, std::string& out);
std::string serialize(const Value& v);

// Writes the compact serialization of the single JSON value in `text` to
// `out` without building a tree: what parse() then serialize() would give,
// at a fraction of the cost. Fails as parse() would; `out` is then partial.
ParseError minify(std::string_view text, std::size_t max_depth, std::string& out);

// True when the first byte after JSON whitespace is '{' or '[': a cheap
// test, before parsing, that `text` may be an object or array.
bool opens_object_or_array(std::string_view text);

// True when `text` holds a \u escape of a UTF-16 surrogate that is not part
// of a high+low pair.
bool has_lone_surrogate_escape(std::string_view text);

const char* parse_error_name(ParseError e);

}  // namespace headroom::json
