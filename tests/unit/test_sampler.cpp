// Tests for brmrs/sampler.hpp: the rank-select against a linear scan, pools and negatives against
// an independent implementation of the documented draw, exclusion of observed items (users with
// 0, 1 and n_items - 1 observed items, ids 0 and n_items - 1), chi-square uniformity, bitwise
// determinism across thread counts, repeated calls and sharding, and validation before writes.
#include <algorithm>
#include <brmrs/sampler.hpp>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#if BRMRS_HAS_OPENMP
#include <omp.h>
#endif

using brmrs::interactions;
using brmrs::negative_source;

namespace {

using id32 = std::int32_t;

// The complement of a sorted observed list in [0, n_items), by a linear scan (the reference).
template <class Id>
std::vector<Id> complement_of(brmrs::vector_view<const Id> observed, std::size_t n_items) {
  std::vector<Id> out;
  std::size_t j = 0;
  for (std::size_t i = 0; i < n_items; ++i) {
    if (j < observed.size() && static_cast<std::size_t>(observed[j]) == i)
      ++j;
    else
      out.push_back(static_cast<Id>(i));
  }
  return out;
}

// A store with the edge cases the issue asks for plus random users.
// n_items = 200; users:
//   0: nothing observed        1: {0}                  2: {199}            3: {0, 199}
//   4: all but 117 (degree 199) 5: all but 0           6: all but 199      7: a contiguous block 50..149
//   8: every even id            9: all 200 (full: no negative possible; used only in error tests)
//   10..69: random degrees in [0, 199], random ids
struct fixture {
  static constexpr std::size_t n_items = 200;
  static constexpr std::size_t n_users = 70;
  static constexpr std::size_t full_user = 9;
  interactions<id32> x;
  std::vector<id32> valid_users;  // every user but the full one

  fixture() {
    std::vector<id32> us, is;
    auto add = [&](std::size_t u, std::size_t i) {
      us.push_back(static_cast<id32>(u));
      is.push_back(static_cast<id32>(i));
    };
    add(1, 0);
    add(2, 199);
    add(3, 0);
    add(3, 199);
    for (std::size_t i = 0; i < n_items; ++i) {
      if (i != 117) add(4, i);
      if (i != 0) add(5, i);
      if (i != 199) add(6, i);
      if (i >= 50 && i < 150) add(7, i);
      if (i % 2 == 0) add(8, i);
      add(9, i);
    }
    std::mt19937 rng(12345);
    for (std::size_t u = 10; u < n_users; ++u) {
      const std::size_t degree = rng() % n_items;  // 0..199
      std::vector<std::size_t> all(n_items);
      for (std::size_t i = 0; i < n_items; ++i) all[i] = i;
      std::shuffle(all.begin(), all.end(), rng);
      for (std::size_t k = 0; k < degree; ++k) add(u, all[k]);
    }
    x = interactions<id32>::from_pairs(n_users, n_items, us, is);
    for (std::size_t u = 0; u < n_users; ++u)
      if (u != full_user) valid_users.push_back(static_cast<id32>(u));
  }
};

// Chi-square statistic of observed counts against a uniform expectation.
double chi_square(const std::vector<std::size_t>& counts, std::size_t total) {
  const double expected = static_cast<double>(total) / static_cast<double>(counts.size());
  double s = 0;
  for (auto c : counts)
    s += (static_cast<double>(c) - expected) * (static_cast<double>(c) - expected) / expected;
  return s;
}

// Upper 0.1% point of the chi-square distribution with df degrees of freedom, by the
// Wilson-Hilferty approximation df * (1 - 2/(9 df) + z sqrt(2/(9 df)))^3 with z = 3.0902 (the
// 0.999 normal quantile). It lies slightly above the exact quantile (checked against the
// regularized incomplete gamma function): df = 1 -> 11.16 (exact 10.83), df = 39 -> 72.14
// (72.06), df = 99 -> 148.29 (148.23), df = 199 -> 266.42 (266.39).
double chi_square_critical_999(std::size_t df) {
  const double v = static_cast<double>(df);
  const double a = 2.0 / (9.0 * v);
  return v * std::pow(1.0 - a + 3.0902 * std::sqrt(a), 3.0);
}

}  // namespace

TEST_CASE("nth_unobserved is the r-th id outside the observed list (exhaustive, small n)", "[sampler]") {
  // Every subset of [0, 10) as the observed list, every rank r.
  const std::size_t n = 10;
  for (unsigned mask = 0; mask < (1u << n); ++mask) {
    std::vector<id32> observed;
    for (std::size_t i = 0; i < n; ++i)
      if (mask & (1u << i)) observed.push_back(static_cast<id32>(i));
    const auto comp = complement_of<id32>({observed.data(), observed.size()}, n);
    for (std::size_t r = 0; r < comp.size(); ++r) {
      INFO("mask " << mask << " r " << r);
      REQUIRE(brmrs::nth_unobserved(observed.data(), observed.size(), r) ==
              static_cast<std::uint64_t>(comp[r]));
    }
  }
}

TEST_CASE("sample_pools follows the documented draw exactly", "[sampler]") {
  const fixture f;
  const std::size_t K = GENERATE(1, 2, 7, 15, 16, 17, 31, 32, 33, 64, 65);
  const std::uint64_t seed = 0x5eed0001, step = 17, offset = 1000;
  INFO("seed " << seed << " K " << K);
  const std::size_t B = f.valid_users.size();
  std::vector<id32> pools(B * K), neg_pool(B), neg_comp(B);
  brmrs::sample_pools(f.x, f.valid_users, seed, step, offset, brmrs::matrix_view<id32>(pools.data(), B, K),
                      brmrs::vector_view<id32>(neg_pool.data(), B), negative_source::pool_member);
  std::vector<id32> pools2(B * K);
  brmrs::sample_pools(f.x, f.valid_users, seed, step, offset, brmrs::matrix_view<id32>(pools2.data(), B, K),
                      brmrs::vector_view<id32>(neg_comp.data(), B), negative_source::complement);
  CHECK(pools2 == pools);  // the negative source does not change the pool

  for (std::size_t b = 0; b < B; ++b) {
    const auto u = static_cast<std::size_t>(f.valid_users[b]);
    const auto comp = complement_of(f.x.items_of(u), f.n_items);
    const std::uint64_t e = offset + b;
    for (std::size_t k = 0; k < K; ++k) {
      const std::uint64_t r = brmrs::uniform_below(brmrs::philox_draw64(seed, step, e, k), comp.size());
      INFO("example " << b << " user " << u << " slot " << k);
      REQUIRE(pools[b * K + k] == comp[r]);
      // draw_unobserved is the same single draw.
      REQUIRE(brmrs::draw_unobserved(f.x.items_of(u).data(), f.x.degree(u), f.n_items, seed, step, e, k) ==
              static_cast<std::uint64_t>(comp[r]));
    }
    // pool_member: the slot compute_objective uses when batch.negatives is empty.
    CHECK(neg_pool[b] == pools[b * K + brmrs::pool_negative_slot(seed, step, e, K)]);
    // complement: slot K drawn like a pool slot.
    const std::uint64_t rk = brmrs::uniform_below(brmrs::philox_draw64(seed, step, e, K), comp.size());
    CHECK(neg_comp[b] == comp[rk]);
  }
}

TEST_CASE("no sampled id is ever an observed item", "[sampler][property]") {
  const fixture f;
  for (std::uint64_t seed : {1ull, 2ull, 0xdeadbeefcafeull}) {
    INFO("seed " << seed);
    // Each user many times, so every user's pool sees thousands of draws.
    std::vector<id32> users;
    for (int rep = 0; rep < 30; ++rep) users.insert(users.end(), f.valid_users.begin(), f.valid_users.end());
    const std::size_t B = users.size(), K = 33;
    std::vector<id32> pools(B * K), neg(B), negc(B);
    brmrs::sample_pools(f.x, users, seed, 3, 0, brmrs::matrix_view<id32>(pools.data(), B, K),
                        brmrs::vector_view<id32>(neg.data(), B));
    brmrs::sample_pools(f.x, users, seed, 3, 0, brmrs::matrix_view<id32>(pools.data(), B, K),
                        brmrs::vector_view<id32>(negc.data(), B), negative_source::complement);
    std::vector<std::set<id32>> seen(f.n_users);
    for (std::size_t b = 0; b < B; ++b) {
      const auto u = static_cast<std::size_t>(users[b]);
      for (std::size_t k = 0; k < K; ++k) {
        const id32 id = pools[b * K + k];
        INFO("example " << b << " user " << u << " slot " << k << " id " << id);
        REQUIRE(id >= 0);
        REQUIRE(static_cast<std::size_t>(id) < f.n_items);
        REQUIRE(!f.x.contains(u, static_cast<std::size_t>(id)));
        seen[u].insert(id);
      }
      REQUIRE(!f.x.contains(u, static_cast<std::size_t>(neg[b])));
      REQUIRE(!f.x.contains(u, static_cast<std::size_t>(negc[b])));
      REQUIRE(std::find(pools.begin() + static_cast<std::ptrdiff_t>(b * K),
                        pools.begin() + static_cast<std::ptrdiff_t>((b + 1) * K),
                        neg[b]) != pools.begin() + static_cast<std::ptrdiff_t>((b + 1) * K));
    }
    // The single free item of users 4, 5, 6 is the only id they ever get.
    CHECK(seen[4] == std::set<id32>{117});
    CHECK(seen[5] == std::set<id32>{0});
    CHECK(seen[6] == std::set<id32>{199});
    // Users with ids 0 / 199 observed still reach the other edge: 30 * 33 = 990 draws over 199
    // (or 198) free ids leave a given id unseen with probability (1 - 1/198)^990 < 0.7%.
    CHECK(seen[0].count(0) == 1);
    CHECK(seen[0].count(199) == 1);
    CHECK(seen[1].count(199) == 1);
    CHECK(seen[2].count(0) == 1);
    CHECK(seen[3].count(1) == 1);
    CHECK(seen[3].count(198) == 1);
    CHECK(seen[7].count(49) == 1);
    CHECK(seen[7].count(150) == 1);
  }
}

TEST_CASE("pools are uniform over each user's complement (chi-square, p = 0.001)", "[sampler][statistics]") {
  // Threshold: the upper 0.1% point of chi-square with n_free - 1 degrees of freedom (see
  // chi_square_critical_999). Seeds are fixed, so the test is deterministic; with a correct
  // sampler each statistic exceeds its threshold with probability 0.001.
  const fixture f;
  const std::uint64_t seed = 0x0c41;
  INFO("seed " << seed);
  const std::size_t K = 64;
  for (std::size_t u : {0u, 1u, 3u, 7u, 8u, 10u, 11u, 12u, 13u}) {
    const auto comp = complement_of(f.x.items_of(u), f.n_items);
    const std::size_t n_free = comp.size();
    if (n_free < 2) continue;
    std::vector<std::size_t> where(f.n_items, n_free);
    for (std::size_t r = 0; r < n_free; ++r) where[static_cast<std::size_t>(comp[r])] = r;
    // About 200 draws per free item.
    const std::size_t B = (200 * n_free + K - 1) / K;
    std::vector<id32> users(B, static_cast<id32>(u)), pools(B * K), negc(B), negp(B);
    brmrs::sample_pools(f.x, users, seed, u, 0, brmrs::matrix_view<id32>(pools.data(), B, K),
                        brmrs::vector_view<id32>(negc.data(), B), negative_source::complement);
    brmrs::sample_pools(f.x, users, seed, u, 0, brmrs::matrix_view<id32>(pools.data(), B, K),
                        brmrs::vector_view<id32>(negp.data(), B), negative_source::pool_member);
    std::vector<std::size_t> counts(n_free, 0);
    for (const id32 id : pools) {
      REQUIRE(where[static_cast<std::size_t>(id)] < n_free);
      ++counts[where[static_cast<std::size_t>(id)]];
    }
    const double crit = chi_square_critical_999(n_free - 1);
    const double stat = chi_square(counts, pools.size());
    INFO("user " << u << " n_free " << n_free << " draws " << pools.size() << " chi2 " << stat << " critical "
                 << crit);
    CHECK(stat < crit);
    // Every free item turns up (200 expected per item).
    CHECK(*std::min_element(counts.begin(), counts.end()) > 0);

    if (u == 0) {
      // Both negative sources are uniform over the complement too: one negative per example is
      // too few at this B, so draw 200 per free item in a batch of pools of size K = 1.
      const std::size_t Bn = 200 * n_free;
      std::vector<id32> un(Bn, static_cast<id32>(u)), pn(Bn), nn(Bn);
      for (auto src : {negative_source::complement, negative_source::pool_member}) {
        brmrs::sample_pools(f.x, un, seed, 99, 0, brmrs::matrix_view<id32>(pn.data(), Bn, 1),
                            brmrs::vector_view<id32>(nn.data(), Bn), src);
        std::vector<std::size_t> c(n_free, 0);
        for (const id32 id : nn) ++c[where[static_cast<std::size_t>(id)]];
        const double s = chi_square(c, Bn);
        INFO("negatives, source " << static_cast<int>(src) << " chi2 " << s << " critical " << crit);
        CHECK(s < crit);
      }
    }
  }
}

TEST_CASE("the chi-square check detects a biased sampler", "[sampler][statistics]") {
  // The same statistic on a deliberately biased rank (r = min of two uniform ranks, a
  // triangular law) must exceed the threshold: the uniformity test has power.
  const std::size_t n_free = 200, draws = 200 * n_free;
  std::vector<std::size_t> counts(n_free, 0);
  for (std::size_t d = 0; d < draws; ++d) {
    const auto r1 = brmrs::uniform_below(brmrs::philox_draw64(7, 0, d, 0), n_free);
    const auto r2 = brmrs::uniform_below(brmrs::philox_draw64(7, 0, d, 1), n_free);
    ++counts[std::min(r1, r2)];
  }
  CHECK(chi_square(counts, draws) > chi_square_critical_999(n_free - 1));
}

TEST_CASE("sample_pools is bitwise deterministic across threads, calls and shards",
          "[sampler][determinism]") {
  const fixture f;
  const std::uint64_t seed = 424242, step = 5;
  INFO("seed " << seed);
  std::vector<id32> users;
  std::mt19937 rng(7);
  for (int b = 0; b < 1500; ++b) users.push_back(f.valid_users[rng() % f.valid_users.size()]);
  const std::size_t B = users.size(), K = 64;
  auto run = [&](std::uint64_t offset, const std::vector<id32>& us, negative_source src) {
    std::vector<id32> p(us.size() * K + us.size());
    brmrs::sample_pools(f.x, us, seed, step, offset, brmrs::matrix_view<id32>(p.data(), us.size(), K),
                        brmrs::vector_view<id32>(p.data() + us.size() * K, us.size()), src);
    return p;
  };
  for (auto src : {negative_source::pool_member, negative_source::complement}) {
    const auto ref = run(0, users, src);
    CHECK(run(0, users, src) == ref);  // repeated call
#if BRMRS_HAS_OPENMP
    const int saved = omp_get_max_threads();
    for (int threads : {1, 2, 7}) {
      omp_set_num_threads(threads);
      INFO("threads " << threads);
      CHECK(run(0, users, src) == ref);
    }
    omp_set_num_threads(saved);
#else
    WARN("OpenMP is off in this build: the thread-count part of the test did not run");
#endif
    // Sharding: three shards with their global offsets reproduce the whole batch.
    const std::size_t cuts[] = {0, 333, 1000, B};
    for (int s = 0; s < 3; ++s) {
      const std::vector<id32> part(users.begin() + static_cast<std::ptrdiff_t>(cuts[s]),
                                   users.begin() + static_cast<std::ptrdiff_t>(cuts[s + 1]));
      const auto got = run(cuts[s], part, src);
      const std::size_t n = part.size();
      for (std::size_t b = 0; b < n; ++b) {
        INFO("shard " << s << " example " << b);
        REQUIRE(std::equal(got.begin() + static_cast<std::ptrdiff_t>(b * K),
                           got.begin() + static_cast<std::ptrdiff_t>((b + 1) * K),
                           ref.begin() + static_cast<std::ptrdiff_t>((cuts[s] + b) * K)));
        REQUIRE(got[n * K + b] == ref[B * K + cuts[s] + b]);
      }
    }
    // A different seed or step gives different pools.
    std::vector<id32> other(B * K);
    brmrs::sample_pools(f.x, users, seed + 1, step, 0, brmrs::matrix_view<id32>(other.data(), B, K));
    CHECK(!std::equal(other.begin(), other.end(), ref.begin()));
    brmrs::sample_pools(f.x, users, seed, step + 1, 0, brmrs::matrix_view<id32>(other.data(), B, K));
    CHECK(!std::equal(other.begin(), other.end(), ref.begin()));
  }
}

TEST_CASE("sample_pools works with 64-bit ids and strided pools", "[sampler]") {
  const std::vector<std::int64_t> us{0, 0, 1}, is{3, 5, 0};
  const auto x = interactions<std::int64_t>::from_pairs(2, 8, us, is);
  const std::size_t B = 2, K = 3, stride = 5;
  std::vector<std::int64_t> buf(B * stride, -1);
  const std::vector<std::int64_t> users{0, 1};
  brmrs::sample_pools(x, users, 9, 9, 0, brmrs::matrix_view<std::int64_t>(buf.data(), B, K, stride));
  for (std::size_t b = 0; b < B; ++b) {
    for (std::size_t k = 0; k < K; ++k) {
      const auto id = buf[b * stride + k];
      CHECK(id >= 0);
      CHECK(id < 8);
      CHECK(!x.contains(static_cast<std::size_t>(users[b]), static_cast<std::size_t>(id)));
    }
    for (std::size_t k = K; k < stride; ++k) CHECK(buf[b * stride + k] == -1);  // padding untouched
  }
}

namespace {

// One user per degree, ids spread over [0, n_items) with clusters at both ends (the rank-select
// boundaries: id 0, id n_items - 1, runs of consecutive ids), built straight into CSR.
template <class Id>
interactions<Id> degree_ladder(std::size_t n_items, const std::vector<std::size_t>& degrees, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::int64_t> offsets{0};
  std::vector<Id> indices;
  for (std::size_t degree : degrees) {
    std::set<std::size_t> row;
    for (std::size_t i = 0; i < degree / 4; ++i) row.insert(i);                // a run from id 0
    for (std::size_t i = 0; i < degree / 8; ++i) row.insert(n_items - 1 - i);  // a run to the end
    while (row.size() < degree) row.insert(static_cast<std::size_t>(rng() % n_items));
    for (std::size_t id : row) indices.push_back(static_cast<Id>(id));
    offsets.push_back(static_cast<std::int64_t>(indices.size()));
  }
  return interactions<Id>::from_csr(degrees.size(), n_items, std::move(offsets), std::move(indices));
}

// Every pool id of `Isa` equals draw_unobserved, the single-draw definition.
template <class Id, class Isa>
void check_kernel_against_definition(std::size_t n_items, const std::vector<std::size_t>& degrees, std::size_t K) {
  const auto x = degree_ladder<Id>(n_items, degrees, 99 + K);
  std::vector<Id> users;
  for (std::size_t u = 0; u < degrees.size(); ++u) users.push_back(static_cast<Id>(u));
  const std::size_t B = users.size();
  const std::uint64_t seed = 0xfeedface12345678ull, step = (std::uint64_t(1) << 33) + 5, offset = 77;
  std::vector<Id> pools(B * K), neg(B);
  brmrs::sample_pools<Id, Isa>(x, users, seed, step, offset, brmrs::matrix_view<Id>(pools.data(), B, K),
                               brmrs::vector_view<Id>(neg.data(), B), negative_source::complement);
  for (std::size_t b = 0; b < B; ++b) {
    const auto row = x.items_of(b);
    for (std::size_t k = 0; k < K; ++k) {
      INFO("n_items " << n_items << " degree " << degrees[b] << " K " << K << " slot " << k << " seed " << seed);
      REQUIRE(static_cast<std::uint64_t>(pools[b * K + k]) ==
              brmrs::draw_unobserved(row.data(), row.size(), n_items, seed, step, offset + b, k));
    }
    CHECK(static_cast<std::uint64_t>(neg[b]) ==
          brmrs::draw_unobserved(row.data(), row.size(), n_items, seed, step, offset + b, K));
  }
}

template <class Isa>
void check_kernel(const char* name) {
  INFO("kernel " << name);
  // Degrees on each side of the kernel's regimes (vector count <= 96 observed items, two-level
  // count <= 4096, binary search above) and of the 16-item blocks.
  const std::vector<std::size_t> degrees{0, 1, 2, 15, 16, 17, 31, 95, 96, 97, 100, 255, 256, 257,
                                         1000, 4095, 4096, 4097, 6000};
  for (std::size_t K : {1u, 7u, 32u, 33u, 64u, 100u}) {
    check_kernel_against_definition<std::int32_t, Isa>(7000, degrees, K);
    check_kernel_against_definition<std::int64_t, Isa>(70000, degrees, K);
    check_kernel_against_definition<std::uint32_t, Isa>(7000, degrees, K);
  }
  // Beyond 2^31 items the vector kernel hands over to the portable loop (64-bit ids only).
  check_kernel_against_definition<std::int64_t, Isa>((std::size_t(1) << 31) + 12345, {0, 1, 20, 200}, 40);
}

}  // namespace

TEST_CASE("every CPU sampler kernel writes the documented draws", "[sampler]") {
  check_kernel<brmrs::detail::sampler_portable>("portable");
#if BRMRS_SAMPLER_HAS_AVX2
  check_kernel<brmrs::detail::sampler_avx2>("avx2");
#endif
#if BRMRS_SAMPLER_HAS_AVX512
  check_kernel<brmrs::detail::sampler_avx512>("avx512");
  CHECK(std::is_same_v<brmrs::detail::sampler_default_isa, brmrs::detail::sampler_avx512>);
#elif BRMRS_SAMPLER_HAS_AVX2
  CHECK(std::is_same_v<brmrs::detail::sampler_default_isa, brmrs::detail::sampler_avx2>);
  WARN("this build targets AVX2 but not AVX-512: the AVX-512 sampler kernel is not tested");
#else
  WARN("this build targets neither AVX2 nor AVX-512: only the portable sampler kernel is tested");
#endif
}

TEST_CASE("sample_pools validates everything before writing", "[sampler][errors]") {
  const fixture f;
  const id32 poison = -12345;
  const std::size_t B = 4, K = 8;
  std::vector<id32> pools(B * K, poison), neg(B, poison);
  auto untouched = [&] {
    return std::all_of(pools.begin(), pools.end(), [&](id32 v) { return v == poison; }) &&
           std::all_of(neg.begin(), neg.end(), [&](id32 v) { return v == poison; });
  };
  brmrs::matrix_view<id32> P(pools.data(), B, K);
  brmrs::vector_view<id32> N(neg.data(), B);
  auto call = [&](std::vector<id32> users, brmrs::matrix_view<id32> p, brmrs::vector_view<id32> n,
                  std::uint64_t offset = 0) { brmrs::sample_pools(f.x, users, 1, 2, offset, p, n); };

  CHECK_THROWS_WITH(call({0, 1, 70, 2}, P, N),
                    Catch::Contains("users[2] = 70") && Catch::Contains("[0, 70)"));
  CHECK(untouched());
  CHECK_THROWS_WITH(call({0, -1, 2, 3}, P, N),
                    Catch::Contains("users[1] = -1") && Catch::Contains("negative"));
  CHECK(untouched());
  // The full user is named with its id and position, after examples that could be sampled.
  CHECK_THROWS_WITH(call({0, 1, 2, static_cast<id32>(fixture::full_user)}, P, N),
                    Catch::Contains("users[3] = 9") && Catch::Contains("no unobserved item"));
  CHECK(untouched());
  CHECK_THROWS_WITH(call({0, 1, 2}, P, N), Catch::Contains("pools is 4 x 8, expected 3 x 8"));
  CHECK(untouched());
  CHECK_THROWS_WITH(call({0, 1, 2, 3}, brmrs::matrix_view<id32>(pools.data(), B, 0), N),
                    Catch::Contains("K = pools.cols() = 0"));
  CHECK(untouched());
#ifdef NDEBUG
  // Rows that overlap (stride < K) would be written by two threads at once. (Debug builds refuse
  // to construct such a view at all: matrix_view's constructor asserts stride >= cols.)
  CHECK_THROWS_WITH(call({0, 1, 2, 3}, brmrs::matrix_view<id32>(pools.data(), B, K, K - 1), N),
                    Catch::Contains("pools.stride = 7 is smaller than K = 8"));
  CHECK(untouched());
#endif
  CHECK_THROWS_WITH(call({0, 1, 2, 3}, P, brmrs::vector_view<id32>(neg.data(), 3)),
                    Catch::Contains("negatives has size 3, expected 4"));
  CHECK(untouched());
  // example_offset + B must not exceed 2^32; exactly 2^32 is fine.
  const std::uint64_t two32 = std::uint64_t(1) << 32;
  CHECK_THROWS_WITH(call({0, 1, 2, 3}, P, N, two32 - 3), Catch::Contains("exceeds 2^32"));
  CHECK(untouched());
  CHECK_THROWS_WITH(call({0, 1, 2, 3}, P, N, ~std::uint64_t(0)), Catch::Contains("exceeds 2^32"));
  CHECK(untouched());
  // Outputs aliasing the users.
  std::vector<id32> users{0, 1, 2, 3};
  CHECK_THROWS_WITH(brmrs::sample_pools(f.x, users, 1, 2, 0, brmrs::matrix_view<id32>(users.data(), B, 1)),
                    Catch::Contains("pools overlaps users"));
  CHECK(users == std::vector<id32>{0, 1, 2, 3});
  CHECK_THROWS_WITH(
      brmrs::sample_pools(f.x, users, 1, 2, 0, P, brmrs::vector_view<id32>(pools.data() + 3, B)),
      Catch::Contains("negatives overlaps pools"));
  CHECK(untouched());

  // The boundary case works and writes: examples 2^32 - 4 .. 2^32 - 1.
  call({0, 1, 2, 3}, P, N, two32 - 4);
  CHECK(!untouched());
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t k = 0; k < K; ++k) CHECK(!f.x.contains(b, static_cast<std::size_t>(pools[b * K + k])));
  // An empty batch is valid and writes nothing.
  std::vector<id32> none;
  CHECK_NOTHROW(brmrs::sample_pools(f.x, none, 1, 2, two32, brmrs::matrix_view<id32>(nullptr, 0, K)));
}
