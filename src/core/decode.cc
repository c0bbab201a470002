#include "core/decode.h"

#include <brotli/decode.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <limits>
#include <new>

#include "core/text.h"

namespace headroom {

namespace {

constexpr std::size_t kFirstChunk = 64 * 1024;
constexpr int kZstdMinWindowLog = 10;  // ZSTD_WINDOWLOG_ABSOLUTEMIN
constexpr int kZstdMaxWindowLog = 27;  // zstd's own default limit
// libbrotli's tables besides its window, at most (a few hundred KB).
constexpr std::size_t kBrotliOverhead = 2 * 1024 * 1024;

std::string_view trim(std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
}

bool same_word(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (ascii_lower(a[i]) != b[i]) return false;
    }
    return true;
}

// A zlib header: deflate (8) with a window of 32 KB at most, and the
// check bits that make the first two bytes a multiple of 31.
bool zlib_header(unsigned char cmf, unsigned char flg) {
    return (cmf & 0x0f) == 8 && (cmf >> 4) <= 7 && ((cmf << 8) | flg) % 31 == 0;
}

}  // namespace

const char* encoding_name(Encoding e) {
    switch (e) {
    case Encoding::Identity: return "identity";
    case Encoding::Gzip: return "gzip";
    case Encoding::Deflate: return "deflate";
    case Encoding::Zstd: return "zstd";
    case Encoding::Brotli: return "br";
    }
    return "identity";
}

std::optional<Encoding> encoding_of(std::string_view value) {
    const std::string_view v = trim(value);
    if (same_word(v, "identity")) return Encoding::Identity;
    if (same_word(v, "gzip") || same_word(v, "x-gzip")) return Encoding::Gzip;
    if (same_word(v, "deflate")) return Encoding::Deflate;
    if (same_word(v, "zstd")) return Encoding::Zstd;
    if (same_word(v, "br")) return Encoding::Brotli;
    return std::nullopt;
}

struct Decoder::State {
    z_stream z{};
    bool z_open = false;
    ZSTD_DStream* zstd = nullptr;
    BrotliDecoderState* brotli = nullptr;
    // What libbrotli may allocate (its window and tables): the decoded
    // size allowed and a little more, so that a stream declaring a large
    // window costs no more memory than its output may.
    std::size_t brotli_budget = 0, brotli_used = 0;
    bool brotli_refused = false;
    bool ended = false;     // the last member or frame ended whole
    bool started = false;   // deflate: its wrapping is decided
    std::string head;       // deflate: a first byte waiting for its second

    ~State() {
        if (z_open) inflateEnd(&z);
        ZSTD_freeDStream(zstd);
        if (brotli != nullptr) BrotliDecoderDestroyInstance(brotli);
    }
};

// libbrotli's allocations, counted against the decoder's budget: each
// block carries its size in front.
void* Decoder::brotli_alloc(void* opaque, std::size_t size) {
    auto* st = static_cast<State*>(opaque);
    if (size > st->brotli_budget - std::min(st->brotli_budget, st->brotli_used)) {
        st->brotli_refused = true;
        return nullptr;
    }
    auto* block = static_cast<std::max_align_t*>(std::malloc(sizeof(std::max_align_t) + size));
    if (block == nullptr) return nullptr;
    *reinterpret_cast<std::size_t*>(block) = size;
    st->brotli_used += size;
    return block + 1;
}

void Decoder::brotli_free(void* opaque, void* address) {
    if (address == nullptr) return;
    auto* st = static_cast<State*>(opaque);
    auto* block = static_cast<std::max_align_t*>(address) - 1;
    st->brotli_used -= *reinterpret_cast<std::size_t*>(block);
    std::free(block);
}

Decoder::Decoder(Encoding encoding, const DecodeLimits& limits)
    : encoding_(encoding), limits_(limits), state_(new (std::nothrow) State) {
    if (!state_) {
        status_ = Status::OutOfMemory;
        return;
    }
    if (encoding_ == Encoding::Gzip) {
        // 16 + 15: a gzip wrapper, a window of up to 32 KB.
        if (inflateInit2(&state_->z, 16 + MAX_WBITS) != Z_OK) {
            status_ = Status::OutOfMemory;
            return;
        }
        state_->z_open = true;
        state_->started = true;
    } else if (encoding_ == Encoding::Zstd) {
        state_->zstd = ZSTD_createDStream();
        if (state_->zstd == nullptr) {
            status_ = Status::OutOfMemory;
            return;
        }
        // The window never needs to be larger than what may be decoded.
        int log = kZstdMinWindowLog;
        while (log < kZstdMaxWindowLog && (std::size_t(1) << log) < limits_.max_size) ++log;
        ZSTD_DCtx_setParameter(state_->zstd, ZSTD_d_windowLogMax, log);
    } else if (encoding_ == Encoding::Brotli) {
        state_->brotli_budget = limits_.max_size + kBrotliOverhead;
        state_->brotli = BrotliDecoderCreateInstance(brotli_alloc, brotli_free, state_.get());
        if (state_->brotli == nullptr) status_ = Status::OutOfMemory;
    }
}

Decoder::~Decoder() = default;

Decoder::Status Decoder::fail(Status s) {
    status_ = s;
    // The byte past the room that told "over" is not decoded output.
    size_ = std::min(size_, room());
    return s;
}

std::size_t Decoder::room() const {
    const std::size_t basis = std::max(limits_.declared, in_bytes_);
    std::size_t by_ratio = std::numeric_limits<std::size_t>::max();
    if (limits_.max_ratio != 0 && basis <= by_ratio / limits_.max_ratio) by_ratio = basis * limits_.max_ratio;
    return std::min(limits_.max_size, by_ratio);
}

// One byte past the room is allowed, to tell "exactly full" from "over".
bool Decoder::grow() {
    const std::size_t limit = room();
    if (size_ > limit) return false;
    const std::size_t want = std::min(std::max(capacity_ * 2, kFirstChunk), limit + 1);
    if (want <= capacity_) return capacity_ > size_;
    std::unique_ptr<char[]> bigger(new (std::nothrow) char[want]);
    if (!bigger) return false;
    if (size_ != 0) std::copy(out_.get(), out_.get() + size_, bigger.get());
    out_ = std::move(bigger);
    capacity_ = want;
    return true;
}

Decoder::Status Decoder::feed(std::string_view in, bool last) {
    if (status_ != Status::More) return status_;
    in_bytes_ += in.size();
    if (encoding_ == Encoding::Identity) {
        if (in.size() > room() - std::min(room(), size_)) return fail(Status::TooLarge);
        while (capacity_ - size_ < in.size()) {
            if (!grow()) return fail(size_ > room() ? Status::TooLarge : Status::OutOfMemory);
        }
        std::copy(in.begin(), in.end(), out_.get() + size_);
        size_ += in.size();
        state_->ended = true;
    } else if (encoding_ == Encoding::Zstd) {
        if (!in.empty() && unzstd(in) != Status::More) return status_;
    } else if (encoding_ == Encoding::Brotli) {
        if (!in.empty() && unbrotli(in) != Status::More) return status_;
    } else if (encoding_ == Encoding::Deflate && !state_->started) {
        state_->head.append(in.data(), in.size());
        if (state_->head.size() >= 2) {
            const auto* h = reinterpret_cast<const unsigned char*>(state_->head.data());
            const int bits = zlib_header(h[0], h[1]) ? MAX_WBITS : -MAX_WBITS;
            if (inflateInit2(&state_->z, bits) != Z_OK) return fail(Status::OutOfMemory);
            state_->z_open = true;
            state_->started = true;
            const std::string head = std::move(state_->head);
            if (inflate(head) != Status::More) return status_;
        }
    } else if (!in.empty()) {
        if (inflate(in) != Status::More) return status_;
    }
    if (!last) return status_;
    return fail(state_->ended ? Status::Done : Status::Error);
}

Decoder::Status Decoder::inflate(std::string_view in) {
    // Bodies are far below 4 GB (max_size); larger input would be cut here.
    if (in.size() > std::numeric_limits<uInt>::max()) return fail(Status::TooLarge);
    z_stream& z = state_->z;
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    for (;;) {
        if (state_->ended) {
            if (z.avail_in == 0) return status_;
            // Another gzip member follows; deflate has one stream only.
            if (encoding_ != Encoding::Gzip || inflateReset(&z) != Z_OK) return fail(Status::Error);
            state_->ended = false;
        }
        if (size_ == capacity_ && !grow()) return fail(size_ > room() ? Status::TooLarge : Status::OutOfMemory);
        z.next_out = reinterpret_cast<Bytef*>(out_.get() + size_);
        z.avail_out = static_cast<uInt>(std::min<std::size_t>(capacity_ - size_, std::numeric_limits<uInt>::max()));
        const uInt offered = z.avail_out;
        const int rc = ::inflate(&z, Z_NO_FLUSH);
        size_ += offered - z.avail_out;
        if (size_ > room()) return fail(Status::TooLarge);
        if (rc == Z_STREAM_END) {
            state_->ended = true;
            continue;
        }
        if (rc == Z_MEM_ERROR) return fail(Status::OutOfMemory);
        if (rc == Z_BUF_ERROR) return status_;  // no progress: more input wanted
        if (rc != Z_OK) return fail(Status::Error);
        if (z.avail_in == 0 && z.avail_out != 0) return status_;
    }
}

Decoder::Status Decoder::unzstd(std::string_view in) {
    ZSTD_inBuffer input{in.data(), in.size(), 0};
    for (;;) {
        if (size_ == capacity_ && !grow()) return fail(size_ > room() ? Status::TooLarge : Status::OutOfMemory);
        ZSTD_outBuffer output{out_.get() + size_, capacity_ - size_, 0};
        const std::size_t rc = ZSTD_decompressStream(state_->zstd, &output, &input);
        size_ += output.pos;
        if (size_ > room()) return fail(Status::TooLarge);
        if (ZSTD_isError(rc)) {
            switch (ZSTD_getErrorCode(rc)) {
            case ZSTD_error_memory_allocation: return fail(Status::OutOfMemory);
            // A window larger than what may be decoded: over the cap.
            case ZSTD_error_frameParameter_windowTooLarge: return fail(Status::TooLarge);
            default: return fail(Status::Error);
            }
        }
        // 0: a frame ended, whole and flushed; the next byte opens another.
        state_->ended = rc == 0;
        if (input.pos == input.size && output.pos < output.size) return status_;
    }
}

// One stream: bytes after its end are an error, as a second gzip member
// would not be for brotli.
Decoder::Status Decoder::unbrotli(std::string_view in) {
    const auto* next_in = reinterpret_cast<const std::uint8_t*>(in.data());
    std::size_t avail_in = in.size();
    for (;;) {
        if (state_->ended) return avail_in == 0 ? status_ : fail(Status::Error);
        if (size_ == capacity_ && !grow()) return fail(size_ > room() ? Status::TooLarge : Status::OutOfMemory);
        auto* next_out = reinterpret_cast<std::uint8_t*>(out_.get() + size_);
        std::size_t avail_out = capacity_ - size_;
        const std::size_t offered = avail_out;
        const BrotliDecoderResult rc =
            BrotliDecoderDecompressStream(state_->brotli, &avail_in, &next_in, &avail_out, &next_out, nullptr);
        size_ += offered - avail_out;
        if (size_ > room()) return fail(Status::TooLarge);
        switch (rc) {
        case BROTLI_DECODER_RESULT_SUCCESS: state_->ended = true; break;
        case BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT: return status_;
        case BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT: break;
        default: {
            // -21 to -30: an allocation failed (refused over the budget:
            // a window larger than what may be decoded).
            const int code = BrotliDecoderGetErrorCode(state_->brotli);
            if (code <= -21 && code >= -30) {
                return fail(state_->brotli_refused ? Status::TooLarge : Status::OutOfMemory);
            }
            return fail(Status::Error);
        }
        }
    }
}

}  // namespace headroom
