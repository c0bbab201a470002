// Model routing (headroom_route) in the whole pipeline: each condition,
// the first match, the model set in the body or the path with every other
// byte as it came, sessions that keep their route, and the request's token
// count that only counts what is new.
#include <gtest/gtest.h>

#include "test_options.h"

#include <map>
#include <string>

#include "core/content_hash.h"
#include "core/output_cache.h"
#include "core/routing.h"
#include "core/tokenizer/encoding.h"
#include "core/tokenizer/tokenizers.h"

using headroom::Outcome;
using headroom::Settings;
using headroom::routing::Rule;
using headroom::routing::Rules;

namespace {

Rule rule(std::string name, std::string to) {
    Rule r;
    r.name = std::move(name);
    r.to = std::move(to);
    return r;
}

std::shared_ptr<const Rules> compile(std::vector<Rule> rules) {
    std::string error;
    auto r = Rules::compile(std::move(rules), error);
    if (!r) throw std::invalid_argument(error);
    return r;
}

Settings routing(std::vector<Rule> rules) {
    Settings s;
    s.routes = compile(std::move(rules));
    return s;
}

// A session's memory, as the module's zone keeps it.
class Memory final : public headroom::routing::Sessions {
public:
    std::optional<std::string> get(std::string_view session) const override {
        ++gets;
        auto it = kept.find(std::string(session));
        if (it == kept.end()) return std::nullopt;
        return it->second;
    }
    void put(std::string_view session, std::string_view rule) const override {
        kept[std::string(session)] = std::string(rule);  // replaces, as the zone does
    }
    mutable std::map<std::string, std::string> kept;
    mutable int gets = 0;
};

const char* kChatPath = "/v1/chat/completions";

std::shared_ptr<const headroom::tokenizer::Tokenizers> tokenizers() {
    static std::shared_ptr<const headroom::tokenizer::Tokenizers> t = [] {
        std::string error;
        return headroom::tokenizer::Tokenizers::load(HEADROOM_TOKENIZER_DIR, {}, error);
    }();
    return t;
}

std::string chat(const std::string& model, const std::string& user, const std::string& more = "") {
    return R"({"model":")" + model + R"(","messages":[{"role":"user","content":")" + user + "\"}" + more + "]}";
}

}  // namespace

TEST(Routing, RulesAreCheckedWhenCompiled) {
    std::string error;
    Rule bad = rule("cheap", "gpt-4o-mini");
    bad.text = "(unclosed";
    EXPECT_EQ(Rules::compile({bad}, error), nullptr);
    EXPECT_NE(error.find("rule \"cheap\": if-text=\"(unclosed\""), std::string::npos) << error;

    EXPECT_EQ(Rules::compile({rule("a", "m"), rule("a", "n")}, error), nullptr);
    EXPECT_NE(error.find("defined twice"), std::string::npos) << error;

    Rule api = rule("a", "m");
    api.api = "openai";
    EXPECT_EQ(Rules::compile({api}, error), nullptr);
    EXPECT_NE(error.find("if-api=\"openai\""), std::string::npos) << error;

    EXPECT_EQ(Rules::compile({rule("a", "m\"x")}, error), nullptr);
    EXPECT_NE(error.find("to=\"m\"x\" is not a model name"), std::string::npos) << error;
    EXPECT_EQ(Rules::compile({rule("-", "m")}, error), nullptr);

    Rule glob = rule("a", "m");
    glob.model = "gpt-[4";
    EXPECT_EQ(Rules::compile({glob}, error), nullptr);
    EXPECT_NE(error.find("if-model=\"gpt-[4\""), std::string::npos) << error;
}

// The model is set where it was; every other byte is the client's.
TEST(Routing, SetsTheModelAndNothingElse) {
    Rule r = rule("mini", "gpt-4o-mini");
    r.model = "gpt-4o*";
    const std::string body = R"({"model":"gpt-4o","messages":[ {"role" : "user","content":"hi"} ],"x":1.50})";
    auto out = process(kChatPath, body, routing({r}));
    ASSERT_EQ(out.outcome, Outcome::Rewritten);
    EXPECT_EQ(out.body, R"({"model":"gpt-4o-mini","messages":[ {"role" : "user","content":"hi"} ],"x":1.50})");
    EXPECT_EQ(out.route, "mini");
    EXPECT_EQ(out.model, "gpt-4o-mini");
    EXPECT_EQ(out.model_in, "gpt-4o");
    EXPECT_EQ(out.path_out, "");
    EXPECT_EQ(out.by_transform[static_cast<std::size_t>(headroom::Transform::Route)].applied, 1u);
    EXPECT_EQ(out.session.size(), 32u);

    // Not matched: nothing changes, and the route says none.
    auto other = process(kChatPath, chat("o3", "hi"), routing({r}));
    EXPECT_EQ(other.outcome, Outcome::Passthrough);
    EXPECT_EQ(other.route, "");
    EXPECT_EQ(other.model, "o3");

    // A rule that names the model asked for matches, and changes nothing.
    auto same = process(kChatPath, chat("gpt-4o-mini", "hi"), routing({r}));
    EXPECT_EQ(same.outcome, Outcome::Passthrough);
    EXPECT_EQ(same.route, "mini");
    EXPECT_EQ(same.model_in, "");
}

TEST(Routing, EachConditionAndTheFirstMatchWins) {
    Rule shortish = rule("short", "small");
    shortish.tokens_op = Rule::Tokens::Below;
    shortish.tokens = 100;  // bytes here: no tokenizers
    Rule tools = rule("tools", "tooly");
    tools.tools = Rule::Tools::Yes;
    Rule text = rule("text", "thinker");
    text.text = "(?i)prove|theorem";
    Rule api = rule("anthropic", "claude-haiku-4-5");
    api.api = "anthropic_messages";
    Rule big = rule("big", "long-context");
    big.tokens_op = Rule::Tokens::Above;
    big.tokens = 300;
    const Settings s = routing({text, shortish, tools, api, big});

    EXPECT_EQ(process(kChatPath, chat("m", "hi"), s).route, "short");
    EXPECT_EQ(process(kChatPath, chat("m", "Prove it"), s).route, "text");  // first wins
    // The newest user text decides, not the first.
    EXPECT_EQ(process(kChatPath, chat("m", "prove it", R"(,{"role":"assistant","content":"ok"},{"role":"user","content":"thanks"})"), s).route,
              "short");
    const std::string pad(150, 'x');
    const std::string with_tools =
        R"({"model":"m","tools":[{"type":"function","function":{"name":"f"}}],"messages":[{"role":"user","content":")" +
        pad + "\"}]}";
    EXPECT_EQ(process(kChatPath, with_tools, s).route, "tools");
    const std::string no_tools = R"({"model":"m","tools":[],"messages":[{"role":"user","content":")" + pad + "\"}]}";
    EXPECT_EQ(process(kChatPath, no_tools, s).route, "");
    EXPECT_EQ(process("/v1/messages", R"({"model":"claude-opus-4-1","max_tokens":5,"messages":[{"role":"user","content":")" + pad + "\"}]}", s).route,
              "anthropic");
    auto large = process(kChatPath, chat("m", std::string(400, 'y')), s);
    EXPECT_EQ(large.route, "big");
    EXPECT_GT(large.request_tokens, 300u);
}

// Tokens are those sent: a crushed tool output counts as crushed.
TEST(Routing, CountsTheRequestAsSent) {
    Rule shortish = rule("short", "small");
    shortish.tokens_op = Rule::Tokens::Below;
    shortish.tokens = 2000;
    Settings s = routing({shortish});
    std::string items;
    for (int i = 0; i < 200; ++i) items += (i ? "," : "") + std::string(R"({\"id\":)") + std::to_string(i) + R"(,\"v\":\"same\"})";
    const std::string body =
        R"({"model":"m","messages":[{"role":"user","content":"list"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"ls","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"[)" +
        items + R"(]"}]})";
    ASSERT_GT(body.size(), 4000u);
    auto r = process(kChatPath, body, s);
    ASSERT_EQ(r.outcome, Outcome::Rewritten);
    EXPECT_EQ(r.route, "short");
    EXPECT_LT(r.request_tokens, 2000u);
    EXPECT_GT(r.request_tokens, 100u);
    s.crush_json = false;
    s.minify_tool_json = false;
    EXPECT_EQ(process(kChatPath, body, s).route, "");
}

TEST(Routing, GeminiGoesToThePathOfItsModel) {
    Rule r = rule("flash", "gemini-2.5-flash");
    r.api = "gemini";
    const std::string body = R"({"contents":[{"role":"user","parts":[{"text":"hi"}]}]})";
    auto out = process("/v1beta/models/gemini-2.5-pro:streamGenerateContent", body, routing({r}));
    ASSERT_EQ(out.outcome, Outcome::Rewritten);
    EXPECT_EQ(out.body, body);
    EXPECT_EQ(out.path_out, "/v1beta/models/gemini-2.5-flash:streamGenerateContent");
    EXPECT_EQ(out.model, "gemini-2.5-flash");
    EXPECT_EQ(out.model_in, "gemini-2.5-pro");
    // A model that is no path segment is not routed to.
    Rule odd = rule("odd", "tunedModels/x");
    auto none = process("/v1beta/models/gemini-2.5-pro:generateContent", body, routing({odd}));
    EXPECT_EQ(none.outcome, Outcome::Passthrough);
    EXPECT_EQ(none.route, "");
    EXPECT_EQ(none.model, "gemini-2.5-pro");
}

// A session keeps the route it began with, whatever later turns would
// match; another conversation (another first user text) is its own.
TEST(Routing, ASessionKeepsItsRoute) {
    Rule shortish = rule("short", "small");
    shortish.tokens_op = Rule::Tokens::Below;
    shortish.tokens = 200;
    Rule text = rule("text", "thinker");
    text.text = "prove";
    const Settings s = routing({text, shortish});
    Memory memory;
    headroom::Wants w;
    w.sessions = &memory;

    std::string more;
    std::string first_body;
    std::vector<std::string> routes;
    for (int turn = 0; turn < 8; ++turn) {
        auto r = process(kChatPath, chat("big", "hello", more), s, w);
        routes.push_back(r.route);
        EXPECT_EQ(r.model, "small") << turn;
        EXPECT_EQ(r.route_remembered, turn > 0) << turn;
        more += R"(,{"role":"assistant","content":"answer )" + std::to_string(turn) +
                R"( with some words to grow the request"},{"role":"user","content":"now prove )" +
                std::to_string(turn) + "\"}";
    }
    EXPECT_EQ(memory.kept.size(), 1u);
    EXPECT_EQ(memory.kept.begin()->second, "short");

    // Without the memory, the last turn would have gone elsewhere.
    EXPECT_EQ(process(kChatPath, chat("big", "hello", more), s).route, "text");

    // Another conversation of the same application.
    auto other = process(kChatPath, chat("big", "please prove this"), s, w);
    EXPECT_EQ(other.route, "text");
    EXPECT_EQ(memory.kept.size(), 2u);

    // None matched at first: the session keeps its model too.
    auto none = process(kChatPath, chat("big", std::string(300, 'z')), s, w);
    EXPECT_EQ(none.route, "");
    EXPECT_EQ(memory.kept[none.session], "-");
    auto later = process(kChatPath, chat("big", std::string(300, 'z'), R"(,{"role":"user","content":"prove"})"), s, w);
    EXPECT_EQ(later.route, "");
    EXPECT_EQ(later.model, "big");
    EXPECT_TRUE(later.route_remembered);
}

TEST(Routing, StickyOffIsDecidedEveryTurn) {
    Rule text = rule("text", "thinker");
    text.text = "prove";
    text.sticky = false;
    const Settings s = routing({text});
    Memory memory;
    headroom::Wants w;
    w.sessions = &memory;
    auto a = process(kChatPath, chat("big", "prove it"), s, w);
    EXPECT_EQ(a.route, "text");
    EXPECT_TRUE(memory.kept.empty());
    auto b = process(kChatPath, chat("big", "prove it", R"(,{"role":"user","content":"thanks"})"), s, w);
    EXPECT_EQ(b.route, "");
    EXPECT_TRUE(memory.kept.empty());  // no sticky rule: nothing to keep
    EXPECT_EQ(memory.gets, 0);

    // Beside a sticky rule, a session none matched keeps its model.
    Rule never = rule("never", "x");
    never.model = "no-such-model";
    const Settings both = routing({text, never});
    auto c = process(kChatPath, chat("big", "prove it", R"(,{"role":"user","content":"thanks"})"), both, w);
    EXPECT_EQ(c.route, "");
    EXPECT_EQ(memory.kept.size(), 1u);
    // A sticky=off rule still decides for the requests it matches...
    auto d = process(kChatPath, chat("big", "prove it", R"(,{"role":"user","content":"thanks"},{"role":"user","content":"prove"})"), both, w);
    EXPECT_EQ(d.route, "text");
    EXPECT_FALSE(d.route_remembered);
    // ...and the others keep what the session keeps.
    auto e = process(kChatPath, chat("big", "prove it", R"(,{"role":"user","content":"thanks"},{"role":"user","content":"ok"})"), both, w);
    EXPECT_EQ(e.route, "");
    EXPECT_TRUE(e.route_remembered);
    EXPECT_EQ(memory.kept.size(), 1u);
}

// A session kept under a rule since removed is decided again, and kept
// anew (the memory's put replaces); another scope (an nginx location) has
// sessions of its own.
TEST(Routing, ARuleGoneIsDecidedAgainOnce) {
    Rule a = rule("cheap", "mini");
    Memory memory;
    headroom::Wants w;
    w.sessions = &memory;
    auto first = process(kChatPath, chat("big", "hello"), routing({a}), w);
    EXPECT_EQ(first.route, "cheap");
    Rule renamed = rule("cheap2", "mini");
    auto again = process(kChatPath, chat("big", "hello"), routing({renamed}), w);
    EXPECT_EQ(again.route, "cheap2");
    EXPECT_FALSE(again.route_remembered);
    EXPECT_EQ(again.session, first.session);
    auto later = process(kChatPath, chat("big", "hello", R"(,{"role":"user","content":"more"})"), routing({renamed}), w);
    EXPECT_TRUE(later.route_remembered);
    EXPECT_EQ(later.route, "cheap2");
    w.session_scope = "server b location /other/";
    auto elsewhere = process(kChatPath, chat("big", "hello"), routing({renamed}), w);
    EXPECT_NE(elsewhere.session, first.session);
    EXPECT_FALSE(elsewhere.route_remembered);
}

// The Responses API's input may be one string: the user's text.
TEST(Routing, AResponsesInputStringIsTheUsersText) {
    Rule text = rule("hard", "o3");
    text.text = "prove";
    const Settings s = routing({text});
    auto r = process("/v1/responses", R"({"model":"gpt-4o","input":"please prove Fermat"})", s);
    EXPECT_EQ(r.route, "hard");
    auto other = process("/v1/responses", R"({"model":"gpt-4o","input":"write a poem"})", s);
    EXPECT_NE(other.session, r.session);
}

// An agent's turn N resends turns 1..N-1: their counts come from the cache.
TEST(Routing, CountsOnlyWhatIsNewWithTheCache) {
    Rule big = rule("big", "long");
    big.tokens_op = Rule::Tokens::Above;
    big.tokens = 1000000;  // never reached: everything is counted
    Settings s = routing({big});
    s.tokenizers = tokenizers();
    ASSERT_NE(s.tokenizers, nullptr);
    headroom::output_cache::InProcess store;
    const headroom::output_cache::Cache cache = store.cache();
    headroom::Wants w;
    w.cache = &cache;
    const std::string turn1 = chat("m", std::string(3000, 'a'));
    auto r1 = process(kChatPath, turn1, s, w);
    const std::size_t after_first = store.puts;
    EXPECT_GE(after_first, 1u);
    auto again = process(kChatPath, turn1, s, w);
    EXPECT_EQ(store.puts, after_first);  // nothing counted anew
    EXPECT_EQ(again.request_tokens, r1.request_tokens);
    auto r2 = process(kChatPath, chat("m", std::string(3000, 'a'), R"(,{"role":"user","content":")" + std::string(3000, 'b') + "\"}"), s, w);
    EXPECT_EQ(store.puts, after_first + 1);
    const std::string b(3000, 'b');
    EXPECT_EQ(r2.request_tokens, r1.request_tokens + s.tokenizers->for_model("m").encoding->count("user") +
                                     s.tokenizers->for_model("m").encoding->count(b));
}

// Spend of an answer that will not say what it used is estimated from the
// whole request's count: asked for only then, and whole.
TEST(RequestTokens, CountedWholeWhenTheAnswerWillNotSay) {
    headroom::Wants w;
    w.request_tokens = true;
    const std::string text(5000, 'q');
    auto plain = process(kChatPath, chat("m", text), Settings{}, w);
    EXPECT_FALSE(plain.request_tokens_whole);
    EXPECT_EQ(plain.request_tokens, 0u);
    const std::string stream = R"({"model":"m","stream":true,"messages":[{"role":"user","content":")" + text + "\"}]}";
    auto streamed = process(kChatPath, stream, Settings{}, w);
    EXPECT_TRUE(streamed.request_tokens_whole);
    EXPECT_EQ(streamed.request_tokens, 1u + 4u + 5000u);  // bytes: no tokenizers
    const std::string asked =
        R"({"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]})";
    EXPECT_FALSE(process(kChatPath, asked, Settings{}, w).request_tokens_whole);
    // A rule's count that stops early is not the whole one.
    Rule big = rule("big", "x");
    big.tokens_op = Rule::Tokens::Above;
    big.tokens = 10;
    Settings s = routing({big});
    auto both = process(kChatPath, stream, s, w);
    EXPECT_TRUE(both.request_tokens_whole);
    EXPECT_EQ(both.request_tokens, 5005u);
    EXPECT_EQ(both.route, "big");
    auto rule_only = process(kChatPath, stream, s);
    EXPECT_FALSE(rule_only.request_tokens_whole);
    EXPECT_GT(rule_only.request_tokens, 10u);  // stopped past the bound, a part at a time
}

// An image counts as an image, not as its base64 characters.
TEST(Routing, AnImageIsNotItsCharacters) {
    Rule big = rule("big", "long");
    big.tokens_op = Rule::Tokens::Above;
    big.tokens = 20000;
    const Settings s = routing({big});
    const std::string b64(150000, 'A');
    auto chat_image = process(kChatPath,
        R"({"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"what is this?"},)"
        R"({"type":"image_url","image_url":{"url":"data:image/png;base64,)" + b64 + R"("}}]}]})", s);
    EXPECT_EQ(chat_image.route, "");
    EXPECT_LT(chat_image.request_tokens, 2000u);
    EXPECT_TRUE(chat_image.tokens_estimated);
    auto anthropic_image = process("/v1/messages",
        R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":")" +
        b64 + R"("}},{"type":"text","text":"what is this?"}]}]})", s);
    EXPECT_EQ(anthropic_image.route, "");
    // Text that long is long.
    EXPECT_EQ(process(kChatPath, chat("m", std::string(30000, 'x')), s).route, "big");
}

// A conversation the provider keeps is named by what the request names
// it by: the answer it continues, or the conversation object.
TEST(Routing, AKeptConversationIsItsOwnSession) {
    Rule a = rule("cheap", "mini");
    const Settings s = routing({a});
    Memory memory;
    headroom::Wants w;
    w.sessions = &memory;
    w.session_scope = "here";
    auto chained = process("/v1/responses", R"({"model":"gpt-5","previous_response_id":"resp_1","input":"hi"})", s, w);
    EXPECT_EQ(chained.session, headroom::routing::session_of_kept("here", "gpt-5", "response:resp_1"));
    auto other = process("/v1/responses", R"({"model":"gpt-5","previous_response_id":"resp_1","input":"other text"})", s, w);
    EXPECT_EQ(other.session, chained.session);
    auto conv = process("/v1/responses", R"({"model":"gpt-5","conversation":{"id":"conv_1"},"input":"hi"})", s, w);
    EXPECT_EQ(conv.session, headroom::routing::session_of_kept("here", "gpt-5", "conversation:conv_1"));
    // Another model asked for is another session, as elsewhere.
    auto o3 = process("/v1/responses", R"({"model":"o3","previous_response_id":"resp_1","input":"hi"})", s, w);
    EXPECT_NE(o3.session, chained.session);
}
