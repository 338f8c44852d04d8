// Tests for brmrs/detail/scatter.hpp and the table-shaped accumulation of compute_objective:
// per-example gradient rows scattered by hand, in the documented order, equal the table
// gradients exactly (bitwise), and scatter_add equals a serial loop for any thread count.
#include <brmrs/detail/scatter.hpp>
#include <brmrs/objective.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "objective_fixture.hpp"

#if BRMRS_HAS_OPENMP
#include <omp.h>
#endif

using brmrs_test::random_problem;

namespace {

template <class T>
bool bitwise_equal(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

// The hand scatter: the documented order — example-major; within an example user rows m = 0..M-1,
// then for each m: i+, i-, j^c for c != m; then the fused user, i+, i- rows.
template <class T, class Id>
void check_hand_scatter(std::uint64_t seed, std::size_t M, bool shared, bool given_negatives) {
  INFO("seed " << seed << " M " << M << " shared " << shared);
  auto p = random_problem<T, Id>(seed, M, 7, shared, 24, 5, 6, 15);
  p.given_negatives = given_negatives;
  p.config.lambda_reg = T(0.03);
  brmrs_test::table_buffers<T> lib(p), hand(p);
  brmrs_test::row_buffers<T> rows(p);
  std::vector<Id> hard(p.B * M), negs(p.B);
  brmrs::objective_outputs<T, Id> out;
  out.rows = rows.views(p);
  out.tables = lib.views(p);
  out.hard_negatives = {hard.data(), p.B, M};
  out.negatives = {negs.data(), p.B};
  brmrs::compute_objective(p.tables(), p.make_batch(), p.config, out, brmrs::scalar_backend{});

  // The same call with only table gradients (internal rows) must give the same tables.
  brmrs_test::table_buffers<T> only(p);
  brmrs::objective_outputs<T, Id> out2;
  out2.tables = only.views(p);
  brmrs::compute_objective(p.tables(), p.make_batch(), p.config, out2, brmrs::scalar_backend{});

  auto add = [](std::vector<T>& table, std::size_t row, std::size_t d, const T* src) {
    for (std::size_t i = 0; i < d; ++i) table[row * d + i] += src[i];
  };
  for (std::size_t b = 0; b < p.B; ++b) {
    const std::size_t u = static_cast<std::size_t>(p.users[b]), ip = static_cast<std::size_t>(p.positives[b]);
    const std::size_t in = static_cast<std::size_t>(negs[b]);
    for (std::size_t m = 0; m < M; ++m)
      add(hand.user[shared ? 0 : m], u, p.dims[m], &rows.user[m][b * p.dims[m]]);
    for (std::size_t m = 0; m < M; ++m) {
      const std::size_t d = p.dims[m];
      add(hand.item[m], ip, d, &rows.positive[m][b * d]);
      add(hand.item[m], in, d, &rows.negative[m][b * d]);
      for (std::size_t c = 0; c < M; ++c)
        if (c != m) add(hand.item[m], static_cast<std::size_t>(hard[b * M + c]), d, &rows.hard[m][(b * M + c) * d]);
    }
    add(hand.fused_user, u, p.d_f, &rows.fused_user[b * p.d_f]);
    add(hand.fused_item, ip, p.d_f, &rows.fused_positive[b * p.d_f]);
    add(hand.fused_item, in, p.d_f, &rows.fused_negative[b * p.d_f]);
  }
  CHECK(bitwise_equal(hand.flat(), lib.flat()));
  CHECK(bitwise_equal(only.flat(), lib.flat()));
  // The c == m hard rows are zero.
  for (std::size_t b = 0; b < p.B; ++b)
    for (std::size_t m = 0; m < M; ++m)
      for (std::size_t i = 0; i < p.dims[m]; ++i) CHECK(rows.hard[m][(b * M + m) * p.dims[m] + i] == T(0));
}

}  // namespace

TEST_CASE("rows scattered by hand equal the table-shaped accumulation exactly", "[scatter][objective]") {
  std::uint64_t seed = 300;
  for (std::size_t M : {2, 3, 4})
    for (bool shared : {false, true}) {
      check_hand_scatter<double, std::int32_t>(seed++, M, shared, false);
      check_hand_scatter<float, std::int64_t>(seed++, M, shared, true);
    }
}

TEST_CASE("scatter_add equals a serial loop for 1, 2 and 7 threads", "[scatter]") {
  const std::uint64_t seed = 42;
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  const std::size_t rows = 97, cols = 33, n = 4000;  // n·cols above the parallel threshold
  std::vector<float> src(n * cols);
  std::uniform_real_distribution<float> u(-1, 1);
  for (auto& x : src) x = u(rng);
  std::vector<brmrs::detail::scatter_item<float>> items;
  std::uniform_int_distribution<std::size_t> r(0, rows - 1);
  for (std::size_t e = 0; e < n; ++e) items.push_back({r(rng), &src[e * cols]});
  // Destination with a row stride wider than its columns: the padding must stay untouched.
  const std::size_t stride = 40;
  std::vector<float> serial(rows * stride, 0.25f);
  for (std::size_t e = 0; e < n; ++e)
    for (std::size_t i = 0; i < cols; ++i) serial[items[e].row * stride + i] += items[e].src[i];
  for (int nt : {1, 2, 7}) {
#if BRMRS_HAS_OPENMP
    const int saved = omp_get_max_threads();
    omp_set_num_threads(nt);
#endif
    std::vector<float> dest(rows * stride, 0.25f);
    brmrs::detail::scatter_add(brmrs::matrix_view<float>(dest.data(), rows, cols, stride), items.data(), items.size());
#if BRMRS_HAS_OPENMP
    omp_set_num_threads(saved);
#endif
    INFO("threads " << nt);
    CHECK(bitwise_equal(dest, serial));
  }
}
