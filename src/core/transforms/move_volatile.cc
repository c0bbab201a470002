#include "core/transforms/move_volatile.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/json_path.h"

namespace headroom::transforms {

namespace {

constexpr std::string_view kNoteHead =
    "[headroom] Values that change from call to call were moved here from the system prompt, "
    "so that its text stays the same and can be cached. Read each [[label]] above as its value:";

// A text that may hold volatile values, and what it becomes.
struct Source {
    std::string* text;
    std::string rewritten;
};

}  // namespace

std::string volatile_placeholder(std::string_view label, std::size_t n) {
    std::string s = "[[";
    s += label;
    s += '-';
    s += std::to_string(n);
    s += "]]";
    return s;
}

std::size_t move_volatile_values(const Dialect& dialect, json::Value& body, const VolatilePatterns& patterns) {
    SystemText system = dialect.system_text(body);
    std::vector<Source> sources;
    for (const json::Path& p : system.texts) {
        json::Value* v = json::resolve(body, p);
        if (v != nullptr && v->is_string()) sources.push_back(Source{&v->text, {}});
    }
    if (sources.empty()) return 0;

    // One placeholder per distinct value of a kind, numbered in order of
    // first appearance: the same request always gets the same labels.
    std::map<std::pair<std::size_t, std::string>, std::string> placeholder;
    std::vector<std::size_t> per_label(patterns.labels().size(), 0);
    std::string note(kNoteHead);

    for (Source& src : sources) {
        const std::string& text = *src.text;
        std::vector<VolatileMatch> found = patterns.find(text);
        if (found.empty()) continue;
        src.rewritten.reserve(text.size());
        std::size_t at = 0;
        for (const VolatileMatch& m : found) {
            src.rewritten.append(text, at, m.begin - at);
            std::string value = text.substr(m.begin, m.end - m.begin);
            auto [it, fresh] = placeholder.try_emplace({m.label, value});
            if (fresh) {
                const std::string& label = patterns.labels()[m.label];
                it->second = volatile_placeholder(label, ++per_label[m.label]);
                note += '\n';
                note += it->second;
                note += " = ";
                note += value;
            }
            src.rewritten += it->second;
            at = m.end;
        }
        src.rewritten.append(text, at, std::string::npos);
    }
    if (placeholder.empty()) return 0;

    // Where the note goes is decided on the request as it came; the texts
    // change in place, so the position holds.
    std::optional<Edit> edit = dialect.note(body, system.note_role, std::move(note));
    if (!edit) return 0;
    for (Source& src : sources) {
        if (!src.rewritten.empty()) src.text->swap(src.rewritten);
    }
    apply(*edit, body);
    return placeholder.size();
}

}  // namespace headroom::transforms
