// Tests for brmrs/backend/cpu/scatter_phase.hpp, the table-shaped accumulation of
// compute_objective: per-example gradient rows scattered by hand, in the documented order, equal
// the table gradients exactly (bitwise), with and without per-example rows requested, for the
// scalar and default (SIMD) backends and for 1, 2 and 7 threads.
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

// Runs f at 1, 2 and 7 OpenMP threads (once without OpenMP), then restores the thread count.
template <class F>
void at_thread_counts(F&& f) {
#if BRMRS_HAS_OPENMP
  const int saved = omp_get_max_threads();
  for (int nt : {1, 2, 7}) {
    omp_set_num_threads(nt);
    INFO("threads " << nt);
    f();
  }
  omp_set_num_threads(saved);
#else
  f();
#endif
}

template <class T>
bool bitwise_equal(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

// The hand scatter: the documented order — example-major; within an example user rows m = 0..M-1,
// then for each m: i+, i-, j^c for c != m; then the fused user, i+, i- rows.
template <class T, class Id, class Backend = brmrs::scalar_backend>
void check_hand_scatter(std::uint64_t seed, std::size_t M, bool shared, bool given_negatives, std::size_t B = 24,
                        std::size_t n_users = 6, std::size_t n_items = 15) {
  INFO("seed " << seed << " M " << M << " shared " << shared << " B " << B);
  auto p = random_problem<T, Id>(seed, M, 7, shared, B, 5, n_users, n_items);
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
  brmrs::compute_objective(p.tables(), p.make_batch(), p.config, out, Backend{});

  // The same call with only table gradients (internal rows) must give the same tables.
  brmrs_test::table_buffers<T> only(p);
  brmrs::objective_outputs<T, Id> out2;
  out2.tables = only.views(p);
  brmrs::compute_objective(p.tables(), p.make_batch(), p.config, out2, Backend{});

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

// B·(M + 2)·d far above the parallel threshold, and few rows, so every thread owns rows that many
// examples add into.
TEST_CASE("the owner-computes scatter equals the hand scatter for 1, 2 and 7 threads", "[scatter][threads]") {
  at_thread_counts([] {
    std::uint64_t seed = 400;
    for (std::size_t M : {2, 3}) {
      check_hand_scatter<float, std::int32_t>(seed++, M, false, false, 1500, 40, 90);
      check_hand_scatter<double, std::int64_t, brmrs::default_backend>(seed++, M, true, true, 1500, 40, 90);
      check_hand_scatter<float, std::int64_t, brmrs::default_backend>(seed++, M, false, false, 1500, 40, 90);
    }
  });
}

// Gradient views with a row stride wider than their columns (columns 0..d of rows of d + pad):
// the columns get exactly the packed result and the padding is never written, for any thread count.
TEST_CASE("strided table gradients equal packed ones and leave the padding untouched", "[scatter][stride]") {
  using T = float;
  const std::size_t pad = 5;
  const T sentinel = T(0.25);
  auto p = random_problem<T, std::int32_t>(77, 3, 7, false, 1500, 5, 40, 90);
  p.config.lambda_reg = T(0.03);
  brmrs_test::table_buffers<T> packed(p);
  brmrs::objective_outputs<T, std::int32_t> out;
  out.tables = packed.views(p);
  brmrs::compute_objective(p.tables(), p.make_batch(), p.config, out);
  // Packed table k (in flat() order: user[m], item[m], fused_user, fused_item) as rows x cols.
  struct shape {
    std::size_t rows, cols;
  };
  std::vector<shape> shapes;
  for (std::size_t m = 0; m < p.M; ++m) shapes.push_back({p.n_users, p.dims[m]});
  for (std::size_t m = 0; m < p.M; ++m) shapes.push_back({p.n_items, p.dims[m]});
  shapes.push_back({p.n_users, p.d_f});
  shapes.push_back({p.n_items, p.d_f});
  const std::vector<T> want = packed.flat();
  at_thread_counts([&] {
    std::vector<std::vector<T>> wide;
    for (const shape& s : shapes) {
      std::vector<T> w(s.rows * (s.cols + pad), sentinel);
      for (std::size_t r = 0; r < s.rows; ++r)
        for (std::size_t c = 0; c < s.cols; ++c) w[r * (s.cols + pad) + c] = T(0);
      wide.push_back(std::move(w));
    }
    auto view = [&](std::size_t k) {
      return brmrs::matrix_view<T>(wide[k].data(), shapes[k].rows, shapes[k].cols, shapes[k].cols + pad);
    };
    brmrs::objective_outputs<T, std::int32_t> o;
    for (std::size_t m = 0; m < p.M; ++m) o.tables.user.push_back(view(m));
    for (std::size_t m = 0; m < p.M; ++m) o.tables.item.push_back(view(p.M + m));
    o.tables.fused_user = view(2 * p.M);
    o.tables.fused_item = view(2 * p.M + 1);
    brmrs::compute_objective(p.tables(), p.make_batch(), p.config, o);
    std::size_t at = 0, wrong = 0, padding_written = 0;
    for (std::size_t k = 0; k < shapes.size(); ++k)
      for (std::size_t r = 0; r < shapes[k].rows; ++r)
        for (std::size_t c = 0; c < shapes[k].cols + pad; ++c) {
          const T v = wide[k][r * (shapes[k].cols + pad) + c];
          if (c >= shapes[k].cols) {
            padding_written += std::memcmp(&v, &sentinel, sizeof(T)) != 0;
          } else {
            wrong += std::memcmp(&v, &want[at++], sizeof(T)) != 0;
          }
        }
    CHECK(at == want.size());
    CHECK(wrong == 0);
    CHECK(padding_written == 0);
  });
}
