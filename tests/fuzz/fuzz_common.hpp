// tests/fuzz/fuzz_common.hpp — what every fuzz target shares: a reader that turns the fuzz bytes
// into sizes, ids and values (never running out: past the end it returns zeros), poisoned
// buffers whose bytes are compared after a throw, and the check that stops the run on a broken
// contract (abort, so libFuzzer and the corpus replay both report the input).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

namespace fuzz {

// Stops the run with a message: the contract does not hold for this input.
[[noreturn]] inline void fail(const char* what, const char* file, int line) {
  std::fprintf(stderr, "fuzz contract violated at %s:%d: %s\n", file, line, what);
  std::abort();
}
#define FUZZ_CHECK(cond)                                   \
  do {                                                     \
    if (!(cond)) ::fuzz::fail(#cond, __FILE__, __LINE__);  \
  } while (0)

class bytes {
 public:
  bytes(const std::uint8_t* data, std::size_t size) : p_(data), n_(size) {}
  bool empty() const { return at_ >= n_; }
  std::size_t left() const { return at_ < n_ ? n_ - at_ : 0; }
  std::uint8_t u8() { return at_ < n_ ? p_[at_++] : 0; }
  std::uint16_t u16() { return static_cast<std::uint16_t>(u8() | (unsigned(u8()) << 8)); }
  std::uint32_t u32() { return u16() | (std::uint32_t(u16()) << 16); }
  std::uint64_t u64() { return u32() | (std::uint64_t(u32()) << 32); }
  bool flag() { return (u8() & 1) != 0; }
  // An integer in [lo, hi] (hi - lo < 2^32).
  std::uint64_t in(std::uint64_t lo, std::uint64_t hi) { return lo + u32() % (hi - lo + 1); }
  // A size: mostly small, sometimes an edge value that must be refused or handled without overflow.
  std::uint64_t size(std::uint64_t small_max) {
    const std::uint8_t sel = u8();
    if (sel < 224) return sel % (small_max + 1);
    static const std::uint64_t edges[] = {0,
                                          1,
                                          (std::uint64_t(1) << 31) - 1,
                                          std::uint64_t(1) << 31,
                                          (std::uint64_t(1) << 32) - 1,
                                          std::uint64_t(1) << 32,
                                          3000000000ull,
                                          (std::uint64_t(1) << 63) - 1,
                                          std::uint64_t(1) << 63,
                                          std::numeric_limits<std::uint64_t>::max(),
                                          std::numeric_limits<std::uint64_t>::max() - 1,
                                          (std::uint64_t(1) << 62) + 1};
    return edges[sel % (sizeof(edges) / sizeof(edges[0]))];
  }
  // A float/double value: a small grid (ties are likely), sometimes NaN, +-Inf, huge or tiny.
  template <class T>
  T value() {
    const std::uint8_t sel = u8();
    if (sel < 200) return static_cast<T>((static_cast<int>(sel % 17) - 8) * 0.25);
    switch (sel % 8) {
      case 0: return std::numeric_limits<T>::quiet_NaN();
      case 1: return std::numeric_limits<T>::infinity();
      case 2: return -std::numeric_limits<T>::infinity();
      case 3: return std::numeric_limits<T>::max();
      case 4: return std::numeric_limits<T>::denorm_min();
      case 5: return static_cast<T>(1e15);
      default: {
        T v;
        std::uint64_t raw = u64();
        std::memcpy(&v, &raw, sizeof(T));
        return v;
      }
    }
  }

 private:
  const std::uint8_t* p_;
  std::size_t n_;
  std::size_t at_ = 0;
};

// A buffer filled with a poison pattern; unchanged() compares it with the pattern byte for byte.
// The pattern is a valid value of every element type (0xA5 bytes: a negative integer, a finite
// float), so a buffer handed in as an input is also legal to read.
struct poisoned {
  std::vector<unsigned char> raw;
  explicit poisoned(std::size_t n_bytes) : raw(n_bytes + 64, 0xA5) {}
  // A copy holds the same bytes from base() on (its own base() may sit elsewhere in raw).
  poisoned(const poisoned& o) : raw(o.raw.size(), 0xA5) {
    std::memcpy(base(), const_cast<poisoned&>(o).base(), capacity());
  }
  poisoned& operator=(const poisoned&) = delete;
  // 64-byte aligned start, so element types of any size can be placed at multiples of 8.
  unsigned char* base() {
    auto p = reinterpret_cast<std::uintptr_t>(raw.data());
    return raw.data() + ((64 - (p & 63)) & 63);
  }
  std::size_t capacity() const { return raw.size() - 64; }
  // The bytes from base() on: what comparisons between copies use.
  std::vector<unsigned char> snapshot() { return std::vector<unsigned char>(base(), base() + capacity()); }
};

// Whether byte ranges [a, a + na) and [b, b + nb) share a byte.
inline bool bytes_overlap(const void* a, std::size_t na, const void* b, std::size_t nb) {
  if (na == 0 || nb == 0) return false;
  const auto pa = reinterpret_cast<std::uintptr_t>(a), pb = reinterpret_cast<std::uintptr_t>(b);
  return pa < pb + nb && pb < pa + na;
}

}  // namespace fuzz
