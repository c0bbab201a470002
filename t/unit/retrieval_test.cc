// Reversible compression in the core: markers that name the way back, the
// headroom_retrieve tool in each API's form, the next-turn fill, the parts
// a retrieval selects, and the MCP server's answers.
#include "core/retrieval.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "core/json.h"
#include "core/markers.h"
#include "core/mcp.h"
#include "test_options.h"

namespace json = headroom::json;
namespace retrieval = headroom::retrieval;
using headroom::Outcome;

namespace {

headroom::Settings ccr_settings(bool tool = true) {
    headroom::Settings s = any_size();
    s.ccr = true;
    s.ccr_tool = tool;
    return s;
}

// A log that the log crusher folds: 120 lines of one template.
std::string log_text() {
    std::string s;
    for (int i = 0; i < 120; ++i) {
        s += "2024-03-01 12:00:" + std::to_string(10 + i % 50) + " INFO worker " + std::to_string(i % 7) +
             " processed job " + std::to_string(1000 + i) + " in " + std::to_string(3 + i % 11) + " ms\n";
    }
    s += "2024-03-01 12:01:00 ERROR worker 3 failed job 2000: disk full\n";
    return s;
}

std::string quoted(const std::string& s) { return json::serialize(json::string_value(s)); }

// A store of originals, by id.
struct Store {
    std::map<std::string, std::string> originals;
    bool down = false;
    retrieval::Lookup lookup() const {
        return [this](std::string_view id) {
            retrieval::Stored s;
            if (down) {
                s.state = retrieval::Stored::State::Unavailable;
            } else if (auto it = originals.find(std::string(id)); it != originals.end()) {
                s.state = retrieval::Stored::State::Found;
                s.text = it->second;
            }
            return s;
        };
    }
};

headroom::Result run(const std::string& path, const std::string& body, const headroom::Settings& s,
                     const retrieval::Lookup* lookup = nullptr) {
    headroom::Wants wants;
    wants.lookup = lookup;
    return process(path, body, s, wants);
}

const json::Value& at(const json::Value& v, std::initializer_list<const char*> keys) {
    const json::Value* cur = &v;
    for (const char* k : keys) {
        cur = cur->find(k);
        if (cur == nullptr) throw std::runtime_error(std::string("no ") + k);
    }
    return *cur;
}

}  // namespace

TEST(Retrieval, MarkersNameTheWayBackAndTheOriginalIsGiven) {
    const std::string out = log_text();
    const std::string body = R"({"model":"gpt-4o","messages":[{"role":"user","content":"go"},)"
                             R"({"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"sh","arguments":"{}"}}]},)"
                             R"({"role":"tool","tool_call_id":"c1","content":)" + quoted(out) + "}]}";
    for (bool tool : {true, false}) {
        auto r = run("/v1/chat/completions", body, ccr_settings(tool));
        ASSERT_EQ(r.outcome, Outcome::Rewritten);
        ASSERT_EQ(r.originals.size(), 1u);
        EXPECT_EQ(r.originals[0].text, out);
        EXPECT_EQ(r.originals[0].id, headroom::markers::output_id(out));
        json::ParseResult p = json::parse(r.body, 64);
        const std::string& sent = p.value.find("messages")->items[2].find("content")->text;
        const std::string way = tool ? "headroom_retrieve" : "MCP headroom_retrieve or ccr endpoint";
        const std::string suffix = "; " + way + " id=" + r.originals[0].id + "]";
        ASSERT_NE(sent.find(suffix), std::string::npos) << sent;
        bool parsed = false;
        for (std::size_t at = 0, nl; at < sent.size(); at = nl + 1) {
            nl = sent.find('\n', at);
            if (nl == std::string::npos) nl = sent.size();
            if (auto m = headroom::markers::parse_text(sent.substr(at, nl - at))) {
                EXPECT_EQ(m->way, way);
                EXPECT_EQ(m->id, r.originals[0].id);
                EXPECT_EQ(headroom::markers::write_text(*m), sent.substr(at, nl - at));
                parsed = true;
            }
        }
        EXPECT_TRUE(parsed);
    }
    // Off: the marker as before, with no way named.
    auto r = run("/v1/chat/completions", body, any_size());
    EXPECT_EQ(r.body.find("headroom_retrieve"), std::string::npos);
}

TEST(Retrieval, JsonMarkerNamesTheWay) {
    headroom::markers::JsonMarker m;
    m.count = 3;
    m.items = {2, 4};
    m.lines = {3, 5};
    m.id = std::string(32, 'a');
    m.way = "headroom_retrieve";
    json::Value v = headroom::markers::write_json(m);
    EXPECT_EQ(json::serialize(v),
              R"({"headroom_omitted":{"count":3,"items":"2-4","lines":"3-5","id":")" + m.id +
                  R"(","via":"headroom_retrieve"}})");
    auto back = headroom::markers::parse_json(v);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->way, "headroom_retrieve");
}

struct ApiCase {
    const char* name;
    std::string path;
    std::string body;         // with tools, one retrieval call and its error result
    std::string no_tools;     // the same API without tools
};

std::vector<ApiCase> api_cases(const std::string& args_json) {
    const std::string args_text = quoted(args_json);
    return {
        {"openai_chat", "/v1/chat/completions",
         R"({"model":"gpt-4o","tools":[{"type":"function","function":{"name":"sh","parameters":{"type":"object"}}}],)"
         R"("messages":[{"role":"user","content":"go"},)"
         R"({"role":"assistant","tool_calls":[{"id":"r1","type":"function","function":{"name":"headroom_retrieve","arguments":)" +
             args_text + R"(}}]},)"
             R"({"role":"tool","tool_call_id":"r1","content":"Error: no such tool"}]})",
         R"({"model":"gpt-4o","messages":[{"role":"user","content":"go"}]})"},
        {"openai_responses", "/v1/responses",
         R"({"model":"gpt-5","tools":[{"type":"function","name":"sh","parameters":{"type":"object"}}],)"
         R"("input":[{"role":"user","content":"go"},)"
         R"({"type":"function_call","call_id":"r1","name":"headroom_retrieve","arguments":)" +
             args_text + R"(},)"
             R"({"type":"function_call_output","call_id":"r1","output":"unknown tool"}]})",
         R"({"model":"gpt-5","input":"go"})"},
        {"anthropic_messages", "/v1/messages",
         R"({"model":"claude-sonnet-4-5","max_tokens":10,"tools":[{"name":"sh","input_schema":{"type":"object"}}],)"
         R"("messages":[{"role":"user","content":"go"},)"
         R"({"role":"assistant","content":[{"type":"tool_use","id":"r1","name":"headroom_retrieve","input":)" +
             args_json + R"(}]},)"
             R"({"role":"user","content":[{"type":"tool_result","tool_use_id":"r1","is_error":true,)"
             R"("content":"<tool_use_error>Error: No such tool available: headroom_retrieve</tool_use_error>","cache_control":{"type":"ephemeral"}}]}]})",
         R"({"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"go"}]})"},
        {"gemini", "/v1beta/models/gemini-2.5-flash:generateContent",
         R"({"tools":[{"functionDeclarations":[{"name":"sh"}]}],)"
         R"("contents":[{"role":"user","parts":[{"text":"go"}]},)"
         R"({"role":"model","parts":[{"functionCall":{"name":"headroom_retrieve","args":)" +
             args_json + R"(}}]},)"
             R"({"role":"user","parts":[{"functionResponse":{"name":"headroom_retrieve","response":{"error":"unknown function"}}}]}]})",
         R"({"contents":[{"role":"user","parts":[{"text":"go"}]}]})"},
    };
}

// The text the model reads in the filled result.
std::string filled_text(const std::string& api, const json::Value& doc) {
    if (api == "openai_chat") return doc.find("messages")->items[2].find("content")->text;
    if (api == "openai_responses") return doc.find("input")->items[2].find("output")->text;
    if (api == "anthropic_messages") {
        const json::Value& block = doc.find("messages")->items[2].find("content")->items[0];
        EXPECT_EQ(block.find("is_error")->kind, json::Kind::False);
        EXPECT_TRUE(block.find("cache_control"));  // the rest of the block stays
        return block.find("content")->text;
    }
    return at(doc.find("contents")->items[2].find("parts")->items[0], {"functionResponse", "response", "content"}).text;
}

TEST(Retrieval, ToolAddedLastOnceInEachApi) {
    const std::string id(32, 'b');
    for (const ApiCase& c : api_cases(R"({"id":")" + id + R"("})")) {
        auto r = run(c.path, c.body, ccr_settings());
        ASSERT_EQ(r.outcome, Outcome::Rewritten) << c.name;
        EXPECT_TRUE(r.retrieve_tool_added) << c.name;
        json::ParseResult p = json::parse(r.body, 64);
        const json::Value& tools = *p.value.find("tools");
        ASSERT_EQ(tools.items.size(), 2u) << c.name;
        const json::Value& last = tools.items[1];
        std::string name;
        if (std::string(c.name) == "openai_chat") {
            name = at(last, {"function", "name"}).text;
        } else if (std::string(c.name) == "gemini") {
            name = last.find("functionDeclarations")->items[0].find("name")->text;
        } else {
            name = last.find("name")->text;
        }
        EXPECT_EQ(name, "headroom_retrieve") << c.name;
        if (std::string(c.name) == "openai_responses") {
            EXPECT_EQ(last.find("strict")->kind, json::Kind::False);
        }
        if (std::string(c.name) == "gemini") {
            EXPECT_EQ(at(last.find("functionDeclarations")->items[0], {"parameters", "type"}).text, "OBJECT");
        }
        // A second gateway does not add it twice; the same bytes come out.
        auto again = run(c.path, r.body, ccr_settings());
        EXPECT_FALSE(again.retrieve_tool_added) << c.name;
        // A request without tools gets none.
        auto bare = run(c.path, c.no_tools, ccr_settings());
        EXPECT_FALSE(bare.retrieve_tool_added) << c.name;
        EXPECT_EQ(bare.outcome, Outcome::Passthrough) << c.name;
        // Off unless ccr_tool.
        EXPECT_FALSE(run(c.path, c.body, ccr_settings(false)).retrieve_tool_added) << c.name;
    }
}

TEST(Retrieval, ToolDefinitionIsTheSameBytesWhateverTheTools) {
    const std::string id(32, 'b');
    auto cases = api_cases(R"({"id":")" + id + R"("})");
    const ApiCase& c = cases[2];
    std::string other = c.body;
    other.replace(other.find(R"({"name":"sh")"), 0, R"({"name":"zz","input_schema":{}},)");
    auto a = run(c.path, c.body, ccr_settings());
    auto b = run(c.path, other, ccr_settings());
    json::ParseResult pa = json::parse(a.body, 64), pb = json::parse(b.body, 64);
    EXPECT_EQ(json::serialize(pa.value.find("tools")->items.back()), json::serialize(pb.value.find("tools")->items.back()));
}

TEST(Retrieval, FillInEachApiWithLinesAndGrep) {
    const std::string original = log_text();
    const std::string id = headroom::markers::output_id(original);
    Store store;
    store.originals[id] = original;
    const retrieval::Lookup lookup = store.lookup();
    struct Ask {
        std::string args;
        std::string want;
    };
    const std::vector<Ask> asks = {
        {R"({"id":")" + id + R"("})", "[headroom: original " + id + ", all 121 lines]\n" + original},
        {R"({"id":")" + id + R"(","lines":"2-3"})",
         "[headroom: original " + id + ", lines 2-3 of 121]\n" + original.substr(original.find('\n') + 1,
             original.find('\n', original.find('\n', original.find('\n') + 1) + 1) - original.find('\n') - 1)},
        {R"({"id":")" + id + R"(","grep":"disk full"})",
         "[headroom: original " + id + R"(, 1 line containing "disk full" (of 121), each after its line number])" +
             "\n121: 2024-03-01 12:01:00 ERROR worker 3 failed job 2000: disk full"},
    };
    for (const Ask& ask : asks) {
        for (const ApiCase& c : api_cases(ask.args)) {
            auto r = run(c.path, c.body, ccr_settings(), &lookup);
            ASSERT_EQ(r.outcome, Outcome::Rewritten) << c.name;
            EXPECT_EQ(r.fills_found, 1u) << c.name;
            json::ParseResult p = json::parse(r.body, 64);
            ASSERT_TRUE(p.ok());
            EXPECT_EQ(filled_text(c.name, p.value), ask.want) << c.name << " " << ask.args;
            // Every later turn resends the error; the fill is the same.
            EXPECT_EQ(run(c.path, c.body, ccr_settings(), &lookup).body, r.body) << c.name;
            // Filled already (a gateway before): left as it is, and never
            // crushed again, though it is a large log.
            auto again = run(c.path, r.body, ccr_settings(), &lookup);
            EXPECT_EQ(again.fills_found, 0u) << c.name;
            EXPECT_EQ(again.crushed, 0u) << c.name;
            if (again.outcome == Outcome::Rewritten) {
                EXPECT_EQ(filled_text(c.name, json::parse(again.body, 64).value), ask.want) << c.name;
            }
        }
    }
}

TEST(Retrieval, MissingUnavailableAndBadArgumentsSaySo) {
    const std::string id(32, 'c');
    Store store;
    const retrieval::Lookup lookup = store.lookup();
    for (const ApiCase& c : api_cases(R"({"id":")" + id + R"("})")) {
        auto r = run(c.path, c.body, ccr_settings(), &lookup);
        EXPECT_EQ(r.fills_missing, 1u);
        EXPECT_EQ(filled_text(c.name, json::parse(r.body, 64).value),
                  "[headroom: original " + id + " is not kept for this credential: expired, or stored under another]");
    }
    store.down = true;
    for (const ApiCase& c : api_cases(R"({"id":")" + id + R"("})")) {
        auto r = run(c.path, c.body, ccr_settings(), &lookup);
        EXPECT_EQ(r.fills_unavailable, 1u);
        EXPECT_NE(filled_text(c.name, json::parse(r.body, 64).value).find("not available right now"), std::string::npos);
    }
    for (const ApiCase& c : api_cases(R"({"id":"xyz"})")) {
        auto r = run(c.path, c.body, ccr_settings(), &lookup);
        EXPECT_EQ(filled_text(c.name, json::parse(r.body, 64).value),
                  "[headroom: cannot retrieve: \"id\" must be the 32 hex digits after id= in a headroom marker]");
    }
}

TEST(Retrieval, SelectsLinesItemsAndGrep) {
    std::string error;
    retrieval::Request req;
    req.id = std::string(32, 'a');
    req.lines = "2,4-9";
    auto s = retrieval::select("a\nb\nc\nd\ne", req, error);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->text, "b\nd\ne");
    EXPECT_EQ(s->what, "lines 2,4-5 of 5");
    req.lines = "6";
    EXPECT_FALSE(retrieval::select("a\nb\nc\nd\ne", req, error));
    EXPECT_EQ(error, "line 6 is not in the original (1-5)");
    req.lines = "x";
    EXPECT_FALSE(retrieval::select("a", req, error));

    req.lines.clear();
    req.items = "1-2";
    s = retrieval::select(R"({"meta":[1],"results":[ {"a":1}, {"b":[2, 3]} ,{"c":3}]})", req, error);
    ASSERT_TRUE(s) << error;
    EXPECT_EQ(s->text, R"([{"b":[2, 3]},{"c":3}])");
    EXPECT_EQ(s->what, "items 1-2 of 3");
    EXPECT_FALSE(retrieval::select("not json", req, error));

    req.items.clear();
    req.grep = "b";
    s = retrieval::select("abc\nxyz\nbbb\n", req, error);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->text, "1: abc\n3: bbb");
}

TEST(Retrieval, McpServerAnswers) {
    const std::string original = log_text();
    const std::string id = headroom::markers::output_id(original);
    Store store;
    store.originals[id] = original;
    const retrieval::Lookup lookup = store.lookup();

    auto a = headroom::mcp::respond(
        R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})",
        lookup, 1 << 20);
    EXPECT_EQ(a.status, 200);
    json::ParseResult p = json::parse(a.body, 64);
    EXPECT_EQ(at(p.value, {"result", "protocolVersion"}).text, "2025-03-26");
    EXPECT_EQ(at(p.value, {"id"}).text, "1");

    EXPECT_EQ(headroom::mcp::respond(R"({"jsonrpc":"2.0","method":"notifications/initialized"})", lookup, 1 << 20).status, 202);

    a = headroom::mcp::respond(R"({"jsonrpc":"2.0","id":"x","method":"tools/list"})", lookup, 1 << 20);
    p = json::parse(a.body, 64);
    EXPECT_EQ(at(p.value, {"result", "tools"}).items[0].find("name")->text, "headroom_retrieve");

    a = headroom::mcp::respond(R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"headroom_retrieve","arguments":{"id":")" +
                                   id + R"(","grep":"ERROR"}}})",
                               lookup, 1 << 20);
    p = json::parse(a.body, 64);
    EXPECT_EQ(at(p.value, {"result", "isError"}).kind, json::Kind::False);
    EXPECT_NE(at(p.value, {"result", "content"}).items[0].find("text")->text.find("121: 2024-03-01 12:01:00 ERROR"),
              std::string::npos);
    EXPECT_EQ(a.found, 1u);

    a = headroom::mcp::respond(R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"headroom_retrieve","arguments":{"id":")" +
                                   std::string(32, 'd') + R"("}}})",
                               lookup, 1 << 20);
    p = json::parse(a.body, 64);
    EXPECT_EQ(at(p.value, {"result", "isError"}).kind, json::Kind::True);
    EXPECT_EQ(a.missing, 1u);

    a = headroom::mcp::respond(R"([{"jsonrpc":"2.0","id":4,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/x"}])", lookup, 1 << 20);
    EXPECT_EQ(a.body, R"([{"jsonrpc":"2.0","id":4,"result":{}}])");
    a = headroom::mcp::respond(R"({"jsonrpc":"2.0","id":5,"method":"nope"})", lookup, 1 << 20);
    EXPECT_EQ(a.body, R"({"jsonrpc":"2.0","id":5,"error":{"code":-32601,"message":"Method not found: nope"}})");
    a = headroom::mcp::respond("{", lookup, 1 << 20);
    EXPECT_EQ(a.status, 400);
}

TEST(Retrieval, RequestsAndMessagesHoldBoundedOriginals) {
    const std::string original = log_text();
    const std::string id = headroom::markers::output_id(original);
    Store store;
    store.originals[id] = original;
    const retrieval::Lookup lookup = store.lookup();
    // Three calls for the whole original; room for two.
    std::string batch = "[";
    for (int i = 0; i < 3; ++i) {
        batch += std::string(i ? "," : "") + R"({"jsonrpc":"2.0","id":)" + std::to_string(i) +
                 R"(,"method":"tools/call","params":{"name":"headroom_retrieve","arguments":{"id":")" + id + R"("}}})";
    }
    batch += "]";
    auto a = headroom::mcp::respond(batch, lookup, 2 * original.size() + 200);
    json::ParseResult p = json::parse(a.body, 64);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(at(p.value.items[1], {"result", "isError"}).kind, json::Kind::False);
    EXPECT_EQ(at(p.value.items[2], {"result", "isError"}).kind, json::Kind::True);
    EXPECT_NE(at(p.value.items[2], {"result", "content"}).items[0].find("text")->text.find("ask for fewer lines"),
              std::string::npos);
    EXPECT_EQ(a.found, 2u);

    // The same bound for a request's fills.
    headroom::Settings s = ccr_settings();
    s.max_body_size = 2 * original.size() + 200;
    const auto cases = api_cases(R"({"id":")" + id + R"("})");
    std::string body = cases[2].body;  // Anthropic: three calls, three results
    const std::string call = body.substr(body.find(R"({"role":"assistant")"));
    body = body.substr(0, body.find(R"({"role":"assistant")"));
    for (int i = 0; i < 3; ++i) {
        std::string c = call.substr(0, call.size() - 2);  // without "]}"
        for (std::string::size_type at = c.find("\"r1\""); at != std::string::npos; at = c.find("\"r1\"", at + 1)) {
            c.replace(at, 4, "\"r" + std::to_string(i + 10) + "\"");
        }
        body += c + (i < 2 ? "," : "]}");
    }
    auto r = run(cases[2].path, body, s, &lookup);
    EXPECT_EQ(r.fills_found, 2u);
    EXPECT_NE(r.body.find("ask for fewer lines"), std::string::npos);
}

TEST(Retrieval, McpRefusesWhatIsNotUtf8AndNullIds) {
    Store store;
    const retrieval::Lookup lookup = store.lookup();
    for (const char* bad : {"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80"}) {
        auto a = headroom::mcp::respond(std::string(R"({"jsonrpc":"2.0","id":1,"method":")") + bad + "\"}", lookup,
                                        1 << 20);
        EXPECT_EQ(a.status, 400);
        EXPECT_NE(a.body.find("-32700"), std::string::npos);
    }
    auto a = headroom::mcp::respond(R"({"jsonrpc":"2.0","id":null,"method":"ping"})", lookup, 1 << 20);
    EXPECT_EQ(a.status, 200);
    EXPECT_EQ(a.body, R"({"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request"}})");
}
