// The warp-level code of the CUDA backend (brmrs/backend/cuda/warp.cuh) run on the CPU: 32
// fibers play one warp's lanes and emulation/cuda_runtime.h implements __shfl_xor_sync with a
// slot array and two round-robin yields, so this is the real selection code, checked where CI has no GPU. Against the scalar
// backend's select_hard (the independent expectation): the arg-max slot is the CPU's on exact
// ties (integer-valued rows, duplicate ids), the chosen score equals the CPU maximum within float
// tolerance on random rows, NaN never wins, all-NaN gives K, the first non-finite slot is the
// CPU's, every lane holds the same bits, and warp_row_dot reproduces the chosen score bit for bit.
// Sweeps odd dimensions (element path, vector path, 1, 2 and looped units per lane) and K across
// several passes of the unrolled loop. The forward and backward kernels of objective_kernels.cuh
// run the same way (one warp looping over the examples) and must reproduce the scalar backend's
// hard negatives, negatives, per-example losses and gradient rows, and its fault for a bad id or
// a non-finite score. Seeds are printed on failure.
#include <cuda_runtime.h>  // emulation/cuda_runtime.h: this target's include path puts it first

#include <brmrs/backend/cuda/objective_backward_kernels.cuh>
#include <brmrs/backend/cuda/objective_kernels.cuh>
#include <brmrs/backend/cuda/scatter_kernels.cuh>
#include <brmrs/backend/cuda/warp.cuh>
#include <brmrs/backend/scalar/kernels.hpp>
#include <brmrs/objective.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <algorithm>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

namespace {

namespace bd = brmrs::backend::cuda::detail;

using brmrs_emulation::run_warp;

enum class fill_kind { random, integer_ties, some_nan, some_inf, all_nan };

template <class T>
struct lane_result {
  T best_s, bad_s, row_dot;
  int best_k, bad_k;
};

template <class T, class Id>
void check_selection(std::size_t d, std::size_t K, bool aligned, fill_kind kind, std::uint64_t seed) {
  INFO("seed " << seed << " d " << d << " K " << K << " aligned " << aligned << " kind " << static_cast<int>(kind)
                << " T " << (sizeof(T) == 4 ? "float" : "double"));
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unif(-1.0, 1.0);
  std::uniform_int_distribution<int> small(-2, 2);
  const std::size_t n_items = 50;
  constexpr std::size_t vn = 16 / sizeof(T);
  // Aligned: 16-byte row starts (stride a multiple of the vector width); unaligned: stride d + 1.
  const std::size_t stride = aligned ? (d + vn - 1) / vn * vn : d + 1;
  std::vector<T> item_buf(n_items * stride + 2 * vn), user_buf(stride + 2 * vn);
  auto align16 = [](std::vector<T>& v) {
    auto p = reinterpret_cast<std::uintptr_t>(v.data());
    return v.data() + ((16 - p % 16) % 16) / sizeof(T);
  };
  T* item = align16(item_buf);
  T* user = align16(user_buf);
  if (!aligned) ++user;  // an odd user row start too
  auto value = [&] {
    return kind == fill_kind::integer_ties ? static_cast<T>(small(rng)) : static_cast<T>(unif(rng));
  };
  for (std::size_t i = 0; i < n_items; ++i)
    for (std::size_t e = 0; e < d; ++e) item[i * stride + e] = value();
  for (std::size_t e = 0; e < d; ++e) user[e] = value();
  std::vector<Id> pool(K);
  for (auto& id : pool) id = static_cast<Id>(rng() % n_items);
  if (kind == fill_kind::integer_ties && K >= 3) pool[K - 1] = pool[1];  // a duplicate: an exact tie
  const T nan = std::numeric_limits<T>::quiet_NaN(), inf = std::numeric_limits<T>::infinity();
  if (kind == fill_kind::some_nan || kind == fill_kind::some_inf)
    for (std::size_t k = 0; k < K; k += 3) item[static_cast<std::size_t>(pool[k]) * stride + d / 2] = kind == fill_kind::some_nan ? nan : inf;
  if (kind == fill_kind::all_nan)
    for (std::size_t k = 0; k < K; ++k) item[static_cast<std::size_t>(pool[k]) * stride] = nan;

  // CPU reference.
  std::vector<T> scores(K);
  std::size_t best = 0;
  const T* urow = user;
  const T* ibase = item;
  brmrs::backend::scalar::kernels::select_hard<T, Id>(1, &urow, &ibase, &stride, &d, pool.data(), K, scores.data(), &best);
  std::size_t first_bad = K;
  for (std::size_t k = 0; k < K && first_bad == K; ++k)
    if (!std::isfinite(scores[k])) first_bad = k;

  // The warp.
  const bd::row_plan plan = bd::make_row_plan(d, user, std::size_t(0), item, stride);
  CHECK(plan.vec == (aligned && d % vn == 0));
  std::vector<lane_result<T>> res(32);
  run_warp([&](int lane) {
    lane_result<T> r{};
    bd::warp_argmax_pool(user, item, stride, plan, pool.data(), static_cast<int>(K), lane, r.best_s, r.best_k, r.bad_s,
                         r.bad_k);
    const std::size_t j = r.best_k < static_cast<int>(K) ? static_cast<std::size_t>(pool[static_cast<std::size_t>(r.best_k)]) : 0;
    r.row_dot = bd::warp_row_dot(user, item + j * stride, plan, lane);
    res[static_cast<std::size_t>(lane)] = r;
  });

  for (int lane = 1; lane < 32; ++lane) {
    const auto& a = res[0];
    const auto& b = res[static_cast<std::size_t>(lane)];
    CHECK(a.best_k == b.best_k);
    CHECK(a.bad_k == b.bad_k);
    CHECK(std::memcmp(&a.best_s, &b.best_s, sizeof(T)) == 0);
    CHECK(std::memcmp(&a.row_dot, &b.row_dot, sizeof(T)) == 0);
  }
  const auto& r = res[0];
  CHECK(r.bad_k == static_cast<int>(first_bad));
  if (first_bad < K) {
    CHECK(!std::isfinite(r.bad_s));
    CHECK((std::isnan(r.bad_s) == std::isnan(scores[first_bad])));
  }
  if (best == K) {  // every score NaN
    CHECK(r.best_k == static_cast<int>(K));
    return;
  }
  REQUIRE(r.best_k >= 0);
  REQUIRE(r.best_k < static_cast<int>(K));
  const T chosen = scores[static_cast<std::size_t>(r.best_k)];
  CHECK(!std::isnan(r.best_s));
  CHECK(std::memcmp(&r.best_s, &r.row_dot, sizeof(T)) == 0);
  if (kind == fill_kind::integer_ties) {
    // Integer rows: every order of additions is exact, so the CPU's first maximum is the answer.
    CHECK(r.best_k == static_cast<int>(best));
    CHECK(r.best_s == scores[best]);
  } else if (std::isinf(scores[best])) {  // +inf wins outright; no tolerance applies
    CHECK(chosen == scores[best]);
    CHECK(r.best_s == chosen);
  } else {
    const double tol = sizeof(T) == 4 ? 1e-5 : 1e-12;
    CHECK(std::fabs(static_cast<double>(chosen) - static_cast<double>(scores[best])) <= tol * (1 + std::fabs(static_cast<double>(scores[best]))));
    CHECK(std::fabs(static_cast<double>(r.best_s) - static_cast<double>(chosen)) <= tol * (1 + std::fabs(static_cast<double>(chosen))));
  }
}

}  // namespace

TEST_CASE("warp arg-max over the pool matches the scalar select_hard (emulated warp)", "[cuda][emulation]") {
  const std::uint64_t seed = std::random_device{}();
  std::uint64_t s = seed;
  for (std::size_t d : {1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 100, 128, 129, 256, 300, 520})
    for (std::size_t K : {std::size_t(1), d % 2 ? std::size_t(37) : std::size_t(100)})
      for (bool aligned : {true, false}) {
        check_selection<float, std::int32_t>(d, K, aligned, fill_kind::random, ++s);
        check_selection<double, std::int64_t>(d, K, aligned, fill_kind::random, ++s);
      }
  INFO("base seed " << seed);
}

TEST_CASE("exact ties pick the lowest slot, NaN never wins, the first non-finite slot is found (emulated warp)",
          "[cuda][emulation]") {
  const std::uint64_t seed = std::random_device{}();
  std::uint64_t s = seed;
  for (std::size_t d : {3, 16, 64, 300})
    for (std::size_t K : {5, 70})
      for (bool aligned : {true, false})
        for (fill_kind kind : {fill_kind::integer_ties, fill_kind::some_nan, fill_kind::some_inf, fill_kind::all_nan}) {
          check_selection<float, std::int32_t>(d, K, aligned, kind, ++s);
          check_selection<double, std::int32_t>(d, K, aligned, kind, ++s);
        }
}

namespace {

struct kernel_case {
  std::size_t M;
  std::vector<std::size_t> dims;
  std::size_t d_f, B, K, n_users, n_items, pad;
  bool shared_user, given_negatives;
  double tau, lambda_reg;
  brmrs::synergy_gradient mode;
  brmrs::reduction reduce;
};

enum class fault_plan { none, bad_pool_id, inf_score };

template <class T, class Id>
void check_kernels(const kernel_case& c, std::uint64_t seed, fault_plan plan) {
  INFO("seed " << seed << " M " << c.M << " d_f " << c.d_f << " pad " << c.pad << " plan " << static_cast<int>(plan));
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unif(-1.0, 1.0);
  const std::size_t M = c.M, B = c.B, K = c.K;
  std::vector<std::vector<T>> user(c.shared_user ? 1 : M), item(M);
  std::vector<std::size_t> stride(M);
  for (std::size_t m = 0; m < M; ++m) stride[m] = c.dims[m] + c.pad;
  for (std::size_t m = 0; m < user.size(); ++m) {
    user[m].resize(c.n_users * stride[m]);
    for (auto& x : user[m]) x = static_cast<T>(unif(rng));
  }
  for (std::size_t m = 0; m < M; ++m) {
    item[m].resize(c.n_items * stride[m]);
    for (auto& x : item[m]) x = static_cast<T>(unif(rng));
  }
  const std::size_t fs = c.d_f + c.pad;
  std::vector<T> fu(c.n_users * fs), fi(c.n_items * fs);
  for (auto& x : fu) x = static_cast<T>(unif(rng));
  for (auto& x : fi) x = static_cast<T>(unif(rng));
  std::vector<Id> users(B), positives(B), negatives(B), pools(B * K);
  for (std::size_t b = 0; b < B; ++b) {
    users[b] = static_cast<Id>(rng() % c.n_users);
    positives[b] = static_cast<Id>(rng() % c.n_items);
    negatives[b] = static_cast<Id>(rng() % c.n_items);
    for (std::size_t k = 0; k < K; ++k) pools[b * K + k] = static_cast<Id>(rng() % c.n_items);
  }
  brmrs::dot_tables<T> tables;
  for (std::size_t m = 0; m < M; ++m) {
    tables.user.emplace_back(user[c.shared_user ? 0 : m].data(), c.n_users, c.dims[m], stride[m]);
    tables.item.emplace_back(item[m].data(), c.n_items, c.dims[m], stride[m]);
  }
  tables.fused_user = {fu.data(), c.n_users, c.d_f, fs};
  tables.fused_item = {fi.data(), c.n_items, c.d_f, fs};
  brmrs::batch<Id> bt;
  bt.users = {users.data(), B};
  bt.positives = {positives.data(), B};
  bt.pools = {pools.data(), B, K};
  if (c.given_negatives) bt.negatives = {negatives.data(), B};
  brmrs::objective_config<T> cfg;
  cfg.tau = static_cast<T>(c.tau);
  cfg.lambda_reg = static_cast<T>(c.lambda_reg);
  cfg.synergy_mode = c.mode;
  cfg.reduce = c.reduce;
  cfg.seed = seed;
  cfg.step = 7;
  cfg.example_offset = 99;

  struct outs {
    std::vector<Id> hard, neg;
    std::vector<T> loss;
    std::vector<std::vector<T>> ru, rp, rn, rh;
    std::vector<T> rfu, rfp, rfn;
    std::vector<std::vector<T>> tu, ti;
    std::vector<T> tfu, tfi;
    brmrs::objective_outputs<T, Id> o;
  };
  // Table-gradient buffers start from the same random values for the CPU and the kernels.
  std::vector<std::vector<T>> tu0(c.shared_user ? 1 : M), ti0(M);
  std::vector<T> tfu0(c.n_users * c.d_f), tfi0(c.n_items * c.d_f);
  for (std::size_t m = 0; m < tu0.size(); ++m) {
    tu0[m].resize(c.n_users * c.dims[m]);
    for (auto& x : tu0[m]) x = static_cast<T>(unif(rng));
  }
  for (std::size_t m = 0; m < M; ++m) {
    ti0[m].resize(c.n_items * c.dims[m]);
    for (auto& x : ti0[m]) x = static_cast<T>(unif(rng));
  }
  for (auto& x : tfu0) x = static_cast<T>(unif(rng));
  for (auto& x : tfi0) x = static_cast<T>(unif(rng));
  auto make_outs = [&](outs& x) {
    const T nan = std::numeric_limits<T>::quiet_NaN();
    x.hard.assign(B * M, Id(-7));
    x.neg.assign(B, Id(-7));
    x.loss.assign(B, nan);
    x.ru.resize(M);
    x.rp.resize(M);
    x.rn.resize(M);
    x.rh.resize(M);
    x.o.hard_negatives = {x.hard.data(), B, M};
    x.o.negatives = {x.neg.data(), B};
    x.o.example_loss = {x.loss.data(), B};
    for (std::size_t m = 0; m < M; ++m) {
      const std::size_t d = c.dims[m];
      x.ru[m].assign(B * d, nan);
      x.rp[m].assign(B * d, nan);
      x.rn[m].assign(B * d, nan);
      x.rh[m].assign(B * M * d, nan);
      x.o.rows.user.emplace_back(x.ru[m].data(), B, d);
      x.o.rows.positive.emplace_back(x.rp[m].data(), B, d);
      x.o.rows.negative.emplace_back(x.rn[m].data(), B, d);
      x.o.rows.hard.emplace_back(x.rh[m].data(), B * M, d);
    }
    x.rfu.assign(B * c.d_f, nan);
    x.rfp.assign(B * c.d_f, nan);
    x.rfn.assign(B * c.d_f, nan);
    x.o.rows.fused_user = {x.rfu.data(), B, c.d_f};
    x.o.rows.fused_positive = {x.rfp.data(), B, c.d_f};
    x.o.rows.fused_negative = {x.rfn.data(), B, c.d_f};
    x.tu = tu0;
    x.ti = ti0;
    x.tfu = tfu0;
    x.tfi = tfi0;
    for (std::size_t m = 0; m < M; ++m) {
      x.o.tables.user.emplace_back(x.tu[c.shared_user ? 0 : m].data(), c.n_users, c.dims[m]);
      x.o.tables.item.emplace_back(x.ti[m].data(), c.n_items, c.dims[m]);
    }
    x.o.tables.fused_user = {x.tfu.data(), c.n_users, c.d_f};
    x.o.tables.fused_item = {x.tfi.data(), c.n_items, c.d_f};
  };
  outs cpu, emu;
  make_outs(cpu);
  make_outs(emu);
  const brmrs::detail::objective_shape sh = brmrs::detail::validate_objective(tables, bt, cfg, emu.o);

  // Faults planted after validation (the kernel must find them itself).
  std::size_t fault_b = B / 2, fault_k = 2 % K;
  if (plan == fault_plan::bad_pool_id) pools[fault_b * K + fault_k] = static_cast<Id>(c.n_items + 3);
  if (plan == fault_plan::inf_score) {
    const auto j = static_cast<std::size_t>(pools[fault_b * K + fault_k]);
    item[M - 1][j * stride[M - 1] + c.dims[M - 1] / 2] = std::numeric_limits<T>::infinity();
  }
  std::string cpu_msg;
  brmrs::objective_result<T> res{};
  try {
    res = brmrs::compute_objective(tables, bt, cfg, cpu.o, brmrs::scalar_backend{});
  } catch (const brmrs::invalid_argument& e) {
    cpu_msg = e.what();
  }

  namespace bd = brmrs::backend::cuda::detail;
  bd::forward_params<T, Id> fp = bd::make_forward_params(tables, bt, cfg, sh, true);
  std::vector<Id> neg_id(B), hard_id(B * M);
  std::vector<T> g_pos(B * M), g_neg(B * M), g_cross(B * M * M), g_pos_f(B), g_neg_f(B), terms(B * 4);
  std::vector<unsigned char> degraded(B);
  std::vector<bd::example_fault_record> fault(B, bd::example_fault_record{-1, 0, 0, 0, 0, 0, 0.0});
  fp.neg_id = neg_id.data();
  fp.hard_id = hard_id.data();
  fp.g_pos = g_pos.data();
  fp.g_neg = g_neg.data();
  fp.g_cross = g_cross.data();
  fp.g_pos_f = g_pos_f.data();
  fp.g_neg_f = g_neg_f.data();
  fp.terms = terms.data();
  fp.degraded = degraded.data();
  fp.fault = fault.data();
  run_warp([&](int) { bd::objective_forward_kernel<T, Id>(fp); });

  for (std::size_t b = 0; b < B; ++b) REQUIRE(fault[b].rank != -1);  // every example recorded
  if (plan != fault_plan::none) {
    REQUIRE(!cpu_msg.empty());
    std::size_t first = B;
    for (std::size_t b = 0; b < B && first == B; ++b)
      if (fault[b].rank != 5) first = b;
    REQUIRE(first < B);
    const auto& f = fault[first];
    if (plan == fault_plan::bad_pool_id) {
      CHECK(first == fault_b);
      CHECK(f.rank == 2);
      CHECK(f.pos == static_cast<long long>(fault_k));
      CHECK(f.ival == static_cast<long long>(c.n_items + 3));
      CHECK(cpu_msg.find("batch.pools(" + std::to_string(fault_b) + ", " + std::to_string(fault_k) + ")") != std::string::npos);
    } else {
      CHECK(f.rank == 4);
      brmrs::detail::example_fault<T> ef;
      ef.kind = f.kind;
      ef.m = f.m;
      ef.k = static_cast<std::size_t>(f.pos);
      ef.value = static_cast<T>(f.value);
      std::string emu_msg;
      try {
        brmrs::detail::throw_fault(first, ef);
      } catch (const brmrs::invalid_argument& e) {
        emu_msg = e.what();
      }
      CHECK(emu_msg == cpu_msg);
    }
    return;
  }
  REQUIRE(cpu_msg.empty());
  for (std::size_t b = 0; b < B; ++b) REQUIRE(fault[b].rank == 5);

  bd::backward_params<T, Id> bp = bd::make_backward_params(fp, cfg, sh, emu.o);
  bp.rows = true;
  bp.r = bd::rows_ref_of(emu.o.rows, M);
  run_warp([&](int) { bd::objective_backward_kernel<T, Id>(bp); });

  const double tol = sizeof(T) == 4 ? 2e-4 : 1e-10;
  std::vector<char> tie(B, 0);
  for (std::size_t i = 0; i < B * M; ++i)
    if (emu.hard[i] != cpu.hard[i]) tie[i / M] = 1;  // a near-tie in float: compare the rest only
  std::size_t ties = 0;
  for (char t : tie) ties += t != 0;
  CHECK(ties * 10 <= B);
  CHECK(emu.neg == cpu.neg);
  auto close_block = [&](const std::vector<T>& a, const std::vector<T>& e, std::size_t rows, std::size_t cols,
                         std::size_t rows_per_example) {
    double scale = 0;
    for (T x : e) scale = std::max(scale, std::fabs(static_cast<double>(x)));
    std::size_t bad = 0, unwritten = 0;
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t k = 0; k < cols; ++k) {
        const double x = static_cast<double>(a[r * cols + k]), y = static_cast<double>(e[r * cols + k]);
        if (std::isnan(x)) ++unwritten;
        if (!tie[r / rows_per_example] && !(std::fabs(x - y) <= tol * (scale + 1e-30))) ++bad;
      }
    CHECK(unwritten == 0);
    CHECK(bad == 0);
  };
  close_block(emu.loss, cpu.loss, B, 1, 1);
  for (std::size_t m = 0; m < M; ++m) {
    close_block(emu.ru[m], cpu.ru[m], B, c.dims[m], 1);
    close_block(emu.rp[m], cpu.rp[m], B, c.dims[m], 1);
    close_block(emu.rn[m], cpu.rn[m], B, c.dims[m], 1);
    close_block(emu.rh[m], cpu.rh[m], B * M, c.dims[m], M);
  }
  close_block(emu.rfu, cpu.rfu, B, c.d_f, 1);
  close_block(emu.rfp, cpu.rfp, B, c.d_f, 1);
  close_block(emu.rfn, cpu.rfn, B, c.d_f, 1);
  // The table scatter: keys, a stable sort by key (what CUB's radix sort guarantees), the sorted
  // adds; then the atomic variant on a fresh copy of the initial buffers.
  {
    const bd::scatter_layout<T> lay = bd::make_scatter_layout(emu.o.tables, sh);
    bd::scatter_inputs<T, Id> si;
    si.M = static_cast<int>(M);
    si.B = B;
    si.users = fp.users;
    si.positives = fp.positives;
    si.neg_id = fp.neg_id;
    si.hard_id = fp.hard_id;
    si.r = bp.r;
    std::vector<unsigned long long> keys(lay.N);
    std::vector<unsigned> vals(lay.N);
    run_warp([&](int) { bd::scatter_keys_kernel<T, Id>(lay.groups, si, lay.per_example, lay.N, keys.data(), vals.data()); });
    std::vector<std::size_t> order(lay.N);
    std::iota(order.begin(), order.end(), std::size_t(0));
    std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return keys[x] < keys[y]; });
    std::vector<unsigned long long> skeys(lay.N);
    std::vector<unsigned> svals(lay.N);
    for (std::size_t i = 0; i < lay.N; ++i) {
      skeys[i] = keys[order[i]];
      svals[i] = vals[order[i]];
    }
    run_warp([&](int) {
      bd::scatter_add_sorted_kernel<T, Id>(lay.groups, si, lay.per_example, lay.N, skeys.data(), svals.data());
    });
    auto skip_all = [&](const std::vector<T>& a, const std::vector<T>& e, std::size_t rows, std::size_t cols) {
      if (ties != 0) return;  // a different hard negative moves gradient between rows
      double scale = 0;
      for (T x : e) scale = std::max(scale, std::fabs(static_cast<double>(x)));
      std::size_t bad = 0;
      for (std::size_t i = 0; i < rows * cols; ++i)
        if (!(std::fabs(static_cast<double>(a[i]) - static_cast<double>(e[i])) <= tol * (scale + 1e-30))) ++bad;
      CHECK(bad == 0);
    };
    for (std::size_t m = 0; m < M; ++m) skip_all(emu.ti[m], cpu.ti[m], c.n_items, c.dims[m]);
    for (std::size_t m = 0; m < emu.tu.size(); ++m) skip_all(emu.tu[m], cpu.tu[m], c.n_users, c.dims[m]);
    skip_all(emu.tfu, cpu.tfu, c.n_users, c.d_f);
    skip_all(emu.tfi, cpu.tfi, c.n_items, c.d_f);

    outs atomic;
    make_outs(atomic);
    const bd::scatter_layout<T> lay2 = bd::make_scatter_layout(atomic.o.tables, sh);
    run_warp([&](int) { bd::scatter_add_atomic_kernel<T, Id>(lay2.groups, si, lay2.per_example, lay2.N); });
    for (std::size_t m = 0; m < M; ++m) skip_all(atomic.ti[m], cpu.ti[m], c.n_items, c.dims[m]);
    for (std::size_t m = 0; m < atomic.tu.size(); ++m) skip_all(atomic.tu[m], cpu.tu[m], c.n_users, c.dims[m]);
    skip_all(atomic.tfi, cpu.tfi, c.n_items, c.d_f);
  }

  // The reduction's inputs: Σ terms reproduces the CPU's reduced parts.
  if (ties == 0) {
    double s[4] = {0, 0, 0, 0};
    for (std::size_t b = 0; b < B; ++b)
      for (int i = 0; i < 4; ++i) s[i] += static_cast<double>(terms[b * 4 + static_cast<std::size_t>(i)]);
    const double ds = c.reduce == brmrs::reduction::mean ? 1.0 / static_cast<double>(B) : 1.0;
    CHECK(std::fabs(s[0] * ds - static_cast<double>(res.bpr)) <= 10 * tol * (1 + std::fabs(static_cast<double>(res.bpr))));
    CHECK(std::fabs(s[1] * ds - static_cast<double>(res.chns)) <= 10 * tol * (1 + std::fabs(static_cast<double>(res.chns))));
    CHECK(std::fabs(s[2] * ds - static_cast<double>(res.synergy)) <= 10 * tol * (1 + std::fabs(static_cast<double>(res.synergy))));
    CHECK(std::fabs(s[3] * ds - static_cast<double>(res.l2)) <= 10 * tol * (1 + std::fabs(static_cast<double>(res.l2))));
  }
}

}  // namespace

TEST_CASE("forward and backward kernels on an emulated warp match the scalar backend", "[cuda][emulation]") {
  const std::uint64_t seed = std::random_device{}();
  using sg = brmrs::synergy_gradient;
  using rd = brmrs::reduction;
  const kernel_case a{2, {64, 64}, 64, 24, 40, 10, 60, 0, false, false, 0, 0, sg::stop_unimodal, rd::mean};
  const kernel_case b{3, {3, 17, 100}, 9, 20, 7, 6, 30, 1, false, true, 0.5, 0.05, sg::through_max, rd::sum};
  const kernel_case s{2, {16, 16}, 8, 16, 33, 4, 25, 0, true, false, 0, 0.1, sg::through_max, rd::mean};
  check_kernels<float, std::int32_t>(a, seed, fault_plan::none);
  check_kernels<double, std::int64_t>(b, seed + 1, fault_plan::none);
  check_kernels<double, std::int32_t>(s, seed + 2, fault_plan::none);
  check_kernels<float, std::int32_t>(b, seed + 3, fault_plan::bad_pool_id);
  check_kernels<float, std::int64_t>(a, seed + 4, fault_plan::inf_score);
}
