// CUDA sample_pools against brmrs::sample_pools on the CPU: pools and negatives bit-identical
// (both negative sources, int32 and int64 ids, padded pool rows, a sharded batch offset), on fresh
// random interactions that include a user with every item but one observed and users with none;
// pools poisoned before the run, fully written after it, padding untouched; a user with no
// unobserved item or out of range throws brmrs::invalid_argument before anything is written.
// Exit 77 (skip) without a GPU.
#include <brmrs/backend/cuda/sampler.cuh>
#include <brmrs/interactions.hpp>
#include <brmrs/sampler.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "cuda_test_util.cuh"

namespace {

using brmrs::backend::cuda::device_buffer;
using namespace brmrs_cuda_test;

template <class Id>
void run(std::uint64_t seed, std::size_t n_users, std::size_t n_items, std::size_t B, std::size_t K,
         brmrs::negative_source source) {
  const std::string tag = "sampler n_users " + std::to_string(n_users) + " n_items " + std::to_string(n_items) + " B " +
                          std::to_string(B) + " K " + std::to_string(K) + " seed " + std::to_string(seed);
  std::mt19937_64 rng(seed);
  std::vector<Id> pu, pi;
  for (std::size_t u = 0; u < n_users; ++u) {
    // Degrees from 0 to n_items - 1: user 0 has none, user 1 all items but one.
    std::size_t deg = u == 0 ? 0 : u == 1 ? n_items - 1 : rng() % (std::min<std::size_t>(n_items / 2, 500) + 1);
    for (std::size_t j = 0; j < deg; ++j) {
      pu.push_back(static_cast<Id>(u));
      pi.push_back(u == 1 ? static_cast<Id>(j < n_items / 3 ? j : j + 1) : static_cast<Id>(rng() % n_items));
    }
  }
  const auto observed = brmrs::interactions<Id>::from_pairs(n_users, n_items, brmrs::vector_view<const Id>(pu.data(), pu.size()),
                                                          brmrs::vector_view<const Id>(pi.data(), pi.size()));
  std::vector<Id> users(B);
  for (std::size_t b = 0; b < B; ++b) users[b] = static_cast<Id>(b < 2 ? b : rng() % n_users);
  const std::uint64_t dseed = rng(), step = rng() % 1000, offset = rng() % 100000;
  const std::size_t stride = K + 3;

  std::vector<Id> pools_cpu(B * stride, Id(-9)), neg_cpu(B, Id(-9));
  brmrs::sample_pools(observed, brmrs::vector_view<const Id>(users.data(), B), dseed, step, offset,
                      brmrs::matrix_view<Id>(pools_cpu.data(), B, K, stride), brmrs::vector_view<Id>(neg_cpu.data(), B),
                      source);

  const auto dev = brmrs::backend::cuda::device_interactions<Id>::upload(observed);
  auto users_d = to_device(users);
  auto pools_d = to_device(std::vector<Id>(B * stride, Id(-9)));
  auto neg_d = to_device(std::vector<Id>(B, Id(-9)));
  brmrs::backend::cuda::sample_pools(dev.view(), brmrs::vector_view<const Id>(users_d.data(), B), dseed, step, offset,
                                     brmrs::matrix_view<Id>(pools_d.data(), B, K, stride),
                                     brmrs::vector_view<Id>(neg_d.data(), B), source, 0);
  BRMRS_CUDA_CHECK(cudaDeviceSynchronize());
  const auto pools_gpu = to_host(pools_d);
  const auto neg_gpu = to_host(neg_d);
  std::size_t diff = 0, unwritten = 0, pad = 0, observed_hit = 0;
  for (std::size_t b = 0; b < B; ++b) {
    for (std::size_t k = 0; k < K; ++k) {
      const Id g = pools_gpu[b * stride + k];
      diff += g != pools_cpu[b * stride + k];
      unwritten += g == Id(-9);
      if (g >= Id(0) && static_cast<std::size_t>(g) < n_items)
        observed_hit += observed.contains(static_cast<std::size_t>(users[b]), static_cast<std::size_t>(g));
    }
    for (std::size_t k = K; k < stride; ++k) pad += pools_gpu[b * stride + k] != Id(-9);
  }
  CT_CHECK(diff == 0, tag + ": " + std::to_string(diff) + " pool ids differ from the CPU's");
  CT_CHECK(unwritten == 0, tag + ": pool entries not written");
  CT_CHECK(pad == 0, tag + ": pool padding written");
  CT_CHECK(observed_hit == 0, tag + ": an observed item was drawn");
  CT_CHECK(neg_gpu == neg_cpu, tag + ": negatives differ from the CPU's");
  // User 1 has exactly one unobserved item: n_items / 3.
  for (std::size_t k = 0; k < K; ++k)
    CT_CHECK(pools_gpu[stride + k] == static_cast<Id>(n_items / 3), tag + ": the only free item of user 1");

  // Errors: a user with every item observed, then one out of range; outputs untouched.
  std::vector<Id> full_pu, full_pi;
  for (std::size_t j = 0; j < n_items; ++j) {
    full_pu.push_back(Id(2));
    full_pi.push_back(static_cast<Id>(j));
  }
  const auto full = brmrs::interactions<Id>::from_pairs(n_users, n_items, brmrs::vector_view<const Id>(full_pu.data(), full_pu.size()),
                                                      brmrs::vector_view<const Id>(full_pi.data(), full_pi.size()));
  const auto full_d = brmrs::backend::cuda::device_interactions<Id>::upload(full);
  for (int which = 0; which < 2; ++which) {
    std::vector<Id> bad_users = users;
    // In `full` only user 2 has items, all of them: make B / 2 the only position holding user 2.
    for (auto& u : bad_users)
      if (u == Id(2)) u = Id(3);
    bad_users[B / 2] = which == 0 ? Id(2) : static_cast<Id>(n_users + 5);
    auto bad_d = to_device(bad_users);
    auto p2 = to_device(std::vector<Id>(B * stride, Id(-9)));
    std::string msg;
    try {
      brmrs::backend::cuda::sample_pools((which == 0 ? full_d : dev).view(), brmrs::vector_view<const Id>(bad_d.data(), B),
                                         dseed, step, offset, brmrs::matrix_view<Id>(p2.data(), B, K, stride), {}, source, 0);
    } catch (const brmrs::invalid_argument& e) {
      msg = e.what();
    }
    BRMRS_CUDA_CHECK(cudaDeviceSynchronize());
    const std::string want = "users[" + std::to_string(B / 2) + "]";
    CT_CHECK(msg.find(want) != std::string::npos, tag + ": expected an error naming " + want + ", got '" + msg + "'");
    const auto after = to_host(p2);
    CT_CHECK(after == std::vector<Id>(B * stride, Id(-9)), tag + ": pools written before the throw");
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (const int skip = skip_without_device()) return skip;
  std::uint64_t seed = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : std::random_device{}();
  std::printf("seed %llu (rerun with: %s %llu)\n", static_cast<unsigned long long>(seed), argv[0],
              static_cast<unsigned long long>(seed));
  try {
    run<std::int32_t>(seed, 40, 97, 300, 64, brmrs::negative_source::pool_member);
    run<std::int64_t>(seed + 1, 25, 1000, 129, 7, brmrs::negative_source::complement);
    run<std::int32_t>(seed + 2, 300, 100000, 2048, 64, brmrs::negative_source::pool_member);
    run<std::int64_t>(seed + 3, 10, 5, 33, 1, brmrs::negative_source::pool_member);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "FAILED: exception %s (seed %llu)\n", e.what(), static_cast<unsigned long long>(seed));
    return 1;
  }
  if (failures() != 0) std::printf("seed %llu\n", static_cast<unsigned long long>(seed));
  return finish("test_cuda_sampler");
}
