// The sampler, the objective and eval called from several std::threads at once, and from inside
// an OpenMP parallel region: every call must give the bits a lone call gives (DESIGN §3: results
// do not depend on the thread count), and share nothing mutable between calls. This file is also
// the ThreadSanitizer build's workload (scripts/tsan.sh).
#include <brmrs/eval.hpp>
#include <brmrs/objective.hpp>
#include <brmrs/sampler.hpp>
#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <thread>
#include <vector>

#include "objective_fixture.hpp"

namespace {

using id32 = std::int32_t;
using store = brmrs::interactions<id32>;
constexpr int n_callers = 4;

// Runs f(caller) on n_callers std::threads at once and returns after all joined.
template <class F>
void on_threads(F&& f) {
  std::vector<std::thread> ts;
  for (int c = 0; c < n_callers; ++c) ts.emplace_back([&f, c] { f(c); });
  for (auto& t : ts) t.join();
}

// Runs f(caller) from the threads of one OpenMP team (one call per thread).
template <class F>
void in_omp_team(F&& f) {
#pragma omp parallel num_threads(n_callers)
  {
#ifdef _OPENMP
    f(omp_get_thread_num());
#endif
  }
#ifndef _OPENMP
  for (int c = 0; c < n_callers; ++c) f(c);
#endif
}

store random_store(std::size_t n_users, std::size_t n_items, std::size_t per_user, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<id32> us, is;
  for (std::size_t u = 0; u < n_users; ++u)
    for (std::size_t k = 0; k < per_user; ++k) {
      us.push_back(static_cast<id32>(u));
      is.push_back(static_cast<id32>(rng() % n_items));
    }
  return store::from_pairs(n_users, n_items, us, is);
}

struct objective_run {
  brmrs::objective_result<double> result;
  std::vector<double> gradients;  // every table gradient, flattened
  std::vector<id32> hard;
};

objective_run run_objective_once(const brmrs_test::problem<double>& p) {
  brmrs_test::table_buffers<double> g(p);
  objective_run r;
  r.hard.assign(p.B * p.M, -1);
  brmrs::objective_outputs<double, id32> out;
  out.tables = g.views(p);
  out.hard_negatives = {r.hard.data(), p.B, p.M};
  r.result = brmrs::compute_objective(p.tables(), p.make_batch(), p.config, out);
  r.gradients = g.flat();
  return r;
}

bool same(const objective_run& a, const objective_run& b) {
  return a.result.loss == b.result.loss && a.result.chns == b.result.chns && a.result.synergy == b.result.synergy &&
         a.gradients == b.gradients && a.hard == b.hard;
}

}  // namespace

TEST_CASE("compute_objective gives a lone call's bits from concurrent std::threads and OpenMP threads",
          "[concurrency][objective]") {
  // Large enough that each call runs its own OpenMP team over several row blocks.
  const auto p = brmrs_test::random_problem<double>(41, 2, 16, false, 256, 32, 40, 600);
  const objective_run lone = run_objective_once(p);
  REQUIRE(lone.result.loss > 0);
  std::vector<objective_run> runs(n_callers);
  on_threads([&](int c) { runs[std::size_t(c)] = run_objective_once(p); });
  for (int c = 0; c < n_callers; ++c) CHECK(same(runs[std::size_t(c)], lone));
  std::vector<objective_run> team(n_callers);
  in_omp_team([&](int c) { team[std::size_t(c)] = run_objective_once(p); });
  for (int c = 0; c < n_callers; ++c) CHECK(same(team[std::size_t(c)], lone));
}

TEST_CASE("sample_pools gives a lone call's bits from concurrent std::threads and OpenMP threads",
          "[concurrency][sampler]") {
  const std::size_t n_users = 300, n_items = 5000, K = 64;
  const store x = random_store(n_users, n_items, 20, 7);
  std::vector<id32> users(n_users);
  for (std::size_t u = 0; u < n_users; ++u) users[u] = static_cast<id32>((u * 7) % n_users);
  auto draw = [&](std::vector<id32>& pools, std::vector<id32>& negs) {
    pools.assign(n_users * K, -1);
    negs.assign(n_users, -1);
    brmrs::sample_pools(x, users, 99, 5, 1000, brmrs::matrix_view<id32>(pools.data(), n_users, K),
                        brmrs::vector_view<id32>(negs.data(), n_users));
  };
  std::vector<id32> lone_pools, lone_negs;
  draw(lone_pools, lone_negs);
  for (std::size_t b = 0; b < n_users; ++b) REQUIRE(!x.contains(std::size_t(users[b]), std::size_t(lone_negs[b])));
  std::vector<std::vector<id32>> pools(n_callers), negs(n_callers);
  on_threads([&](int c) { draw(pools[std::size_t(c)], negs[std::size_t(c)]); });
  for (int c = 0; c < n_callers; ++c) {
    CHECK(pools[std::size_t(c)] == lone_pools);
    CHECK(negs[std::size_t(c)] == lone_negs);
  }
  in_omp_team([&](int c) { draw(pools[std::size_t(c)], negs[std::size_t(c)]); });
  for (int c = 0; c < n_callers; ++c) CHECK(pools[std::size_t(c)] == lone_pools);
}

TEST_CASE("evaluate_ranking gives a lone call's report from concurrent std::threads and OpenMP threads",
          "[concurrency][eval]") {
  const std::size_t n_users = 120, n_items = 400, d = 8, S = 3;
  const store train = random_store(n_users, n_items, 10, 11), held = [&] {
    // Held-out pairs outside the training store (eval refuses overlaps).
    std::mt19937_64 rng(12);
    std::vector<id32> us, is;
    for (std::size_t u = 0; u < n_users; ++u)
      for (int k = 0; k < 3; ++k) {
        const auto i = static_cast<id32>(rng() % n_items);
        if (!train.contains(u, std::size_t(i))) us.push_back(static_cast<id32>(u)), is.push_back(i);
      }
    return store::from_pairs(n_users, n_items, us, is);
  }();
  std::mt19937_64 rng(13);
  std::uniform_real_distribution<double> unif(-1, 1);
  std::vector<double> user_vec(S * n_users * d), item_vec(S * n_items * d);
  for (auto& v : user_vec) v = unif(rng);
  for (auto& v : item_vec) v = unif(rng);
  auto scorer = [&](std::size_t u, brmrs::matrix_view<double> out) {
    for (std::size_t s = 0; s < S; ++s)
      for (std::size_t i = 0; i < n_items; ++i) {
        double acc = 0;
        for (std::size_t k = 0; k < d; ++k) acc += user_vec[(s * n_users + u) * d + k] * item_vec[(s * n_items + i) * d + k];
        out(s, i) = acc;
      }
  };
  const auto lone = brmrs::evaluate_ranking<double>(S, held, {&train}, scorer);
  REQUIRE(lone.pairs > 0);
  auto same_report = [&](const brmrs::ranking_report& r) {
    return r.recall == lone.recall && r.ndcg == lone.ndcg && r.pattern_counts == lone.pattern_counts;
  };
  std::vector<brmrs::ranking_report> reps(n_callers);
  on_threads([&](int c) { reps[std::size_t(c)] = brmrs::evaluate_ranking<double>(S, held, {&train}, scorer); });
  for (int c = 0; c < n_callers; ++c) CHECK(same_report(reps[std::size_t(c)]));
  in_omp_team([&](int c) { reps[std::size_t(c)] = brmrs::evaluate_ranking<double>(S, held, {&train}, scorer); });
  for (int c = 0; c < n_callers; ++c) CHECK(same_report(reps[std::size_t(c)]));
}
