#include "core/mcp.h"

#include <vector>

#include "core/tokenizer/utf8.h"

namespace headroom::mcp {

namespace {

constexpr std::string_view kVersions[] = {"2025-06-18", "2025-03-26"};

json::Value number(long n) {
    json::Value v;
    v.kind = json::Kind::Number;
    v.text = std::to_string(n);
    return v;
}

json::Value error(const json::Value& id, long code, std::string message) {
    return json::object_value({{"jsonrpc", json::string_value("2.0")},
                               {"id", id},
                               {"error", json::object_value({{"code", number(code)},
                                                             {"message", json::string_value(std::move(message))}})}});
}

json::Value result(const json::Value& id, json::Value value) {
    return json::object_value({{"jsonrpc", json::string_value("2.0")}, {"id", id}, {"result", std::move(value)}});
}

json::Value tool() {
    return json::object_value({{"name", json::string_value(std::string(retrieval::kToolName))},
                               {"description", json::string_value(retrieval::description())},
                               {"inputSchema", retrieval::parameters(false)}});
}

json::Value initialize(const json::Value* params) {
    std::string_view version = kVersions[0];
    const json::Value* asked = params ? params->find("protocolVersion") : nullptr;
    for (std::string_view v : kVersions) {
        if (asked != nullptr && asked->equals(v)) version = v;
    }
    return json::object_value({
        {"protocolVersion", json::string_value(std::string(version))},
        {"capabilities", json::object_value({{"tools", json::object_value({{"listChanged", json::bool_value(false)}})}})},
        {"serverInfo", json::object_value({{"name", json::string_value("headroom")},
                                           {"version", json::string_value("1")}})},
        {"instructions", json::string_value("headroom left lines or items out of tool outputs; each marker "
                                            "names an id: headroom_retrieve gives the original back.")},
    });
}

class Server {
public:
    Server(const retrieval::Lookup& lookup, Answer& answer, std::size_t max_bytes)
        : lookup_(lookup), answer_(answer), room_(max_bytes), max_bytes_(max_bytes) {}

    // One message; nullopt for a notification or a response.
    std::optional<json::Value> handle(const json::Value& m) {
        const json::Value* id = m.is_object() ? m.find("id") : nullptr;
        const json::Value* method = m.is_object() ? m.find("method") : nullptr;
        if (id == nullptr) {
            if (method != nullptr || (m.is_object() && (m.find("result") || m.find("error")))) return std::nullopt;
            return error(json::Value{}, -32600, "Invalid Request");
        }
        // A null id is a request still, which MCP does not allow.
        if (id->kind != json::Kind::String && id->kind != json::Kind::Number) {
            return error(json::Value{}, -32600, "Invalid Request");
        }
        if (method == nullptr || !method->is_string()) return error(*id, -32600, "Invalid Request");
        const json::Value* params = m.find("params");
        if (method->text == "initialize") return result(*id, initialize(params));
        if (method->text == "ping") return result(*id, json::object_value({}));
        if (method->text == "tools/list") {
            return result(*id, json::object_value({{"tools", json::array_value({tool()})}}));
        }
        if (method->text == "tools/call") return call(*id, params);
        return error(*id, -32601, "Method not found: " + method->text);
    }

private:
    json::Value call(const json::Value& id, const json::Value* params) {
        const json::Value* name = params ? params->find("name") : nullptr;
        if (name == nullptr || !name->equals(retrieval::kToolName)) {
            return error(id, -32602, "Unknown tool: the one tool is headroom_retrieve");
        }
        const json::Value* args = params->find("arguments");
        std::string why, text;
        bool failed = true;
        auto req = retrieval::request_of(args ? *args : json::object_value({}), why);
        if (!req) {
            text = "[headroom: cannot retrieve: " + why + "]";
        } else {
            const retrieval::Stored stored = lookup_(req->id);
            text = retrieval::answer(*req, stored);
            if (text.size() > room_) {
                text = retrieval::too_much(*req, max_bytes_);
            } else {
                room_ -= text.size();
                switch (stored.state) {
                case retrieval::Stored::State::Found:
                    ++answer_.found;
                    failed = !retrieval::is_filled(text, req->id);
                    break;
                case retrieval::Stored::State::Missing: ++answer_.missing; break;
                case retrieval::Stored::State::Unavailable: ++answer_.unavailable; break;
                }
            }
        }
        json::Value content = json::object_value({{"type", json::string_value("text")},
                                                  {"text", json::string_value(std::move(text))}});
        return result(id, json::object_value({{"content", json::array_value({std::move(content)})},
                                              {"isError", json::bool_value(failed)}}));
    }

    const retrieval::Lookup& lookup_;
    Answer& answer_;
    std::size_t room_;  // bytes of originals the answers may still hold
    std::size_t max_bytes_;
};

}  // namespace

Answer respond(std::string_view body, const retrieval::Lookup& lookup, std::size_t max_bytes) {
    Answer a;
    // yajl lets overlong forms and encoded surrogates through; an answer
    // that echoed them would not be UTF-8.
    const bool utf8 = tokenizer::valid_utf8_prefix(body) == body.size();
    json::ParseResult parsed;
    if (utf8) parsed = json::parse(body, 64);
    if (!utf8 || !parsed.ok()) {
        a.status = 400;
        a.body = json::serialize(error(json::Value{}, -32700, "Parse error"));
        return a;
    }
    Server server(lookup, a, max_bytes);
    const json::Value& doc = parsed.value;
    if (!doc.is_array()) {
        auto reply = server.handle(doc);
        if (!reply) {
            a.status = 202;
        } else {
            a.body = json::serialize(*reply);
        }
        return a;
    }
    // A batch (2025-03-26): the replies in one array, none for
    // notifications.
    json::Value replies = json::array_value({});
    for (const json::Value& m : doc.items) {
        if (auto reply = server.handle(m)) replies.items.push_back(std::move(*reply));
    }
    if (doc.items.empty()) {
        a.status = 400;
        a.body = json::serialize(error(json::Value{}, -32600, "Invalid Request"));
    } else if (replies.items.empty()) {
        a.status = 202;
    } else {
        a.body = json::serialize(replies);
    }
    return a;
}

}  // namespace headroom::mcp
