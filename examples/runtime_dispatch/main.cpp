// examples/runtime_dispatch — opt-in runtime dispatch of the SIMD backend.
//
// brmrs's default backend is chosen at compile time (simd_backend<xsimd::default_arch>, the best
// instruction set the compiler flags allow). A program shipped to unknown CPUs instead compiles
// the kernels once per instruction set, each in its own translation unit with its own flags
// (select_sse2.cpp, select_avx2.cpp, select_avx512.cpp), and picks one at run time with
// xsimd::dispatch, which reads CPUID once. This file is compiled for the baseline x86-64 CPU.
// The program selects hard negatives for a small batch with the dispatched kernels and checks
// every choice against brmrs's scalar reference (the inputs are small integers, so every score is
// exact and the ids must match). Then it draws negative pools with the dispatched sampler kernel
// (draw_pools.hpp: AVX-512, AVX2 or the portable loop) and checks them against brmrs::sample_pools
// of this baseline build, id for id. It prints the instruction set it ran and exits 0 when both agree.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <vector>

#include <brmrs/backend/scalar/kernels.hpp>
#include <brmrs/interactions.hpp>
#include <brmrs/sampler.hpp>

#include "draw_pools.hpp"
#include "score_pools.hpp"

// Whether this CPU runs Arch: xsimd::dispatch's own rule (the best instruction set CPUID reports,
// ordered by xsimd's version numbers). Arch::available() only says the type is compiled in: it is
// true for avx512bw on a CPU without AVX-512 (SIGILL on a Zen 3).
template <class Arch>
bool runs_here(Arch) {
  return Arch::version() <= xsimd::available_architectures().best;
}

// Pools for a batch over random interactions (degrees from 0 to ~600 and one of 4 500, so the AVX
// kernels take each of their rank paths: vector count, blocked count, gathered search; the AVX-512
// kernel's 16-bit paths below 65 536 items, its 32-bit ones above) by the dispatched kernel and by
// every kernel this CPU runs, against brmrs::sample_pools of the baseline build; returns the
// number of ids that differ.
std::size_t check_sampler(std::size_t n_items) {
  const std::size_t n_users = 40, B = 96, K = 70;
  std::uint32_t x = 777;
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
  };
  std::vector<std::int32_t> pu, pi;
  for (std::size_t k = 0; k < 4500; ++k) pu.push_back(0), pi.push_back(static_cast<std::int32_t>(k));
  for (std::size_t u = 1; u < n_users; ++u)
    for (std::size_t k = 0, n = (u * u * 3) % 650; k < n; ++k)
      pu.push_back(static_cast<std::int32_t>(u)), pi.push_back(static_cast<std::int32_t>(next() % n_items));
  const auto store = brmrs::interactions<std::int32_t>::from_pairs(n_users, n_items, pu, pi);
  std::vector<std::int32_t> users(B);
  for (auto& u : users) u = static_cast<std::int32_t>(next() % n_users);
  users[5] = 0;
  const std::uint64_t seed = 11, step = 3, offset = 500;
  std::vector<std::int32_t> ref(B * K), got(B * K);
  brmrs::sample_pools(store, brmrs::vector_view<const std::int32_t>(users.data(), B), seed, step, offset,
                      brmrs::matrix_view<std::int32_t>(ref.data(), B, K));
  std::vector<const std::int32_t*> rows(B);
  std::vector<std::uint64_t> degrees(B);
  for (std::size_t b = 0; b < B; ++b) {
    rows[b] = store.items_of(static_cast<std::size_t>(users[b])).data();
    degrees[b] = store.degree(static_cast<std::size_t>(users[b]));
  }
  const pool_draw draw{B, K, n_items, seed, step, offset, rows.data(), degrees.data(), got.data()};
  auto differing = [&] {
    std::size_t diff = 0;
    for (std::size_t i = 0; i < got.size(); ++i) diff += got[i] != ref[i];
    return diff;
  };
  xsimd::dispatch<dispatch_archs>(draw_pools{})(draw);
  std::size_t mismatches = differing();
  std::printf("sampler, %zu items: %zu of %zu pool ids differ from brmrs::sample_pools\n", n_items, mismatches,
              ref.size());
  dispatch_archs::for_each([&](auto arch) {
    if (!runs_here(arch)) return;
    got.assign(got.size(), -1);
    draw_pools{}(arch, draw);
    const std::size_t diff = differing();
    std::printf("  %-10s %zu differ\n", decltype(arch)::name(), diff);
    mismatches += diff;
  });
  return mismatches;
}

int main() {
  const int M = 2;
  const std::size_t B = 64, K = 50, d = 37, n_users = 20, n_items = 300;
  std::vector<float> user(static_cast<std::size_t>(M) * n_users * d), item(static_cast<std::size_t>(M) * n_items * d);
  std::uint32_t x = 12345;
  auto next = [&x] {  // xorshift32: small integers in [-3, 3]
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return static_cast<float>(static_cast<int>(x % 7) - 3);
  };
  for (auto& v : user) v = next();
  for (auto& v : item) v = next();
  std::vector<std::int32_t> users(B), pools(B * K);
  for (auto& u : users) u = static_cast<std::int32_t>(static_cast<std::uint32_t>(next() + 3) * 3 % n_users);
  for (std::size_t i = 0; i < pools.size(); ++i) {
    next();
    pools[i] = static_cast<std::int32_t>(x % n_items);
  }
  std::vector<const float*> user_rows(B * M), item_base(M);
  std::vector<std::size_t> stride(M, d), dims(M, d);
  for (int m = 0; m < M; ++m) item_base[static_cast<std::size_t>(m)] = item.data() + static_cast<std::size_t>(m) * n_items * d;
  for (std::size_t b = 0; b < B; ++b)
    for (int m = 0; m < M; ++m)
      user_rows[b * M + static_cast<std::size_t>(m)] =
          user.data() + (static_cast<std::size_t>(m) * n_users + static_cast<std::size_t>(users[b])) * d;
  std::vector<float> scores(M * K);
  std::vector<std::size_t> best(B * M), ref(B * M);
  const pool_batch batch{M, B, K, user_rows.data(), item_base.data(), stride.data(), dims.data(),
                         pools.data(), scores.data(), best.data()};

  const char* isa = "none";
  dispatch_archs::for_each([&isa](auto arch) {
    if (isa[0] == 'n' && runs_here(arch)) isa = decltype(arch)::name();
  });
  auto dispatched = xsimd::dispatch<dispatch_archs>(score_pools{});
  dispatched(batch);

  for (std::size_t b = 0; b < B; ++b)
    brmrs::backend::scalar::kernels::select_hard<float, std::int32_t>(M, user_rows.data() + b * M, item_base.data(),
                                                                      stride.data(), dims.data(), pools.data() + b * K,
                                                                      K, scores.data(), ref.data() + b * M);
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < best.size(); ++i) mismatches += best[i] != ref[i];
  std::printf("runtime dispatch: ran %s kernels; %zu of %zu hard negatives differ from the scalar reference\n", isa,
              mismatches, best.size());
  // Every other instruction set this CPU can run must agree too (exercises all three units).
  dispatch_archs::for_each([&](auto arch) {
    if (!runs_here(arch)) return;
    std::vector<std::size_t> again(B * M);
    pool_batch p = batch;
    p.best = again.data();
    score_pools{}(arch, p);
    std::size_t diff = 0;
    for (std::size_t i = 0; i < again.size(); ++i) diff += again[i] != ref[i];
    std::printf("  %-10s %zu differ\n", decltype(arch)::name(), diff);
    mismatches += diff;
  });
  mismatches += check_sampler(5000) + check_sampler(70000);
  return mismatches == 0 ? 0 : 1;
}
