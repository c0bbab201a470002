// headroom-mkrank: converts an encoding of the tiktoken npm package
// (encoders/<name>.json: pat_str, bpe_ranks) into headroom's rank file.
//   headroom-mkrank NAME INPUT.json OUTPUT.tok
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "core/json.h"
#include "core/tokenizer/rank_file.h"

namespace {

int b64(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

bool base64_decode(std::string_view in, std::string& out) {
    out.clear();
    unsigned acc = 0;
    int bits = 0;
    for (char c : in) {
        if (c == '=') break;
        int v = b64(c);
        if (v < 0) return false;
        acc = acc << 6 | static_cast<unsigned>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xff));
        }
    }
    return !out.empty();
}

int fail(const std::string& msg) {
    std::cerr << "headroom-mkrank: " << msg << "\n";
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) return fail("usage: headroom-mkrank NAME INPUT.json OUTPUT.tok");
    std::ifstream in(argv[2], std::ios::binary);
    if (!in) return fail(std::string("cannot open ") + argv[2]);
    std::ostringstream buf;
    buf << in.rdbuf();

    auto doc = headroom::json::parse(buf.str(), 16);
    if (!doc.ok()) return fail(std::string(argv[2]) + ": not JSON: " + doc.message);
    const auto* pat = doc.value.find("pat_str");
    const auto* ranks = doc.value.find("bpe_ranks");
    if (pat == nullptr || !pat->is_string() || ranks == nullptr || !ranks->is_string()) {
        return fail(std::string(argv[2]) + ": no pat_str and bpe_ranks strings");
    }

    headroom::tokenizer::RankTable table;
    table.name = argv[1];
    table.pattern = pat->text;

    // bpe_ranks: lines of "! OFFSET TOKEN TOKEN ...", base64 tokens ranked
    // OFFSET, OFFSET + 1, ...
    std::istringstream lines(ranks->text);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.empty()) continue;
        std::istringstream words(line);
        std::string bang, token, bytes;
        std::size_t offset = 0;
        if (!(words >> bang >> offset)) return fail("malformed bpe_ranks line");
        for (std::size_t rank = offset; words >> token; ++rank) {
            if (!base64_decode(token, bytes)) return fail("bad base64 token: " + token);
            if (rank >= table.tokens.size()) table.tokens.resize(rank + 1);
            table.tokens[rank] = bytes;
        }
    }
    for (std::size_t r = 0; r < table.tokens.size(); ++r) {
        if (table.tokens[r].empty()) return fail("rank " + std::to_string(r) + " is missing");
    }

    std::string out = headroom::tokenizer::write_rank_file(table);
    std::string error;
    headroom::tokenizer::RankFileView view;
    if (!headroom::tokenizer::read_rank_file(out, view, error)) return fail(error);

    std::string tmp = std::string(argv[3]) + ".tmp";
    std::ofstream o(tmp, std::ios::binary);
    o.write(out.data(), static_cast<std::streamsize>(out.size()));
    if (!o.flush()) return fail("cannot write " + tmp);
    o.close();
    if (std::rename(tmp.c_str(), argv[3]) != 0) return fail(std::string("cannot write ") + argv[3]);
    std::cerr << "headroom-mkrank: " << argv[3] << ": " << table.tokens.size() << " tokens\n";
    return 0;
}
