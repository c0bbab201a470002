// Agent sessions in each API, for tests: a request of n turns, each a
// question, a tool call and its output, the newest output last; every
// turn's body starts with the bytes of the turn before's but for its
// closing. Tool outputs of turns 4, 9, 14, ... are secret_reader's.
#pragma once

#include <string>

namespace {

struct AgentApi {
    const char* name;
    const char* path;
    std::string (*head)();
    std::string (*turn)(std::size_t i, const std::string& output);
    const char* tail;
};

// A listing of lines no crusher touches (JSON-escaped), about 3.7 KB.
inline std::string listing_output(std::size_t i) {
    std::string s = "total " + std::to_string(100 + i) + "\\n";
    for (int k = 0; k < 60; ++k) {
        s += "drwxr-xr-x  2 user staff  " + std::to_string(4096 + k * 7 + i) + " Jan  " +
             std::to_string(1 + k % 28) + " 12:00 dir_" + std::to_string(i) + "_" + std::to_string(k) + "\\n";
    }
    return s;
}

inline std::string agent_tool(std::size_t i) { return i % 5 == 4 ? "secret_reader" : "list_dir"; }

const AgentApi kAgentApis[] = {
    {"openai_chat", "/v1/chat/completions",
     [] { return std::string(R"({"model":"gpt-4o","messages":[{"role":"system","content":"You are terse."})"); },
     [](std::size_t i, const std::string& out) {
         const std::string id = "call_" + std::to_string(i);
         return R"(,{"role":"user","content":"list dir )" + std::to_string(i) +
                R"("},{"role":"assistant","content":null,"tool_calls":[{"id":")" + id +
                R"(","type":"function","function":{"name":")" + agent_tool(i) + R"(","arguments":"{}"}}]})"
                R"(,{"role":"tool","tool_call_id":")" + id + R"(","content":")" + out + "\"}";
     },
     "]}"},
    {"anthropic_messages", "/v1/messages",
     [] { return std::string(R"({"model":"claude-sonnet-4","max_tokens":100,"system":"You are terse.","messages":[)"); },
     [](std::size_t i, const std::string& out) {
         const std::string id = "toolu_" + std::to_string(i);
         return std::string(i == 0 ? "" : ",") + R"({"role":"user","content":"list dir )" + std::to_string(i) +
                R"("},{"role":"assistant","content":[{"type":"tool_use","id":")" + id + R"(","name":")" +
                agent_tool(i) + R"(","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":")" +
                id + R"(","content":[{"type":"text","text":")" + out + R"("}]}]})";
     },
     "]}"},
    {"openai_responses", "/v1/responses",
     [] { return std::string(R"({"model":"gpt-4o","instructions":"You are terse.","input":[)"); },
     [](std::size_t i, const std::string& out) {
         const std::string id = "call_" + std::to_string(i);
         return std::string(i == 0 ? "" : ",") + R"({"role":"user","content":"list dir )" + std::to_string(i) +
                R"("},{"type":"function_call","call_id":")" + id + R"(","name":")" + agent_tool(i) +
                R"(","arguments":"{}"},{"type":"function_call_output","call_id":")" + id + R"(","output":")" +
                out + "\"}";
     },
     "]}"},
    {"gemini", "/v1beta/models/gemini-2.5-flash:generateContent",
     [] { return std::string(R"({"contents":[)"); },
     [](std::size_t i, const std::string& out) {
         return std::string(i == 0 ? "" : ",") + R"({"role":"user","parts":[{"text":"list dir )" + std::to_string(i) +
                R"("}]},{"role":"model","parts":[{"functionCall":{"name":")" + agent_tool(i) +
                R"(","args":{}}}]},{"role":"user","parts":[{"functionResponse":{"name":")" + agent_tool(i) +
                R"(","response":{"listing":")" + out + R"("}}}]})";
     },
     "]}"},
};

}  // namespace
