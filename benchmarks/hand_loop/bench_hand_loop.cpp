// bench_hand_loop — the hand-written AVX-512 yardstick (hand_loop.hpp) on workload W, named so
// its figures divide brmrs's directly:
//   BM_hand_select/<n_items>            the selection alone (cf. BM_select/simd/64/64/items_<n>)
//   BM_hand_objective/<n_items>         objective + per-example gradient rows (cf. BM_objective/simd/...)
//   BM_hand_objective_tables/<n_items>  objective + gradients added into tables (cf. BM_objective_tables/simd/...)
// n_items = 2 000 (in cache) and 100 000. The data are brmrs's benchmark data
// (benchmarks/peer/workload.hpp: the same tables, users, positives, explicit negatives and pools),
// the outputs those brmrs requests (hard negatives, loss parts, every gradient row; or the table
// gradients, zeroed once before timing and accumulated over iterations, as bench_objective does).
// Counters as brmrs's: items/s = candidates scored per second (B·K per pass), bytes/s = item-row
// bytes the selection gathers per second.
// Before any timing, main() runs brmrs (SIMD backend) and the hand loop on the same data for every
// size and CHECKS them: hard negatives identical or, where not, tied (scores of the two ids within
// 1e-5); loss and its parts within 1e-5 relative; every gradient array within 1e-4 of its largest
// entry. A disagreement prints what differs and exits 1 without timing anything.
// BRMRS_BENCH_SMOKE=1: brmrs's smoke shapes (B = 64, tiny tables).
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <brmrs/backend/simd/kernels.hpp>
#include <brmrs/backend/simd/select_batch.hpp>
#include <brmrs/objective.hpp>

#include "../peer/workload.hpp"
#include "hand_loop.hpp"

namespace {

using W = brmrs_bench::workload<float>;

brmrs_bench::shape shape_for(std::size_t n_items) {
  brmrs_bench::shape s;
  s.n_items = n_items;
  if (brmrs_bench::smoke()) s = s.smoke_version();
  return s;
}

hand_loop::tables hand_tables(const W& w) {
  hand_loop::tables t;
  for (int m = 0; m < 2; ++m) {
    t.user[m] = w.user[m].data();
    t.item[m] = w.item[m].data();
  }
  t.fused_user = w.fused_user.data();
  t.fused_item = w.fused_item.data();
  t.n_users = w.s.n_users;
  t.n_items = w.s.n_items;
  return t;
}

hand_loop::batch hand_batch(const W& w) {
  return {w.users.data(), w.positives.data(), w.negatives.data(), w.pools.data(), w.s.B, w.s.K};
}

hand_loop::rows hand_rows(brmrs_bench::row_buffers<float>& r) {
  hand_loop::rows g;
  for (int m = 0; m < 2; ++m) {
    g.user[m] = r.user[m].data();
    g.positive[m] = r.positive[m].data();
    g.negative[m] = r.negative[m].data();
    g.hard[m] = r.hard[m].data();
  }
  g.fused_user = r.fu.data();
  g.fused_positive = r.fp.data();
  g.fused_negative = r.fn.data();
  return g;
}

// Table-shaped gradient buffers, zeroed, with both views (brmrs's and the hand loop's).
struct grad_tables {
  std::vector<std::vector<float>> user, item;
  std::vector<float> fu, fi;
  explicit grad_tables(const brmrs_bench::shape& s) {
    for (std::size_t m = 0; m < s.M; ++m) {
      user.emplace_back(s.n_users * s.d, 0.f);
      item.emplace_back(s.n_items * s.d, 0.f);
    }
    fu.assign(s.n_users * s.d_f, 0.f);
    fi.assign(s.n_items * s.d_f, 0.f);
  }
  brmrs::table_gradients<float> brmrs_views(const brmrs_bench::shape& s) {
    brmrs::table_gradients<float> g;
    for (std::size_t m = 0; m < s.M; ++m) {
      g.user.emplace_back(user[m].data(), s.n_users, s.d);
      g.item.emplace_back(item[m].data(), s.n_items, s.d);
    }
    g.fused_user = brmrs::matrix_view<float>(fu.data(), s.n_users, s.d_f);
    g.fused_item = brmrs::matrix_view<float>(fi.data(), s.n_items, s.d_f);
    return g;
  }
  hand_loop::table_grads hand_views() {
    return {{user[0].data(), user[1].data()}, {item[0].data(), item[1].data()}, fu.data(), fi.data()};
  }
};

using brmrs_simd = brmrs::simd_backend<xsimd::default_arch>;

// ── The check against brmrs ───────────────────────────────────────────────────────────────────
struct checker {
  bool ok = true;
  std::size_t n_items, failures = 0;
  void fail(const std::string& what) {
    ok = false;
    if (++failures > 8) return;  // the first few say enough
    std::fprintf(stderr, "bench_hand_loop: hand loop and brmrs DISAGREE (n_items = %zu): %s\n", n_items, what.c_str());
  }
  void rel(const char* name, double hand, double ref, double tol) {
    const double r = std::fabs(hand - ref) / std::fmax(std::fabs(ref), 1e-30);
    if (!(r <= tol)) fail(std::string(name) + ": hand " + std::to_string(hand) + ", brmrs " + std::to_string(ref));
  }
  // max |hand - ref| <= tol * max |ref|
  void array(const std::string& name, const std::vector<float>& hand, const std::vector<float>& ref, double tol) {
    double scale = 0, worst = 0;
    for (std::size_t i = 0; i < ref.size(); ++i) {
      scale = std::fmax(scale, std::fabs(ref[i]));
      worst = std::fmax(worst, std::fabs(static_cast<double>(hand[i]) - ref[i]));
    }
    if (!(worst <= tol * (scale > 0 ? scale : 1.0)))
      fail(name + ": largest difference " + std::to_string(worst) + " against largest entry " + std::to_string(scale));
  }
  // Hard negatives: the same id, or an id of the same score (a tie) to 1e-5.
  void hard(const char* what, const W& w, const std::vector<std::int32_t>& hand, const std::vector<std::int32_t>& ref) {
    std::size_t ties = 0;
    for (std::size_t b = 0; b < w.s.B; ++b)
      for (std::size_t m = 0; m < w.s.M; ++m) {
        const std::int32_t a = hand[b * w.s.M + m], r = ref[b * w.s.M + m];
        if (a == r) continue;
        const float* u = w.user[m].data() + static_cast<std::size_t>(w.users[b]) * w.s.d;
        double sa = 0, sr = 0;
        for (std::size_t i = 0; i < w.s.d; ++i) {
          sa += static_cast<double>(u[i]) * w.item[m][static_cast<std::size_t>(a) * w.s.d + i];
          sr += static_cast<double>(u[i]) * w.item[m][static_cast<std::size_t>(r) * w.s.d + i];
        }
        if (std::fabs(sa - sr) > 1e-5)
          fail(std::string(what) + ": example " + std::to_string(b) + " modality " + std::to_string(m) + ": hand picks " +
               std::to_string(a) + " (score " + std::to_string(sa) + "), brmrs " + std::to_string(r) + " (score " +
               std::to_string(sr) + ")");
        else
          ++ties;
      }
    if (ties != 0) std::printf("  %s: %zu hard negatives differ from brmrs's by a tie\n", what, ties);
  }
};

bool check(std::size_t n_items) {
  const brmrs_bench::shape s = shape_for(n_items);
  checker c;
  c.n_items = s.n_items;
  if (s.M != 2 || s.d != hand_loop::D || s.d_f != hand_loop::D || s.K % 16 != 0) {
    c.fail("the hand loop is written for M = 2, d = d_f = 64, K a multiple of 16");
    return false;
  }
  const W w(s);
  const auto tables = w.tables();
  const auto b = w.make_batch();
  const hand_loop::tables ht = hand_tables(w);
  const hand_loop::batch hb = hand_batch(w);
  hand_loop::workspace ws(hb);
  brmrs::objective_config<float> cfg;

  // (a) selection
  std::vector<std::int32_t> h_ref(s.B * s.M), h_hand(s.B * s.M);
  brmrs::backend::simd::select_hard_batch<brmrs::backend::simd::kernels<>>(tables, b,
                                                                           brmrs::matrix_view<std::int32_t>(h_ref.data(), s.B, s.M));
  hand_loop::select(ht, hb, h_hand.data());
  c.hard("selection", w, h_hand, h_ref);

  // (b) objective with per-example rows
  brmrs_bench::row_buffers<float> r_ref(s), r_hand(s);
  brmrs::objective_outputs<float, std::int32_t> out;
  std::vector<std::int32_t> oh_ref(s.B * s.M), oh_hand(s.B * s.M);
  out.hard_negatives = brmrs::matrix_view<std::int32_t>(oh_ref.data(), s.B, s.M);
  out.rows = r_ref.views;
  const auto res = brmrs::compute_objective(tables, b, cfg, out, brmrs_simd{});
  const hand_loop::result hr = hand_loop::objective_rows(ht, hb, cfg.theta, oh_hand.data(), hand_rows(r_hand), ws);
  c.hard("objective", w, oh_hand, oh_ref);
  c.rel("loss", hr.loss, res.loss, 1e-5);
  c.rel("bpr", hr.bpr, res.bpr, 1e-5);
  c.rel("chns", hr.chns, res.chns, 1e-5);
  c.rel("synergy", hr.synergy, res.synergy, 1e-5);
  c.rel("fusion_degradation_rate", hr.fusion_degradation_rate, res.fusion_degradation_rate, 1e-6);
  c.rel("hard_negative_agreement", hr.hard_negative_agreement + 1.0, res.hard_negative_agreement + 1.0, 1e-6);
  for (std::size_t m = 0; m < s.M; ++m) {
    const std::string t = "[" + std::to_string(m) + "]";
    c.array("rows.user" + t, r_hand.user[m], r_ref.user[m], 1e-4);
    c.array("rows.positive" + t, r_hand.positive[m], r_ref.positive[m], 1e-4);
    c.array("rows.negative" + t, r_hand.negative[m], r_ref.negative[m], 1e-4);
    c.array("rows.hard" + t, r_hand.hard[m], r_ref.hard[m], 1e-4);
  }
  c.array("rows.fused_user", r_hand.fu, r_ref.fu, 1e-4);
  c.array("rows.fused_positive", r_hand.fp, r_ref.fp, 1e-4);
  c.array("rows.fused_negative", r_hand.fn, r_ref.fn, 1e-4);

  // (c) objective accumulating into zeroed tables
  grad_tables g_ref(s), g_hand(s);
  brmrs::objective_outputs<float, std::int32_t> out_t;
  out_t.hard_negatives = brmrs::matrix_view<std::int32_t>(oh_ref.data(), s.B, s.M);
  out_t.tables = g_ref.brmrs_views(s);
  const auto res_t = brmrs::compute_objective(tables, b, cfg, out_t, brmrs_simd{});
  const hand_loop::result hr_t = hand_loop::objective_tables(ht, hb, cfg.theta, oh_hand.data(), g_hand.hand_views(), ws);
  c.hard("objective_tables", w, oh_hand, oh_ref);
  c.rel("tables: loss", hr_t.loss, res_t.loss, 1e-5);
  for (std::size_t m = 0; m < s.M; ++m) {
    const std::string t = "[" + std::to_string(m) + "]";
    c.array("tables.user" + t, g_hand.user[m], g_ref.user[m], 1e-4);
    c.array("tables.item" + t, g_hand.item[m], g_ref.item[m], 1e-4);
  }
  c.array("tables.fused_user", g_hand.fu, g_ref.fu, 1e-4);
  c.array("tables.fused_item", g_hand.fi, g_ref.fi, 1e-4);
  if (c.ok)
    std::printf("bench_hand_loop: hand loop agrees with brmrs (n_items = %zu, B = %zu): loss %.7g vs %.7g\n", s.n_items,
                s.B, hr.loss, static_cast<double>(res.loss));
  return c.ok;
}

// ── The benchmarks ────────────────────────────────────────────────────────────────────────────
void counters(benchmark::State& state, const W& w) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * w.s.B * w.s.K));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(w.selection_bytes()));
  state.counters["n_items"] = static_cast<double>(w.s.n_items);
}

void BM_hand_select(benchmark::State& state, std::size_t n_items) {
  const W w(shape_for(n_items));
  const hand_loop::tables t = hand_tables(w);
  const hand_loop::batch b = hand_batch(w);
  std::vector<std::int32_t> hard(w.s.B * w.s.M);
  for (auto _ : state) {
    hand_loop::select(t, b, hard.data());
    benchmark::DoNotOptimize(hard.data());
    benchmark::ClobberMemory();
  }
  counters(state, w);
}

void BM_hand_objective(benchmark::State& state, std::size_t n_items) {
  const W w(shape_for(n_items));
  const hand_loop::tables t = hand_tables(w);
  const hand_loop::batch b = hand_batch(w);
  hand_loop::workspace ws(b);
  std::vector<std::int32_t> hard(w.s.B * w.s.M);
  brmrs_bench::row_buffers<float> rows(w.s);
  const hand_loop::rows g = hand_rows(rows);
  const float theta = brmrs::objective_config<float>{}.theta;
  double loss = 0;
  for (auto _ : state) {
    loss += hand_loop::objective_rows(t, b, theta, hard.data(), g, ws).loss;
    benchmark::DoNotOptimize(loss);
    benchmark::ClobberMemory();
  }
  counters(state, w);
}

void BM_hand_objective_tables(benchmark::State& state, std::size_t n_items) {
  const W w(shape_for(n_items));
  const hand_loop::tables t = hand_tables(w);
  const hand_loop::batch b = hand_batch(w);
  hand_loop::workspace ws(b);
  std::vector<std::int32_t> hard(w.s.B * w.s.M);
  grad_tables gt(w.s);  // zeroed once, accumulated over iterations (as bench_objective's tables)
  const hand_loop::table_grads g = gt.hand_views();
  const float theta = brmrs::objective_config<float>{}.theta;
  double loss = 0;
  for (auto _ : state) {
    loss += hand_loop::objective_tables(t, b, theta, hard.data(), g, ws).loss;
    benchmark::DoNotOptimize(loss);
    benchmark::ClobberMemory();
  }
  counters(state, w);
}

const std::size_t sizes[] = {2000, 100000};

const bool registered = [] {
  for (std::size_t n : sizes) {
    const std::string tail = "/" + std::to_string(n);
    benchmark::RegisterBenchmark(("BM_hand_select" + tail).c_str(), BM_hand_select, n)
        ->UseRealTime()->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("BM_hand_objective" + tail).c_str(), BM_hand_objective, n)
        ->UseRealTime()->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("BM_hand_objective_tables" + tail).c_str(), BM_hand_objective_tables, n)
        ->UseRealTime()->Unit(benchmark::kMicrosecond);
  }
  return true;
}();

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  bool ok = true;
  for (std::size_t n : sizes) ok = check(n) && ok;
  if (!ok) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
