#include "core/json.h"

#include <xxhash.h>
#include <yajl/yajl_parse.h>

#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <new>
#include <utility>

namespace headroom::json {

namespace {

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Reads the four hex digits at text[i..i+4).
bool read_hex4(std::string_view text, std::size_t i, unsigned& out) {
    if (i + 4 > text.size()) return false;
    out = 0;
    for (std::size_t k = i; k < i + 4; ++k) {
        int d = hex_digit(text[k]);
        if (d < 0) return false;
        out = out << 4 | static_cast<unsigned>(d);
    }
    return true;
}

const char kHex[] = "0123456789abcdef";

// The first byte at or after `i` that JSON must escape, else s.size().
// Tool outputs are long runs of plain bytes between a few newlines and
// quotes: sixteen at a time where SSE2 is.
std::size_t next_to_escape(std::string_view s, std::size_t i) {
#if defined(__SSE2__)
    const __m128i below = _mm_set1_epi8(0x1f);
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i slash = _mm_set1_epi8('\\');
    for (; i + 16 <= s.size(); i += 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i));
        const __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(v, below), v);  // v <= 0x1f
        const __m128i special = _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, slash));
        const int mask = _mm_movemask_epi8(_mm_or_si128(control, special));
        if (mask != 0) return i + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
    }
#endif
    for (; i < s.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c == '"' || c == '\\') return i;
    }
    return s.size();
}

void append_escaped(std::string_view s, std::string& out) {
    out.push_back('"');
    std::size_t run = 0;  // start of the pending run of bytes needing no escape
    for (std::size_t i = next_to_escape(s, 0); i < s.size(); i = next_to_escape(s, i + 1)) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        out.append(s.data() + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': out.append("\\\""); break;
        case '\\': out.append("\\\\"); break;
        case '\b': out.append("\\b"); break;
        case '\f': out.append("\\f"); break;
        case '\n': out.append("\\n"); break;
        case '\r': out.append("\\r"); break;
        case '\t': out.append("\\t"); break;
        default:
            out.append("\\u00");
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 0xf]);
        }
    }
    out.append(s.data() + run, s.size() - run);
    out.push_back('"');
}

std::uint32_t offset32(std::size_t n) {
    return n > UINT32_MAX ? UINT32_MAX : static_cast<std::uint32_t>(n);
}

// Builds the tree from yajl's events. Callbacks run inside C code, so no
// exception may leave them: failures are recorded and the parse cancelled.
// A container's seal: where each child was, and each key, chained through
// XXH3's seed (no state to allocate for every container of a body).
std::uint64_t container_seal(const Value& v) {
    std::uint64_t h = 0;
    auto add = [&h](std::uint32_t begin, std::uint32_t end) {
        const std::uint32_t span[2] = {begin, end};
        h = XXH3_64bits_withSeed(span, sizeof span, h);
    };
    if (v.kind == Kind::Array) {
        for (const Value& item : v.items) add(item.begin, item.end);
    } else {
        for (const Member& m : v.members) {
            add(m.value.begin, m.value.end);
            h = XXH3_64bits_withSeed(m.key.data(), m.key.size(), h);
        }
    }
    return h;
}

struct Builder {
    std::size_t max_depth;
    std::string_view text;
    bool seal = false;
    yajl_handle handle = nullptr;
    std::size_t last_end = 0;  // where the previous token ended
    Value root;
    bool have_root = false;
    std::vector<Value*> open;  // containers being filled, innermost last
    std::string key;           // the key waiting for its value
    ParseError error = ParseError::None;

    // yajl reports where a token ends; a value starts at the first byte
    // after the previous token that is not blank, ',' or ':'.
    std::size_t token_end() const { return handle ? yajl_get_bytes_consumed(handle) : 0; }
    std::size_t token_start() const {
        std::size_t i = last_end;
        while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' ||
                                   text[i] == '\r' || text[i] == ',' || text[i] == ':')) {
            ++i;
        }
        return i;
    }

    // Stores `v` where the grammar puts it and returns its address. Only the
    // innermost container grows, so outer addresses stay valid.
    Value* place(Value&& v) {
        if (open.empty()) {
            root = std::move(v);
            have_root = true;
            return &root;
        }
        Value* top = open.back();
        if (top->kind == Kind::Array) {
            top->items.push_back(std::move(v));
            return &top->items.back();
        }
        top->members.push_back(Member{std::move(key), std::move(v)});
        key.clear();
        return &top->members.back().value;
    }

    template <typename F>
    int guarded(F&& f) {
        try {
            return f();
        } catch (const std::bad_alloc&) {
            error = ParseError::OutOfMemory;
        } catch (...) {
            error = ParseError::OutOfMemory;
        }
        return 0;
    }

    int scalar(Kind k, const char* p, std::size_t n) {
        return guarded([&] {
            Value v;
            v.kind = k;
            if (p != nullptr) {
                v.text.assign(p, n);
            }
            std::size_t end = token_end();
            v.begin = offset32(token_start());
            v.end = offset32(end);
            last_end = end;
            if (seal) {
                v.sealed = true;
                if (k == Kind::String) v.seal = XXH3_64bits(v.text.data(), v.text.size());
            }
            place(std::move(v));
            return 1;
        });
    }

    int open_container(Kind k) {
        return guarded([&] {
            if (open.size() >= max_depth) {
                error = ParseError::TooDeep;
                return 0;
            }
            Value v;
            v.kind = k;
            std::size_t end = token_end();
            v.begin = offset32(end > 0 ? end - 1 : 0);  // the '{' or '['
            v.sealed = seal;
            last_end = end;
            open.push_back(place(std::move(v)));
            return 1;
        });
    }

    int close_container() {
        return guarded([&] {
            last_end = token_end();
            Value* v = open.back();
            v->end = offset32(last_end);
            if (seal) v->seal = container_seal(*v);
            open.pop_back();
            return 1;
        });
    }

    void key_read() { last_end = token_end(); }
};

Builder& B(void* ctx) { return *static_cast<Builder*>(ctx); }

int on_null(void* ctx) { return B(ctx).scalar(Kind::Null, nullptr, 0); }

int on_boolean(void* ctx, int b) {
    return B(ctx).scalar(b ? Kind::True : Kind::False, nullptr, 0);
}

int on_number(void* ctx, const char* s, std::size_t n) {
    return B(ctx).scalar(Kind::Number, s, n);
}

int on_string(void* ctx, const unsigned char* s, std::size_t n) {
    return B(ctx).scalar(Kind::String, reinterpret_cast<const char*>(s), n);
}

int on_start_map(void* ctx) { return B(ctx).open_container(Kind::Object); }

int on_map_key(void* ctx, const unsigned char* s, std::size_t n) {
    Builder& b = B(ctx);
    return b.guarded([&] {
        b.key.assign(reinterpret_cast<const char*>(s), n);
        b.key_read();
        return 1;
    });
}

int on_end(void* ctx) { return B(ctx).close_container(); }

int on_start_array(void* ctx) { return B(ctx).open_container(Kind::Array); }

// Writes yajl's events straight out as compact JSON.
struct Writer {
    std::size_t max_depth;
    std::string& out;
    std::vector<bool> need_comma;  // per open container
    bool after_key = false;
    ParseError error = ParseError::None;

    void before_value() {
        if (after_key) {
            after_key = false;
        } else if (!need_comma.empty()) {
            if (need_comma.back()) out.push_back(',');
            need_comma.back() = true;
        }
    }

    template <typename F>
    int guarded(F&& f) {
        try {
            f();
            return 1;
        } catch (...) {
            error = ParseError::OutOfMemory;
        }
        return 0;
    }

    int raw(const char* p, std::size_t n) {
        return guarded([&] {
            before_value();
            out.append(p, n);
        });
    }

    int open_container(char c) {
        if (need_comma.size() >= max_depth) {
            error = ParseError::TooDeep;
            return 0;
        }
        return guarded([&] {
            before_value();
            out.push_back(c);
            need_comma.push_back(false);
        });
    }

    int close_container(char c) {
        return guarded([&] {
            need_comma.pop_back();
            out.push_back(c);
        });
    }
};

Writer& W(void* ctx) { return *static_cast<Writer*>(ctx); }

int w_null(void* ctx) { return W(ctx).raw("null", 4); }

int w_boolean(void* ctx, int b) { return b ? W(ctx).raw("true", 4) : W(ctx).raw("false", 5); }

int w_number(void* ctx, const char* s, std::size_t n) { return W(ctx).raw(s, n); }

int w_string(void* ctx, const unsigned char* s, std::size_t n) {
    Writer& w = W(ctx);
    return w.guarded([&] {
        w.before_value();
        append_escaped(std::string_view(reinterpret_cast<const char*>(s), n), w.out);
    });
}

int w_map_key(void* ctx, const unsigned char* s, std::size_t n) {
    Writer& w = W(ctx);
    return w.guarded([&] {
        if (w.need_comma.back()) w.out.push_back(',');
        w.need_comma.back() = true;
        append_escaped(std::string_view(reinterpret_cast<const char*>(s), n), w.out);
        w.out.push_back(':');
        w.after_key = true;
    });
}

int w_start_map(void* ctx) { return W(ctx).open_container('{'); }
int w_end_map(void* ctx) { return W(ctx).close_container('}'); }
int w_start_array(void* ctx) { return W(ctx).open_container('['); }
int w_end_array(void* ctx) { return W(ctx).close_container(']'); }

const yajl_callbacks kWriterCallbacks = {
    w_null,      w_boolean, nullptr,       nullptr,     w_number,    w_string,
    w_start_map, w_map_key, w_end_map, w_start_array, w_end_array,
};

const yajl_callbacks kCallbacks = {
    on_null,   on_boolean,   nullptr, nullptr,        on_number, on_string,
    on_start_map, on_map_key, on_end, on_start_array, on_end,
};

}  // namespace

bool opens_object_or_array(std::string_view text) {
    std::size_t i = text.find_first_not_of(" \t\n\r");
    return i != std::string_view::npos && (text[i] == '{' || text[i] == '[');
}

const Value* Value::find(std::string_view k) const {
    if (kind != Kind::Object) return nullptr;
    for (auto it = members.rbegin(); it != members.rend(); ++it) {
        if (it->key == k) return &it->value;
    }
    return nullptr;
}

Value* Value::find(std::string_view k) {
    return const_cast<Value*>(static_cast<const Value&>(*this).find(k));
}

namespace {

// Runs yajl over `text`. `stopped` is where the callbacks record why they
// cancelled the parse.
ParseError run_yajl(const yajl_callbacks& callbacks, void* ctx, std::string_view text,
                    const ParseError& stopped, std::string* message, yajl_handle* handle = nullptr,
                    bool valid_utf8 = false) {
    yajl_handle h = yajl_alloc(&callbacks, nullptr, ctx);
    if (h == nullptr) return ParseError::OutOfMemory;
    if (handle != nullptr) *handle = h;
    // The caller checked every byte already: yajl need not again.
    if (valid_utf8) yajl_config(h, yajl_dont_validate_strings, 1);

    const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
    yajl_status st = yajl_parse(h, bytes, text.size());
    if (st == yajl_status_ok) st = yajl_complete_parse(h);

    ParseError error = ParseError::None;
    if (st == yajl_status_client_canceled) {
        error = stopped;
    } else if (st != yajl_status_ok) {
        error = ParseError::Invalid;
        unsigned char* msg = message ? yajl_get_error(h, 0, bytes, text.size()) : nullptr;
        if (msg != nullptr) {
            try {
                message->assign(reinterpret_cast<const char*>(msg));
                while (!message->empty() && (message->back() == '\n' || message->back() == ' ')) {
                    message->pop_back();
                }
            } catch (...) {
            }
            yajl_free_error(h, msg);
        }
    }
    yajl_free(h);
    return error;
}

}  // namespace

namespace {

ParseResult parse_tree(std::string_view text, std::size_t max_depth, bool seal) {
    ParseResult result;
    if (has_lone_surrogate_escape(text)) {
        result.error = ParseError::LoneSurrogate;
        return result;
    }

    Builder b;
    b.max_depth = max_depth;
    b.text = text;
    // Offsets past 4 GB do not fit a span: nothing is sealed then.
    b.seal = seal && text.size() < UINT32_MAX;
    result.error = run_yajl(kCallbacks, &b, text, b.error, &result.message, &b.handle, seal);
    if (!result.ok()) return result;

    if (!b.have_root) {
        result.error = ParseError::Invalid;
        result.message = "no JSON value";
    } else {
        result.value = std::move(b.root);
    }
    return result;
}

// True when `v` is still what parse_sealed() made of `original` there.
bool as_parsed(const Value& v, std::string_view original) {
    if (v.as_parsed != 0) return v.as_parsed == 1;
    bool same = v.sealed && v.begin < v.end && v.end <= original.size();
    if (same) {
        const char first = original[v.begin];
        switch (v.kind) {
        case Kind::Null: same = first == 'n'; break;
        case Kind::False: same = first == 'f'; break;
        case Kind::True: same = first == 't'; break;
        case Kind::Number: same = original.substr(v.begin, v.end - v.begin) == v.text; break;
        case Kind::String: same = first == '"' && XXH3_64bits(v.text.data(), v.text.size()) == v.seal; break;
        case Kind::Array:
            same = first == '[' && container_seal(v) == v.seal;
            for (std::size_t i = 0; same && i < v.items.size(); ++i) same = as_parsed(v.items[i], original);
            break;
        case Kind::Object:
            same = first == '{' && container_seal(v) == v.seal;
            for (std::size_t i = 0; same && i < v.members.size(); ++i) same = as_parsed(v.members[i].value, original);
            break;
        }
    }
    v.as_parsed = same ? 1 : 2;
    return same;
}

}  // namespace

ParseResult parse(std::string_view text, std::size_t max_depth) { return parse_tree(text, max_depth, false); }

ParseResult parse_sealed(std::string_view text, std::size_t max_depth) { return parse_tree(text, max_depth, true); }

namespace {

// splice()'s answers of an earlier call may be stale: forgotten first.
void forget(const Value& v) {
    v.as_parsed = 0;
    for (const Value& item : v.items) forget(item);
    for (const Member& m : v.members) forget(m.value);
}

// Writes `v` compactly; with `original` (splice), what is still as parsed
// from it is copied from it instead.
void write(const Value& v, const std::string_view* original, std::string& out) {
    if (original != nullptr && as_parsed(v, *original)) {
        out.append(original->substr(v.begin, v.end - v.begin));
        return;
    }
    switch (v.kind) {
    case Kind::Null: out.append("null"); break;
    case Kind::False: out.append("false"); break;
    case Kind::True: out.append("true"); break;
    case Kind::Number: out.append(v.text); break;
    case Kind::String: append_escaped(v.text, out); break;
    case Kind::Array:
        out.push_back('[');
        for (std::size_t i = 0; i < v.items.size(); ++i) {
            if (i != 0) out.push_back(',');
            write(v.items[i], original, out);
        }
        out.push_back(']');
        break;
    case Kind::Object:
        out.push_back('{');
        for (std::size_t i = 0; i < v.members.size(); ++i) {
            if (i != 0) out.push_back(',');
            append_escaped(v.members[i].key, out);
            out.push_back(':');
            write(v.members[i].value, original, out);
        }
        out.push_back('}');
        break;
    }
}

}  // namespace

void splice(const Value& v, std::string_view original, std::string& out) {
    forget(v);
    write(v, &original, out);
}

ParseError minify(std::string_view text, std::size_t max_depth, std::string& out) {
    if (has_lone_surrogate_escape(text)) return ParseError::LoneSurrogate;

    std::size_t start = out.size();
    Writer w{max_depth, out, {}, false, ParseError::None};
    ParseError e = run_yajl(kWriterCallbacks, &w, text, w.error, nullptr);
    if (e == ParseError::None && out.size() == start) e = ParseError::Invalid;
    return e;
}

void serialize(const Value& v, std::string& out) { write(v, nullptr, out); }

std::string serialize(const Value& v) {
    std::string out;
    serialize(v, out);
    return out;
}

namespace {

// The first "\\u" at or after `from`, else npos. Every body goes through
// here before it is parsed, so sixteen bytes at a time where SSE2 is (all
// x86-64): a backslash whose next byte is 'u'. memmem's two-byte search
// was a seventh of a replayed turn.
std::size_t find_backslash_u(std::string_view text, std::size_t from) {
    const char* const base = text.data();
    const std::size_t n = text.size();
#if defined(__SSE2__)
    const __m128i slash = _mm_set1_epi8('\\');
    const __m128i u = _mm_set1_epi8('u');
    unsigned carry = 0;  // the previous block's last byte was a backslash
    std::size_t i = from;
    for (; i + 16 <= n; i += 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(base + i));
        const unsigned slashes = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, slash)));
        const unsigned us = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, u)));
        const unsigned hits = ((slashes << 1) | carry) & us;
        if (hits != 0) return i + static_cast<std::size_t>(__builtin_ctz(hits)) - 1;
        carry = slashes >> 15;
    }
    if (carry && i < n && base[i] == 'u') return i - 1;
    from = i;
#endif
    if (from >= n) return std::string_view::npos;
    const void* hit = memmem(base + from, n - from, "\\u", 2);
    return hit ? static_cast<std::size_t>(static_cast<const char*>(hit) - base) : std::string_view::npos;
}

}  // namespace

bool has_lone_surrogate_escape(std::string_view text) {
    // Most texts have many escapes but no \u at all.
    const char* const base = text.data();
    std::size_t from = 0;
    while (from < text.size()) {
        const std::size_t i = find_backslash_u(text, from);
        if (i == std::string_view::npos) return false;
        // Escaped only when an odd number of backslashes ends here.
        std::size_t slashes = 1;
        while (slashes <= i && base[i - slashes] == '\\') ++slashes;
        from = i + 2;
        if (slashes % 2 == 0) continue;  // "\\\\u": a backslash, then 'u'
        unsigned cp = 0;
        if (!read_hex4(text, i + 2, cp)) continue;
        if (cp >= 0xDC00 && cp <= 0xDFFF) return true;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            unsigned low = 0;
            bool paired = i + 12 <= text.size() && text[i + 6] == '\\' &&
                          text[i + 7] == 'u' && read_hex4(text, i + 8, low) &&
                          low >= 0xDC00 && low <= 0xDFFF;
            if (!paired) return true;
            from = i + 12;
            continue;
        }
        from = i + 6;
    }
    return false;
}

const char* parse_error_name(ParseError e) {
    switch (e) {
    case ParseError::None: return "none";
    case ParseError::Invalid: return "invalid_json";
    case ParseError::TooDeep: return "too_deep";
    case ParseError::LoneSurrogate: return "lone_surrogate";
    case ParseError::OutOfMemory: return "out_of_memory";
    }
    return "invalid_json";
}

}  // namespace headroom::json
