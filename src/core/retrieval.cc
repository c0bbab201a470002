#include "core/retrieval.h"

#include <algorithm>

#include "core/markers.h"
#include "core/text.h"

namespace headroom::retrieval {

namespace {

constexpr std::size_t kMaxRanges = 64;
constexpr std::size_t kMaxDepth = 512;

struct Range {
    std::size_t first, last;  // inclusive
};

std::string_view trim(std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
}

std::optional<std::size_t> number(std::string_view s) {
    s = trim(s);
    if (s.empty() || s.size() > 12) return std::nullopt;
    std::size_t n = 0;
    for (char c : s) {
        if (!is_digit(c)) return std::nullopt;
        n = n * 10 + std::size_t(c - '0');
    }
    return n;
}

// "3,10-12": ranges in the order given; nullopt when not of that form.
std::optional<std::vector<Range>> ranges_of(std::string_view s) {
    std::vector<Range> out;
    while (!s.empty()) {
        std::size_t comma = s.find(',');
        std::string_view one = s.substr(0, comma);
        s = comma == std::string_view::npos ? std::string_view() : s.substr(comma + 1);
        std::size_t dash = one.find('-');
        auto first = number(one.substr(0, dash));
        auto last = dash == std::string_view::npos ? first : number(one.substr(dash + 1));
        if (!first || !last || *last < *first || out.size() == kMaxRanges) return std::nullopt;
        out.push_back(Range{*first, *last});
    }
    if (out.empty()) return std::nullopt;
    return out;
}

// The original's lines as markers number them: split at '\n', a final
// newline ending the last line rather than starting one.
std::vector<std::string_view> lines_of(std::string_view text) {
    std::vector<std::string_view> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t nl = text.find('\n', start);
        if (nl == std::string_view::npos) nl = text.size();
        lines.push_back(text.substr(start, nl - start));
        start = nl + 1;
    }
    return lines;
}

std::string range_list(const std::vector<Range>& ranges) {
    std::string s;
    for (const Range& r : ranges) {
        if (!s.empty()) s += ',';
        s += std::to_string(r.first);
        if (r.last != r.first) s += "-" + std::to_string(r.last);
    }
    return s;
}

// Ranges cut to [lo, hi]; a range wholly outside is an error.
bool clamp(std::vector<Range>& ranges, std::size_t lo, std::size_t hi, const char* what,
           std::string& error) {
    for (Range& r : ranges) {
        if (r.first < lo || r.first > hi) {
            error = std::string(what) + " " + std::to_string(r.first) + " is not in the original (" +
                    (hi < lo ? std::string("it has none") : std::to_string(lo) + "-" + std::to_string(hi)) + ")";
            return false;
        }
        r.last = std::min(r.last, hi);
    }
    return true;
}

// The array whose items JSON markers index: the original itself, or else
// its longest array (the first of equals, in document order).
const json::Value* item_array(const json::Value& v) {
    if (v.is_array()) return &v;
    const json::Value* best = nullptr;
    auto walk = [&best](const json::Value& x, auto&& self) -> void {
        if (x.is_array() && (best == nullptr || x.items.size() > best->items.size())) best = &x;
        for (const json::Value& i : x.items) self(i, self);
        for (const json::Member& m : x.members) self(m.value, self);
    };
    walk(v, walk);
    return best;
}

std::optional<Selection> select_items(std::string_view original, std::vector<Range> ranges,
                                      std::string& error) {
    json::ParseResult parsed = json::parse(original, kMaxDepth);
    const json::Value* array = parsed.ok() ? item_array(parsed.value) : nullptr;
    if (array == nullptr) {
        error = "items: the original is not JSON with an array";
        return std::nullopt;
    }
    const std::size_t n = array->items.size();
    if (n == 0 || !clamp(ranges, 0, n - 1, "item", error)) {
        if (n == 0) error = "items: the original's array is empty";
        return std::nullopt;
    }
    Selection s;
    s.text = "[";
    for (const Range& r : ranges) {
        for (std::size_t i = r.first; i <= r.last; ++i) {
            const json::Value& item = array->items[i];
            if (s.text.size() > 1) s.text += ',';
            s.text.append(original.substr(item.begin, item.end - item.begin));
        }
    }
    s.text += "]";
    s.what = "items " + range_list(ranges) + " of " + std::to_string(n);
    return s;
}

}  // namespace

std::optional<Request> request_of(const json::Value& args, std::string& error) {
    if (!args.is_object()) {
        error = "the arguments are not an object";
        return std::nullopt;
    }
    Request req;
    const json::Value* id = args.find("id");
    if (id == nullptr || !id->is_string()) {
        error = "\"id\" is required: the 32 hex digits after id= in a headroom marker";
        return std::nullopt;
    }
    req.id = lower(trim(id->text));
    if (!markers::is_output_id(req.id)) {
        error = "\"id\" must be the 32 hex digits after id= in a headroom marker";
        return std::nullopt;
    }
    // Strings, or numbers for a single line or item; null is absent.
    for (auto [key, into] : {std::pair{"lines", &req.lines}, {"items", &req.items}, {"grep", &req.grep}}) {
        const json::Value* v = args.find(key);
        if (v == nullptr || v->kind == json::Kind::Null) continue;
        if (v->is_string() || (v->kind == json::Kind::Number && into != &req.grep)) {
            *into = v->text;
        } else {
            error = std::string("\"") + key + "\" must be a string";
            return std::nullopt;
        }
    }
    if (!req.items.empty() && (!req.lines.empty() || !req.grep.empty())) {
        error = "\"items\" goes alone: not with \"lines\" or \"grep\"";
        return std::nullopt;
    }
    return req;
}

std::optional<Request> request_of_text(std::string_view arguments, std::string& error) {
    json::ParseResult parsed = json::parse(arguments, 16);
    if (!parsed.ok()) {
        error = "the arguments are not JSON";
        return std::nullopt;
    }
    return request_of(parsed.value, error);
}

std::optional<Selection> select(std::string_view original, const Request& req, std::string& error) {
    if (!req.items.empty()) {
        auto ranges = ranges_of(req.items);
        if (!ranges) {
            error = "\"items\" takes indices such as \"5-940\" or \"3,7\"";
            return std::nullopt;
        }
        return select_items(original, std::move(*ranges), error);
    }
    const std::vector<std::string_view> lines = lines_of(original);
    const std::size_t n = lines.size();
    std::vector<Range> ranges{Range{1, n}};
    if (!req.lines.empty()) {
        auto asked = ranges_of(req.lines);
        if (!asked) {
            error = "\"lines\" takes line numbers such as \"120-159\" or \"3,7\"";
            return std::nullopt;
        }
        if (!clamp(*asked, 1, n, "line", error)) return std::nullopt;
        ranges = std::move(*asked);
    }
    Selection s;
    const std::string total = std::to_string(n) + (n == 1 ? " line" : " lines");
    if (req.grep.empty()) {
        if (req.lines.empty()) {
            s.text = std::string(original);
            s.what = "all " + total;
            return s;
        }
        bool first = true;
        for (const Range& r : ranges) {
            for (std::size_t i = r.first; i <= r.last; ++i) {
                if (!first) s.text += '\n';
                first = false;
                s.text.append(lines[i - 1]);
            }
        }
        s.what = "lines " + range_list(ranges) + " of " + std::to_string(n);
        return s;
    }
    std::size_t hits = 0;
    for (const Range& r : ranges) {
        for (std::size_t i = r.first; i <= r.last && i <= n; ++i) {
            if (lines[i - 1].find(req.grep) == std::string_view::npos) continue;
            if (hits++ > 0) s.text += '\n';
            s.text += std::to_string(i);
            s.text += ": ";
            s.text.append(lines[i - 1]);
        }
    }
    std::string quoted;
    json::serialize(json::string_value(req.grep), quoted);
    s.what = std::to_string(hits) + (hits == 1 ? " line" : " lines") + " containing " + quoted;
    if (!req.lines.empty()) s.what += " in lines " + range_list(ranges);
    s.what += " (of " + std::to_string(n) + "), each after its line number";
    return s;
}

std::string answer(const Request& req, const Stored& stored) {
    const std::string named = "[headroom: original " + req.id;
    switch (stored.state) {
    case Stored::State::Missing:
        return named + " is not kept for this credential: expired, or stored under another]";
    case Stored::State::Unavailable:
        return named + " is not available right now (the store did not answer in time); ask again later]";
    case Stored::State::Found: break;
    }
    std::string error;
    auto s = select(stored.text, req, error);
    if (!s) return "[headroom: cannot retrieve from original " + req.id + ": " + error + "]";
    std::string out = named + ", " + s->what + "]\n";
    out += s->text;
    return out;
}

std::string too_much(const Request& req, std::size_t max_bytes) {
    return "[headroom: cannot retrieve from original " + req.id + ": the retrievals of this request would hold " +
           "more than " + std::to_string(max_bytes) + " bytes; ask for fewer lines (lines, grep)]";
}

bool is_filled(std::string_view text, std::string_view id) {
    constexpr std::string_view kOpen = "[headroom: original ";
    return starts_with(text, kOpen) && text.substr(kOpen.size(), id.size()) == id &&
           text.substr(kOpen.size() + id.size(), 2) == ", ";
}

const char* description() {
    return "Gets back what headroom left out of a tool output. Where lines or items were omitted, a "
           "marker such as \"[headroom: 120 more lines like the one above omitted; lines 15-134; "
           "headroom_retrieve id=<32 hex>]\" or {\"headroom_omitted\":{...,\"id\":\"<32 hex>\"}} "
           "stands in their place: call this tool with that id for the original, whole or in part.";
}

json::Value parameters(bool upper_types) {
    auto type = [upper_types](const char* t) {
        std::string s(t);
        if (upper_types) {
            for (char& c : s) c = static_cast<char>(c - 'a' + 'A');
        }
        return json::string_value(std::move(s));
    };
    auto property = [&type](const char* description) {
        return json::object_value({{"type", type("string")}, {"description", json::string_value(description)}});
    };
    return json::object_value({
        {"type", type("object")},
        {"properties",
         json::object_value({
             {"id", property("The 32 hex digits after id= in a headroom marker.")},
             {"lines", property("Optional: only these lines of the original, as markers number them, "
                                "such as \"120-159\".")},
             {"items", property("Optional: only these items of a JSON array, by index as JSON markers "
                                "give them, such as \"5-940\".")},
             {"grep", property("Optional: only the lines that contain this text, each after its line "
                               "number.")},
         })},
        {"required", json::array_value({json::string_value("id")})},
    });
}

}  // namespace headroom::retrieval
