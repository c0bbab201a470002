// headroom: the command-line tool.
//   headroom count [--model M | --encoding E] [--tokenizers DIR] [FILE]
//   headroom compress [--uri PATH] [--tokenizers DIR] [FILE]
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "core/tokenizer/encoding.h"
#include "core/tokenizer/models.h"

#ifndef HEADROOM_TOKENIZER_DIR
#define HEADROOM_TOKENIZER_DIR "/usr/share/headroom/tokenizers"
#endif

namespace {

const char kUsage[] =
    "usage: headroom count [--model M | --encoding E] [--tokenizers DIR] [FILE]\n"
    "       headroom compress [--uri PATH] [--tokenizers DIR] [FILE]\n"
    "FILE defaults to standard input. Rank files are read from --tokenizers,\n"
    "else $HEADROOM_TOKENIZERS, else " HEADROOM_TOKENIZER_DIR ".\n";

struct Args {
    std::string command, model, encoding, uri = "/v1/chat/completions", file, dir;
};

int usage_error(const std::string& msg) {
    std::cerr << "headroom: " << msg << "\n" << kUsage;
    return 2;
}

bool read_input(const std::string& file, std::string& out, std::string& error) {
    std::ostringstream buf;
    if (file.empty() || file == "-") {
        buf << std::cin.rdbuf();
        if (std::cin.bad()) {
            error = "cannot read standard input";
            return false;
        }
    } else {
        std::ifstream in(file, std::ios::binary);
        if (!in) {
            error = "cannot open " + file + ": " + std::strerror(errno);
            return false;
        }
        buf << in.rdbuf();
        if (in.bad()) {
            error = "cannot read " + file;
            return false;
        }
    }
    out = buf.str();
    return true;
}

std::string tokenizer_dir(const Args& a) {
    if (!a.dir.empty()) return a.dir;
    if (const char* env = std::getenv("HEADROOM_TOKENIZERS")) return env;
    return HEADROOM_TOKENIZER_DIR;
}

int count(const Args& a) {
    if (!a.model.empty() && !a.encoding.empty()) {
        return usage_error("--model and --encoding exclude each other");
    }
    std::string encoding = a.encoding;
    if (encoding.empty()) {
        auto choice = headroom::tokenizer::encoding_for_model(a.model, {});
        encoding = a.model.empty() ? "o200k_base" : std::string(choice.encoding);
        if (!a.model.empty() && !choice.exact) {
            std::cerr << "headroom: " << a.model << ": tokenizer not public; "
                      << "counting with " << encoding << " as an estimate\n";
        }
    }
    if (encoding.find('/') != std::string::npos) return usage_error("bad encoding name");

    std::string error, text;
    auto enc = headroom::tokenizer::Encoding::load(tokenizer_dir(a) + "/" + encoding + ".tok", error);
    if (enc == nullptr) {
        std::cerr << "headroom: " << error << "\n";
        return 1;
    }
    if (!read_input(a.file, text, error)) {
        std::cerr << "headroom: " << error << "\n";
        return 1;
    }
    std::cout << enc->count(text) << "\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return usage_error("no command");
    Args a;
    a.command = argv[1];
    if (a.command == "-h" || a.command == "--help") {
        std::cout << kUsage;
        return 0;
    }
    for (int i = 2; i < argc; ++i) {
        std::string arg = argv[i];
        auto value = [&](std::string& into) {
            if (i + 1 >= argc) return false;
            into = argv[++i];
            return true;
        };
        bool ok = true;
        if (arg == "--model") ok = value(a.model);
        else if (arg == "--encoding") ok = value(a.encoding);
        else if (arg == "--uri") ok = value(a.uri);
        else if (arg == "--tokenizers") ok = value(a.dir);
        else if (arg.size() > 1 && arg[0] == '-' ) return usage_error("unknown option " + arg);
        else if (a.file.empty()) a.file = arg;
        else return usage_error("more than one FILE");
        if (!ok) return usage_error(arg + " needs a value");
    }
    try {
        if (a.command == "count") return count(a);
        return usage_error("unknown command " + a.command);
    } catch (const std::exception& e) {
        std::cerr << "headroom: " << e.what() << "\n";
        return 1;
    }
}
