// Tests for brmrs::evaluate_ranking_blocked (brmrs/eval.hpp): the tiled entry point against the
// per-user evaluate_ranking as a second implementation (bitwise equal reports for every tile size,
// tie rule and thread setting, on data with frequent ties), against a sort-based top-K list, with
// one scorer against the fused scorer of a whole evaluation, and
// its errors (bad input before any callback; the host's exception and non-finite scores reported
// for the lowest user, as evaluate_ranking does).
#include <brmrs/eval.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using store = brmrs::interactions<std::int32_t>;

struct fixture {
  std::size_t n_users, n_items, S;
  store train, valid, held;
  std::vector<double> table;  // [u][s][j]

  double score(std::size_t u, std::size_t s, std::size_t j) const { return table[(u * S + s) * n_items + j]; }
};

// Random stores and scores rounded to 1/4 (many ties); users without held-out items on purpose.
fixture make_fixture(unsigned seed, std::size_t n_users, std::size_t n_items, std::size_t S) {
  std::mt19937 gen(seed);
  std::vector<std::int32_t> tu, ti, vu, vi, hu, hi;
  std::bernoulli_distribution in_train(0.15), in_valid(0.05), in_held(0.06);
  for (std::size_t u = 0; u < n_users; ++u)
    for (std::size_t i = 0; i < n_items; ++i) {
      const auto U = std::int32_t(u), I = std::int32_t(i);
      if (in_train(gen)) tu.push_back(U), ti.push_back(I);
      else if (in_valid(gen)) vu.push_back(U), vi.push_back(I);
      else if (u % 5 != 3 && in_held(gen)) hu.push_back(U), hi.push_back(I);
    }
  fixture f{n_users, n_items, S, store::from_pairs(n_users, n_items, tu, ti), store::from_pairs(n_users, n_items, vu, vi),
            store::from_pairs(n_users, n_items, hu, hi), {}};
  std::uniform_int_distribution<int> q(0, 12);
  f.table.resize(n_users * S * n_items);
  for (auto& v : f.table) v = 0.25 * q(gen);
  return f;
}

// The per-user callback of evaluate_ranking and the tile callback of the blocked entry point,
// both reading the same table.
auto per_user(const fixture& f) {
  return [&f](std::size_t u, brmrs::matrix_view<double> out) {
    for (std::size_t s = 0; s < f.S; ++s)
      for (std::size_t j = 0; j < f.n_items; ++j) out(s, j) = f.score(u, s, j);
  };
}

auto per_tile(const fixture& f, std::vector<std::size_t>* sizes = nullptr) {
  return [&f, sizes](brmrs::vector_view<const std::size_t> users, brmrs::matrix_view<double> tile) {
    REQUIRE(tile.rows() == f.S * users.size());
    REQUIRE(tile.cols() == f.n_items);
    if (sizes != nullptr) {
#pragma omp critical
      sizes->push_back(users.size());
    }
    for (std::size_t s = 0; s < f.S; ++s)
      for (std::size_t r = 0; r < users.size(); ++r)
        for (std::size_t j = 0; j < f.n_items; ++j) tile(s * users.size() + r, j) = f.score(users[r], s, j);
  };
}

void check_same(const brmrs::ranking_report& a, const brmrs::ranking_report& b) {
  CHECK(a.users == b.users);
  CHECK(a.pairs == b.pairs);
  CHECK(a.recall == b.recall);  // bitwise
  CHECK(a.ndcg == b.ndcg);
  CHECK(a.pattern_counts == b.pattern_counts);
}

double dsc(std::size_t rank) { return 1.0 / std::log2(double(rank) + 1.0); }

}  // namespace

TEST_CASE("evaluate_ranking_blocked equals evaluate_ranking bitwise for every tile size, tie rule and thread setting",
          "[eval]") {
  const unsigned seed = GENERATE(1u, 2u, 3u);
  INFO("seed " << seed);
  const fixture f = make_fixture(seed, 53, 71, 3);
  for (const auto ties : {brmrs::tie_rule::lowest_id_first, brmrs::tie_rule::pessimistic})
    for (const bool parallel : {true, false})
      for (const std::size_t bu : {0u, 1u, 2u, 7u, 16u, 40u, 1000u}) {
        INFO("ties " << int(ties) << " parallel " << parallel << " block_users " << bu);
        brmrs::ranking_options opt;
        opt.ks = {3, 10, 20};
        opt.ties = ties;
        opt.parallel = parallel;
        const auto ref = brmrs::evaluate_ranking<double>(f.S, f.held, {&f.train, &f.valid}, per_user(f), opt);
        std::vector<std::size_t> sizes;
        const auto got =
            brmrs::evaluate_ranking_blocked<double>(f.S, f.held, {&f.train, &f.valid}, per_tile(f, &sizes), opt, bu);
        check_same(got, ref);
        // Tiles cover the evaluated users once, none larger than asked.
        std::size_t covered = 0;
        for (const auto n : sizes) {
          CHECK(n >= 1);
          CHECK(n <= (bu == 0 ? 64u : bu));
          covered += n;
        }
        CHECK(covered == ref.users);
      }
}

TEST_CASE("one scorer (the fused one alone) gives the fused scorer's figures of the whole evaluation", "[eval]") {
  const fixture all = make_fixture(5, 41, 60, 3);
  fixture fused = all;  // the same stores, and scorer 2's scores as the only scorer
  fused.S = 1;
  fused.table.assign(all.n_users * all.n_items, 0.0);
  for (std::size_t u = 0; u < all.n_users; ++u)
    for (std::size_t j = 0; j < all.n_items; ++j) fused.table[u * all.n_items + j] = all.score(u, 2, j);
  brmrs::ranking_options opt;
  opt.ks = {5, 20};
  const auto whole = brmrs::evaluate_ranking_blocked<double>(3, all.held, {&all.train}, per_tile(all), opt, 8);
  const auto one = brmrs::evaluate_ranking_blocked<double>(1, fused.held, {&fused.train}, per_tile(fused), opt, 8);
  check_same(one, brmrs::evaluate_ranking<double>(1, fused.held, {&fused.train}, per_user(fused), opt));
  REQUIRE(one.n_scorers == 1);
  for (const std::size_t K : opt.ks) {
    CHECK(one.recall_at(0, K) == whole.recall_at(2, K));  // bitwise: the same per-user sums
    CHECK(one.ndcg_at(0, K) == whole.ndcg_at(2, K));
    double fused_hits = 0;  // pairs whose pattern has the fused bit (4) set
    for (unsigned mask = 4; mask < 8; ++mask) fused_hits += whole.pattern_share(K, mask);
    CHECK(one.pattern_share(K, 1) == Approx(fused_hits));
    CHECK(one.pattern_share(K, 0) == Approx(1.0 - fused_hits));
  }
}

TEST_CASE("evaluate_ranking_blocked agrees with a sort-based top-K list", "[eval]") {
  const fixture f = make_fixture(11, 37, 50, 2);
  brmrs::ranking_options opt;
  opt.ks = {5};
  const auto rep = brmrs::evaluate_ranking_blocked<double>(f.S, f.held, {&f.train}, per_tile(f), opt, 8);
  for (std::size_t s = 0; s < f.S; ++s) {
    double rsum = 0, nsum = 0;
    std::size_t users = 0;
    for (std::size_t u = 0; u < f.n_users; ++u) {
      const auto h = f.held.items_of(u);
      if (h.size() == 0) continue;
      ++users;
      std::vector<std::size_t> cand;
      for (std::size_t j = 0; j < f.n_items; ++j)
        if (!f.train.contains(u, j)) cand.push_back(j);
      std::sort(cand.begin(), cand.end(), [&](std::size_t a, std::size_t b) {
        return f.score(u, s, a) != f.score(u, s, b) ? f.score(u, s, a) > f.score(u, s, b) : a < b;
      });
      double hits = 0, dcg = 0, idcg = 0;
      for (std::size_t r = 0; r < std::min<std::size_t>(5, cand.size()); ++r)
        if (f.held.contains(u, cand[r])) hits += 1, dcg += dsc(r + 1);
      for (std::size_t r = 1; r <= std::min<std::size_t>(5, h.size()); ++r) idcg += dsc(r);
      rsum += hits / double(h.size());
      nsum += dcg / idcg;
    }
    CHECK(rep.recall_at(s, 5) == Approx(rsum / double(users)));
    CHECK(rep.ndcg_at(s, 5) == Approx(nsum / double(users)));
  }
}

TEST_CASE("evaluate_ranking_blocked rejects bad input before any callback and reports errors like evaluate_ranking",
          "[eval]") {
  const fixture f = make_fixture(5, 30, 40, 3);
  int calls = 0;
  auto counting = [&](brmrs::vector_view<const std::size_t>, brmrs::matrix_view<double>) {
#pragma omp atomic
    ++calls;
  };
  brmrs::ranking_options opt;
  CHECK_THROWS_WITH(brmrs::evaluate_ranking_blocked<double>(0, f.held, {&f.train}, counting, opt),
                    Catch::Matchers::Contains("n_scorers = 0"));
  CHECK_THROWS_WITH(brmrs::evaluate_ranking_blocked<double>(17, f.held, {&f.train}, counting, opt),
                    Catch::Matchers::Contains("n_scorers = 17"));
  opt.ks = {10, 0};
  CHECK_THROWS_WITH(brmrs::evaluate_ranking_blocked<double>(3, f.held, {&f.train}, counting, opt),
                    Catch::Matchers::Contains("options.ks[1] = 0"));
  opt.ks = {10};
  // A held-out pair that is also excluded.
  CHECK_THROWS_WITH(brmrs::evaluate_ranking_blocked<double>(3, f.held, {&f.train, &f.held}, counting, opt),
                    Catch::Matchers::Contains("brmrs::evaluate_ranking_blocked: held-out pair"));
  CHECK(calls == 0);

  // A non-finite score: the lowest such user is named, whatever the tiling.
  std::size_t bad_user = 0;
  for (std::size_t u = f.n_users; u-- > 0;)
    if (f.held.degree(u) > 0 && u > 4) bad_user = u;
  fixture g = f;
  g.table[(bad_user * g.S + 1) * g.n_items + 7] = std::numeric_limits<double>::quiet_NaN();
  const std::string want = "score of user " + std::to_string(bad_user) + ", scorer 1, item 7";
  for (const std::size_t bu : {1u, 3u, 64u}) {
    CHECK_THROWS_WITH(brmrs::evaluate_ranking_blocked<double>(3, g.held, {&g.train}, per_tile(g), opt, bu),
                      Catch::Matchers::Contains(want));
    CHECK_THROWS_WITH(brmrs::evaluate_ranking<double>(3, g.held, {&g.train}, per_user(g), opt),
                      Catch::Matchers::Contains(want));
  }
  // What the host throws is rethrown after the parallel region (no std::terminate).
  auto failing = [&](brmrs::vector_view<const std::size_t> users, brmrs::matrix_view<double> tile) {
    for (std::size_t r = 0; r < users.size(); ++r)
      if (users[r] >= 10) throw std::runtime_error("tile failed");
    per_tile(f)(users, tile);
  };
  CHECK_THROWS_WITH(brmrs::evaluate_ranking_blocked<double>(3, f.held, {&f.train}, failing, opt, 4),
                    Catch::Matchers::Equals("tile failed"));
}
