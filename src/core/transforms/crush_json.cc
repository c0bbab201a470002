#include "core/transforms/crush_json.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/json.h"
#include "core/question.h"
#include "core/text.h"

namespace headroom::transforms {

namespace {

using json::Kind;
using json::Value;

constexpr std::string_view kFailureWords[] = {"error", "exception", "fail", "fatal", "timeout",
                                              "timed out", "denied", "refused", "panic", "traceback",
                                              "critical", "unauthorized", "forbidden"};

// A failure word at the start of a word of `s`, any case. One pass and no
// copy: this runs on every string of every long array.
bool failure_text(std::string_view s) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (i > 0 && is_word_char(s[i - 1])) continue;
        const char c = ascii_lower(s[i]);
        for (std::string_view w : kFailureWords) {
            if (w[0] != c || s.size() - i < w.size()) continue;
            std::size_t k = 1;
            while (k < w.size() && ascii_lower(s[i + k]) == w[k]) ++k;
            if (k == w.size()) return true;
        }
    }
    return false;
}

bool number_in(const Value& v, double lo, double hi) {
    if (v.kind != Kind::Number) return false;
    double x = std::strtod(v.text.c_str(), nullptr);
    return x >= lo && x <= hi;
}

bool nonzero_number(const Value& v) {
    return v.kind == Kind::Number && std::strtod(v.text.c_str(), nullptr) != 0.0;
}

bool has_error_signal(const Value& v, int depth) {
    if (depth > 8) return false;
    switch (v.kind) {
    case Kind::String: return failure_text(v.text);
    case Kind::Array:
        for (const Value& i : v.items) {
            if (has_error_signal(i, depth + 1)) return true;
        }
        return false;
    case Kind::Object:
        for (const auto& m : v.members) {
            // Keys looked for are short: longer ones need no lowering.
            char buf[16];
            std::string_view key;
            if (m.key.size() <= sizeof buf) {
                for (std::size_t k = 0; k < m.key.size(); ++k) buf[k] = ascii_lower(m.key[k]);
                key = std::string_view(buf, m.key.size());
            }
            const Value& x = m.value;
            if ((key == "error" || key == "errors" || key == "exception" || key == "stderr") &&
                x.kind != Kind::Null && x.kind != Kind::False &&
                !(x.is_string() && x.text.empty()) && !(x.is_array() && x.items.empty())) {
                return true;
            }
            if ((key == "status" || key == "status_code" || key == "statuscode" ||
                 key == "http_status" || key == "code") && number_in(x, 400, 599)) {
                return true;
            }
            if ((key == "exit_code" || key == "exitcode" || key == "returncode" ||
                 key == "exit_status" || key == "rc") && nonzero_number(x)) {
                return true;
            }
            if ((key == "ok" || key == "success" || key == "passed") && x.kind == Kind::False) return true;
            if (has_error_signal(x, depth + 1)) return true;
        }
        return false;
    default: return false;
    }
}

// A field name that ranks items: the best are the largest, or for names
// that say a place ("rank", "position"), the smallest.
enum class Ranking { None, Largest, Smallest };

Ranking ranking_of(std::string_view key) {
    std::string k = lower(key);
    while (!k.empty() && k.front() == '_') k.erase(k.begin());
    for (std::string_view w : {"rank", "position", "pos", "place"}) {
        if (k == w) return Ranking::Smallest;
    }
    for (std::string_view w : {"score", "relevance", "rating", "stars", "confidence", "similarity",
                               "stargazers_count", "relevance_score", "search_score"}) {
        if (k == w) return Ranking::Largest;
    }
    if (k.size() > 6 && k.compare(k.size() - 6, 6, "_score") == 0) return Ranking::Largest;
    return Ranking::None;
}

struct Crusher {
    const CrushJsonLimits& limits;
    const Origin& origin;
    const Question& question;
    std::string_view original;
    std::optional<markers::LineIndex> line_index;  // of `original`, made on first use
    // Lines of the JSON string being walked when it holds JSON itself: its
    // items' own positions are in the decoded string, not the original.
    std::optional<markers::Range> string_lines;
    std::size_t arrays = 0, omitted = 0;

    // Lines of the original that the bytes [begin, end) span, 1-based.
    markers::Range lines_of(std::size_t begin, std::size_t end) {
        if (string_lines) return *string_lines;
        if (!line_index) line_index.emplace(original);
        const std::size_t offset = origin.line_offset();
        return {offset + line_index->line_of(begin), offset + line_index->line_of(end > begin ? end - 1 : begin)};
    }

    Value marker(const std::vector<Value>& items, std::size_t first, std::size_t last, std::size_t matching) {
        markers::JsonMarker m;
        m.count = last - first + 1;
        m.matching = matching;
        m.items = {first, last};
        m.lines = lines_of(items[first].begin, items[last].end);
        m.id = origin.id();
        m.way = origin.way();
        return markers::write_json(m);
    }

    void keep_numeric_extremes(const std::vector<Value>& items, std::vector<bool>& keep) {
        const std::size_t n = items.size();
        // field -> (value, index) for object items; "" for bare numbers
        std::map<std::string, std::vector<std::pair<double, std::size_t>>> fields;
        for (std::size_t i = 0; i < n; ++i) {
            const Value& it = items[i];
            if (it.kind == Kind::Number) fields[""].push_back({std::strtod(it.text.c_str(), nullptr), i});
            if (!it.is_object()) continue;
            for (const auto& m : it.members) {
                if (m.value.kind == Kind::Number) {
                    fields[m.key].push_back({std::strtod(m.value.text.c_str(), nullptr), i});
                }
            }
        }
        for (auto& [name, vals] : fields) {
            if (vals.size() < std::max<std::size_t>(10, n / 2)) continue;
            auto mn = std::min_element(vals.begin(), vals.end());
            auto mx = std::max_element(vals.begin(), vals.end());
            keep[mn->second] = keep[mx->second] = true;
            std::vector<double> xs;
            for (auto& v : vals) xs.push_back(v.first);
            std::nth_element(xs.begin(), xs.begin() + xs.size() / 2, xs.end());
            double median = xs[xs.size() / 2];
            for (double& x : xs) x = std::fabs(x - median);
            std::nth_element(xs.begin(), xs.begin() + xs.size() / 2, xs.end());
            double mad = xs[xs.size() / 2];
            if (mad <= 0) continue;
            // The five strongest outliers beyond five deviations.
            std::vector<std::pair<double, std::size_t>> far;
            for (auto& v : vals) {
                double d = std::fabs(v.first - median) / mad;
                if (d > 5) far.push_back({-d, v.second});
            }
            std::sort(far.begin(), far.end());
            for (std::size_t k = 0; k < far.size() && k < 5; ++k) keep[far[k].second] = true;
        }
    }

    // Ranked results keep their best: by a field whose name ranks (score,
    // relevance, rank...), else by the only numeric field that varies.
    void keep_top_ranked(const std::vector<Value>& items, std::vector<bool>& keep) {
        const std::size_t n = items.size();
        if (limits.keep_top == 0 || n == 0) return;
        struct Field {
            std::string_view key;
            std::size_t numbers = 0;
            bool varies = false;
            double first = 0;
        };
        std::vector<Field> fields;
        for (const Value& item : items) {
            if (!item.is_object()) continue;
            for (const auto& m : item.members) {
                if (m.value.kind != Kind::Number) continue;
                auto f = std::find_if(fields.begin(), fields.end(), [&](const Field& x) { return x.key == m.key; });
                const double x = std::strtod(m.value.text.c_str(), nullptr);
                if (f == fields.end()) {
                    if (fields.size() == 32) continue;
                    fields.push_back(Field{m.key, 0, false, x});
                    f = fields.end() - 1;
                }
                ++f->numbers;
                f->varies = f->varies || x != f->first;
            }
        }
        const Field* by = nullptr;
        Ranking ranking = Ranking::None;
        for (const Field& f : fields) {
            if (f.numbers * 2 < n || !f.varies) continue;
            if (Ranking r = ranking_of(f.key); r != Ranking::None) {
                by = &f;
                ranking = r;
                break;
            }
        }
        if (by == nullptr) {
            std::size_t varying = 0;
            for (const Field& f : fields) {
                if (f.numbers * 2 >= n && f.varies) {
                    ++varying;
                    by = &f;
                }
            }
            if (varying != 1) return;
            ranking = Ranking::Largest;
        }
        std::vector<std::pair<double, std::size_t>> ranked;
        for (std::size_t i = 0; i < n; ++i) {
            const Value* v = items[i].is_object() ? items[i].find(by->key) : nullptr;
            if (v == nullptr || v->kind != Kind::Number) continue;
            const double x = std::strtod(v->text.c_str(), nullptr);
            ranked.push_back({ranking == Ranking::Smallest ? x : -x, i});
        }
        std::sort(ranked.begin(), ranked.end());
        for (std::size_t k = 0; k < ranked.size() && k < limits.keep_top; ++k) keep[ranked[k].second] = true;
    }

    void keep_rare_values(const std::vector<Value>& items, std::vector<bool>& keep) {
        const std::size_t n = items.size();
        if (n < 20) return;
        constexpr std::size_t kMaxCategories = 12;
        struct Category {
            std::string_view value;
            std::size_t count, first;
        };
        struct Field {
            std::vector<Category> values;
            bool categorical = true;
        };
        // Views into `items`, which stay put until sample() rebuilds them.
        std::unordered_map<std::string_view, Field> fields;
        for (std::size_t i = 0; i < n; ++i) {
            if (!items[i].is_object()) continue;
            for (const auto& m : items[i].members) {
                if (!m.value.is_string()) continue;
                Field& f = fields[m.key];
                if (!f.categorical) continue;
                if (m.value.text.size() > 64) {
                    f.categorical = false;
                    continue;
                }
                auto at = std::find_if(f.values.begin(), f.values.end(),
                                       [&](const Category& c) { return c.value == m.value.text; });
                if (at != f.values.end()) {
                    ++at->count;
                } else if (f.values.size() == kMaxCategories) {
                    f.categorical = false;  // too many distinct values
                } else {
                    f.values.push_back({m.value.text, 1, i});
                }
            }
        }
        const std::size_t rare = std::max<std::size_t>(1, n / 50);
        // Map order is irrelevant: each kept index is set, never unset.
        for (auto& [name, f] : fields) {
            if (!f.categorical || f.values.size() < 2) continue;
            for (const Category& c : f.values) {
                if (c.count <= rare) keep[c.first] = true;
            }
        }
    }

    void sample(Value& array) {
        std::vector<Value>& items = array.items;
        const std::size_t n = items.size();
        std::vector<bool> keep(n, false);
        for (std::size_t i = 0; i < n && i < limits.keep_first; ++i) keep[i] = true;
        for (std::size_t i = n > limits.keep_last ? n - limits.keep_last : 0; i < n; ++i) keep[i] = true;

        // Every item's compact text in one buffer: item i is
        // [at[i], at[i + 1]).
        std::string all;
        std::vector<std::size_t> at(n + 1, 0);
        for (std::size_t i = 0; i < n; ++i) {
            at[i] = all.size();
            json::serialize(items[i], all);
        }
        at[n] = all.size();
        auto text = [&](const std::string& s, std::size_t i) {
            return std::string_view(s).substr(at[i], at[i + 1] - at[i]);
        };
        std::vector<bool> duplicate(n, false);
        std::unordered_map<std::string_view, std::size_t> seen;
        seen.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            duplicate[i] = !seen.emplace(text(all, i), i).second;
        }

        std::vector<bool> chosen(n, false);
        for (std::size_t i = 0; i < n; ++i) {
            if (has_error_signal(items[i], 0)) chosen[i] = true;
        }
        keep_numeric_extremes(items, chosen);
        keep_rare_values(items, chosen);
        keep_top_ranked(items, chosen);
        // Items that match the question, up to the bound; the rest of them
        // are counted in their markers.
        std::vector<bool> asked(n, false);
        if (!question.empty()) {
            std::string lowered;
            lower_into(all, lowered);
            std::vector<std::string_view> texts(n);
            for (std::size_t i = 0; i < n; ++i) texts[i] = std::string_view(lowered).substr(at[i], at[i + 1] - at[i]);
            const Question::Picked picked = question.pick(texts, limits.max_matches);
            for (std::size_t i : picked.kept) chosen[i] = true;
            for (std::size_t i : picked.matching) asked[i] = !chosen[i];
        }
        for (std::size_t i = 0; i < n; ++i) {
            if (chosen[i] && !duplicate[i]) keep[i] = true;
        }
        // A lone left-out item costs less kept than as a marker; so does
        // any run whose marker would cost more than its items.
        std::vector<std::optional<Value>> markers(n);
        for (std::size_t i = 0; i < n;) {
            if (keep[i]) {
                ++i;
                continue;
            }
            std::size_t j = i;
            while (j + 1 < n && !keep[j + 1]) ++j;
            std::size_t matching = 0;
            for (std::size_t k = i; k <= j; ++k) matching += asked[k];
            Value m = marker(items, i, j, matching);
            if (j > i && worth_marking(at[j + 1] - at[i],
                                       [&] { return std::string_view(all).substr(at[i], at[j + 1] - at[i]); },
                                       json::serialize(m), limits.measure)) {
                markers[i] = std::move(m);
            } else {
                for (std::size_t k = i; k <= j; ++k) keep[k] = true;
            }
            i = j + 1;
        }

        // Keeping every item changes nothing: the items stay where they are.
        if (std::find(keep.begin(), keep.end(), false) == keep.end()) return;

        std::vector<Value> out;
        std::size_t i = 0, dropped = 0;
        while (i < n) {
            if (keep[i]) {
                out.push_back(std::move(items[i++]));
                continue;
            }
            std::size_t j = i;
            while (j + 1 < n && !keep[j + 1]) ++j;
            out.push_back(std::move(*markers[i]));
            dropped += j - i + 1;
            i = j + 1;
        }
        items = std::move(out);
        ++arrays;
        omitted += dropped;
    }

    // JSON held in a string (an MCP result, an escaped API response) is
    // treated the same way; the string changes only if items were left out.
    static constexpr std::size_t kEmbeddedMin = 256;
    static constexpr int kEmbeddedDepth = 3;
    int embedded = 0;

    void walk_embedded(Value& v) {
        if (!limits.embedded || embedded >= kEmbeddedDepth || v.text.size() < kEmbeddedMin ||
            !json::opens_object_or_array(v.text)) {
            return;
        }
        json::ParseResult inner = json::parse(v.text, limits.max_depth);
        if (!inner.ok()) return;
        std::size_t before = omitted;
        std::optional<markers::Range> outer = string_lines;
        if (!string_lines) string_lines = lines_of(v.begin, v.end);
        ++embedded;
        walk(inner.value);
        --embedded;
        string_lines = outer;
        if (omitted != before) v.text = json::serialize(inner.value);
    }

    void walk(Value& v) {
        if (v.is_object()) {
            for (auto& m : v.members) walk(m.value);
        } else if (v.is_array()) {
            if (v.items.size() > limits.max_items) sample(v);
            for (auto& item : v.items) walk(item);
        } else if (v.is_string()) {
            walk_embedded(v);
        }
    }

    std::size_t tables = 0;

    std::size_t measure(const Value& v) const {
        std::string s = json::serialize(v);
        return limits.measure(s);
    }

    static bool is_marker(const Value& v) { return markers::parse_json(v).has_value(); }

    // Same keys, same order, none twice: a row can stand for the object.
    static bool same_keys(const Value& a, const Value& b) {
        if (a.members.size() != b.members.size()) return false;
        for (std::size_t i = 0; i < a.members.size(); ++i) {
            if (a.members[i].key != b.members[i].key) return false;
        }
        return true;
    }

    static bool unique_keys(const Value& o) {
        for (std::size_t i = 0; i < o.members.size(); ++i) {
            for (std::size_t j = i + 1; j < o.members.size(); ++j) {
                if (o.members[i].key == o.members[j].key) return false;
            }
        }
        return true;
    }

    // A column of a table: its name, and where its value is in a row's
    // object (more than one key for a flattened object: "user.login").
    struct Column {
        std::string name;
        std::vector<std::string_view> path;
    };

    static const Value* at_path(const Value& row, const std::vector<std::string_view>& path) {
        const Value* v = &row;
        for (std::string_view k : path) {
            v = v->find(k);
            if (v == nullptr) return nullptr;
        }
        return v;
    }

    // Splits the column into one per key where every row holds an object
    // with the same keys there, none of them dotted, down to three levels.
    static void flatten(const std::vector<const Value*>& rows, Column c, std::size_t depth,
                        std::vector<Column>& out) {
        const Value* first = at_path(*rows[0], c.path);
        bool like = depth < 3 && first != nullptr && first->is_object() && !first->members.empty() &&
                    unique_keys(*first);
        for (std::size_t k = 0; like && k < first->members.size(); ++k) {
            const std::string& key = first->members[k].key;
            like = !key.empty() && key.find('.') == std::string::npos;
        }
        for (std::size_t r = 1; like && r < rows.size(); ++r) {
            const Value* v = at_path(*rows[r], c.path);
            like = v != nullptr && v->is_object() && same_keys(*first, *v);
        }
        if (!like) {
            out.push_back(std::move(c));
            return;
        }
        for (const auto& m : first->members) {
            Column sub{c.name + "." + m.key, c.path};
            sub.path.push_back(m.key);
            flatten(rows, std::move(sub), depth + 1, out);
        }
    }

    static Value table_of(const Value& array, const std::vector<Column>& columns, bool same_once) {
        std::vector<const Value*> rows;
        for (const Value& item : array.items) {
            if (!is_marker(item)) rows.push_back(&item);
        }
        // Columns whose value is the same in every row are said once.
        std::vector<bool> same(columns.size(), false);
        if (same_once) {
            for (std::size_t c = 0; c < columns.size(); ++c) {
                const std::string v = json::serialize(*at_path(*rows[0], columns[c].path));
                same[c] = true;
                for (std::size_t r = 1; r < rows.size() && same[c]; ++r) {
                    same[c] = json::serialize(*at_path(*rows[r], columns[c].path)) == v;
                }
            }
        }
        Value names = json::array_value({});
        Value once = json::object_value({});
        for (std::size_t c = 0; c < columns.size(); ++c) {
            if (same[c]) {
                once.members.push_back({columns[c].name, *at_path(*rows[0], columns[c].path)});
            } else {
                names.items.push_back(json::string_value(columns[c].name));
            }
        }
        Value body_rows = json::array_value({});
        for (const Value& item : array.items) {
            if (is_marker(item)) {
                body_rows.items.push_back(item);
                continue;
            }
            Value row = json::array_value({});
            for (std::size_t c = 0; c < columns.size(); ++c) {
                if (!same[c]) row.items.push_back(*at_path(item, columns[c].path));
            }
            body_rows.items.push_back(std::move(row));
        }
        Value body = json::object_value({{"columns", std::move(names)}});
        if (!once.members.empty()) body.members.push_back({"same", std::move(once)});
        body.members.push_back({"rows", std::move(body_rows)});
        return json::object_value({{"headroom_table", std::move(body)}});
    }

    // Children first, then this array as a table if every object item has
    // the same keys and a table measures smaller: plain, or with nested
    // objects of like rows flattened into dotted columns and the columns
    // that hold one value in every row said once, whichever is smaller.
    void tabulate(Value& v) {
        if (v.is_object()) {
            for (auto& m : v.members) tabulate(m.value);
            return;
        }
        if (!v.is_array()) return;
        for (auto& item : v.items) tabulate(item);

        const Value* first = nullptr;
        std::vector<const Value*> rows;
        for (const Value& item : v.items) {
            if (is_marker(item)) continue;
            if (!item.is_object() || item.members.size() < 2) return;
            if (first == nullptr) {
                if (!unique_keys(item)) return;
                first = &item;
            } else if (!same_keys(*first, item)) {
                return;
            }
            rows.push_back(&item);
        }
        if (rows.size() < 3) return;

        std::vector<Column> plain, rich;
        bool dotted = false;
        for (const auto& m : first->members) {
            plain.push_back(Column{m.key, {m.key}});
            dotted = dotted || m.key.find('.') != std::string::npos;
        }
        // A dotted name stands for a flattened object only when no key is
        // dotted of itself.
        if (!dotted) {
            for (const auto& m : first->members) flatten(rows, Column{m.key, {m.key}}, 0, rich);
        }
        Value best = table_of(v, plain, false);
        std::size_t best_size = measure(best);
        if (!dotted) {
            Value other = table_of(v, rich, true);
            if (const std::size_t size = measure(other); size < best_size) {
                best = std::move(other);
                best_size = size;
            }
        }
        if (best_size < measure(v)) {
            v = std::move(best);
            ++tables;
        }
    }
};

}  // namespace

std::optional<CrushedJson> crush_json(std::string_view text, std::string_view question,
                                      const CrushJsonLimits& limits) {
    return crush_json(text, question, limits, Origin::of(text));
}

std::optional<CrushedJson> crush_json(std::string_view text, std::string_view question,
                                      const CrushJsonLimits& limits, const Origin& origin) {
    if (!json::opens_object_or_array(text)) return std::nullopt;

    json::ParseResult parsed = json::parse(text, limits.max_depth);
    if (!parsed.ok()) return std::nullopt;

    const Question asked(question);
    Crusher c{limits, origin, asked, text, std::nullopt, std::nullopt, 0, 0};
    c.walk(parsed.value);
    if (limits.tables) c.tabulate(parsed.value);

    CrushedJson out;
    out.text.reserve(text.size() / 2);
    json::serialize(parsed.value, out.text);
    out.arrays = c.arrays;
    out.omitted = c.omitted;
    if (c.omitted > 0) out.id = origin.id();
    out.tables = c.tables;
    return out;
}

}  // namespace headroom::transforms
