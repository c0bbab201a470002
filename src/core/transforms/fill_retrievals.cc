#include "core/transforms/fill_retrievals.h"

#include <algorithm>

namespace headroom::transforms {

namespace {

// The output's text as the model would read it: a string's parts joined,
// or a structured output's "content".
std::string current_text(const json::Value& doc, const ToolOutputSite& site) {
    std::string text;
    if (site.structured) {
        const json::Value* v = json::resolve(doc, site.value);
        const json::Value* content = v ? v->find("content") : nullptr;
        if (content != nullptr && content->is_string()) text = content->text;
        return text;
    }
    for (const json::Path& p : site.parts) {
        const json::Value* v = json::resolve(doc, p);
        if (v != nullptr && v->is_string()) text += v->text;
    }
    return text;
}

std::optional<retrieval::Request> request_of(const json::Value& doc, const ToolOutputSite& site,
                                             std::string& error) {
    const json::Value* args = site.call_args ? json::resolve(doc, *site.call_args) : nullptr;
    if (args == nullptr) {
        error = "the call it answers is not in the request";
        return std::nullopt;
    }
    // OpenAI's arguments are JSON text.
    return args->is_string() ? retrieval::request_of_text(args->text, error) : retrieval::request_of(*args, error);
}

}  // namespace

FillCounts fill_retrievals(const Dialect& dialect, json::Value& doc, const RequestMap& map,
                           const retrieval::Lookup& lookup, std::size_t max_bytes) {
    FillCounts counts;
    std::size_t given = 0;
    for (const ToolOutputSite& site : map.outputs) {
        if (site.tool_name != retrieval::kToolName || !site.content) continue;
        std::string error, text;
        auto req = request_of(doc, site, error);
        if (req && retrieval::is_filled(current_text(doc, site), req->id)) continue;
        if (!req) {
            text = "[headroom: cannot retrieve: " + error + "]";
            ++counts.refused;
        } else {
            const retrieval::Stored stored = lookup(req->id);
            text = retrieval::answer(*req, stored);
            if (text.size() > max_bytes - std::min(given, max_bytes)) {
                text = retrieval::too_much(*req, max_bytes);
                ++counts.refused;
            } else {
                given += text.size();
                switch (stored.state) {
                case retrieval::Stored::State::Found: ++counts.filled; break;
                case retrieval::Stored::State::Missing: ++counts.missing; break;
                case retrieval::Stored::State::Unavailable: ++counts.unavailable; break;
                }
            }
        }
        json::Value* content = json::resolve(doc, *site.content);
        if (content == nullptr) continue;
        *content = dialect.output_value(std::move(text));
        if (site.error_flag) {
            if (json::Value* flag = json::resolve(doc, *site.error_flag)) *flag = json::bool_value(false);
        }
    }
    return counts;
}

}  // namespace headroom::transforms
