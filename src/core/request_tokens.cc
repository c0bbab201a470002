#include "core/request_tokens.h"

#include <optional>
#include <vector>

#include "core/tokenizer/encoding.h"

namespace headroom {

namespace {

// A part of the request this large is looked up in the cache first.
constexpr std::size_t kCacheFrom = 2048;

// Images and files come as base64 (a "data:" URL, or a "data" member
// beside a media type); providers bill them by their pixels or pages, not
// by their characters: each counts as kMediaTokens.
constexpr std::size_t kMediaFrom = 1024;
constexpr std::size_t kMediaTokens = 1000;

bool is_media(std::string_view key, const std::string& text) {
    return text.size() >= kMediaFrom && (key == "data" || text.compare(0, 5, "data:") == 0);
}

// Every string of `v` with the key it is under ("" in arrays).
template <typename F>
void for_each_string(const json::Value& v, std::string_view key, F&& f) {
    if (v.is_string()) {
        f(key, v.text);
    } else if (v.is_array()) {
        for (const json::Value& item : v.items) for_each_string(item, "", f);
    } else if (v.is_object()) {
        for (const json::Member& m : v.members) for_each_string(m.value, m.key, f);
    }
}

}  // namespace

RequestTokens::RequestTokens(const json::Value& doc, const tokenizer::Encoding* encoding,
                             const output_cache::Cache* cache, bool exact, Known known)
    : doc_(doc), encoding_(encoding), cache_(cache), exact_(exact), known_(std::move(known)) {}

std::size_t RequestTokens::count_part(const json::Value& part) {
    auto [it, fresh] = parts_.try_emplace(&part, 0);
    if (fresh) it->second = count_unit(part);
    return it->second;
}

std::size_t RequestTokens::size_of(std::string_view text, bool& estimated) const {
    if (encoding_ == nullptr) return text.size();
    if (!exact_ && text.size() >= tokenizer::Encoding::kEstimateFrom) {
        estimated = true;
        return encoding_->estimate(text);
    }
    return encoding_->count(text);
}

// One part: its strings, counted or found in the cache, but those whose
// size is known.
std::size_t RequestTokens::count_unit(const json::Value& unit) {
    std::vector<const std::string*> texts;
    std::size_t bytes = 0, media = 0, known = 0;
    for_each_string(unit, "", [&](std::string_view key, const std::string& t) {
        if (auto it = known_.find(&t); it != known_.end()) {
            known += it->second;
            return;
        }
        if (is_media(key, t)) {
            ++media;
            return;
        }
        texts.push_back(&t);
        bytes += t.size();
    });
    // The part's texts, and whether any count is an estimate.
    auto count_all = [&](bool& estimated) {
        std::size_t n = 0;
        for (const std::string* t : texts) n += size_of(*t, estimated);
        return n;
    };
    if (media > 0) estimated_ = true;
    if (cache_ == nullptr || encoding_ == nullptr || bytes < kCacheFrom) {
        return count_all(estimated_) + media * kMediaTokens + known;
    }

    // The entry is an effect of a "small" output: its size is the count.
    output_cache::Material m;
    m.add("headroom request part tokens 1");
    m.add(encoding_->name());
    m.add(exact_ ? "exact" : "estimated");
    for (const std::string* t : texts) m.add(*t);
    const output_cache::Key key = m.key();
    std::optional<std::size_t> found;
    cache_->get(key, [&](std::string_view entry) {
        std::optional<output_cache::Effect> e = output_cache::open(entry, m);
        if (!e || e->fate != output_cache::Effect::Fate::Small) return false;
        found = e->before;
        if (e->estimated) estimated_ = true;
        return true;
    });
    if (found) return *found + media * kMediaTokens + known;
    output_cache::Effect e;
    e.fate = output_cache::Effect::Fate::Small;
    e.before = e.after = count_all(e.estimated);
    if (e.estimated) estimated_ = true;
    cache_->put(key, output_cache::entry(m, e));
    return e.before + media * kMediaTokens + known;
}

// In document order, so that turn N counts the same parts as turn N-1
// first: the parts of arrays (messages, contents, input items, tools) one
// by one, any other member whole.
std::size_t RequestTokens::count(std::size_t enough) {
    if (whole_) return counted_;
    std::size_t n = 0;
    auto done = [&]() { return n > enough; };
    if (doc_.is_object()) {
        for (const json::Member& m : doc_.members) {
            if (done()) break;
            if (!m.value.is_array()) {
                n += count_part(m.value);
                continue;
            }
            for (const json::Value& item : m.value.items) {
                if (done()) break;
                n += count_part(item);
            }
        }
    }
    counted_ = n;
    whole_ = !done();
    return n;
}

}  // namespace headroom
