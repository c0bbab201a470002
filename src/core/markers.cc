#include "core/markers.h"

#include <algorithm>

#include "core/content_hash.h"
#include "core/text.h"

namespace headroom::markers {

namespace {

constexpr std::string_view kTextOpen = "[headroom: ";
constexpr std::string_view kJsonKey = "headroom_omitted";

std::string range_text(const Range& r) {
    std::string s = std::to_string(r.first);
    if (r.last != r.first) s += "-" + std::to_string(r.last);
    return s;
}

// A decimal number without sign or leading zeros (but "0").
std::optional<std::size_t> number(std::string_view s) {
    if (s.empty() || s.size() > 18 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
    std::size_t n = 0;
    for (char c : s) {
        if (!is_digit(c)) return std::nullopt;
        n = n * 10 + std::size_t(c - '0');
    }
    return n;
}

// "a" or "a-b" with a <= b.
std::optional<Range> parse_range(std::string_view s) {
    std::size_t dash = s.find('-');
    auto first = number(s.substr(0, dash));
    auto last = dash == std::string_view::npos ? first : number(s.substr(dash + 1));
    if (!first || !last || *last < *first) return std::nullopt;
    return Range{*first, *last};
}

bool consume(std::string_view& s, std::string_view prefix) {
    if (!starts_with(s, prefix)) return false;
    s.remove_prefix(prefix.size());
    return true;
}

// The end every text marker shares: "<way> id=<id>]", or "id=<id>]".
void append_way_id(std::string& s, const std::string& way, const std::string& id) {
    if (!way.empty()) {
        s += way;
        s += ' ';
    }
    s += "id=";
    s += id;
    s += ']';
}

// "<way> " read back, or "" for none; false for anything else.
bool read_way(std::string_view way, std::string& out) {
    if (way.empty()) return true;
    if (way.size() < 2 || way.back() != ' ' || way.find(';') != std::string_view::npos) return false;
    out = std::string(way.substr(0, way.size() - 1));
    return true;
}

}  // namespace

std::string output_id(std::string_view text) { return sha256_hex(text, 32); }

bool is_output_id(std::string_view s) {
    return s.size() == 32 && std::all_of(s.begin(), s.end(), [](char c) {
               return is_digit(c) || (c >= 'a' && c <= 'f');
           });
}

std::string write_text(const TextMarker& m) {
    std::string s(kTextOpen);
    s += std::to_string(m.count);
    s += ' ';
    s += m.what;
    s += " omitted";
    if (!m.detail.empty()) {
        s += " (";
        s += m.detail;
        s += ')';
    }
    s += m.lines.first == m.lines.last ? "; line " : "; lines ";
    s += range_text(m.lines);
    s += "; ";
    append_way_id(s, m.way, m.id);
    return s;
}

std::optional<TextMarker> parse_text(std::string_view line) {
    // From both ends: the middle ("what", "detail") is free text.
    if (!consume(line, kTextOpen) || line.empty() || line.back() != ']') return std::nullopt;
    line.remove_suffix(1);
    TextMarker m;
    std::size_t id_at = line.rfind("id=");
    if (id_at == std::string_view::npos || !is_output_id(line.substr(id_at + 3))) return std::nullopt;
    m.id = std::string(line.substr(id_at + 3));
    // "; id=" or "; <way> id="
    std::size_t semi = id_at >= 2 ? line.rfind("; ", id_at - 2) : std::string_view::npos;
    if (semi == std::string_view::npos) return std::nullopt;
    if (!read_way(line.substr(semi + 2, id_at - semi - 2), m.way)) return std::nullopt;
    line = line.substr(0, semi);
    std::size_t lines_at = line.rfind("; line");
    if (lines_at == std::string_view::npos) return std::nullopt;
    std::string_view range = line.substr(lines_at + 6);
    if (!consume(range, "s ") && !consume(range, " ")) return std::nullopt;
    auto lines = parse_range(range);
    if (!lines) return std::nullopt;
    m.lines = *lines;
    line = line.substr(0, lines_at);
    std::size_t space = line.find(' ');
    auto count = number(line.substr(0, space));
    if (!count || space == std::string_view::npos) return std::nullopt;
    m.count = *count;
    line = line.substr(space + 1);
    if (!line.empty() && line.back() == ')') {
        std::size_t open = line.rfind(" omitted (");
        if (open == std::string_view::npos) return std::nullopt;
        m.detail = std::string(line.substr(open + 10, line.size() - open - 11));
        line = line.substr(0, open + 8);
    }
    if (!ends_with(line, " omitted")) return std::nullopt;
    m.what = std::string(line.substr(0, line.size() - 8));
    return m;
}

std::string write_retired(const RetiredMarker& m) {
    std::string s(kTextOpen);
    s += "output of ";
    s += tool_label(m.tool);
    s += " retired (";
    s += std::to_string(m.tokens);
    s += " tokens";
    if (!m.first_line.empty()) {
        s += "; first line: ";
        s += m.first_line;
    }
    s += "); ";
    append_way_id(s, m.way, m.id);
    return s;
}

std::optional<RetiredMarker> parse_retired(std::string_view text) {
    constexpr std::string_view kOf = "output of ";
    if (!consume(text, kTextOpen) || !consume(text, kOf) || text.empty() || text.back() != ']') return std::nullopt;
    text.remove_suffix(1);
    RetiredMarker m;
    const std::size_t id_at = text.rfind("id=");
    if (id_at == std::string_view::npos || !is_output_id(text.substr(id_at + 3))) return std::nullopt;
    m.id = std::string(text.substr(id_at + 3));
    const std::size_t close = text.rfind("); ", id_at);
    if (close == std::string_view::npos) return std::nullopt;
    if (!read_way(text.substr(close + 3, id_at - close - 3), m.way)) return std::nullopt;
    text = text.substr(0, close);  // "<tool> retired (<N> tokens[; first line: ...]"
    const std::size_t retired = text.find(" retired (");
    if (retired == std::string_view::npos) return std::nullopt;
    m.tool = std::string(text.substr(0, retired));
    text.remove_prefix(retired + 10);
    const std::size_t space = text.find(' ');
    auto tokens = number(text.substr(0, space));
    if (!tokens || space == std::string_view::npos) return std::nullopt;
    m.tokens = *tokens;
    text.remove_prefix(space);
    if (!consume(text, " tokens")) return std::nullopt;
    if (!text.empty() && !consume(text, "; first line: ")) return std::nullopt;
    m.first_line = std::string(text);
    return m;
}

std::string write_dropped(const DroppedMarker& m) {
    std::string s(kTextOpen);
    s += std::to_string(m.turns);
    s += m.turns == 1 ? " earlier turn" : " earlier turns";
    s += m.summary.empty() ? " dropped to fit the context window (" : " summarized (";
    s += std::to_string(m.tokens);
    s += " tokens); ";
    append_way_id(s, m.way, m.id);
    if (!m.summary.empty()) {
        s += '\n';
        s += m.summary;
    }
    return s;
}

std::optional<DroppedMarker> parse_dropped(std::string_view text) {
    DroppedMarker m;
    // A summary follows the first line.
    if (const std::size_t nl = text.find('\n'); nl != std::string_view::npos) {
        m.summary = std::string(text.substr(nl + 1));
        text = text.substr(0, nl);
        if (m.summary.empty()) return std::nullopt;
    }
    if (!consume(text, kTextOpen) || text.empty() || text.back() != ']') return std::nullopt;
    text.remove_suffix(1);
    const std::size_t space = text.find(' ');
    auto turns = number(text.substr(0, space));
    if (!turns || space == std::string_view::npos) return std::nullopt;
    m.turns = *turns;
    text.remove_prefix(space);
    if (!consume(text, *turns == 1 ? " earlier turn" : " earlier turns") ||
        !consume(text, m.summary.empty() ? " dropped to fit the context window (" : " summarized (")) {
        return std::nullopt;
    }
    const std::size_t end = text.find(' ');
    auto tokens = number(text.substr(0, end));
    if (!tokens || end == std::string_view::npos) return std::nullopt;
    m.tokens = *tokens;
    text.remove_prefix(end);
    if (!consume(text, " tokens); ")) return std::nullopt;
    const std::size_t id_at = text.rfind("id=");
    if (id_at == std::string_view::npos || !is_output_id(text.substr(id_at + 3))) return std::nullopt;
    m.id = std::string(text.substr(id_at + 3));
    if (!read_way(text.substr(0, id_at), m.way)) return std::nullopt;
    return m;
}

std::string first_line(std::string_view text, std::size_t max_bytes) {
    auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; };
    std::size_t start = 0;
    while (start < text.size() && blank(text[start])) ++start;
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    while (end > start && blank(text[end - 1])) --end;
    std::string_view line = text.substr(start, end - start);
    const bool cut = line.size() > max_bytes;
    if (cut) {
        std::size_t n = max_bytes;
        // Back to a character's first byte: continuation bytes are 10xxxxxx.
        while (n > 0 && (static_cast<unsigned char>(line[n]) & 0xC0) == 0x80) --n;
        line = line.substr(0, n);
    }
    std::string out;
    out.reserve(line.size() + 3);
    for (char c : line) out += static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c;
    if (cut) out += "...";
    return out;
}

std::string tool_label(std::string_view tool) {
    if (tool.empty()) return "a tool";
    std::string out;
    for (std::size_t i = 0; i < tool.size() && out.size() < 64; ++i) {
        const char c = tool[i];
        out += static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == ';' || c == '(' || c == ')' ? '_' : c;
    }
    // A name cut inside a character is cut before it.
    if (out.size() < tool.size()) {
        std::size_t n = out.size();
        while (n > 0 && (static_cast<unsigned char>(tool[n]) & 0xC0) == 0x80) --n;
        out.resize(n);
    }
    return out;
}

json::Value write_json(const JsonMarker& m) {
    json::Value count;
    count.kind = json::Kind::Number;
    count.text = std::to_string(m.count);
    json::Value info = json::object_value({{"count", std::move(count)}});
    if (m.matching > 0) {
        json::Value matching;
        matching.kind = json::Kind::Number;
        matching.text = std::to_string(m.matching);
        info.members.push_back({"matching", std::move(matching)});
    }
    info.members.push_back({"items", json::string_value(range_text(m.items))});
    info.members.push_back({"lines", json::string_value(range_text(m.lines))});
    info.members.push_back({"id", json::string_value(m.id)});
    if (!m.way.empty()) info.members.push_back({"via", json::string_value(m.way)});
    return json::object_value({{std::string(kJsonKey), std::move(info)}});
}

std::optional<JsonMarker> parse_json(const json::Value& v) {
    if (!v.is_object() || v.members.size() != 1 || v.members[0].key != kJsonKey) return std::nullopt;
    const json::Value& info = v.members[0].value;
    const json::Value* count = info.find("count");
    const json::Value* items = info.find("items");
    const json::Value* lines = info.find("lines");
    const json::Value* id = info.find("id");
    if (count == nullptr || count->kind != json::Kind::Number || items == nullptr || !items->is_string() ||
        lines == nullptr || !lines->is_string() || id == nullptr || !id->is_string() ||
        !is_output_id(id->text)) {
        return std::nullopt;
    }
    JsonMarker m;
    auto n = number(count->text);
    auto item_range = parse_range(items->text);
    auto line_range = parse_range(lines->text);
    if (!n || !item_range || !line_range || *n != item_range->last - item_range->first + 1) {
        return std::nullopt;
    }
    m.count = *n;
    if (const json::Value* matching = info.find("matching")) {
        auto k = matching->kind == json::Kind::Number ? number(matching->text) : std::nullopt;
        if (!k || *k > m.count) return std::nullopt;
        m.matching = *k;
    }
    m.items = *item_range;
    m.lines = *line_range;
    m.id = id->text;
    if (const json::Value* via = info.find("via")) {
        if (!via->is_string() || via->text.empty()) return std::nullopt;
        m.way = via->text;
    }
    return m;
}

LineIndex::LineIndex(std::string_view text) {
    for (std::size_t i = text.find('\n'); i != std::string_view::npos; i = text.find('\n', i + 1)) {
        newlines_.push_back(i);
    }
}

std::size_t LineIndex::line_of(std::size_t offset) const {
    // Newlines before the offset, plus one.
    return std::size_t(std::lower_bound(newlines_.begin(), newlines_.end(), offset) - newlines_.begin()) + 1;
}

}  // namespace headroom::markers
