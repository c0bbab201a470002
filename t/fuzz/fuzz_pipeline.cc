// Fuzz target: the shim's whole pipeline, as nginx calls it. For any body
// to any API's path under several configurations: no crash or leak; the
// same bytes give the same result; a rewritten body is JSON; with prefix
// stabilization off, nothing but tool outputs changed; and every line a
// crushed text output sends is a line of its input, in order, or a marker;
// through a results' cache, first and again, the same bytes as without.
// Input: 2 parameter bytes (the path, the configuration), then the body.
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "core/dialect/dialect.h"
#include "core/json.h"
#include "core/json_path.h"
#include "core/markers.h"
#include "fuzz.h"
#include "shim/headroom.h"
#include "test_lines.h"

namespace {

namespace json = headroom::json;

const char* const kPaths[] = {
    "/v1/chat/completions", "/v1/responses", "/v1/messages",
    "/v1beta/models/gemini-2.5-flash:generateContent", "/v1/embeddings",
};

struct Configs {
    std::vector<headroom_config_t*> all;
    std::vector<bool> stabilizes;
};

Configs* configs = nullptr;

void add(Configs& c, const headroom_settings_t& s) {
    char error[256];
    headroom_config_t* cf = headroom_config_compile(&s, error, sizeof error);
    if (cf == nullptr) {
        std::fprintf(stderr, "fuzz_pipeline: %s\n", error);
        std::abort();
    }
    c.all.push_back(cf);
    c.stabilizes.push_back(s.stabilize_prefix != 0 || s.routes != nullptr || s.fit != 0);
}

// Every line of `out` is a line of `in`, in order, or a marker.
void lines_kept(const std::string& in, const std::string& out, const std::string& where) {
    const auto src = lines_of(in), got = lines_of(out);
    std::size_t at = 0;
    for (const std::string& l : got) {
        if (headroom::markers::parse_text(l)) continue;
        while (at < src.size() && src[at] != l) ++at;
        EXPECT_LT(at, src.size()) << where << ": not an input line, or out of order: " << l.substr(0, 200);
        ++at;
    }
}

// A results' cache in this process, through the C interface.
struct MapCache {
    std::map<std::string, std::string> entries;
    headroom_cache_t c{get, put, this};
    static int get(void* data, const unsigned char* key, headroom_cache_take_pt take, void* sink) {
        auto* m = static_cast<MapCache*>(data);
        auto it = m->entries.find(std::string(reinterpret_cast<const char*>(key), HEADROOM_CACHE_KEY_LEN));
        return it != m->entries.end() &&
               take(sink, reinterpret_cast<const unsigned char*>(it->second.data()), it->second.size());
    }
    static void put(void* data, const unsigned char* key, const unsigned char* entry, size_t len) {
        static_cast<MapCache*>(data)->entries[std::string(reinterpret_cast<const char*>(key), HEADROOM_CACHE_KEY_LEN)] =
            std::string(reinterpret_cast<const char*>(entry), len);
    }
};

std::string body_of(const headroom_result_t& r) { return std::string(reinterpret_cast<const char*>(r.body), r.body_len); }

void null_out(json::Value& root, const json::Path& path) {
    if (json::Value* v = json::resolve(root, path)) *v = json::Value{};
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    configs = new Configs;
    char error[256];
    headroom_tokenizers_t* tk = headroom_tokenizers_load(headroom_default_tokenizer_dir(), nullptr, 0, 1,
                                                         error, sizeof error);
    if (tk == nullptr) {
        std::fprintf(stderr, "fuzz_pipeline: %s\n", error);
        std::abort();
    }
    headroom_settings_t s;
    headroom_settings_init(&s);
    s.tokenizers = tk;
    add(*configs, s);  // the defaults, counting tokens
    s.tokenizers = nullptr;
    s.min_tokens = 0;
    s.json_max_items = 3;
    s.json_keep_first = 1;
    s.json_keep_last = 1;
    s.diff_context = 0;
    add(*configs, s);  // bytes decide; everything crushes
    headroom_settings_init(&s);
    s.tokenizers = tk;
    s.stabilize_prefix = 1;
    s.move_volatile = 1;
    s.canonical_tools = 1;
    s.cache_breakpoints = 1;
    s.prompt_cache_key = 1;
    add(*configs, s);  // and every prefix pass
    headroom_settings_init(&s);
    s.tokenizers = tk;
    headroom_route_t rules[4] = {};
    rules[0].name = "proof";
    rules[0].text = "(?i)prove|(a+)+b";
    rules[0].sticky = 0;
    rules[0].to = "thinker";
    rules[1].name = "short";
    rules[1].tokens_op = HEADROOM_ROUTE_TOKENS_BELOW;
    rules[1].tokens = 500;
    rules[1].tools = HEADROOM_ROUTE_TOOLS_NO;
    rules[1].sticky = 1;
    rules[1].to = "mini";
    rules[2].name = "big";
    rules[2].tokens_op = HEADROOM_ROUTE_TOKENS_ABOVE;
    rules[2].tokens = 5000;
    rules[2].model = "*";
    rules[2].sticky = 1;
    rules[2].to = "long-context";
    rules[3].name = "gem";
    rules[3].api = "gemini";
    rules[3].sticky = 1;
    rules[3].to = "gemini-2.5-pro";
    headroom_routes_t* routes = headroom_routes_compile(rules, 4, 1, error, sizeof error);
    if (routes == nullptr) {
        std::fprintf(stderr, "fuzz_pipeline: %s\n", error);
        std::abort();
    }
    s.routes = routes;
    add(*configs, s);  // routing: the model set, the request counted
    headroom_routes_free(routes);
    headroom_settings_init(&s);
    s.min_tokens = 0;
    s.ccr = 1;
    s.retire = 1;
    s.retire_after = 1;
    s.retire_min_tokens = 20;
    s.retire_batch = 60;
    s.fit = 1;
    const char* prefixes[] = {"g", "c", "o", "m"};
    const size_t windows[] = {600, 900, 300, 2000};
    s.context_limit_prefixes = prefixes;
    s.context_limit_tokens = windows;
    s.ncontext_limits = 4;
    s.output_reserve = 50;
    s.keep_turns = 1;
    add(*configs, s);  // bytes decide: old outputs retired, small windows fitted
    // The configurations keep what they need of the tokenizers.
    headroom_tokenizers_free(tk);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const headroom_fuzz::Params p(data, size, 2);
    const char* path = kPaths[p.byte(0) % 5];
    const std::size_t which = p.byte(1) % configs->all.size();
    const headroom_config_t* config = configs->all[which];
    const auto* body = reinterpret_cast<const unsigned char*>(p.rest());
    const std::size_t body_len = p.rest_size(size);

    headroom_result_t r, again;
    headroom_process(config, HEADROOM_WANT_PREFIX_HASH, path, std::strlen(path), body, body_len, &r);
    headroom_process(config, HEADROOM_WANT_PREFIX_HASH, path, std::strlen(path), body, body_len, &again);
    EXPECT_EQ(r.outcome, again.outcome);
    EXPECT_EQ(r.reason, again.reason);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(r.body), r.body_len),
              std::string(reinterpret_cast<const char*>(again.body), again.body_len))
        << "the same bytes gave other bytes";
    EXPECT_STREQ(r.prefix_hash, again.prefix_hash);
    EXPECT_STREQ(r.route, again.route);
    headroom_result_free(&again);

    // Through a cache: worked out and kept, then taken from it.
    MapCache cache;
    const headroom_env_t env{nullptr, &cache.c, 0, nullptr, nullptr, 0};
    for (int round = 0; round < 2; ++round) {
        headroom_result_t c;
        headroom_process_in(config, HEADROOM_WANT_PREFIX_HASH, path, std::strlen(path), body, body_len, &env, &c);
        EXPECT_EQ(r.outcome, c.outcome);
        EXPECT_EQ(body_of(r), body_of(c)) << "the cache changed the bytes (round " << round << ")";
        EXPECT_EQ(r.tokens_before, c.tokens_before);
        EXPECT_EQ(r.tokens_after, c.tokens_after);
        EXPECT_EQ(r.omitted, c.omitted);
        EXPECT_STREQ(r.route, c.route) << "the cache changed the route (round " << round << ")";
        EXPECT_EQ(r.request_tokens, c.request_tokens);
        if (round == 1) {
            EXPECT_EQ(c.cache_misses, 0u);
        }
        headroom_result_free(&c);
    }

    if (r.outcome == HEADROOM_REWRITTEN) {
        const std::string in_text(p.rest(), body_len);
        const std::string out_text(reinterpret_cast<const char*>(r.body), r.body_len);
        auto in = json::parse(in_text, 512), out = json::parse(out_text, 512);
        EXPECT_TRUE(in.ok()) << "rewrote a body that is not JSON";
        EXPECT_TRUE(out.ok()) << "the rewritten body is not JSON";
        const headroom::Dialect* d = headroom::dialect_for_path(path);
        EXPECT_TRUE(d != nullptr) << "rewrote a path no API speaks";
        if (in.ok() && out.ok() && d != nullptr && !configs->stabilizes[which]) {
            // Tool outputs only: with them taken out, the bodies are equal.
            const headroom::RequestMap map = d->tool_outputs(in.value);
            for (const auto& site : map.outputs) {
                if (site.structured) {
                    null_out(in.value, site.value);
                    null_out(out.value, site.value);
                    continue;
                }
                for (const json::Path& part : site.parts) {
                    const json::Value* a = json::resolve(in.value, part);
                    const json::Value* b = json::resolve(out.value, part);
                    EXPECT_TRUE(a && b && a->is_string() && b->is_string()) << "a tool output moved";
                    if (a && b && a->is_string() && b->is_string() && a->text != b->text &&
                        !json::parse(a->text, 512).ok()) {
                        lines_kept(a->text, b->text, "tool output");
                    }
                    null_out(in.value, part);
                    null_out(out.value, part);
                }
            }
            EXPECT_EQ(json::serialize(in.value), json::serialize(out.value))
                << "something besides tool outputs changed";
        }
    }
    headroom_result_free(&r);
    headroom_fuzz::fail_on_broken_promise();
    return 0;
}
