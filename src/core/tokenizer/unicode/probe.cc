// Prints, for each Unicode property tiktoken's patterns use, the code point
// ranges this PCRE2 build matches: "PROP FIRST LAST" per line, hex.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <cstdio>
#include <string>

int main() {
    const char* props[] = {"L", "Lu", "Ll", "Lt", "Lm", "Lo", "M", "N", "s"};
    for (const char* p : props) {
        std::string pat = std::string(p) == "s" ? "^\\s$" : std::string("^\\p{") + p + "}$";
        int err;
        PCRE2_SIZE off;
        pcre2_code* re = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pat.c_str()), pat.size(),
                                       PCRE2_UTF | PCRE2_UCP, &err, &off, nullptr);
        pcre2_match_data* md = pcre2_match_data_create_from_pattern(re, nullptr);
        long start = -1;
        for (long cp = 0; cp <= 0x110000; ++cp) {
            bool in = false;
            if (cp < 0x110000 && (cp < 0xD800 || cp > 0xDFFF)) {
                unsigned char buf[4];
                size_t n;
                if (cp < 0x80) { buf[0] = cp; n = 1; }
                else if (cp < 0x800) { buf[0] = 0xC0 | (cp >> 6); buf[1] = 0x80 | (cp & 0x3F); n = 2; }
                else if (cp < 0x10000) { buf[0] = 0xE0 | (cp >> 12); buf[1] = 0x80 | ((cp >> 6) & 0x3F); buf[2] = 0x80 | (cp & 0x3F); n = 3; }
                else { buf[0] = 0xF0 | (cp >> 18); buf[1] = 0x80 | ((cp >> 12) & 0x3F); buf[2] = 0x80 | ((cp >> 6) & 0x3F); buf[3] = 0x80 | (cp & 0x3F); n = 4; }
                in = pcre2_match(re, buf, n, 0, 0, md, nullptr) >= 0;
            }
            if (in && start < 0) start = cp;
            if (!in && start >= 0) {
                std::printf("%s %lX %lX\n", p, start, cp - 1);
                start = -1;
            }
        }
        pcre2_match_data_free(md);
        pcre2_code_free(re);
    }
    return 0;
}
