// Compressed request bodies, decoded as they arrive: gzip (every member of
// a multi-member stream, as Claude Code builds them block by block),
// deflate (zlib-wrapped or raw, told apart by the first two bytes), zstd
// (every frame of a concatenation) and brotli (one stream). Bounded before anything is
// allocated past the bound: the decoded bytes never exceed max_size, nor
// max_ratio times the compressed bytes (the declared length when the
// client sent one, else the bytes seen so far), so a bomb stops at the cap.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace headroom {

enum class Encoding : unsigned char { Identity, Gzip, Deflate, Zstd, Brotli };
inline constexpr std::size_t kEncodings = 5;

// "identity", "gzip", "deflate", "zstd", "br".
const char* encoding_name(Encoding e);

// The encoding one Content-Encoding value names: gzip, x-gzip, deflate,
// zstd, br, identity, in any case, blanks around allowed. nullopt for any
// other, and for a list ("gzip, br"): headroom decodes one layer.
std::optional<Encoding> encoding_of(std::string_view value);

struct DecodeLimits {
    std::size_t max_size = 0;      // decoded bytes at most
    std::size_t max_ratio = 100;   // decoded per compressed byte at most
    std::size_t declared = 0;      // the compressed length, 0 when unknown
};

class Decoder {
public:
    enum class Status { More, Done, TooLarge, Error, OutOfMemory };

    Decoder(Encoding encoding, const DecodeLimits& limits);
    ~Decoder();
    Decoder(const Decoder&) = delete;
    Decoder& operator=(const Decoder&) = delete;

    // Decodes the next compressed bytes; `last` when no more will come.
    // More until the stream ends whole at `last` (Done); past a limit,
    // on bytes that do not decode, or on a stream cut short, the status
    // stays what it became and further bytes are ignored.
    Status feed(std::string_view in, bool last);

    Status status() const { return status_; }
    std::string_view decoded() const { return std::string_view(out_.get(), size_); }
    std::size_t compressed_bytes() const { return in_bytes_; }

private:
    struct State;
    Status inflate(std::string_view in);
    Status unzstd(std::string_view in);
    Status unbrotli(std::string_view in);
    static void* brotli_alloc(void* opaque, std::size_t size);
    static void brotli_free(void* opaque, void* address);
    // Room for more output, within the limits; false when there is none.
    bool grow();
    std::size_t room() const;
    Status fail(Status s);

    Encoding encoding_;
    DecodeLimits limits_;
    Status status_ = Status::More;
    std::size_t in_bytes_ = 0;
    // The decoded bytes: not a std::string, which would zero what
    // the decoder writes over anyway.
    std::unique_ptr<char[]> out_;
    std::size_t size_ = 0, capacity_ = 0;
    std::unique_ptr<State> state_;
};

}  // namespace headroom
