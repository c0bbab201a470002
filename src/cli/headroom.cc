// headroom: the command-line tool.
//   headroom count [--model M | --encoding E] [--tokenizers DIR] [FILE]
//   headroom compress [--uri PATH] [--tokenizers DIR] [--stabilize-prefix]
//                     [--volatile-pattern LABEL=REGEX]... [--retire N]
//                     [--retire-batch T] [--fit] [--context-limit PREFIX=T]...
//                     [--summaries DIR [--summarize-turns N] [--summarize-batch T]]
//                     [FILE]
#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "core/pipeline.h"
#include "core/tokenizer/encoding.h"
#include "core/tokenizer/models.h"
#include "core/tokenizer/tokenizers.h"
#include "core/volatile_values.h"

#ifndef HEADROOM_TOKENIZER_DIR
#define HEADROOM_TOKENIZER_DIR "/usr/share/headroom/tokenizers"
#endif

namespace {

const char kUsage[] =
    "usage: headroom count [--model M | --encoding E] [--tokenizers DIR] [FILE]\n"
    "       headroom compress [--uri PATH] [--tokenizers DIR] [--stabilize-prefix]\n"
    "                         [--volatile-pattern LABEL=REGEX]... [--retire N]\n"
    "                         [--retire-batch T] [--fit] [--context-limit PREFIX=T]...\n"
    "                         [--summaries DIR [--summarize-turns N] [--summarize-batch T]]\n"
    "                         [FILE]\n"
    "--retire and --fit work as headroom_retire after=N and headroom_fit on\n"
    "(with headroom_ccr on: the markers name headroom_retrieve). --summaries\n"
    "DIR stands for headroom_summarize: a summary is read from DIR/<id>; one\n"
    "that is not there is asked for in DIR/<id>.ask (the location's body).\n"
    "FILE defaults to standard input. Rank files are read from --tokenizers,\n"
    "else $HEADROOM_TOKENIZERS, else " HEADROOM_TOKENIZER_DIR ".\n";

struct Args {
    std::string command, model, encoding, uri = "/v1/chat/completions", file, dir;
    bool stabilize_prefix = false;
    std::vector<headroom::VolatilePatterns::Extra> volatile_patterns;
    std::string retire_after, retire_batch, summaries, summarize_turns, summarize_batch;
    bool fit = false;
    headroom::ContextLimits context_limits;
};

// A count from the command line; false when it is not one.
bool parse_count(const std::string& s, std::size_t& out) {
    if (s.empty() || s.size() > 15 || s.find_first_not_of("0123456789") != std::string::npos) return false;
    out = std::stoull(s);
    return true;
}

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
        // An ifstream opens a directory and reads nothing from it.
        struct stat st;
        if (::stat(file.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
            error = "cannot read " + file + ": " + std::strerror(EISDIR);
            return false;
        }
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

// Runs the module's pipeline on a captured request body. stdout gets the
// bytes the module would forward; stderr one line of figures. A body the
// module could not read at all is an error here: nothing on stdout.
int compress(const Args& a) {
    std::string error, body;
    if (!read_input(a.file, body, error)) {
        std::cerr << "headroom: " << error << "\n";
        return 1;
    }
    auto tokenizers = headroom::tokenizer::Tokenizers::load(tokenizer_dir(a), {}, error);
    if (tokenizers == nullptr) {
        std::cerr << "headroom: " << error << "\n";
        return 1;
    }
    headroom::Settings settings;
    settings.tokenizers = tokenizers;
    settings.volatile_patterns = headroom::VolatilePatterns::compile(a.volatile_patterns, error);
    if (settings.volatile_patterns == nullptr) {
        std::cerr << "headroom: --volatile-pattern " << error << "\n";
        return 1;
    }
    settings.stabilize_prefix = a.stabilize_prefix;
    if (!a.retire_after.empty()) {
        settings.retire = true;
        if (!parse_count(a.retire_after, settings.retire_after)) return usage_error("--retire takes a count");
    }
    if (!a.retire_batch.empty() && !parse_count(a.retire_batch, settings.retire_batch)) {
        return usage_error("--retire-batch takes a count");
    }
    settings.fit = a.fit;
    settings.context_limits = a.context_limits;
    if (!a.summaries.empty()) {
        settings.summarize = true;
        if (!a.summarize_turns.empty()) {
            settings.summarize_turns = true;
            if (!parse_count(a.summarize_turns, settings.summarize_after)) {
                return usage_error("--summarize-turns takes a count");
            }
        }
        if (!a.summarize_batch.empty() && !parse_count(a.summarize_batch, settings.summarize_batch)) {
            return usage_error("--summarize-batch takes a count");
        }
    } else if (!a.summarize_turns.empty() || !a.summarize_batch.empty()) {
        return usage_error("--summarize-turns needs --summaries");
    }
    settings.ccr = settings.retire || settings.fit || settings.summarize;
    auto config = headroom::Config::compile(std::move(settings), error);
    if (config == nullptr) {
        std::cerr << "headroom: " << error << "\n";
        return 1;
    }
    std::string path = a.uri.substr(0, a.uri.find('?'));
    // The store of summaries: files in a directory.
    std::string kept;
    const headroom::retrieval::Lookup lookup = [&](std::string_view id) {
        using Stored = headroom::retrieval::Stored;
        std::string text, why;
        struct stat st;
        const std::string file = a.summaries + "/" + std::string(id);
        if (::stat(file.c_str(), &st) != 0 || !read_input(file, text, why)) return Stored{Stored::State::Missing, {}};
        kept = std::move(text);
        return Stored{Stored::State::Found, kept};
    };
    headroom::Wants wants;
    if (!a.summaries.empty()) wants.lookup = &lookup;
    headroom::Result r = headroom::process(path, body, *config, wants);
    for (const headroom::SummaryWanted& w : r.summaries_wanted) {
        std::ofstream ask(a.summaries + "/" + w.id + ".ask", std::ios::binary);
        ask.write(w.body.data(), static_cast<std::streamsize>(w.body.size()));
        if (!ask) {
            std::cerr << "headroom: cannot write " << a.summaries << "/" << w.id << ".ask\n";
            return 1;
        }
    }

    const bool rewritten = r.outcome == headroom::Outcome::Rewritten;
    if (!rewritten && r.reason != headroom::Reason::NoChange && r.reason != headroom::Reason::NotSmaller) {
        std::cerr << "headroom: cannot compress: " << headroom::reason_name(r.reason)
                  << (r.detail.empty() ? "" : ": ") << r.detail << " (" << path << ")\n";
        return 1;
    }
    const char* reason = rewritten ? "optimized" : headroom::reason_name(r.reason);

    const std::string& out = r.outcome == headroom::Outcome::Rewritten ? r.body : body;
    std::cout.write(out.data(), static_cast<std::streamsize>(out.size()));
    std::cout.flush();
    if (!std::cout) {
        std::cerr << "headroom: cannot write the output\n";
        return 1;
    }

    double saved = r.tokens_before ? 100.0 * double(r.tokens_before - r.tokens_after) /
                                         double(r.tokens_before)
                                   : 0.0;
    char pct[32];
    std::snprintf(pct, sizeof pct, "%.1f%%", saved);
    std::cerr << "headroom: " << reason << " " << r.shape << ": tokens "
              << r.tokens_before << " -> " << r.tokens_after << " (-" << pct << ", " << r.encoding
              << (r.tokens_estimated ? ", estimated" : "") << ") in " << r.tool_outputs
              << " tool outputs; bytes " << body.size() << " -> " << out.size()
              << "; transforms: minified x" << r.minified << ", crushed x" << r.crushed
              << " (" << r.omitted << " items or lines omitted)\n"
              << "headroom: prefix " << r.prefix_hash << ": values moved x" << r.volatile_moved
              << ", tools sorted x" << r.tools_sorted << ", cache breakpoints x"
              << r.breakpoints_added << ", prompt_cache_key x" << r.cache_key_set << "\n";
    const auto retired = r.by_transform[static_cast<std::size_t>(headroom::Transform::Retire)].applied;
    if (!a.summaries.empty()) {
        std::cerr << "headroom: summaries: " << r.summaries_used << " used, " << r.turns_summarized
                  << " turns summarized, " << r.summaries_wanted.size() << " asked for\n";
    }
    if (a.fit || retired > 0) {
        std::cerr << "headroom: retired x" << retired << "; fit "
                  << (r.fit == headroom::FitState::Fitted ? "yes" : r.fit == headroom::FitState::Failed ? "failed" : "no")
                  << ": " << r.fit_tokens_before << " -> " << r.fit_tokens_after << " tokens (budget " << r.fit_budget
                  << "), " << r.fit_turns_dropped << " turns dropped, " << r.fit_outputs_retired
                  << " outputs retired\n";
    }
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
        else if (arg == "--stabilize-prefix") a.stabilize_prefix = true;
        else if (arg == "--retire") ok = value(a.retire_after);
        else if (arg == "--retire-batch") ok = value(a.retire_batch);
        else if (arg == "--fit") a.fit = true;
        else if (arg == "--summaries") ok = value(a.summaries);
        else if (arg == "--summarize-turns") ok = value(a.summarize_turns);
        else if (arg == "--summarize-batch") ok = value(a.summarize_batch);
        else if (arg == "--context-limit") {
            std::string spec;
            ok = value(spec);
            const std::size_t eq = spec.find('=');
            std::size_t tokens = 0;
            if (ok && (eq == std::string::npos || eq == 0 || !parse_count(spec.substr(eq + 1), tokens))) {
                return usage_error("--context-limit takes PREFIX=TOKENS");
            }
            if (ok) a.context_limits.emplace_back(spec.substr(0, eq), tokens);
        }
        else if (arg == "--volatile-pattern") {
            std::string spec;
            ok = value(spec);
            std::size_t eq = spec.find('=');
            if (ok && (eq == std::string::npos || eq == 0)) {
                return usage_error("--volatile-pattern takes LABEL=REGEX");
            }
            if (ok) a.volatile_patterns.push_back({spec.substr(0, eq), spec.substr(eq + 1)});
        }
        else if (arg.size() > 1 && arg[0] == '-' ) return usage_error("unknown option " + arg);
        else if (a.file.empty()) a.file = arg;
        else return usage_error("more than one FILE");
        if (!ok) return usage_error(arg + " needs a value");
    }
    try {
        if (a.command == "count") return count(a);
        if (a.command == "compress") return compress(a);
        return usage_error("unknown command " + a.command);
    } catch (const std::exception& e) {
        std::cerr << "headroom: " << e.what() << "\n";
        return 1;
    }
}
