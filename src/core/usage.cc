#include "core/usage.h"

#include "core/tokenizer/encoding.h"

#include <yajl/yajl_parse.h>

#include <cstring>
#include <vector>

namespace headroom {

namespace {

enum Api { kOpenAiChat, kOpenAiResponses, kAnthropic, kGemini };

int api_of(std::string_view name) {
    if (name == "openai_chat") return kOpenAiChat;
    if (name == "openai_responses") return kOpenAiResponses;
    if (name == "anthropic_messages") return kAnthropic;
    if (name == "gemini") return kGemini;
    return -1;
}

// Which raw figures were found.
enum : std::uint32_t {
    kPromptTokens = 1, kCompletionTokens = 2, kCachedTokens = 4, kInputTokens = 8, kOutputTokens = 16,
    kCacheRead = 32, kCacheCreation = 64, kPromptCount = 128, kCachedCount = 256, kCandidatesCount = 512,
    kThoughtsCount = 1024,
};

// What each API must have said for its figures to be its word.
constexpr std::uint32_t kNeeded[] = {
    kPromptTokens | kCompletionTokens,  // openai_chat
    kInputTokens | kOutputTokens,       // openai_responses
    kInputTokens | kOutputTokens,       // anthropic_messages
    kPromptCount,                       // gemini: no candidates in an empty answer
};

// A line of an event stream past this is not one headroom reads (usage
// events are small); the stream still goes on untouched.
constexpr std::size_t kMaxLine = 4 << 20;

bool parse_count(const char* s, std::size_t n, std::uint64_t& out) {
    if (n == 0 || n > 19) return false;
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + static_cast<std::uint64_t>(s[i] - '0');
    }
    out = v;
    return true;
}

}  // namespace

// One JSON document, parsed as it comes, remembering only the names of the
// containers it is in and the numbers found where usage is put.
class UsageReader::Json {
public:
    explicit Json(UsageReader::Raw& raw) : raw_(raw) {
        handle_ = yajl_alloc(&kCallbacks, nullptr, this);
        if (handle_ != nullptr) yajl_config(handle_, yajl_allow_multiple_values, 0);
    }
    ~Json() {
        if (handle_ != nullptr) yajl_free(handle_);
    }
    Json(const Json&) = delete;
    Json& operator=(const Json&) = delete;

    bool feed(std::string_view bytes) {
        if (handle_ == nullptr || failed_) return false;
        failed_ = yajl_parse(handle_, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()) !=
                  yajl_status_ok;
        return !failed_;
    }
    bool finish() {
        if (handle_ == nullptr || failed_) return false;
        failed_ = yajl_complete_parse(handle_) != yajl_status_ok;
        return !failed_;
    }

private:
    static Json& of(void* ctx) { return *static_cast<Json*>(ctx); }

    int open(bool array) {
        try {
            names_.push_back(arrays_.empty() ? std::string() : arrays_.back() ? std::string("[]") : key_);
            arrays_.push_back(array);
            key_.clear();
        } catch (...) {
            return 0;
        }
        return 1;
    }
    int close() {
        names_.pop_back();
        arrays_.pop_back();
        return 1;
    }
    int key(const unsigned char* s, std::size_t n) {
        try {
            key_.assign(reinterpret_cast<const char*>(s), n < 64 ? n : 64);
        } catch (...) {
            return 0;
        }
        return 1;
    }
    void number(const char* s, std::size_t n);

    // The path of the value being read: the names of the containers below
    // the root (a top-level array's elements count as roots: Gemini's
    // stream without alt=sse is an array of answers).
    bool at(std::initializer_list<std::string_view> path) const {
        std::size_t from = 1;
        if (!arrays_.empty() && arrays_[0]) ++from;
        if (names_.size() != from + path.size()) return false;
        std::size_t i = from;
        for (std::string_view p : path) {
            if (names_[i++] != p) return false;
        }
        return true;
    }

    static int on_null(void*) { return 1; }
    static int on_boolean(void*, int) { return 1; }
    static int on_number(void* ctx, const char* s, std::size_t n) {
        of(ctx).number(s, n);
        return 1;
    }
    static int on_string(void* ctx, const unsigned char* s, std::size_t n) {
        of(ctx).text(s, n);
        return 1;
    }
    // What an OpenAI chat stream's chunk adds to the answer; the model the
    // answer names, where each API puts it.
    void text(const unsigned char* s, std::size_t n) {
        // A name, in an object (not an array after one), without a NUL.
        const bool name = n > 0 && n <= UsageReader::kMaxModel && !arrays_.empty() && !arrays_.back() &&
                          std::memchr(s, '\0', n) == nullptr;
        if (name && raw_.model.empty() &&
            (((key_ == "model" || key_ == "modelVersion") && at({})) ||
             (key_ == "model" && (at({"message"}) || at({"response"}))))) {
            try {
                raw_.model.assign(reinterpret_cast<const char*>(s), n);
            } catch (...) {
            }
        }
        if (name && raw_.ids && raw_.response_id.empty() && key_ == "id" && (at({}) || at({"response"}))) {
            try {
                raw_.response_id.assign(reinterpret_cast<const char*>(s), n);
            } catch (...) {
            }
        }
        if (!raw_.collect || raw_.text.size() + n > UsageReader::kMaxText) return;
        const bool said = at({"choices", "[]", "delta"}) && (key_ == "content" || key_ == "refusal");
        const bool called = at({"choices", "[]", "delta", "tool_calls", "[]", "function"}) &&
                            (key_ == "arguments" || key_ == "name");
        if (!said && !called) return;
        try {
            raw_.text.append(reinterpret_cast<const char*>(s), n);
        } catch (...) {
        }
    }
    static int on_start_map(void* ctx) { return of(ctx).open(false); }
    static int on_map_key(void* ctx, const unsigned char* s, std::size_t n) { return of(ctx).key(s, n); }
    static int on_end(void* ctx) { return of(ctx).close(); }
    static int on_start_array(void* ctx) { return of(ctx).open(true); }

    static constexpr yajl_callbacks kCallbacks = {
        on_null, on_boolean, nullptr, nullptr, on_number, on_string,
        on_start_map, on_map_key, on_end, on_start_array, on_end,
    };

    UsageReader::Raw& raw_;
    yajl_handle handle_ = nullptr;
    bool failed_ = false;
    std::vector<std::string> names_;  // of each open container, the root's ""
    std::vector<bool> arrays_;
    std::string key_;                 // the innermost object's current key
};

void UsageReader::Json::number(const char* s, std::size_t n) {
    if (arrays_.empty() || arrays_.back()) return;
    std::uint64_t v = 0;
    if (!parse_count(s, n, v)) return;
    std::uint64_t* field = nullptr;
    std::uint32_t bit = 0;
    auto take = [&](std::uint64_t& f, std::uint32_t b) {
        field = &f;
        bit = b;
    };
    const bool usage = at({"usage"}) || at({"message", "usage"}) || at({"response", "usage"});
    if (usage) {
        if (key_ == "prompt_tokens") take(raw_.prompt_tokens, kPromptTokens);
        else if (key_ == "completion_tokens") take(raw_.completion_tokens, kCompletionTokens);
        else if (key_ == "input_tokens") take(raw_.input_tokens, kInputTokens);
        else if (key_ == "output_tokens") take(raw_.output_tokens, kOutputTokens);
        else if (key_ == "cache_read_input_tokens") take(raw_.cache_read, kCacheRead);
        else if (key_ == "cache_creation_input_tokens") take(raw_.cache_creation, kCacheCreation);
    } else if (key_ == "cached_tokens" &&
               (at({"usage", "prompt_tokens_details"}) || at({"usage", "input_tokens_details"}) ||
                at({"response", "usage", "input_tokens_details"}))) {
        take(raw_.cached_tokens, kCachedTokens);
    } else if (at({"usageMetadata"})) {
        if (key_ == "promptTokenCount") take(raw_.prompt_count, kPromptCount);
        else if (key_ == "cachedContentTokenCount") take(raw_.cached_count, kCachedCount);
        else if (key_ == "candidatesTokenCount") take(raw_.candidates_count, kCandidatesCount);
        else if (key_ == "thoughtsTokenCount") take(raw_.thoughts_count, kThoughtsCount);
    }
    if (field != nullptr) {
        *field = v;
        raw_.seen |= bit;
    }
}

constexpr yajl_callbacks UsageReader::Json::kCallbacks;

UsageReader::UsageReader(std::string_view api, Form form, Encoding encoding) : api_(api_of(api)), form_(form) {
    if (api_ < 0) {
        broken_ = true;
        return;
    }
    raw_.ids = api_ == kOpenAiResponses;
    if (encoding != Encoding::Identity) {
        try {
            decoder_ = std::make_unique<Decoder>(encoding, DecodeLimits{kMaxDecoded, 1000, 0});
        } catch (...) {
            broken_ = true;
            return;
        }
    }
    if (form_ == Form::Json) {
        try {
            json_ = std::make_unique<Json>(raw_);
        } catch (...) {
            broken_ = true;
        }
    }
}

UsageReader::~UsageReader() = default;

void UsageReader::event(std::string_view data) noexcept {
    if (data == "[DONE]") return;
    try {
        Json json(raw_);
        if (json.feed(data)) json.finish();
    } catch (...) {
    }
}

void UsageReader::feed(std::string_view bytes) noexcept {
    if (broken_) return;
    if (decoder_ == nullptr) {
        read(bytes);
        return;
    }
    const Decoder::Status status = decoder_->feed(bytes, false);
    read(decoder_->decoded().substr(decoded_read_));
    decoded_read_ = decoder_->decoded().size();
    if (status != Decoder::Status::More && status != Decoder::Status::Done) broken_ = true;
}

void UsageReader::read(std::string_view bytes) noexcept {
    if (broken_) return;
    if (form_ == Form::Json) {
        if (!json_->feed(bytes)) broken_ = true;
        return;
    }
    // Lines end with "\n", "\r\n" or "\r"; an empty line ends an event.
    try {
        for (char c : bytes) {
            if (c != '\n' && c != '\r') {
                if (line_.size() < kMaxLine) line_.push_back(c);
                after_cr_ = false;
                continue;
            }
            if (c == '\n' && after_cr_) {  // the "\n" of "\r\n"
                after_cr_ = false;
                continue;
            }
            after_cr_ = c == '\r';
            if (line_.empty()) {
                if (!data_.empty()) event(data_);
                data_.clear();
            } else if (line_.size() < kMaxLine && line_.compare(0, 5, "data:") == 0) {
                std::string_view value = std::string_view(line_).substr(5);
                if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
                if (!data_.empty()) data_.push_back('\n');
                if (data_.size() + value.size() < kMaxLine) data_.append(value);
            }
            line_.clear();
        }
    } catch (...) {
        broken_ = true;
    }
}

void UsageReader::estimate_without_usage(const tokenizer::Encoding* encoding, std::uint64_t input) noexcept {
    if (api_ != kOpenAiChat || form_ != Form::EventStream || encoding == nullptr) return;
    estimate_with_ = encoding;
    estimated_input_ = input;
    raw_.collect = true;
}

void UsageReader::finish() noexcept {
    if (!broken_ && decoder_ != nullptr) {
        const Decoder::Status status = decoder_->feed({}, true);
        read(decoder_->decoded().substr(decoded_read_));
        decoded_read_ = decoder_->decoded().size();
        if (status != Decoder::Status::Done) broken_ = true;
    }
    end();
    // Counted once, when the answer is whole (or cut short: what came).
    if (estimate_with_ != nullptr && (raw_.seen & kNeeded[api_]) == 0) {
        try {
            estimated_output_ = estimate_with_->count(raw_.text);
            estimate_ = true;
        } catch (...) {
        }
    }
}

void UsageReader::end() noexcept {
    if (broken_) return;
    if (form_ == Form::Json) {
        if (!json_->finish()) broken_ = true;
        return;
    }
    // A stream that ends without the blank line still ends its event.
    if (!line_.empty()) read("\n");
    if (!data_.empty()) event(data_);
    data_.clear();
}

Usage UsageReader::usage() const {
    Usage u;
    const Raw& r = raw_;
    u.model = r.model;
    u.response_id = r.response_id;
    if (estimate_) {
        u.input = estimated_input_;
        u.output = estimated_output_;
        u.found = true;
        u.estimated = true;
        return u;
    }
    // Figures of another API's shape are not this one's word.
    if (api_ < 0 || (r.seen & kNeeded[api_]) == 0) return u;
    switch (api_) {
    case kOpenAiChat:
        u.input = r.prompt_tokens;
        u.cached = r.cached_tokens;
        u.output = r.completion_tokens;
        break;
    case kOpenAiResponses:
        u.input = r.input_tokens;
        u.cached = r.cached_tokens;
        u.output = r.output_tokens;
        break;
    case kAnthropic:
        u.input = r.input_tokens + r.cache_read + r.cache_creation;
        u.cached = r.cache_read;
        u.cache_write = r.cache_creation;
        u.output = r.output_tokens;
        break;
    case kGemini:
        u.input = r.prompt_count;
        u.cached = r.cached_count;
        u.output = r.candidates_count + r.thoughts_count;
        break;
    }
    u.found = true;
    return u;
}

}  // namespace headroom
