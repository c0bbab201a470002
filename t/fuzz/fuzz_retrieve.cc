// Fuzz target: the ways back. Input: 2 parameter bytes (what to drive, and
// a path or a split), then bytes.
//   0: the MCP server answers any POST body: no crash or leak; a status
//      of 200, 202 or 400; an answer that is JSON (none for 202).
//   1: the pipeline with originals kept (headroom_ccr, the tool on) and a
//      store that has any id, for any body to any API's path: the same
//      bytes twice; a rewritten body is JSON; the tool is never added to
//      a body that has it already (the body sent, run again).
//   2: a selection from an original (the bytes after the first NUL) by
//      lines or grep (the bytes before it): every line given back is a
//      line of the original, in order; grep's each hold the text.
#include <cstring>
#include <string>

#include "core/json.h"
#include "core/mcp.h"
#include "core/retrieval.h"
#include "fuzz.h"
#include "shim/headroom.h"
#include "test_lines.h"

namespace {

namespace json = headroom::json;

const char* const kPaths[] = {
    "/v1/chat/completions", "/v1/responses", "/v1/messages",
    "/v1beta/models/gemini-2.5-flash:generateContent",
};

headroom_config_t* config = nullptr;

const char kOriginal[] = "first line\n{\"a\":[1,2,3,4,5,6,7,8,9]}\nERROR: the third line\nlast line\n";

headroom_store_e any_id(void*, const char*, const unsigned char** text, size_t* len) {
    *text = reinterpret_cast<const unsigned char*>(kOriginal);
    *len = sizeof kOriginal - 1;
    return HEADROOM_STORE_FOUND;
}

void mcp(const std::string& body) {
    const headroom::retrieval::Lookup lookup = [](std::string_view) {
        headroom::retrieval::Stored s;
        s.state = headroom::retrieval::Stored::State::Found;
        s.text = kOriginal;
        return s;
    };
    headroom::mcp::Answer a = headroom::mcp::respond(body, lookup, 1 << 20);
    EXPECT_TRUE(a.status == 200 || a.status == 202 || a.status == 400) << a.status;
    if (a.status == 202) {
        EXPECT_TRUE(a.body.empty());
    } else {
        EXPECT_TRUE(json::parse(a.body, 512).ok()) << "the answer is not JSON: " << a.body.substr(0, 200);
    }
}

void pipeline(const char* path, const unsigned char* body, std::size_t len) {
    headroom_store_t store{any_id, nullptr};
    headroom_result_t r, again;
    headroom_process_with_store(config, 0, path, std::strlen(path), body, len, &store, &r);
    headroom_process_with_store(config, 0, path, std::strlen(path), body, len, &store, &again);
    const std::string out(reinterpret_cast<const char*>(r.body), r.body_len);
    EXPECT_EQ(out, std::string(reinterpret_cast<const char*>(again.body), again.body_len));
    headroom_result_free(&again);
    if (r.outcome == HEADROOM_REWRITTEN) {
        EXPECT_TRUE(json::parse(out, 512).ok()) << "the rewritten body is not JSON";
        if (r.retrieve_tool_added) {
            headroom_result_t second;
            headroom_process_with_store(config, 0, path, std::strlen(path), r.body, r.body_len, &store, &second);
            EXPECT_EQ(second.retrieve_tool_added, 0) << "the tool was added twice";
            headroom_result_free(&second);
        }
    }
    headroom_result_free(&r);
}

void selection(const std::string& rest) {
    const std::size_t nul = rest.find('\0');
    if (nul == std::string::npos) return;
    const std::string ask = rest.substr(0, nul), original = rest.substr(nul + 1);
    headroom::retrieval::Request req;
    req.id = std::string(32, 'a');
    const std::size_t bar = ask.find('|');
    req.lines = ask.substr(0, bar);
    if (bar != std::string::npos) req.grep = ask.substr(bar + 1);
    std::string error;
    auto s = headroom::retrieval::select(original, req, error);
    if (!s) {
        EXPECT_FALSE(error.empty());
        return;
    }
    const auto src = lines_of(original);
    std::size_t at = 0;
    for (std::string line : lines_of(s->text)) {
        if (!req.grep.empty()) {
            const std::size_t colon = line.find(": ");
            ASSERT_NE(colon, std::string::npos);
            line = line.substr(colon + 2);
            EXPECT_NE(line.find(req.grep), std::string::npos);
        }
        if (req.lines.empty() && req.grep.empty()) break;  // the original itself
        while (at < src.size() && src[at] != line) ++at;
        EXPECT_LT(at, src.size()) << "not a line of the original: " << line.substr(0, 200);
        if (req.grep.empty()) continue;  // ranges may repeat lines
        ++at;
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    headroom_settings_t s;
    headroom_settings_init(&s);
    s.min_tokens = 0;
    s.json_max_items = 3;
    s.ccr = 1;
    s.ccr_tool = 1;
    char error[256];
    config = headroom_config_compile(&s, error, sizeof error);
    if (config == nullptr) {
        std::fprintf(stderr, "fuzz_retrieve: %s\n", error);
        std::abort();
    }
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const headroom_fuzz::Params p(data, size, 2);
    const std::string rest(p.rest(), p.rest_size(size));
    switch (p.byte(0) % 3) {
    case 0: mcp(rest); break;
    case 1:
        pipeline(kPaths[p.byte(1) % 4], reinterpret_cast<const unsigned char*>(rest.data()), rest.size());
        break;
    default: selection(rest); break;
    }
    headroom_fuzz::fail_on_broken_promise();
    return 0;
}
