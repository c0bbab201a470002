// What a sequence of requests costs under a provider's prompt cache.
//   cache_cost --provider anthropic|openai --tokenizers DIR FILE...
// FILEs are request bodies in the order they were sent. Each request is cut
// into the blocks a provider builds its prompt from (each tool, each system
// block, each message block, in that order), the blocks' cache marks set
// aside: a block is the unit a cache compares. Tokens are o200k_base
// counts (Anthropic's tokenizer is not public; this is an estimate).
//
// Caches, simplified from the providers' documentation:
//   openai     every prefix of an earlier request is cached; a request reads
//              the longest one it shares, if it has 1024 tokens or more
//   anthropic  only prefixes ending at a block with cache_control are
//              written; a request reads the longest written prefix that ends
//              at one of its own marks or up to 20 blocks before one
// Prints one line per request and a total line: tokens, cached (read),
// written, and two costs in units of one uncached input token:
//   flat       cached 0.1x, every other token 1.25x (the model)
//   provider   cached 0.1x, written 1.25x, the rest 1x
#include <cstdio>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/content_hash.h"
#include "core/json.h"
#include "core/tokenizer/tokenizers.h"

namespace json = headroom::json;

namespace {

constexpr std::size_t kMinCacheable = 1024;
constexpr std::size_t kLookback = 20;

struct Block {
    std::string text;
    bool marked = false;
};

// `v` as JSON without its cache mark, and whether it had one.
Block block_of(const std::string& role, const json::Value& v) {
    Block b;
    json::Value copy = v;
    if (copy.is_object()) {
        std::vector<json::Member> kept;
        for (json::Member& m : copy.members) {
            if (m.key == "cache_control") {
                b.marked = true;
            } else {
                kept.push_back(std::move(m));
            }
        }
        copy.members = std::move(kept);
    }
    b.text = role + ":" + json::serialize(copy);
    return b;
}

void add_content(std::vector<Block>& out, const std::string& role, const json::Value* content) {
    if (content == nullptr) return;
    if (content->is_array()) {
        for (const json::Value& part : content->items) out.push_back(block_of(role, part));
    } else {
        out.push_back(block_of(role, *content));
    }
}

std::vector<Block> blocks_of(const json::Value& body) {
    std::vector<Block> out;
    if (const json::Value* tools = body.find("tools"); tools && tools->is_array()) {
        for (const json::Value& t : tools->items) out.push_back(block_of("tool", t));
    }
    add_content(out, "system", body.find("system"));
    add_content(out, "instructions", body.find("instructions"));
    for (const char* list : {"messages", "input"}) {
        const json::Value* items = body.find(list);
        if (items == nullptr) continue;
        if (!items->is_array()) {
            add_content(out, "user", items);
            continue;
        }
        for (const json::Value& m : items->items) {
            const json::Value* role = m.find("role");
            std::string r = role && role->is_string() ? role->text : "item";
            const json::Value* content = m.find("content");
            // Tool calls and their outputs carry more than content.
            if (content == nullptr || m.find("tool_calls") || m.find("tool_call_id")) {
                out.push_back(block_of(r, m));
            } else {
                add_content(out, r, content);
            }
        }
    }
    return out;
}

struct Totals {
    std::size_t tokens = 0, cached = 0, written = 0;
    double flat = 0, provider = 0;
};

}  // namespace

int main(int argc, char** argv) {
    std::string provider, dir;
    std::vector<std::string> files;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--provider" && i + 1 < argc) provider = argv[++i];
        else if (a == "--tokenizers" && i + 1 < argc) dir = argv[++i];
        else files.push_back(a);
    }
    if ((provider != "anthropic" && provider != "openai") || dir.empty() || files.empty()) {
        std::cerr << "usage: cache_cost --provider anthropic|openai --tokenizers DIR FILE...\n";
        return 2;
    }
    std::string error;
    auto tokenizers = headroom::tokenizer::Tokenizers::load(dir, {}, error);
    if (!tokenizers) {
        std::cerr << "cache_cost: " << error << "\n";
        return 1;
    }
    const auto* enc = tokenizers->find("o200k_base");

    std::set<std::string> cache;  // hashes of cached prefixes
    Totals total;
    std::printf("request tokens cached written flat provider\n");
    for (const std::string& file : files) {
        std::ifstream in(file, std::ios::binary);
        std::stringstream buf;
        buf << in.rdbuf();
        auto parsed = json::parse(buf.str(), 512);
        if (!in || !parsed.ok()) {
            std::cerr << "cache_cost: " << file << ": not a JSON request\n";
            return 1;
        }
        std::vector<Block> blocks = blocks_of(parsed.value);

        // prefix[i]: hash and tokens of blocks [0, i]
        std::vector<std::string> hash(blocks.size());
        std::vector<std::size_t> upto(blocks.size());
        std::string h;
        std::size_t tokens = 0;
        for (std::size_t i = 0; i < blocks.size(); ++i) {
            h = headroom::sha256_hex(h + '\n' + blocks[i].text, 16);
            hash[i] = h;
            tokens += enc->count(blocks[i].text);
            upto[i] = tokens;
        }

        std::size_t cached = 0, written = 0;
        if (provider == "openai") {
            for (std::size_t i = blocks.size(); i-- > 0;) {
                if (cache.count(hash[i])) {
                    cached = upto[i] >= kMinCacheable ? upto[i] : 0;
                    break;
                }
            }
            cache.insert(hash.begin(), hash.end());
        } else {
            std::size_t last_mark = blocks.size();
            for (std::size_t b = 0; b < blocks.size(); ++b) {
                if (!blocks[b].marked) continue;
                last_mark = b;
                for (std::size_t j = b + 1; j-- > 0 && b - j < kLookback;) {
                    if (cache.count(hash[j])) {
                        if (upto[j] >= kMinCacheable && upto[j] > cached) cached = upto[j];
                        break;
                    }
                }
            }
            if (last_mark < blocks.size() && upto[last_mark] >= kMinCacheable) {
                written = upto[last_mark] > cached ? upto[last_mark] - cached : 0;
                for (std::size_t b = 0; b < blocks.size(); ++b) {
                    if (blocks[b].marked && upto[b] >= kMinCacheable) cache.insert(hash[b]);
                }
            }
        }
        double flat = 0.1 * double(cached) + 1.25 * double(tokens - cached);
        double prov = 0.1 * double(cached) + 1.25 * double(written) +
                      1.0 * double(tokens - cached - written);
        std::printf("%s %zu %zu %zu %.1f %.1f\n", file.c_str(), tokens, cached, written, flat, prov);
        total.tokens += tokens;
        total.cached += cached;
        total.written += written;
        total.flat += flat;
        total.provider += prov;
    }
    std::printf("total %zu %zu %zu %.1f %.1f\n", total.tokens, total.cached, total.written,
                total.flat, total.provider);
    return 0;
}
