// CUDA compute_objective and select_hard_negatives against the scalar backend, on fresh random
// inputs (seed printed on failure): result parts, per-example losses, gradient rows and table
// gradients within float tolerance; hard negatives equal, or, where a near-tie in float lets the
// GPU's summation order pick another slot, the chosen score equal to the CPU's maximum within
// tolerance; exact ties (integer-valued tables, duplicate pool ids) picked at the lowest slot as
// on the CPU; output buffers poisoned before each run, fully written after it, padding columns
// untouched; the deterministic scatter bitwise reproducible; errors (bad ids, non-finite scores)
// thrown with the CPU's message before any output is written. Exit 77 (skip) without a GPU.
#include <brmrs/backend/cuda/objective.cuh>
#include <brmrs/backend/cuda/select.cuh>
#include <brmrs/objective.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "cuda_test_util.cuh"

namespace {

using brmrs::backend::cuda::device_buffer;
using namespace brmrs_cuda_test;

// A host vector and its device mirror.
template <class T>
struct dbuf {
  std::vector<T> h;
  device_buffer<T> d;
  void alloc(std::size_t n, T fill) {
    h.assign(n, fill);
    d = device_buffer<T>(n);
    up();
  }
  void up() { upload(d, h); }
  std::vector<T> down() const { return to_host(d); }
  T* ptr(bool dev) { return dev ? d.data() : h.data(); }
  const T* ptr(bool dev) const { return dev ? d.data() : h.data(); }
};

struct case_spec {
  const char* name;
  std::size_t M;
  std::vector<std::size_t> dims;
  std::size_t d_f, B, K, n_users, n_items;
  std::size_t pad;  // table row padding (pad > 0: unaligned rows, element path)
  bool shared_user, given_negatives, integer_valued;
  double tau, lambda_reg, lambda_bpr;
  brmrs::synergy_gradient mode;
  brmrs::reduction reduce;
};

template <class T, class Id>
struct problem {
  case_spec c;
  std::vector<std::size_t> ustride, istride;
  std::size_t fstride = 0;
  std::vector<dbuf<T>> user, item;
  dbuf<T> fu, fi;
  dbuf<Id> users, positives, pools, negatives;
  brmrs::objective_config<T> cfg;

  problem(const case_spec& s, std::uint64_t seed) : c(s) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> unif(-1.0, 1.0);
    std::uniform_int_distribution<int> small(-2, 2);
    auto value = [&]() { return c.integer_valued ? static_cast<T>(small(rng)) : static_cast<T>(unif(rng)); };
    user.resize(c.shared_user ? 1 : c.M);
    item.resize(c.M);
    for (std::size_t m = 0; m < c.M; ++m) {
      ustride.push_back(c.dims[m] + c.pad);
      istride.push_back(c.dims[m] + c.pad);
    }
    for (std::size_t m = 0; m < user.size(); ++m) {
      user[m].h.resize(c.n_users * ustride[m]);
      for (auto& x : user[m].h) x = value();
    }
    for (std::size_t m = 0; m < c.M; ++m) {
      item[m].h.resize(c.n_items * istride[m]);
      for (auto& x : item[m].h) x = value();
    }
    fstride = c.d_f + c.pad;
    fu.h.resize(c.n_users * fstride);
    fi.h.resize(c.n_items * fstride);
    for (auto& x : fu.h) x = value();
    for (auto& x : fi.h) x = value();
    std::uniform_int_distribution<long long> pu(0, static_cast<long long>(c.n_users) - 1),
        pi(0, static_cast<long long>(c.n_items) - 1);
    users.h.resize(c.B);
    positives.h.resize(c.B);
    negatives.h.resize(c.B);
    pools.h.resize(c.B * c.K);
    for (std::size_t b = 0; b < c.B; ++b) {
      users.h[b] = static_cast<Id>(pu(rng));
      positives.h[b] = static_cast<Id>(pi(rng));
      negatives.h[b] = static_cast<Id>(pi(rng));
      for (std::size_t k = 0; k < c.K; ++k) pools.h[b * c.K + k] = static_cast<Id>(pi(rng));
      // Integer-valued cases: duplicate ids in the pool force exact ties.
      if (c.integer_valued && c.K >= 4) pools.h[b * c.K + c.K - 1] = pools.h[b * c.K + 1];
    }
    for (auto* v : {&users, &positives, &negatives, &pools}) {
      v->d = device_buffer<Id>(v->h.size());
      v->up();
    }
    for (auto& v : user) {
      v.d = device_buffer<T>(v.h.size());
      v.up();
    }
    for (auto& v : item) {
      v.d = device_buffer<T>(v.h.size());
      v.up();
    }
    for (auto* v : {&fu, &fi}) {
      v->d = device_buffer<T>(v->h.size());
      v->up();
    }
    cfg.tau = static_cast<T>(c.tau);
    cfg.lambda_reg = static_cast<T>(c.lambda_reg);
    cfg.lambda_bpr = static_cast<T>(c.lambda_bpr);
    cfg.synergy_mode = c.mode;
    cfg.reduce = c.reduce;
    cfg.seed = seed ^ 0x5eedULL;
    cfg.step = 3;
    cfg.example_offset = 1000;
  }

  brmrs::dot_tables<T> tables(bool dev) {
    brmrs::dot_tables<T> t;
    for (std::size_t m = 0; m < c.M; ++m) {
      const std::size_t um = c.shared_user ? 0 : m;
      t.user.push_back(brmrs::matrix_view<const T>(user[um].ptr(dev), c.n_users, c.dims[m], ustride[m]));
      t.item.push_back(brmrs::matrix_view<const T>(item[m].ptr(dev), c.n_items, c.dims[m], istride[m]));
    }
    t.fused_user = brmrs::matrix_view<const T>(fu.ptr(dev), c.n_users, c.d_f, fstride);
    t.fused_item = brmrs::matrix_view<const T>(fi.ptr(dev), c.n_items, c.d_f, fstride);
    return t;
  }
  brmrs::batch<Id> batch(bool dev) {
    brmrs::batch<Id> b;
    b.users = {users.ptr(dev), c.B};
    b.positives = {positives.ptr(dev), c.B};
    b.pools = {pools.ptr(dev), c.B, c.K};
    if (c.given_negatives) b.negatives = {negatives.ptr(dev), c.B};
    return b;
  }
  // s_m(u, i) in double, for near-tie checks.
  double score(std::size_t m, std::size_t u, std::size_t i) const {
    const auto& U = user[c.shared_user ? 0 : m].h;
    const auto& I = item[m].h;
    double s = 0;
    for (std::size_t e = 0; e < c.dims[m]; ++e)
      s += static_cast<double>(U[u * ustride[m] + e]) * static_cast<double>(I[i * istride[m] + e]);
    return s;
  }
};

// Every output, padded by one column so that writes past `cols` are caught.
template <class T, class Id>
struct outputs {
  std::size_t M = 0, B = 0;
  std::vector<std::size_t> dims;
  std::size_t d_f = 0, n_users = 0, n_items = 0;
  bool shared_user = false;
  dbuf<Id> hard, neg;
  dbuf<T> loss;
  std::vector<dbuf<T>> ru, rp, rn, rh, tu, ti;
  dbuf<T> rfu, rfp, rfn, tfu, tfi;

  static T poison() { return std::numeric_limits<T>::quiet_NaN(); }
  static constexpr Id id_poison = Id(-7);

  template <class P>
  explicit outputs(const P& p, std::uint64_t seed) {
    const auto& c = p.c;
    M = c.M;
    B = c.B;
    dims = c.dims;
    d_f = c.d_f;
    n_users = c.n_users;
    n_items = c.n_items;
    shared_user = c.shared_user;
    hard.alloc(B * (M + 1), id_poison);
    neg.alloc(B, id_poison);
    loss.alloc(B, poison());
    ru.resize(M);
    rp.resize(M);
    rn.resize(M);
    rh.resize(M);
    ti.resize(M);
    tu.resize(shared_user ? 1 : M);
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> unif(-1.0, 1.0);
    for (std::size_t m = 0; m < M; ++m) {
      ru[m].alloc(B * (dims[m] + 1), poison());
      rp[m].alloc(B * (dims[m] + 1), poison());
      rn[m].alloc(B * (dims[m] + 1), poison());
      rh[m].alloc(B * M * (dims[m] + 1), poison());
      ti[m].h.resize(n_items * (dims[m] + 1));
      for (auto& x : ti[m].h) x = static_cast<T>(unif(rng));
      ti[m].d = device_buffer<T>(ti[m].h.size());
      ti[m].up();
    }
    for (std::size_t m = 0; m < tu.size(); ++m) {
      tu[m].h.resize(n_users * (dims[m] + 1));
      for (auto& x : tu[m].h) x = static_cast<T>(unif(rng));
      tu[m].d = device_buffer<T>(tu[m].h.size());
      tu[m].up();
    }
    rfu.alloc(B * (d_f + 1), poison());
    rfp.alloc(B * (d_f + 1), poison());
    rfn.alloc(B * (d_f + 1), poison());
    for (auto* t : {&tfu, &tfi}) {
      t->h.resize((t == &tfu ? n_users : n_items) * (d_f + 1));
      for (auto& x : t->h) x = static_cast<T>(unif(rng));
      t->d = device_buffer<T>(t->h.size());
      t->up();
    }
  }

  brmrs::objective_outputs<T, Id> views(bool dev, bool rows, bool tabs) {
    brmrs::objective_outputs<T, Id> o;
    o.hard_negatives = brmrs::matrix_view<Id>(hard.ptr(dev), B, M, M + 1);
    o.negatives = {neg.ptr(dev), B};
    o.example_loss = {loss.ptr(dev), B};
    if (rows) {
      for (std::size_t m = 0; m < M; ++m) {
        const std::size_t d = dims[m];
        o.rows.user.push_back(brmrs::matrix_view<T>(ru[m].ptr(dev), B, d, d + 1));
        o.rows.positive.push_back(brmrs::matrix_view<T>(rp[m].ptr(dev), B, d, d + 1));
        o.rows.negative.push_back(brmrs::matrix_view<T>(rn[m].ptr(dev), B, d, d + 1));
        o.rows.hard.push_back(brmrs::matrix_view<T>(rh[m].ptr(dev), B * M, d, d + 1));
      }
      o.rows.fused_user = brmrs::matrix_view<T>(rfu.ptr(dev), B, d_f, d_f + 1);
      o.rows.fused_positive = brmrs::matrix_view<T>(rfp.ptr(dev), B, d_f, d_f + 1);
      o.rows.fused_negative = brmrs::matrix_view<T>(rfn.ptr(dev), B, d_f, d_f + 1);
    }
    if (tabs) {
      for (std::size_t m = 0; m < M; ++m) {
        const std::size_t d = dims[m];
        o.tables.user.push_back(brmrs::matrix_view<T>(tu[shared_user ? 0 : m].ptr(dev), n_users, d, d + 1));
        o.tables.item.push_back(brmrs::matrix_view<T>(ti[m].ptr(dev), n_items, d, d + 1));
      }
      o.tables.fused_user = brmrs::matrix_view<T>(tfu.ptr(dev), n_users, d_f, d_f + 1);
      o.tables.fused_item = brmrs::matrix_view<T>(tfi.ptr(dev), n_items, d_f, d_f + 1);
    }
    return o;
  }
};

template <class T>
double tol() {
  return std::is_same_v<T, float> ? 2e-4 : 1e-9;
}

bool close(double a, double b, double t) { return std::fabs(a - b) <= t * (1.0 + std::fabs(b)); }

// Compares a padded B-row (or more) block: rows where skip_row() is true are ignored; `scale` is
// the CPU block's largest magnitude (gradients are O(1/B)). Padding columns must be untouched.
template <class T, class Skip>
void compare_block(const std::vector<T>& gpu, const std::vector<T>& cpu, const std::vector<T>& before, std::size_t rows,
                   std::size_t cols, Skip skip_row, double t, const std::string& what) {
  double scale = 0;
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t e = 0; e < cols; ++e) scale = std::max(scale, std::fabs(static_cast<double>(cpu[r * (cols + 1) + e])));
  std::size_t bad = 0, unwritten = 0, pad_touched = 0;
  double worst = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    const T* g = gpu.data() + r * (cols + 1);
    const T* c = cpu.data() + r * (cols + 1);
    const T* z = before.data() + r * (cols + 1);
    if (std::memcmp(&g[cols], &z[cols], sizeof(T)) != 0) ++pad_touched;
    for (std::size_t e = 0; e < cols; ++e) {
      if (std::isnan(static_cast<double>(g[e]))) ++unwritten;
      if (skip_row(r)) continue;
      const double err = std::fabs(static_cast<double>(g[e]) - static_cast<double>(c[e]));
      worst = std::max(worst, err);
      if (err > t * (scale + 1e-30) + 1e-30) ++bad;
    }
  }
  CT_CHECK(unwritten == 0, what + ": " + std::to_string(unwritten) + " elements not written (still NaN)");
  CT_CHECK(pad_touched == 0, what + ": padding column written in " + std::to_string(pad_touched) + " rows");
  CT_CHECK(bad == 0, what + ": " + std::to_string(bad) + " elements differ, worst abs error " + std::to_string(worst) +
                         " (scale " + std::to_string(scale) + ")");
}

template <class T, class Id>
void run_case(const case_spec& spec, std::uint64_t seed) {
  const std::string tag = std::string(spec.name) + " seed " + std::to_string(seed);
  std::printf("case %s\n", tag.c_str());
  problem<T, Id> p(spec, seed);
  const auto& c = p.c;
  const double t = tol<T>();

  // CPU reference: rows and tables (both requested at once).
  outputs<T, Id> oc(p, seed + 1);
  const auto tables_before = oc.ti[0].h;
  brmrs::objective_result<T> rc;
  rc = brmrs::compute_objective(p.tables(false), p.batch(false), p.cfg, oc.views(false, true, true),
                                brmrs::scalar_backend{});

  // GPU, twice (determinism), from the same poisoned / initial buffers.
  std::vector<std::vector<T>> gpu_tables_first;
  for (int run = 0; run < 2; ++run) {
    outputs<T, Id> og(p, seed + 1);
    outputs<T, Id> init(p, seed + 1);  // host copy of the poisoned state, for padding checks
    const brmrs::objective_result<T> rg =
        brmrs::backend::cuda::compute_objective(p.tables(true), p.batch(true), p.cfg, og.views(true, true, true), 0);
    BRMRS_CUDA_CHECK(cudaDeviceSynchronize());

    // Hard negatives: equal, or a near-tie whose chosen score equals the CPU's maximum.
    const auto hard = og.hard.down();
    std::vector<char> tie_diff(c.B, 0);
    std::size_t ties = 0;
    for (std::size_t b = 0; b < c.B; ++b)
      for (std::size_t m = 0; m < c.M; ++m) {
        const Id g = hard[b * (c.M + 1) + m], h = oc.hard.h[b * (c.M + 1) + m];
        if (g == h) continue;
        const auto u = static_cast<std::size_t>(p.users.h[b]);
        const bool in_pool = std::find(p.pools.h.begin() + b * c.K, p.pools.h.begin() + (b + 1) * c.K, g) !=
                             p.pools.h.begin() + (b + 1) * c.K;
        const double sg = in_pool ? p.score(m, u, static_cast<std::size_t>(g)) : -1e300;
        const double sh = p.score(m, u, static_cast<std::size_t>(h));
        CT_CHECK(!c.integer_valued, tag + ": exact tie broken differently at example " + std::to_string(b));
        CT_CHECK(in_pool && close(sg, sh, 1e-5), tag + ": hard negative differs beyond a near-tie at example " +
                                                     std::to_string(b) + " modality " + std::to_string(m));
        tie_diff[b] = 1;
        ++ties;
      }
    for (std::size_t b = 0; b < c.B; ++b)
      CT_CHECK(hard[b * (c.M + 1) + c.M] == Id(-7), tag + ": hard_negatives padding written");
    if (ties) std::printf("  %zu near-tie hard negatives differ (chosen scores equal within 1e-5)\n", ties);
    auto skip = [&](std::size_t r) { return tie_diff[r % c.B] != 0; };
    auto skip_hard = [&](std::size_t r) { return tie_diff[r / c.M] != 0; };
    auto skip_none = [&](std::size_t) { return ties != 0; };

    // Negatives: exactly the CPU's (the same Philox draw).
    CT_CHECK(og.neg.down() == oc.neg.h, tag + ": negatives differ");

    // Result parts.
    CT_CHECK(close(rg.loss, rc.loss, 10 * t), tag + ": loss " + std::to_string(rg.loss) + " vs " + std::to_string(rc.loss));
    CT_CHECK(close(rg.bpr, rc.bpr, 10 * t), tag + ": bpr");
    CT_CHECK(close(rg.chns, rc.chns, 10 * t), tag + ": chns");
    CT_CHECK(close(rg.synergy, rc.synergy, 10 * t), tag + ": synergy");
    CT_CHECK(close(rg.l2, rc.l2, 10 * t), tag + ": l2");
    if (!ties) {
      CT_CHECK((rg.fusion_degradation_rate == rc.fusion_degradation_rate || std::is_same_v<T, float>),
               tag + ": fusion degradation rate");
      CT_CHECK(close(rg.fusion_degradation_rate, rc.fusion_degradation_rate, 0.02), tag + ": fusion degradation rate");
      CT_CHECK(rg.hard_negative_agreement == rc.hard_negative_agreement, tag + ": hard negative agreement");
    }

    // Per-example losses, rows, tables.
    {
      const auto l = og.loss.down();
      for (std::size_t b = 0; b < c.B; ++b) {
        CT_CHECK(!std::isnan(static_cast<double>(l[b])), tag + ": example_loss not written");
        if (!tie_diff[b])
          CT_CHECK(close(l[b], oc.loss.h[b], 10 * t), tag + ": example_loss[" + std::to_string(b) + "]");
      }
    }
    for (std::size_t m = 0; m < c.M; ++m) {
      const std::string ms = "[" + std::to_string(m) + "]";
      const std::size_t d = c.dims[m];
      compare_block(og.ru[m].down(), oc.ru[m].h, init.ru[m].h, c.B, d, skip, t, tag + " rows.user" + ms);
      compare_block(og.rp[m].down(), oc.rp[m].h, init.rp[m].h, c.B, d, skip, t, tag + " rows.positive" + ms);
      compare_block(og.rn[m].down(), oc.rn[m].h, init.rn[m].h, c.B, d, skip, t, tag + " rows.negative" + ms);
      compare_block(og.rh[m].down(), oc.rh[m].h, init.rh[m].h, c.B * c.M, d, skip_hard, t, tag + " rows.hard" + ms);
      compare_block(og.ti[m].down(), oc.ti[m].h, init.ti[m].h, c.n_items, d, skip_none, t, tag + " tables.item" + ms);
    }
    for (std::size_t m = 0; m < og.tu.size(); ++m)
      compare_block(og.tu[m].down(), oc.tu[m].h, init.tu[m].h, c.n_users, c.dims[m], skip_none, t,
                    tag + " tables.user[" + std::to_string(m) + "]");
    compare_block(og.rfu.down(), oc.rfu.h, init.rfu.h, c.B, c.d_f, skip, t, tag + " rows.fused_user");
    compare_block(og.rfp.down(), oc.rfp.h, init.rfp.h, c.B, c.d_f, skip, t, tag + " rows.fused_positive");
    compare_block(og.rfn.down(), oc.rfn.h, init.rfn.h, c.B, c.d_f, skip, t, tag + " rows.fused_negative");
    compare_block(og.tfu.down(), oc.tfu.h, init.tfu.h, c.n_users, c.d_f, skip_none, t, tag + " tables.fused_user");
    compare_block(og.tfi.down(), oc.tfi.h, init.tfi.h, c.n_items, c.d_f, skip_none, t, tag + " tables.fused_item");

    // Deterministic scatter: bitwise identical from run to run.
    std::vector<std::vector<T>> tabs;
    for (auto& v : og.ti) tabs.push_back(v.down());
    for (auto& v : og.tu) tabs.push_back(v.down());
    tabs.push_back(og.tfu.down());
    tabs.push_back(og.tfi.down());
    if (run == 0) {
      gpu_tables_first = tabs;
    } else {
      bool same = true;
      for (std::size_t i = 0; i < tabs.size(); ++i) same = same && same_bits(tabs[i], gpu_tables_first[i]);
      CT_CHECK(same, tag + ": deterministic scatter differs between two runs");
    }
  }
  (void)tables_before;

  // Table gradients alone (internal rows) and the atomic scatter: within tolerance of the CPU.
  for (auto mode : {brmrs::backend::cuda::scatter_mode::deterministic, brmrs::backend::cuda::scatter_mode::atomic}) {
    outputs<T, Id> og(p, seed + 1);
    outputs<T, Id> init(p, seed + 1);
    brmrs::backend::cuda::launch_options opt;
    opt.scatter = mode;
    brmrs::objective_outputs<T, Id> o = og.views(true, false, true);
    brmrs::backend::cuda::compute_objective(p.tables(true), p.batch(true), p.cfg, o, 0, opt);
    BRMRS_CUDA_CHECK(cudaDeviceSynchronize());
    const std::string mt = tag + (mode == brmrs::backend::cuda::scatter_mode::atomic ? " atomic" : " tables-only");
    bool ties = og.hard.down() != oc.hard.h;
    auto skip_none = [&](std::size_t) { return ties; };
    for (std::size_t m = 0; m < c.M; ++m)
      compare_block(og.ti[m].down(), oc.ti[m].h, init.ti[m].h, c.n_items, c.dims[m], skip_none, t,
                    mt + " tables.item[" + std::to_string(m) + "]");
    for (std::size_t m = 0; m < og.tu.size(); ++m)
      compare_block(og.tu[m].down(), oc.tu[m].h, init.tu[m].h, c.n_users, c.dims[m], skip_none, t,
                    mt + " tables.user[" + std::to_string(m) + "]");
    compare_block(og.tfi.down(), oc.tfi.h, init.tfi.h, c.n_items, c.d_f, skip_none, t, mt + " tables.fused_item");
  }

  // select_hard_negatives: the chosen score equals the CPU maximum (exactly the CPU's slot on exact ties).
  {
    dbuf<Id> hard;
    hard.alloc(c.B * c.M, Id(-7));
    dbuf<T> best;
    best.alloc(c.B * c.M, std::numeric_limits<T>::quiet_NaN());
    auto tb = p.tables(true);
    brmrs::backend::cuda::select_hard_negatives<T, Id>(
        tb.user, tb.item, brmrs::vector_view<const Id>(p.users.d.data(), c.B),
        brmrs::matrix_view<const Id>(p.pools.d.data(), c.B, c.K), brmrs::matrix_view<Id>(hard.d.data(), c.B, c.M),
        brmrs::matrix_view<T>(best.d.data(), c.B, c.M), 0);
    const auto hg = hard.down();
    const auto sg = best.down();
    std::size_t bad = 0;
    for (std::size_t b = 0; b < c.B; ++b)
      for (std::size_t m = 0; m < c.M; ++m) {
        const Id cpu = oc.hard.h[b * (c.M + 1) + m];
        const auto u = static_cast<std::size_t>(p.users.h[b]);
        const double s_cpu = p.score(m, u, static_cast<std::size_t>(cpu));
        if (c.integer_valued ? hg[b * c.M + m] != cpu
                             : !close(p.score(m, u, static_cast<std::size_t>(hg[b * c.M + m])), s_cpu, 1e-5) ||
                                   !close(static_cast<double>(sg[b * c.M + m]), s_cpu, 1e-5))
          ++bad;
      }
    CT_CHECK(bad == 0, tag + ": select_hard_negatives differs from the CPU's choice in " + std::to_string(bad) + " places");
  }
}

// Bad ids and non-finite scores: the GPU throws the CPU's message and writes nothing.
template <class T, class Id>
void run_error_cases(std::uint64_t seed) {
  case_spec s{"errors", 2, {16, 16}, 8, 64, 16, 20, 50, 0, false, false, false, 0, 0, 1,
              brmrs::synergy_gradient::stop_unimodal, brmrs::reduction::mean};
  enum { bad_pool, bad_user_and_pool, inf_score, nan_fused };
  for (int kind : {bad_pool, bad_user_and_pool, inf_score, nan_fused}) {
    problem<T, Id> p(s, seed + static_cast<std::uint64_t>(kind));
    const std::string tag = "error case " + std::to_string(kind) + " seed " + std::to_string(seed);
    if (kind == bad_pool || kind == bad_user_and_pool) p.pools.h[5 * s.K + 3] = static_cast<Id>(s.n_items + 4);
    if (kind == bad_user_and_pool) p.users.h[9] = Id(-1);
    if (kind == inf_score) {
      const auto j = static_cast<std::size_t>(p.pools.h[4 * s.K + 2]);
      p.item[1].h[j * p.istride[1] + 3] = std::numeric_limits<T>::infinity();
    }
    if (kind == nan_fused) {
      const auto i = static_cast<std::size_t>(p.positives.h[11]);
      p.fi.h[i * p.fstride] = std::numeric_limits<T>::quiet_NaN();
    }
    p.pools.up();
    p.users.up();
    p.item[1].up();
    p.fi.up();
    std::string cpu_msg, gpu_msg;
    {
      outputs<T, Id> oc(p, seed);
      try {
        brmrs::compute_objective(p.tables(false), p.batch(false), p.cfg, oc.views(false, true, true),
                                 brmrs::scalar_backend{});
      } catch (const brmrs::invalid_argument& e) {
        cpu_msg = e.what();
      }
    }
    outputs<T, Id> og(p, seed);
    outputs<T, Id> init(p, seed);
    try {
      brmrs::backend::cuda::compute_objective(p.tables(true), p.batch(true), p.cfg, og.views(true, true, true), 0);
    } catch (const brmrs::invalid_argument& e) {
      gpu_msg = e.what();
    }
    BRMRS_CUDA_CHECK(cudaDeviceSynchronize());
    CT_CHECK(!cpu_msg.empty(), tag + ": the CPU did not throw");
    CT_CHECK(gpu_msg == cpu_msg, tag + ": GPU message '" + gpu_msg + "' differs from the CPU's '" + cpu_msg + "'");
    bool untouched = same_bits(og.hard.down(), init.hard.h) && same_bits(og.neg.down(), init.neg.h) &&
                     same_bits(og.loss.down(), init.loss.h) && same_bits(og.rfu.down(), init.rfu.h) &&
                     same_bits(og.tfi.down(), init.tfi.h);
    for (std::size_t m = 0; m < s.M; ++m)
      untouched = untouched && same_bits(og.ru[m].down(), init.ru[m].h) && same_bits(og.rh[m].down(), init.rh[m].h) &&
                  same_bits(og.ti[m].down(), init.ti[m].h) && same_bits(og.tu[m].down(), init.tu[m].h);
    CT_CHECK(untouched, tag + ": an output was written before the throw");
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (const int skip = skip_without_device()) return skip;
  std::uint64_t seed = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : std::random_device{}();
  std::printf("seed %llu (rerun with: %s %llu)\n", static_cast<unsigned long long>(seed), argv[0],
              static_cast<unsigned long long>(seed));
  using sg = brmrs::synergy_gradient;
  using rd = brmrs::reduction;
  try {
    // name, M, dims, d_f, B, K, n_users, n_items, pad, shared_user, given_negatives, integer, tau, reg, bpr, mode, reduce
    run_case<float, std::int32_t>({"W-like d64 aligned", 2, {64, 64}, 64, 300, 64, 50, 400, 0, false, false, false, 0, 0, 1,
                                   sg::stop_unimodal, rd::mean},
                                  seed);
    run_case<float, std::int64_t>({"odd dims unaligned", 2, {3, 17}, 5, 97, 7, 13, 60, 1, false, true, false, 0.5, 0.01, 1,
                                   sg::through_max, rd::sum},
                                  seed + 1);
    run_case<double, std::int32_t>({"M3 mixed paths", 3, {1, 33, 100}, 9, 129, 40, 20, 300, 0, false, false, false, 0,
                                    0.05, 0.5, sg::stop_unimodal, rd::mean},
                                   seed + 2);
    run_case<double, std::int64_t>({"shared user table", 2, {16, 16}, 16, 64, 33, 5, 90, 0, true, false, false, 0.25, 0.1,
                                    0, sg::through_max, rd::mean},
                                   seed + 3);
    run_case<float, std::int32_t>({"M4 K1", 4, {8, 9, 15, 31}, 32, 40, 1, 10, 30, 0, false, true, false, 0, 0, 1,
                                   sg::stop_unimodal, rd::sum},
                                  seed + 4);
    run_case<float, std::int32_t>({"wide rows", 2, {200, 300}, 128, 50, 20, 10, 100, 0, false, false, false, 0, 0.01, 1,
                                   sg::stop_unimodal, rd::mean},
                                  seed + 5);
    run_case<float, std::int32_t>({"exact ties", 2, {8, 12}, 8, 200, 16, 10, 12, 0, false, false, true, 0, 0, 1,
                                   sg::stop_unimodal, rd::mean},
                                  seed + 6);
    run_case<float, std::int32_t>({"exact ties unaligned", 3, {5, 4, 7}, 3, 150, 9, 7, 10, 1, false, false, true, 0, 0, 1,
                                   sg::stop_unimodal, rd::mean},
                                  seed + 7);
    run_error_cases<float, std::int32_t>(seed + 8);
    run_error_cases<double, std::int64_t>(seed + 9);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "FAILED: exception %s (seed %llu)\n", e.what(), static_cast<unsigned long long>(seed));
    return 1;
  }
  if (failures() != 0) std::printf("seed %llu\n", static_cast<unsigned long long>(seed));
  return finish("test_cuda_objective");
}
