// Tests for brmrs/objective.hpp: every bad input of DESIGN.md §3 throws brmrs::invalid_argument
// whose message names the argument (and the position and value where there is one), and every
// output buffer poisoned before the call is bit-for-bit unchanged after the throw.
#include <brmrs/objective.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "objective_fixture.hpp"

#if BRMRS_HAS_OPENMP
#include <omp.h>
#endif

using brmrs_test::problem;
using brmrs_test::random_problem;

namespace {

using T = double;
using Id = std::int32_t;
constexpr double poison = -12345.678;
constexpr Id poison_id = -77;

// A valid call with every output requested and poisoned; each test mutates one thing.
struct call {
  problem<T, Id> p = random_problem<T, Id>(11, 3, 4, false, 5, 3, 4, 9);
  brmrs::dot_tables<T> tables = p.tables();
  brmrs::batch<Id> batch = p.make_batch();
  brmrs::objective_config<T> config = p.config;
  brmrs_test::table_buffers<T> tg{p, poison};
  brmrs_test::row_buffers<T> rg{p, poison};
  std::vector<Id> hard = std::vector<Id>(p.B * p.M, poison_id), negs = std::vector<Id>(p.B, poison_id);
  std::vector<T> ex = std::vector<T>(p.B, poison);
  brmrs::objective_outputs<T, Id> out;

  call() {
    out.hard_negatives = {hard.data(), p.B, p.M};
    out.negatives = {negs.data(), p.B};
    out.example_loss = {ex.data(), p.B};
    out.rows = rg.views(p);
    out.tables = tg.views(p);
  }

  bool untouched() const {
    auto all_poison = [](const std::vector<T>& v) {
      for (T x : v)
        if (std::memcmp(&x, &poison, sizeof(T)) != 0) return false;
      return true;
    };
    bool ok = true;
    for (Id x : hard) ok = ok && x == poison_id;
    for (Id x : negs) ok = ok && x == poison_id;
    ok = ok && all_poison(ex);
    for (auto* group : {&tg.user, &tg.item, &rg.user, &rg.positive, &rg.negative, &rg.hard})
      for (auto& v : *group) ok = ok && all_poison(v);
    for (auto* v : {&tg.fused_user, &tg.fused_item, &rg.fused_user, &rg.fused_positive, &rg.fused_negative})
      ok = ok && all_poison(*v);
    return ok;
  }
};

// Runs `mutate` on a fresh valid call, expects brmrs::invalid_argument whose message contains
// every string in `parts`, then checks the poisoned outputs.
void expect_rejected(const std::function<void(call&)>& mutate, std::vector<std::string> parts) {
  call c;
  mutate(c);
  std::string msg;
  bool threw = false;
  try {
    brmrs::compute_objective(c.tables, c.batch, c.config, c.out, brmrs::scalar_backend{});
  } catch (const brmrs::invalid_argument& e) {
    threw = true;
    msg = e.what();
  }
  INFO("message: " << msg);
  REQUIRE(threw);
  for (const auto& part : parts) CHECK(msg.find(part) != std::string::npos);
  CHECK(msg.rfind("brmrs::compute_objective: ", 0) == 0);
  CHECK(c.untouched());
}

}  // namespace

TEST_CASE("the valid baseline call succeeds and writes every output", "[objective][errors]") {
  call c;
  brmrs::compute_objective(c.tables, c.batch, c.config, c.out, brmrs::scalar_backend{});
  CHECK_FALSE(c.untouched());
  for (Id x : c.hard) CHECK(x >= 0);
}

TEST_CASE("bad tables are rejected, naming the table", "[objective][errors]") {
  expect_rejected([](call& c) { c.tables.item.resize(1); c.tables.user.resize(1); }, {"tables.item", "at least 2"});
  expect_rejected([](call& c) { c.tables.user.pop_back(); }, {"tables.user", "expected 3"});
  expect_rejected([](call& c) { c.tables.user[1] = {c.p.user_data[1].data(), 3, c.p.dims[1]}; },
                  {"tables.user[1]", "3 rows", "expected 4"});
  expect_rejected([](call& c) { c.tables.item[2] = {c.p.item_data[2].data(), 8, c.p.dims[2]}; },
                  {"tables.item[2]", "8 rows", "expected 9"});
  expect_rejected([](call& c) { c.tables.item[0] = {c.p.item_data[0].data(), 9, c.p.dims[0] - 1}; },
                  {"tables.user[0]", "tables.item[0]", "columns"});
  expect_rejected([](call& c) { c.tables.fused_user = {c.p.fused_user_data.data(), 3, c.p.d_f}; },
                  {"tables.fused_user", "expected 4"});
  expect_rejected([](call& c) { c.tables.fused_item = {c.p.fused_item_data.data(), 9, c.p.d_f - 1}; },
                  {"tables.fused_user", "tables.fused_item", "columns"});
  expect_rejected([](call& c) { c.tables.item[1] = {nullptr, 9, c.p.dims[1]}; }, {"tables.item[1].data is null"});
}

TEST_CASE("bad batches are rejected, naming the argument, position and value", "[objective][errors]") {
  expect_rejected([](call& c) { c.batch.users = {}; }, {"batch.users", "B = 0"});
  expect_rejected([](call& c) { c.batch.positives = {c.p.positives.data(), 4}; }, {"batch.positives", "size 4", "expected 5"});
  expect_rejected([](call& c) { c.batch.pools = {c.p.pools.data(), 4, 3}; }, {"batch.pools", "4 rows"});
  expect_rejected([](call& c) { c.batch.pools = {c.p.pools.data(), 5, 0}; }, {"batch.pools", "K = 0", "empty pool"});
  expect_rejected([](call& c) { c.batch.negatives = {c.p.negatives.data(), 3}; }, {"batch.negatives", "size 3"});
  expect_rejected([](call& c) { c.p.users[2] = 4; }, {"batch.users[2] = 4", "out of range [0, 4)"});
  expect_rejected([](call& c) { c.p.users[0] = -1; }, {"batch.users[0] = -1", "negative"});
  expect_rejected([](call& c) { c.p.positives[4] = 9; }, {"batch.positives[4] = 9", "[0, 9)"});
  expect_rejected([](call& c) { c.p.pools[1 * 3 + 2] = 100; }, {"batch.pools(1, 2) = 100", "out of range"});
  expect_rejected([](call& c) { c.p.pools[0] = -5; }, {"batch.pools(0, 0) = -5", "negative"});
  expect_rejected(
      [](call& c) {
        c.batch.negatives = {c.p.negatives.data(), 5};
        c.p.negatives[3] = 1000;
      },
      {"batch.negatives[3] = 1000"});
  expect_rejected([](call& c) { c.config.example_offset = 0xFFFFFFFFull - 2; }, {"config.example_offset", "2^32"});
}

TEST_CASE("a bad pool id is named for any thread split, by either CPU backend", "[objective][errors]") {
  // The CPU pipeline checks each example's pool inside its parallel loop, one example ahead of the
  // one it scores (detail/objective_validation.hpp): a bad id in the first, a middle or the last
  // example must be named whichever thread's block it falls in, with every output untouched.
#if BRMRS_HAS_OPENMP
  const int before = omp_get_max_threads();
  for (int threads : {1, 2, 3, 7}) {
    omp_set_num_threads(threads);
#else
  for (int threads : {1}) {
#endif
    for (std::size_t example : {std::size_t(0), std::size_t(2), std::size_t(4)})
      for (bool simd : {false, true}) {
        INFO("threads " << threads << " example " << example << (simd ? " default backend" : " scalar backend"));
        call c;
        c.p.pools[example * c.p.K + 1] = 100;
        std::string msg;
        try {
          if (simd)
            brmrs::compute_objective(c.tables, c.batch, c.config, c.out);
          else
            brmrs::compute_objective(c.tables, c.batch, c.config, c.out, brmrs::scalar_backend{});
        } catch (const brmrs::invalid_argument& e) {
          msg = e.what();
        }
        INFO("message: " << msg);
        CHECK(msg.find("batch.pools(" + std::to_string(example) + ", 1) = 100") != std::string::npos);
        CHECK(c.untouched());
      }
  }
#if BRMRS_HAS_OPENMP
  omp_set_num_threads(before);
#endif
}

TEST_CASE("bad configurations are rejected, naming the field and value", "[objective][errors]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  expect_rejected([](call& c) { c.config.lambda_bpr = -1; }, {"config.lambda_bpr = -1", ">= 0"});
  expect_rejected([](call& c) { c.config.lambda_hard = -0.5; }, {"config.lambda_hard = -0.5"});
  expect_rejected([&](call& c) { c.config.lambda_synergy = nan; }, {"config.lambda_synergy = nan"});
  expect_rejected([](call& c) { c.config.lambda_reg = -1e-9; }, {"config.lambda_reg"});
  expect_rejected([](call& c) { c.config.theta = 0; }, {"config.theta = 0", "> 0"});
  expect_rejected([](call& c) { c.config.theta = -0.1; }, {"config.theta = -0.1"});
  expect_rejected([](call& c) { c.config.tau = -1; }, {"config.tau = -1"});
  expect_rejected([](call& c) { c.config.tau = HUGE_VAL; }, {"config.tau = inf"});
  expect_rejected([](call& c) { c.config.reduce = static_cast<brmrs::reduction>(7); }, {"config.reduce = 7"});
  expect_rejected([](call& c) { c.config.synergy_mode = static_cast<brmrs::synergy_gradient>(9); },
                  {"config.synergy_mode = 9"});
}

TEST_CASE("badly shaped or partial outputs are rejected", "[objective][errors]") {
  expect_rejected([](call& c) { c.out.hard_negatives = {c.hard.data(), 5, 2}; }, {"out.hard_negatives", "5 x 2", "5 x 3"});
  expect_rejected([](call& c) { c.out.negatives = {c.negs.data(), 4}; }, {"out.negatives", "size 4"});
  expect_rejected([](call& c) { c.out.example_loss = {c.ex.data(), 6}; }, {"out.example_loss", "size 6"});
  expect_rejected([](call& c) { c.out.rows.hard[1] = {c.rg.hard[1].data(), 5, c.p.dims[1]}; },
                  {"out.rows.hard[1]", "expected 15 x"});
  expect_rejected([](call& c) { c.out.rows.negative.pop_back(); }, {"out.rows.negative", "expected 3"});
  expect_rejected([](call& c) { c.out.rows.fused_negative = {}; }, {"out.rows.fused_negative"});
  expect_rejected([](call& c) { c.out.tables.item[0] = {c.tg.item[0].data(), 8, c.p.dims[0]}; },
                  {"out.tables.item[0]", "expected 9 x"});
  expect_rejected([](call& c) { c.out.tables.fused_item = {}; }, {"out.tables.fused_item"});
}

TEST_CASE("outputs that alias inputs or each other are rejected", "[objective][errors]") {
  // A table-gradient buffer that is the table itself.
  expect_rejected(
      [](call& c) {
        auto& v = c.p.item_data[1];
        c.out.tables.item[1] = {v.data(), c.p.n_items, c.p.dims[1]};
      },
      {"out.tables.item[1]", "overlaps", "tables.item[1]"});
  // Two different gradient views sharing memory although their tables differ.
  expect_rejected([](call& c) { c.out.rows.positive[0] = {c.rg.user[0].data(), c.p.B, c.p.dims[0]}; },
                  {"out.rows.positive[0]", "overlaps", "out.rows.user[0]"});
  // Per-example losses written over the ids.
  expect_rejected(
      [](call& c) {
        c.out.example_loss = {reinterpret_cast<double*>(c.hard.data()), 5};
      },
      {"overlaps", "out.hard_negatives"});
  // One user-gradient buffer for two modalities whose user tables are different.
  expect_rejected([](call& c) { c.out.tables.user[2] = {c.tg.user[0].data(), c.p.n_users, c.p.dims[0]}; },
                  {"out.tables.user[2]", "overlaps", "out.tables.user[0]"});
}

TEST_CASE("column blocks of one wider buffer are not an overlap", "[objective][errors]") {
  // Modality 0 and 2 (both width 4) write their user-gradient rows into the two halves of one
  // B x 8 buffer: legal, and the result equals separate buffers.
  call c;
  REQUIRE(c.p.dims[0] == c.p.dims[2]);
  const std::size_t d = c.p.dims[0];
  std::vector<T> wide(c.p.B * 2 * d, 0.0);
  c.out.rows.user[0] = {wide.data(), c.p.B, d, 2 * d};
  c.out.rows.user[2] = {wide.data() + d, c.p.B, d, 2 * d};
  brmrs::compute_objective(c.tables, c.batch, c.config, c.out, brmrs::scalar_backend{});
  call ref;
  brmrs::compute_objective(ref.tables, ref.batch, ref.config, ref.out, brmrs::scalar_backend{});
  for (std::size_t b = 0; b < c.p.B; ++b)
    for (std::size_t i = 0; i < d; ++i) {
      CHECK(wide[b * 2 * d + i] == ref.rg.user[0][b * d + i]);
      CHECK(wide[b * 2 * d + d + i] == ref.rg.user[2][b * d + i]);
    }
}

TEST_CASE("non-finite scores and losses are rejected, naming example, modality and value", "[objective][errors]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // A NaN in the user row of example 2 in modality 1; examples 0 and 1 use another user.
  expect_rejected(
      [&](call& c) {
        const Id u = c.p.users[2];
        c.p.users[0] = c.p.users[1] = static_cast<Id>((static_cast<std::size_t>(u) + 1) % c.p.n_users);
        c.p.user_data[1][static_cast<std::size_t>(u) * c.p.dims[1]] = nan;
      },
      {"example 2, modality 1", "nan", "not finite"});
  // +inf in a pool candidate's row of modality 0 (not the positive's): a pool score.
  expect_rejected(
      [&](call& c) {
        const std::size_t j = static_cast<std::size_t>(c.p.pools[0]);
        c.p.item_data[0][j * c.p.dims[0]] = HUGE_VAL;
      },
      {"pool score", "is not finite"});
  // NaN in the fused row of example 0's positive.
  expect_rejected(
      [&](call& c) {
        const std::size_t ip = static_cast<std::size_t>(c.p.positives[0]);
        for (std::size_t b = 0; b < c.p.B * c.p.K; ++b)
          if (static_cast<std::size_t>(c.p.pools[b]) == ip) c.p.pools[b] = c.p.pools[b] == 0 ? 1 : 0;
        c.p.fused_item_data[ip * c.p.d_f] = nan;
      },
      {"fused", "not finite"});
}

TEST_CASE("a finite score whose loss overflows is rejected (float)", "[objective][errors]") {
  // d = 1, user 1: every score is an item entry. The pool candidate scores 3e38 and the positive
  // -3e38, both finite floats; s(j) - s(i+) = 6e38 overflows to inf and so does softplus.
  std::vector<float> p{1.0f}, q{-3e38f, 3e38f, 0.0f}, qf{0.0f, 0.0f, 0.0f};
  brmrs::dot_tables<float> t;
  t.user = {{p.data(), 1, 1}, {p.data(), 1, 1}};
  t.item = {{q.data(), 3, 1}, {q.data(), 3, 1}};
  t.fused_user = {p.data(), 1, 1};
  t.fused_item = {qf.data(), 3, 1};
  std::vector<std::int32_t> users{0}, pos{0}, pool{1}, neg{2};
  brmrs::batch<std::int32_t> b{{users.data(), 1}, {pos.data(), 1}, {pool.data(), 1, 1}, {neg.data(), 1}};
  std::vector<float> ex{-1.0f};
  brmrs::objective_outputs<float, std::int32_t> out;
  out.example_loss = {ex.data(), 1};
  CHECK_THROWS_WITH(brmrs::compute_objective(t, b, brmrs::objective_config<float>{}, out, brmrs::scalar_backend{}),
                    Catch::Contains("example 0") && Catch::Contains("loss = inf"));
  CHECK(ex[0] == -1.0f);
}
