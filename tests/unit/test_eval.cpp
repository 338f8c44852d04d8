// Tests for brmrs/eval.hpp: ranks and tie rules, Recall@K / NDCG@K and the user subsets
// (U_t, U_v, U_tv, U_r) on small cases worked by hand, exclusion of validation items, errors,
// and a cross-check against an independent sort-based top-K implementation.
#include <brmrs/eval.hpp>

#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <string>
#include <vector>

namespace {

using store = brmrs::interactions<std::int32_t>;

store make_store(std::size_t n_users, std::size_t n_items, const std::vector<std::int32_t>& users,
                 const std::vector<std::int32_t>& items) {
  return store::from_pairs(n_users, n_items, users, items);
}

// Score callback over a fixed table: scores[u][s][j].
struct table_scorer {
  std::vector<std::vector<std::vector<double>>> table;
  std::vector<int>* calls = nullptr;
  void operator()(std::size_t u, brmrs::matrix_view<double> out) const {
    if (calls != nullptr) {
#pragma omp critical
      calls->push_back(static_cast<int>(u));
    }
    for (std::size_t s = 0; s < out.rows(); ++s)
      for (std::size_t j = 0; j < out.cols(); ++j) out(s, j) = table[u][s][j];
  }
};

double d(std::size_t rank) { return 1.0 / std::log2(double(rank) + 1.0); }

}  // namespace

TEST_CASE("rank_of_item counts better candidates, skipping excluded items, under both tie rules", "[eval]") {
  const std::vector<double> scores{0.5, 0.9, 0.5, 0.1, 0.7};
  const std::vector<unsigned char> excl{0, 0, 0, 0, 1};  // item 4 (0.7) excluded
  const brmrs::vector_view<const double> sv(scores.data(), scores.size());
  const brmrs::vector_view<const unsigned char> ev(excl.data(), excl.size());
  using brmrs::tie_rule;
  // target 0 (0.5): ahead are item 1 (0.9) and, tie with the lower-id rule, not item 2 (id 2 > 0).
  CHECK(brmrs::rank_of_item(sv, 0, ev, tie_rule::lowest_id_first) == 2);
  // pessimistic: item 1 (0.9) and the tied item 2 (0.5) are ahead -> rank 3.
  CHECK(brmrs::rank_of_item(sv, 0, ev, tie_rule::pessimistic) == 3);
  // target 2 (0.5): item 0 (tie, lower id) and item 1 ahead under both rules -> rank 3.
  CHECK(brmrs::rank_of_item(sv, 2, ev, tie_rule::lowest_id_first) == 3);
  CHECK(brmrs::rank_of_item(sv, 2, ev, tie_rule::pessimistic) == 3);
  // target 3 (0.1, the lowest): items 0, 1, 2 ahead; item 4 is excluded -> rank 4.
  CHECK(brmrs::rank_of_item(sv, 3, ev, tie_rule::lowest_id_first) == 4);
  // without exclusion item 4 (0.7) is ahead of target 0 as well: rank 3.
  const std::vector<unsigned char> none(5, 0);
  CHECK(brmrs::rank_of_item(sv, 0, brmrs::vector_view<const unsigned char>(none.data(), 5)) == 3);
}

// The hand-worked case (M = 2: scorer 0 = text t, 1 = visual v, 2 = fused f), 6 items.
//   user 0: train {0}, held out {1, 2}
//     t = [9 5 1 4 3 2]: candidates 1..5; rank(1) = 1; rank(2) = 1 + #{5,4,3,2 > 1} = 5
//     v = [0 1 6 5 2 3]: rank(1) = 1 + #{6,5,2,3 > 1} = 5; rank(2) = 1
//     f = [9 2 3 4 1 0]: rank(1) = 1 + #{3,4 > 2} = 3; rank(2) = 1 + #{4 > 3} = 2
//   user 1: train {3, 4}, held out {5}
//     t = [1 2 3 9 9 4], v = [1 2 3 0 0 4]: item 5 beats candidates 0, 1, 2 -> rank 1 each
//     f = [5 2 3 9 9 4]: item 0 (5) > 4 -> rank 2 (items 3, 4 excluded)
//   user 2: train {1}, nothing held out: never scored, not averaged
//   user 3: nothing in train, held out {0}
//     t = v = [0 1 1 1 1 1]: rank 6; f = [1 0 0 0 0 0]: rank 1
// Hit patterns (bit 0 = t, 1 = v, 2 = f):
//   K = 1: (0,1) {t} = 1, (0,2) {v} = 2, (1,5) {t,v} = 3, (3,0) {f} = 4
//   K = 2: (0,1) {t} = 1, (0,2) {v,f} = 6, (1,5) {t,v,f} = 7, (3,0) {f} = 4
TEST_CASE("evaluate_ranking: Recall, NDCG and the M = 2 subsets on a case worked by hand", "[eval]") {
  const store train = make_store(4, 6, {0, 1, 1, 2}, {0, 3, 4, 1});
  const store held = make_store(4, 6, {0, 0, 1, 3}, {1, 2, 5, 0});
  table_scorer sc;
  sc.table.resize(4);
  sc.table[0] = {{9, 5, 1, 4, 3, 2}, {0, 1, 6, 5, 2, 3}, {9, 2, 3, 4, 1, 0}};
  sc.table[1] = {{1, 2, 3, 9, 9, 4}, {1, 2, 3, 0, 0, 4}, {5, 2, 3, 9, 9, 4}};
  sc.table[2] = {{0, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0}};
  sc.table[3] = {{0, 1, 1, 1, 1, 1}, {0, 1, 1, 1, 1, 1}, {1, 0, 0, 0, 0, 0}};
  std::vector<int> calls;
  sc.calls = &calls;
  brmrs::ranking_options opt;
  opt.ks = {1, 2};
  const auto rep = brmrs::evaluate_ranking<double>(3, held, {&train}, sc, opt);
  std::sort(calls.begin(), calls.end());
  CHECK(calls == std::vector<int>{0, 1, 3});  // user 2 has nothing held out
  CHECK(rep.users == 3);
  CHECK(rep.pairs == 4);
  CHECK(rep.modalities() == 2);

  // Recall@1: t: user0 1/2, user1 1, user3 0 -> 0.5; v likewise; f: 0, 0, 1 -> 1/3.
  CHECK(rep.recall_at(0, 1) == Approx(0.5));
  CHECK(rep.recall_at(1, 1) == Approx(0.5));
  CHECK(rep.recall_at(2, 1) == Approx(1.0 / 3.0));
  // Recall@2: t, v unchanged (0.5); f: 1/2 (item 2 at rank 2), 1, 1 -> 2.5/3.
  CHECK(rep.recall_at(0, 2) == Approx(0.5));
  CHECK(rep.recall_at(2, 2) == Approx(2.5 / 3.0));
  // NDCG@1: t: user0 1/1 (IDCG over min(2,1) = 1 position), user1 1, user3 0 -> 2/3; f: 1/3.
  CHECK(rep.ndcg_at(0, 1) == Approx(2.0 / 3.0));
  CHECK(rep.ndcg_at(1, 1) == Approx(2.0 / 3.0));
  CHECK(rep.ndcg_at(2, 1) == Approx(1.0 / 3.0));
  // NDCG@2: t: user0 DCG 1 / IDCG (1 + 1/log2 3); user1 1; user3 0.
  const double idcg2 = 1.0 + d(2);
  CHECK(rep.ndcg_at(0, 2) == Approx((1.0 / idcg2 + 1.0 + 0.0) / 3.0));
  // f: user0 DCG d(2) (item 2 at rank 2) / idcg2; user1 d(2) / 1; user3 1.
  CHECK(rep.ndcg_at(2, 2) == Approx((d(2) / idcg2 + d(2) + 1.0) / 3.0));

  // Subsets at K = 1: one pair each of U_t, U_v, U_r, U_tv out of 4.
  CHECK(rep.only_share(1, 0) == Approx(0.25));    // U_t
  CHECK(rep.only_share(1, 1) == Approx(0.25));    // U_v
  CHECK(rep.synergy_share(1) == Approx(0.25));    // U_tv
  CHECK(rep.degradation_share(1) == Approx(0.25));  // U_r
  // K = 2: (0,2) becomes {v,f} and (1,5) {t,v,f}: U_v = U_r = 0.
  CHECK(rep.only_share(2, 0) == Approx(0.25));
  CHECK(rep.only_share(2, 1) == 0.0);
  CHECK(rep.synergy_share(2) == Approx(0.25));
  CHECK(rep.degradation_share(2) == 0.0);
  CHECK(rep.pattern_share(2, 6) == Approx(0.25));
  CHECK(rep.pattern_share(2, 7) == Approx(0.25));
  // Every pair falls in exactly one pattern.
  std::size_t total = 0;
  for (unsigned m = 0; m < 8; ++m) total += rep.pattern_counts[1 * 8 + m];
  CHECK(total == 4);

  SECTION("validation items are excluded too when testing") {
    // Excluding item 0 for user 1 as well lifts fused rank of (1,5) from 2 to 1: K = 1 pattern
    // becomes {t,v,f} = 7, so U_r at K = 1 drops to 0 and fused Recall@1 = (0 + 1 + 1)/3.
    const store val = make_store(4, 6, {1}, {0});
    const auto r2 = brmrs::evaluate_ranking<double>(3, held, {&train, &val}, sc, opt);
    CHECK(r2.degradation_share(1) == 0.0);
    CHECK(r2.pattern_share(1, 7) == Approx(0.25));
    CHECK(r2.recall_at(2, 1) == Approx(2.0 / 3.0));
  }
  SECTION("asking for a K or scorer that was not evaluated throws") {
    CHECK_THROWS_AS(rep.recall_at(0, 20), brmrs::invalid_argument);
    CHECK_THROWS_AS(rep.only_share(1, 3), brmrs::invalid_argument);
  }
}

TEST_CASE("evaluate_ranking: M = 3 subsets are 'only this branch' and 'all unimodal hit, fused misses'", "[eval]") {
  // 4 items, one user per pattern, held-out item 0, nothing excluded; scorers 0, 1, 2 are the
  // modalities and 3 the fused one. A scorer hits at K = 1 when item 0 scores 1 and the rest 0;
  // it misses when item 0 scores 0 and item 1 scores 1.
  const std::vector<double> hit{1, 0, 0, 0}, miss{0, 1, 0, 0};
  const store held = make_store(3, 4, {0, 1, 2}, {0, 0, 0});
  table_scorer sc;
  sc.table = {{miss, hit, miss, miss},   // user 0: only modality 1 hits
              {hit, hit, hit, miss},     // user 1: every modality hits, fused misses
              {miss, miss, miss, hit}};  // user 2: only fused hits
  brmrs::ranking_options opt;
  opt.ks = {1};
  const auto rep = brmrs::evaluate_ranking<double>(4, held, {}, sc, opt);
  CHECK(rep.only_share(1, 0) == 0.0);
  CHECK(rep.only_share(1, 1) == Approx(1.0 / 3.0));
  CHECK(rep.only_share(1, 2) == 0.0);
  CHECK(rep.degradation_share(1) == Approx(1.0 / 3.0));  // pattern 0b0111
  CHECK(rep.synergy_share(1) == Approx(1.0 / 3.0));      // pattern 0b1000
  CHECK(rep.recall_at(3, 1) == Approx(1.0 / 3.0));
}

TEST_CASE("evaluate_ranking: the tie rule decides ranks among equal scores", "[eval]") {
  // 5 items all scored 0; held-out item 2, nothing excluded.
  //   lowest_id_first: items 0 and 1 are ahead -> rank 3: hit at K = 3, miss at K = 2.
  //   pessimistic: all 4 other items are ahead -> rank 5: miss at K = 3.
  const store held = make_store(1, 5, {0}, {2});
  table_scorer sc;
  sc.table = {{std::vector<double>(5, 0.0), std::vector<double>(5, 0.0)}};
  brmrs::ranking_options opt;
  opt.ks = {2, 3, 5};
  auto rep = brmrs::evaluate_ranking<double>(2, held, {}, sc, opt);
  CHECK(rep.recall_at(1, 2) == 0.0);
  CHECK(rep.recall_at(1, 3) == 1.0);
  CHECK(rep.ndcg_at(1, 3) == Approx(d(3)));  // DCG 1/log2(4) = 0.5, IDCG 1
  opt.ties = brmrs::tie_rule::pessimistic;
  rep = brmrs::evaluate_ranking<double>(2, held, {}, sc, opt);
  CHECK(rep.recall_at(1, 3) == 0.0);
  CHECK(rep.recall_at(1, 5) == 1.0);
  CHECK(rep.ndcg_at(1, 5) == Approx(d(5)));
}

TEST_CASE("evaluate_ranking rejects bad input, naming it", "[eval]") {
  const store train = make_store(2, 4, {0, 1}, {1, 2});
  const store held = make_store(2, 4, {0, 1}, {0, 2});  // (1, 2) is also in train
  const store held_ok = make_store(2, 4, {0, 1}, {0, 3});
  table_scorer sc;
  sc.table = {{{1, 2, 3, 4}, {1, 2, 3, 4}}, {{1, 2, 3, 4}, {1, 2, 3, 4}}};
  using Catch::Matchers::Contains;
  CHECK_THROWS_WITH(brmrs::evaluate_ranking<double>(2, held, {&train}, sc),
                    Contains("user 1, item 2") && Contains("excluded[0]"));
  CHECK_THROWS_WITH(brmrs::evaluate_ranking<double>(0, held_ok, {&train}, sc), Contains("n_scorers = 0"));
  const brmrs::ranking_report empty;  // default-constructed: every accessor refuses it
  CHECK_THROWS_WITH(empty.degradation_share(20), Contains("n_scorers = 0"));
  CHECK_THROWS_AS(empty.synergy_share(20), brmrs::invalid_argument);
  CHECK_THROWS_AS(empty.recall_at(0, 20), brmrs::invalid_argument);
  brmrs::ranking_options bad;
  bad.ks = {10, 0};
  CHECK_THROWS_WITH(brmrs::evaluate_ranking<double>(2, held_ok, {&train}, sc, bad), Contains("ks[1] = 0"));
  const store other = make_store(2, 5, {0}, {4});
  CHECK_THROWS_WITH(brmrs::evaluate_ranking<double>(2, held_ok, {&other}, sc), Contains("excluded[0] is 2 users x 5 items"));
  table_scorer nan_sc = sc;
  nan_sc.table[1][1][3] = std::nan("");
  CHECK_THROWS_WITH(brmrs::evaluate_ranking<double>(2, held_ok, {&train}, nan_sc),
                    Contains("user 1, scorer 1, item 3") && Contains("not finite"));
}

TEST_CASE("evaluate_ranking rethrows what the host's scorer throws (no std::terminate from OpenMP)", "[eval]") {
  const store train = make_store(3, 4, {0, 1, 2}, {1, 2, 0});
  const store held = make_store(3, 4, {0, 1, 2}, {0, 3, 1});
  table_scorer sc;
  sc.table = {{{1, 2, 3, 4}, {1, 2, 3, 4}}, {{1, 2, 3, 4}, {1, 2, 3, 4}}, {{1, 2, 3, 4}, {1, 2, 3, 4}}};
  // Users 1 and 2 fail: the lowest failing user's exception comes back, whatever the threads.
  auto failing = [&](std::size_t u, brmrs::matrix_view<double> out) {
    if (u >= 1) throw std::runtime_error("scorer failed for user " + std::to_string(u));
    sc(u, out);
  };
  brmrs::ranking_options opt;
  for (const bool parallel : {false, true}) {
    opt.parallel = parallel;
    CHECK_THROWS_AS(brmrs::evaluate_ranking<double>(2, held, {&train}, failing, opt), std::runtime_error);
    CHECK_THROWS_WITH(brmrs::evaluate_ranking<double>(2, held, {&train}, failing, opt),
                      Catch::Matchers::Equals("scorer failed for user 1"));
  }
}

TEST_CASE("evaluate_ranking agrees with a sort-based top-K list and with itself across thread settings", "[eval]") {
  const unsigned seed = GENERATE(1u, 2u, 3u);
  INFO("seed " << seed);
  std::mt19937 gen(seed);
  const std::size_t n_users = 40, n_items = 60, S = 3;
  std::vector<std::int32_t> tu, ti, hu, hi;
  std::bernoulli_distribution in_train(0.15), in_held(0.08);
  for (std::size_t u = 0; u < n_users; ++u)
    for (std::size_t i = 0; i < n_items; ++i) {
      if (in_train(gen)) {
        tu.push_back(std::int32_t(u));
        ti.push_back(std::int32_t(i));
      } else if (in_held(gen)) {
        hu.push_back(std::int32_t(u));
        hi.push_back(std::int32_t(i));
      }
    }
  const store train = make_store(n_users, n_items, tu, ti), held = make_store(n_users, n_items, hu, hi);
  table_scorer sc;
  // Scores rounded to 1/4 so ties are frequent.
  std::uniform_int_distribution<int> q(0, 12);
  sc.table.assign(n_users, std::vector<std::vector<double>>(S, std::vector<double>(n_items)));
  for (auto& user : sc.table)
    for (auto& row : user)
      for (auto& v : row) v = 0.25 * q(gen);
  brmrs::ranking_options opt;
  opt.ks = {5, 10};
  const auto par = brmrs::evaluate_ranking<double>(S, held, {&train}, sc, opt);
  opt.parallel = false;
  const auto ser = brmrs::evaluate_ranking<double>(S, held, {&train}, sc, opt);
  CHECK(par.recall == ser.recall);  // bitwise
  CHECK(par.ndcg == ser.ndcg);
  CHECK(par.pattern_counts == ser.pattern_counts);

  // Independent implementation: sort the candidates by (score desc, id asc), take the top K.
  for (std::size_t ki = 0; ki < opt.ks.size(); ++ki) {
    const std::size_t K = opt.ks[ki];
    for (std::size_t s = 0; s < S; ++s) {
      double rsum = 0, nsum = 0;
      std::size_t users = 0;
      for (std::size_t u = 0; u < n_users; ++u) {
        const auto h = held.items_of(u);
        if (h.size() == 0) continue;
        ++users;
        std::vector<std::size_t> cand;
        for (std::size_t j = 0; j < n_items; ++j)
          if (!train.contains(u, j)) cand.push_back(j);
        const auto& row = sc.table[u][s];
        std::sort(cand.begin(), cand.end(), [&](std::size_t a, std::size_t b) {
          return row[a] != row[b] ? row[a] > row[b] : a < b;
        });
        double hits = 0, dcg = 0, idcg = 0;
        for (std::size_t r = 0; r < std::min(K, cand.size()); ++r)
          if (held.contains(u, cand[r])) {
            hits += 1;
            dcg += d(r + 1);
          }
        for (std::size_t r = 1; r <= std::min<std::size_t>(K, h.size()); ++r) idcg += d(r);
        rsum += hits / double(h.size());
        nsum += dcg / idcg;
      }
      CHECK(ser.recall_at(s, K) == Approx(rsum / double(users)));
      CHECK(ser.ndcg_at(s, K) == Approx(nsum / double(users)));
    }
  }
}
