// Model routing (headroom_route): rules, evaluated in order, the first that
// matches a request names the model it goes to. Cache-aware: a session
// (the prefix every call shares, and the conversation's first user text,
// which every later turn resends unchanged) keeps the route it started
// with, so that switching models never throws a warm prompt cache away.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace headroom::routing {

struct Rule {
    std::string name;
    std::string model;  // fnmatch glob on the model asked for; "": any
    enum class Tokens : unsigned char { Any, Below, Above };
    Tokens tokens_op = Tokens::Any;
    std::size_t tokens = 0;  // the request's input tokens, as sent
    enum class Tools : unsigned char { Any, Yes, No };
    Tools tools = Tools::Any;  // the request defines tools
    std::string text;          // PCRE2 on the newest user text; "": any
    std::string api;           // a dialect's name; "": any
    bool sticky = true;        // remembered for the session
    std::string to;            // the model it goes to
};

// What a rule is asked about one request.
struct Facts {
    std::string_view api;
    std::string_view model;
    bool tools = false;
    std::string_view newest_user_text;
    // The request's input tokens, counted (on the first rule that asks)
    // only as far as `enough`: the caller's, so that a request no rule
    // counts is never counted.
    std::size_t (*count)(void* data, std::size_t enough) = nullptr;
    void* count_data = nullptr;
};

// Where the routes of sessions are remembered (headroom_route_zone): the
// caller's, possibly asked from a thread of its own. get: the name of the
// rule remembered for `session` (kNone for "none matched"), or nullopt.
struct Sessions {
    virtual ~Sessions() = default;
    virtual std::optional<std::string> get(std::string_view session) const = 0;
    virtual void put(std::string_view session, std::string_view rule) const = 0;
};

// The session of a conversation the provider keeps (Dialect::
// kept_conversation: "response:ID", "conversation:ID") in `scope`, with
// the model asked for (another model is another session, as the prefix
// hash makes it for the others): its requests resend no first message.
// An answer's id continues it: the caller keeps the session's route under
// session_of_kept(scope, model, "response:" + the answer's id) too.
std::string session_of_kept(std::string_view scope, std::string_view model, std::string_view kept);

// The name remembered for a session that no rule matched when it began:
// it keeps its model too.
inline constexpr std::string_view kNone = "-";

class Rules {
public:
    // nullptr when a rule is refused, with the reason in `error` (naming
    // the rule and what is wrong with it).
    static std::shared_ptr<const Rules> compile(std::vector<Rule> rules, std::string& error, bool jit = true);

    ~Rules();
    Rules(const Rules&) = delete;
    Rules& operator=(const Rules&) = delete;

    const std::vector<Rule>& rules() const { return rules_; }
    // The largest token bound any rule has; 0 when none counts tokens.
    std::size_t most_tokens() const { return most_tokens_; }
    bool any_sticky() const { return any_sticky_; }
    bool any_not_sticky() const { return any_not_sticky_; }

    // The first rule that matches, or nullptr.
    const Rule* first_match(const Facts& facts) const;
    // The rule called `name`, or nullptr.
    const Rule* named(std::string_view name) const;

    struct Compiled;

private:
    Rules() = default;
    bool matches(std::size_t i, const Facts& facts, std::optional<std::size_t>& tokens) const;
    std::vector<Rule> rules_;
    std::vector<void*> regexes_;  // pcre2_code_8*, or nullptr: no if-text
    void* match_context_ = nullptr;
    std::size_t most_tokens_ = 0;
    bool any_sticky_ = false;
    bool any_not_sticky_ = false;
};

// What was decided for one request.
struct Decision {
    const Rule* rule = nullptr;  // nullptr: the request keeps its model
    bool remembered = false;     // from the session, not the rules
    bool remember = false;       // a new session: the caller keeps it
};

// A sticky=off rule that matches decides for this request alone, whatever
// the session keeps. Else the session's route, if kept and still a sticky
// rule; else the first rule that matches, kept for the session (or "none
// matched"). Without `sessions`, or without a sticky rule, every request
// is decided by the rules alone.
Decision decide(const Rules& rules, const Facts& facts, std::string_view session, const Sessions* sessions);

}  // namespace headroom::routing
