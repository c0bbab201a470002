// Shared by the fuzz targets: the promises are checked with the unit
// tests' own gtest checks (t/unit/*_promise.h); a failed check outside a
// running test is recorded as an ad hoc failure, which ends the run here
// so that libFuzzer keeps the input that caused it.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace headroom_fuzz {

inline void fail_on_broken_promise() {
    if (::testing::UnitTest::GetInstance()->ad_hoc_test_result().Failed()) {
        std::fputs("headroom fuzz: a promise was broken (gtest failure above)\n", stderr);
        std::abort();
    }
}

// Reads the parameters a fuzz input starts with: one byte each, 0 when
// the input is shorter.
class Params {
public:
    Params(const std::uint8_t* data, std::size_t size, std::size_t n)
        : data_(data), size_(size < n ? size : n), n_(n) {}
    unsigned byte(std::size_t i) const { return i < size_ ? data_[i] : 0; }
    // What follows the parameter bytes.
    const char* rest() const { return reinterpret_cast<const char*>(data_) + size_; }
    std::size_t rest_size(std::size_t size) const { return size > n_ ? size - n_ : 0; }

private:
    const std::uint8_t* data_;
    std::size_t size_;
    std::size_t n_;
};

}  // namespace headroom_fuzz
