// benchmarks/peer/workload.hpp — the benchmark workload W (DESIGN.md §4) and its data, shared by
// the Google Benchmark suites (benchmarks/bench_*.cpp) and the PyTorch peer's driver
// (benchmarks/peer/brmrs_peer.cpp), so every measurement runs on the very same bytes.
//
// W: M = 2 modalities, d = 64 each, d_f = 64, B = 2048 examples, K = 64 candidates, 100 000
// users, n_items = 100 000 (out of cache), 2 000 (in cache) or 1 000 000 (2 x 256 MB item
// tables: the DRAM selection shape). BRMRS_BENCH_SMOKE=1 shrinks every shape (a check that the
// benchmark runs, not a timing).
// Values are a pure function of (table, row, column, seed): splitmix64 of the flat position,
// mapped to [-0.25, 0.25). benchmarks/peer/peer.py reads the same data from the files that
// brmrs_peer --dump writes, it does not regenerate it.
// Tables live in 2 MiB-aligned buffers advised MADV_HUGEPAGE (Linux transparent huge pages): a
// random row gather over 512 MB otherwise pays a TLB miss per row, and the roofline probe
// (bench_roofline.cpp) uses the same allocation, so the two are comparable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include <brmrs/objective_types.hpp>
#include <brmrs/views.hpp>

namespace brmrs_bench {

inline bool smoke() {
  const char* s = std::getenv("BRMRS_BENCH_SMOKE");
  return s != nullptr && std::strcmp(s, "0") != 0 && s[0] != '\0';
}

inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

struct free_deleter {
  void operator()(void* p) const noexcept { std::free(p); }
};

// An owning buffer of n elements, 2 MiB aligned and advised for huge pages.
template <class T>
struct huge_buffer {
  std::unique_ptr<T, free_deleter> ptr;
  std::size_t n = 0;
  huge_buffer() = default;
  explicit huge_buffer(std::size_t count) : n(count) {
    constexpr std::size_t align = std::size_t(2) << 20;
    std::size_t bytes = (count * sizeof(T) + align - 1) / align * align;
    if (bytes == 0) bytes = align;
    ptr.reset(static_cast<T*>(std::aligned_alloc(align, bytes)));
    if (!ptr) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    madvise(ptr.get(), bytes, MADV_HUGEPAGE);
#endif
  }
  T* data() const { return ptr.get(); }
  std::size_t size() const { return n; }
  T& operator[](std::size_t i) const { return ptr.get()[i]; }
};

struct shape {
  std::size_t M = 2, d = 64, d_f = 64, B = 2048, K = 64, n_users = 100000, n_items = 100000;
  // The smoke variant of a shape: tiny, same structure.
  shape smoke_version() const {
    shape s = *this;
    s.B = 64;
    s.n_users = 500;
    s.n_items = n_items > 2000 ? 4000 : 300;
    return s;
  }
};

// Fills n values of table `t` with the hash of (seed, t, flat index) mapped to [-0.25, 0.25).
template <class T>
void fill_table(T* p, std::size_t n, std::uint64_t seed, std::uint64_t t) {
  const std::uint64_t base = splitmix64(seed * 0x100000001B3ull + t);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t h = splitmix64(base ^ (static_cast<std::uint64_t>(i) * 0xD6E8FEB86659FD93ull));
    p[i] = static_cast<T>(static_cast<double>(h >> 40) * (1.0 / 16777216.0) * 0.5 - 0.25);
  }
}

template <class T, class Id = std::int32_t>
struct workload {
  shape s;
  std::vector<huge_buffer<T>> user, item;  // M each, n_users x d / n_items x d
  huge_buffer<T> fused_user, fused_item;
  std::vector<Id> users, positives, negatives, pools;

  explicit workload(shape sh, std::uint64_t seed = 1) : s(sh) {
    for (std::size_t m = 0; m < s.M; ++m) {
      user.emplace_back(s.n_users * s.d);
      item.emplace_back(s.n_items * s.d);
      fill_table(user.back().data(), s.n_users * s.d, seed, 2 * m);
      fill_table(item.back().data(), s.n_items * s.d, seed, 2 * m + 1);
    }
    fused_user = huge_buffer<T>(s.n_users * s.d_f);
    fused_item = huge_buffer<T>(s.n_items * s.d_f);
    fill_table(fused_user.data(), s.n_users * s.d_f, seed, 1000);
    fill_table(fused_item.data(), s.n_items * s.d_f, seed, 1001);
    users.resize(s.B);
    positives.resize(s.B);
    negatives.resize(s.B);
    pools.resize(s.B * s.K);
    const std::uint64_t ks = splitmix64(seed ^ 0xABCDEFull);
    for (std::size_t b = 0; b < s.B; ++b) {
      users[b] = static_cast<Id>(splitmix64(ks + 4 * b) % s.n_users);
      positives[b] = static_cast<Id>(splitmix64(ks + 4 * b + 1) % s.n_items);
      negatives[b] = static_cast<Id>(splitmix64(ks + 4 * b + 2) % s.n_items);
      for (std::size_t k = 0; k < s.K; ++k)
        pools[b * s.K + k] = static_cast<Id>(splitmix64(ks ^ (0x5555ull + b * s.K + k) * 0x9E3779B1ull) % s.n_items);
    }
  }

  brmrs::dot_tables<T> tables() const {
    brmrs::dot_tables<T> t;
    for (std::size_t m = 0; m < s.M; ++m) {
      t.user.emplace_back(user[m].data(), s.n_users, s.d);
      t.item.emplace_back(item[m].data(), s.n_items, s.d);
    }
    t.fused_user = brmrs::matrix_view<const T>(fused_user.data(), s.n_users, s.d_f);
    t.fused_item = brmrs::matrix_view<const T>(fused_item.data(), s.n_items, s.d_f);
    return t;
  }

  // With explicit negatives (the peer uses the same i-) or the pool-member draw.
  brmrs::batch<Id> make_batch(bool explicit_negatives = true) const {
    brmrs::batch<Id> b;
    b.users = brmrs::vector_view<const Id>(users.data(), s.B);
    b.positives = brmrs::vector_view<const Id>(positives.data(), s.B);
    b.pools = brmrs::matrix_view<const Id>(pools.data(), s.B, s.K);
    if (explicit_negatives) b.negatives = brmrs::vector_view<const Id>(negatives.data(), s.B);
    return b;
  }

  // Bytes of item rows one selection pass gathers (all modalities).
  double selection_bytes() const {
    return static_cast<double>(s.B * s.K * s.M * s.d * sizeof(T));
  }
};

// Per-example gradient rows (what an autograd host takes back), owned.
template <class T>
struct row_buffers {
  std::vector<std::vector<T>> user, positive, negative, hard;
  std::vector<T> fu, fp, fn;
  brmrs::gradient_rows<T> views;
  explicit row_buffers(const shape& s) {
    for (std::size_t m = 0; m < s.M; ++m) {
      user.emplace_back(s.B * s.d);
      positive.emplace_back(s.B * s.d);
      negative.emplace_back(s.B * s.d);
      hard.emplace_back(s.B * s.M * s.d);
    }
    fu.resize(s.B * s.d_f);
    fp.resize(s.B * s.d_f);
    fn.resize(s.B * s.d_f);
    for (std::size_t m = 0; m < s.M; ++m) {
      views.user.emplace_back(user[m].data(), s.B, s.d);
      views.positive.emplace_back(positive[m].data(), s.B, s.d);
      views.negative.emplace_back(negative[m].data(), s.B, s.d);
      views.hard.emplace_back(hard[m].data(), s.B * s.M, s.d);
    }
    views.fused_user = brmrs::matrix_view<T>(fu.data(), s.B, s.d_f);
    views.fused_positive = brmrs::matrix_view<T>(fp.data(), s.B, s.d_f);
    views.fused_negative = brmrs::matrix_view<T>(fn.data(), s.B, s.d_f);
  }
};

}  // namespace brmrs_bench
