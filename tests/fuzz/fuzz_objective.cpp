// Fuzz target: brmrs::compute_objective with everything from the bytes: T float or double, Id
// int32 or int64, M from 0 to 3 modalities (a shared user table or not), dimensions, 0 users or
// items, B and K from 0, ids in and out of range, NaN / Inf / huge table values, bad λ / θ / τ
// and enums, example_offset at the 2^32 limit, every optional output with right or wrong shapes,
// and outputs placed over inputs or over each other.
// Every buffer lives in one of two poisoned arenas (values, ids). The call runs twice, on two
// copies of the arenas: with the default backend (SIMD when available) and with scalar_backend.
// Contract checked:
//   - on brmrs::invalid_argument both arenas are byte-for-byte unchanged;
//   - a result never comes back for an argument that is bad by the documentation (computed
//     here: sizes, ids, hyper-parameters, enums, exact element overlaps); inputs stay unchanged;
//   - a result has a finite loss equal to the reduction of out.example_loss, hard negatives that
//     are pool members maximising s_m (computed here in double), negatives that are batch.negatives
//     or the pool member of pool_negative_slot;
//   - when every table value is on a small grid (so every dot product is exact in float), both
//     backends agree on throwing, bitwise on every id output, and within tolerance on every value.
#include <brmrs/objective.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "fuzz_common.hpp"

namespace {

using U = std::uint64_t;

// A region of an arena: offset and shape in elements. count == 0: not requested.
struct region {
  std::size_t at = 0, rows = 0, cols = 0, stride = 0;
  bool used = false;
  std::size_t extent() const { return rows == 0 || cols == 0 ? 0 : (rows - 1) * stride + cols; }
};

// Hands out regions of an arena: fresh ones one element apart, or (alias) one starting inside an
// earlier region.
struct layout {
  std::vector<region> all;
  std::size_t end = 0;
  int add(fuzz::bytes& in, std::size_t rows, std::size_t cols, bool may_alias) {
    region r;
    r.rows = rows;
    r.cols = cols;
    r.stride = cols + (in.u8() < 32 ? 1 : 0);
    r.used = true;
    if (may_alias && !all.empty() && in.u8() < 10) {
      const region& o = all[in.u8() % all.size()];
      r.at = o.at + (o.extent() ? in.u8() % o.extent() : 0);
    } else {
      r.at = end;
    }
    end = std::max(end, r.at + r.extent() + 1);
    all.push_back(r);
    return static_cast<int>(all.size()) - 1;
  }
};

bool elements_overlap(const region& a, const region& b) {
  if (a.extent() == 0 || b.extent() == 0) return false;
  for (std::size_t r = 0; r < a.rows; ++r)
    for (std::size_t c = 0; c < a.cols; ++c) {
      const std::size_t e = a.at + r * a.stride + c;
      if (e < b.at || e >= b.at + b.extent()) continue;
      const std::size_t o = e - b.at;
      if (o % b.stride < b.cols) return true;
    }
  return false;
}

template <class T>
T grid_value(fuzz::bytes& in, bool& special) {
  const std::uint8_t s = in.u8();
  if (s < 250) return static_cast<T>((static_cast<int>(s % 17) - 8) * 0.25);
  special = true;
  return in.value<T>();
}

template <class T, class Id>
struct problem {
  std::size_t M = 0, n_users = 0, n_items = 0, d_f = 0, B = 0, K = 0;
  bool shared = false, special = false, bad = false;
  std::vector<std::size_t> dims;
  layout vals, ids;
  std::vector<int> user_t, item_t;
  int fused_user_t = -1, fused_item_t = -1;
  int users_r = -1, pos_r = -1, pools_r = -1, negs_r = -1;
  int out_hard = -1, out_negs = -1, out_loss = -1;
  std::vector<int> rows_user, rows_pos, rows_neg, rows_hard;
  int rows_fu = -1, rows_fp = -1, rows_fn = -1;
  std::vector<int> g_user, g_item;
  int g_fu = -1, g_fi = -1;
  brmrs::objective_config<T> cfg;
  std::vector<int> inputs_v, inputs_i, outputs_v, outputs_i;
};

template <class T, class Id>
struct arenas {
  fuzz::poisoned v, i;
  arenas(std::size_t nv, std::size_t ni) : v(nv * sizeof(T)), i(ni * sizeof(Id)) {}
  T* vp(const region& r) { return reinterpret_cast<T*>(v.base()) + r.at; }
  Id* ip(const region& r) { return reinterpret_cast<Id*>(i.base()) + r.at; }
};

template <class T, class Id>
brmrs::objective_result<T> call(problem<T, Id>& p, arenas<T, Id>& a, bool scalar) {
  auto cv = [&](int r) {
    if (r < 0) return brmrs::matrix_view<const T>();
    const region& g = p.vals.all[std::size_t(r)];
    return brmrs::matrix_view<const T>(a.vp(g), g.rows, g.cols, g.stride);
  };
  auto mv = [&](int r) {
    if (r < 0) return brmrs::matrix_view<T>();
    const region& g = p.vals.all[std::size_t(r)];
    return brmrs::matrix_view<T>(a.vp(g), g.rows, g.cols, g.stride);
  };
  auto vec_v = [&](int r) {
    if (r < 0) return brmrs::vector_view<T>();
    const region& g = p.vals.all[std::size_t(r)];
    return brmrs::vector_view<T>(a.vp(g), g.cols);
  };
  auto vec_i = [&](int r) {
    if (r < 0) return brmrs::vector_view<Id>();
    const region& g = p.ids.all[std::size_t(r)];
    return brmrs::vector_view<Id>(a.ip(g), g.cols);
  };
  brmrs::dot_tables<T> t;
  for (std::size_t m = 0; m < p.M; ++m) {
    t.user.push_back(cv(p.user_t[m]));
    t.item.push_back(cv(p.item_t[m]));
  }
  if (p.M == 0) t.user.push_back(cv(p.user_t.empty() ? -1 : p.user_t[0]));
  t.fused_user = cv(p.fused_user_t);
  t.fused_item = cv(p.fused_item_t);
  brmrs::batch<Id> b;
  b.users = vec_i(p.users_r);
  b.positives = vec_i(p.pos_r);
  const region& pr = p.ids.all[std::size_t(p.pools_r)];
  b.pools = brmrs::matrix_view<const Id>(a.ip(pr), pr.rows, pr.cols, pr.stride);
  b.negatives = vec_i(p.negs_r);
  brmrs::objective_outputs<T, Id> o;
  if (p.out_hard >= 0) {
    const region& h = p.ids.all[std::size_t(p.out_hard)];
    o.hard_negatives = brmrs::matrix_view<Id>(a.ip(h), h.rows, h.cols, h.stride);
  }
  o.negatives = vec_i(p.out_negs);
  o.example_loss = vec_v(p.out_loss);
  for (std::size_t m = 0; m < p.rows_user.size(); ++m) {
    o.rows.user.push_back(mv(p.rows_user[m]));
    o.rows.positive.push_back(mv(p.rows_pos[m]));
    o.rows.negative.push_back(mv(p.rows_neg[m]));
    o.rows.hard.push_back(mv(p.rows_hard[m]));
  }
  o.rows.fused_user = mv(p.rows_fu);
  o.rows.fused_positive = mv(p.rows_fp);
  o.rows.fused_negative = mv(p.rows_fn);
  for (std::size_t m = 0; m < p.g_user.size(); ++m) {
    o.tables.user.push_back(mv(p.g_user[m]));
    o.tables.item.push_back(mv(p.g_item[m]));
  }
  o.tables.fused_user = mv(p.g_fu);
  o.tables.fused_item = mv(p.g_fi);
  if (scalar) return brmrs::compute_objective(t, b, p.cfg, o, brmrs::scalar_backend{});
  return brmrs::compute_objective(t, b, p.cfg, o);
}

template <class T>
bool close(T a, T b) {
  const double tol = std::is_same_v<T, float> ? 2e-3 : 1e-9;
  if (!std::isfinite(a) || !std::isfinite(b)) return std::isnan(a) ? std::isnan(b) : a == b;
  return std::fabs(double(a) - double(b)) <= tol * (1.0 + std::fabs(double(a)) + std::fabs(double(b)));
}

template <class T, class Id>
void run(fuzz::bytes& in) {
  problem<T, Id> p;
  const std::uint8_t msel = in.u8();
  p.M = msel < 8 ? msel % 2 : msel < 150 ? 2 : 3;  // 0 or 1 modalities must be refused
  p.n_users = in.u8() < 8 ? 0 : in.in(1, 4);
  p.n_items = in.u8() < 8 ? 0 : in.in(1, 10);
  p.shared = in.flag();
  const std::size_t d0 = in.in(1, 9);
  for (std::size_t m = 0; m < p.M; ++m) p.dims.push_back(p.shared ? d0 : in.in(1, 9));
  p.d_f = in.in(1, 9);
  p.B = in.u8() < 8 ? 0 : in.in(1, 6);
  p.K = in.u8() < 8 ? 0 : in.in(1, 8);
  // Tables (inputs; never aliased with each other: shared user views are the same region).
  for (std::size_t m = 0; m < p.M; ++m) {
    if (p.shared && m > 0)
      p.user_t.push_back(p.user_t[0]);
    else
      p.user_t.push_back(p.vals.add(in, p.n_users, p.dims[m], false));
    p.item_t.push_back(p.vals.add(in, p.n_items, p.dims[m], false));
  }
  p.fused_user_t = p.vals.add(in, p.n_users, p.d_f, false);
  p.fused_item_t = p.vals.add(in, p.n_items, p.d_f, false);
  const std::size_t n_tables = p.vals.all.size();
  // Batch.
  const bool give_negs = in.flag();
  const std::size_t nb_off = in.u8() < 8 ? 1 : 0;  // a wrongly sized negatives
  p.users_r = p.ids.add(in, 1, p.B, false);
  p.pos_r = p.ids.add(in, 1, p.B, false);
  p.pools_r = p.ids.add(in, p.B, p.K, false);
  p.negs_r = give_negs ? p.ids.add(in, 1, p.B + nb_off, false) : -1;
  const std::size_t n_id_inputs = p.ids.all.size();
  // Config.
  auto lam = [&]() -> T {
    const std::uint8_t s = in.u8();
    return s < 240 ? T((s % 5) * 0.25) : s < 248 ? T(-0.5) : std::numeric_limits<T>::quiet_NaN();
  };
  p.cfg.lambda_bpr = lam();
  p.cfg.lambda_hard = lam();
  p.cfg.lambda_synergy = lam();
  p.cfg.lambda_reg = lam();
  const std::uint8_t th = in.u8();
  p.cfg.theta = th < 240 ? T(0.1 + (th % 4) * 0.2) : th < 248 ? T(0) : T(-1);
  const std::uint8_t ta = in.u8();
  p.cfg.tau = ta < 128 ? T(0) : ta < 250 ? T(0.5) : T(-0.25);
  const std::uint8_t rs = in.u8();
  p.cfg.reduce = static_cast<brmrs::reduction>(rs < 250 ? rs % 2 : 2 + rs % 3);
  const std::uint8_t sm = in.u8();
  p.cfg.synergy_mode = static_cast<brmrs::synergy_gradient>(sm < 250 ? sm % 2 : 2 + sm % 3);
  p.cfg.seed = in.u64();
  p.cfg.step = in.u32();
  p.cfg.example_offset = in.u8() < 20 ? (U(1) << 32) - p.B + in.u8() % 3 : in.u8();
  // Outputs, each optional, sometimes misshapen (+1 row), sometimes over an earlier region.
  auto bump = [&]() -> std::size_t { return in.u8() < 6 ? 1 : 0; };
  if (in.flag()) p.out_hard = p.ids.add(in, p.B + bump(), p.M, true);
  if (in.flag()) p.out_negs = p.ids.add(in, 1, p.B + bump(), true);
  if (in.flag()) p.out_loss = p.vals.add(in, 1, p.B + bump(), true);
  if (in.u8() < 100) {
    for (std::size_t m = 0; m < p.M; ++m) {
      p.rows_user.push_back(p.vals.add(in, p.B + bump(), p.dims[m], true));
      p.rows_pos.push_back(p.vals.add(in, p.B, p.dims[m], true));
      p.rows_neg.push_back(p.vals.add(in, p.B, p.dims[m], true));
      p.rows_hard.push_back(p.vals.add(in, p.B * p.M, p.dims[m], true));
    }
    p.rows_fu = p.vals.add(in, p.B, p.d_f, true);
    p.rows_fp = p.vals.add(in, p.B, p.d_f, true);
    p.rows_fn = p.vals.add(in, p.B, p.d_f + bump(), true);
  }
  if (in.u8() < 100) {
    for (std::size_t m = 0; m < p.M; ++m) {
      if (p.shared && m > 0)
        p.g_user.push_back(p.g_user[0]);
      else
        p.g_user.push_back(p.vals.add(in, p.n_users, p.dims[m], true));
      p.g_item.push_back(p.vals.add(in, p.n_items + bump(), p.dims[m], true));
    }
    p.g_fu = p.vals.add(in, p.n_users, p.d_f, true);
    p.g_fi = p.vals.add(in, p.n_items, p.d_f, true);
  }

  arenas<T, Id> A(p.vals.end + 1, p.ids.end + 1);
  // Fill the inputs.
  for (std::size_t r = 0; r < n_tables; ++r) {
    const region& g = p.vals.all[r];
    for (std::size_t i = 0; i < g.rows; ++i)
      for (std::size_t j = 0; j < g.cols; ++j) A.vp(g)[i * g.stride + j] = grid_value<T>(in, p.special);
  }
  auto draw_id = [&](std::size_t n) -> Id {
    const std::uint8_t s = in.u8();
    if (s < 245 && n > 0) return Id(s % n);
    return s % 2 ? Id(n) : Id(-1 - s % 3);
  };
  for (std::size_t r = 0; r < n_id_inputs; ++r) {
    const region& g = p.ids.all[r];
    const std::size_t n = int(r) == p.users_r ? p.n_users : p.n_items;
    for (std::size_t i = 0; i < g.rows; ++i)
      for (std::size_t j = 0; j < g.cols; ++j) A.ip(g)[i * g.stride + j] = draw_id(n);
  }

  // The reference: is some argument bad by the documentation?
  bool bad = p.M < 2 || p.n_users == 0 || p.n_items == 0 || p.B == 0 || p.K == 0 || (give_negs && nb_off) ||
             !(p.cfg.lambda_bpr >= 0) || !(p.cfg.lambda_hard >= 0) || !(p.cfg.lambda_synergy >= 0) ||
             !(p.cfg.lambda_reg >= 0) || !(p.cfg.theta > 0) || !(p.cfg.tau >= 0) ||
             static_cast<int>(p.cfg.reduce) > 1 || static_cast<int>(p.cfg.synergy_mode) > 1;
  if (!give_negs && p.cfg.example_offset + p.B > (U(1) << 32)) bad = true;
  auto ids_ok = [&](int r, std::size_t n) {
    if (r < 0) return true;
    const region& g = p.ids.all[std::size_t(r)];
    for (std::size_t i = 0; i < g.rows; ++i)
      for (std::size_t j = 0; j < g.cols; ++j) {
        const Id v = A.ip(g)[i * g.stride + j];
        if (v < 0 || U(v) >= n) return false;
      }
    return true;
  };
  bad = bad || !ids_ok(p.users_r, p.n_users) || !ids_ok(p.pos_r, p.n_items) || !ids_ok(p.pools_r, p.n_items) ||
        !ids_ok(p.negs_r, p.n_items);
  // Output shapes: anything requested must be exactly its documented shape.
  auto shape = [&](const layout& l, int r, std::size_t rows, std::size_t cols) {
    return r < 0 || (l.all[std::size_t(r)].rows == rows && l.all[std::size_t(r)].cols == cols);
  };
  bad = bad || !shape(p.ids, p.out_hard, p.B, p.M) || !shape(p.ids, p.out_negs, 1, p.B) ||
        !shape(p.vals, p.out_loss, 1, p.B);
  for (std::size_t m = 0; m < p.rows_user.size(); ++m)
    bad = bad || !shape(p.vals, p.rows_user[m], p.B, p.dims[m]);
  bad = bad || !shape(p.vals, p.rows_fn, p.B, p.d_f);
  for (std::size_t m = 0; m < p.g_item.size(); ++m) bad = bad || !shape(p.vals, p.g_item[m], p.n_items, p.dims[m]);
  // Aliasing: any output sharing an element with an input or another output (a repeated shared
  // user gradient region is the one documented exception).
  std::vector<int> out_v, out_i;
  for (std::size_t r = n_tables; r < p.vals.all.size(); ++r) out_v.push_back(int(r));
  for (std::size_t r = n_id_inputs; r < p.ids.all.size(); ++r) out_i.push_back(int(r));
  for (int o : out_v) {
    for (std::size_t r = 0; r < n_tables; ++r) bad = bad || elements_overlap(p.vals.all[std::size_t(o)], p.vals.all[r]);
    for (int o2 : out_v)
      if (o2 < o) bad = bad || elements_overlap(p.vals.all[std::size_t(o)], p.vals.all[std::size_t(o2)]);
  }
  for (int o : out_i) {
    for (std::size_t r = 0; r < n_id_inputs; ++r) bad = bad || elements_overlap(p.ids.all[std::size_t(o)], p.ids.all[r]);
    for (int o2 : out_i)
      if (o2 < o) bad = bad || elements_overlap(p.ids.all[std::size_t(o)], p.ids.all[std::size_t(o2)]);
  }

  arenas<T, Id> S = A;  // the scalar backend's copy
  const auto v_before = A.v.snapshot(), i_before = A.i.snapshot();
  brmrs::objective_result<T> res{}, sres{};
  bool threw = false, sthrew = false;
  const bool debug = std::getenv("FUZZ_DEBUG") != nullptr;
  try {
    res = call(p, A, false);
  } catch (const brmrs::invalid_argument& e) {
    threw = true;
    if (debug) std::fprintf(stderr, "default backend: %s\n", e.what());
  }
  try {
    sres = call(p, S, true);
  } catch (const brmrs::invalid_argument& e) {
    sthrew = true;
    if (debug) std::fprintf(stderr, "scalar backend: %s\n", e.what());
  }
  if (debug) std::fprintf(stderr, "bad = %d, special = %d, loss %g / %g\n", int(bad), int(p.special), double(res.loss), double(sres.loss));
  if (threw) FUZZ_CHECK(A.v.snapshot() == v_before && A.i.snapshot() == i_before);
  if (sthrew) FUZZ_CHECK(S.v.snapshot() == v_before && S.i.snapshot() == i_before);
  if (!threw) FUZZ_CHECK(!bad);
  if (!sthrew) FUZZ_CHECK(!bad);
  if (!p.special) FUZZ_CHECK(threw == sthrew);
  if (threw) return;

  // Inputs unchanged.
  for (std::size_t r = 0; r < n_tables; ++r) {
    const region& g = p.vals.all[r];
    for (std::size_t i = 0; i < g.rows; ++i)
      FUZZ_CHECK(std::memcmp(A.vp(g) + i * g.stride, reinterpret_cast<const T*>(v_before.data()) + g.at +
                                                         i * g.stride, g.cols * sizeof(T)) == 0);
  }
  FUZZ_CHECK(std::isfinite(res.loss));
  const Id* users = A.ip(p.ids.all[std::size_t(p.users_r)]);
  const region& pr = p.ids.all[std::size_t(p.pools_r)];
  const Id* pools = A.ip(pr);
  const Id* negs = p.negs_r >= 0 ? A.ip(p.ids.all[std::size_t(p.negs_r)]) : nullptr;
  if (p.out_loss >= 0) {
    const T* l = A.vp(p.vals.all[std::size_t(p.out_loss)]);
    double sum = 0;
    for (std::size_t b = 0; b < p.B; ++b) sum += double(l[b]);
    const double want = p.cfg.reduce == brmrs::reduction::mean ? sum / double(p.B) : sum;
    FUZZ_CHECK(close(T(want), res.loss));
  }
  if (p.out_negs >= 0) {
    const Id* on = A.ip(p.ids.all[std::size_t(p.out_negs)]);
    for (std::size_t b = 0; b < p.B; ++b) {
      const Id want = negs ? negs[b]
                           : pools[b * pr.stride + brmrs::pool_negative_slot(p.cfg.seed, p.cfg.step,
                                                                             p.cfg.example_offset + b, p.K)];
      FUZZ_CHECK(on[b] == want);
    }
  }
  if (p.out_hard >= 0 && !p.special) {
    const region& h = p.ids.all[std::size_t(p.out_hard)];
    const Id* hn = A.ip(h);
    for (std::size_t b = 0; b < p.B; ++b)
      for (std::size_t m = 0; m < p.M; ++m) {
        const region& ut = p.vals.all[std::size_t(p.user_t[m])];
        const region& it = p.vals.all[std::size_t(p.item_t[m])];
        auto score = [&](Id item) {
          double s = 0;
          for (std::size_t d = 0; d < p.dims[m]; ++d)
            s += double(A.vp(ut)[std::size_t(users[b]) * ut.stride + d]) * double(A.vp(it)[std::size_t(item) * it.stride + d]);
          return s;
        };
        std::size_t best = 0;
        for (std::size_t k = 1; k < p.K; ++k)
          if (score(pools[b * pr.stride + k]) > score(pools[b * pr.stride + best])) best = k;
        FUZZ_CHECK(hn[b * h.stride + m] == pools[b * pr.stride + best]);  // the first maximiser
      }
  }
  if (p.special || sthrew) return;
  // The two backends agree.
  FUZZ_CHECK(close(res.loss, sres.loss) && close(res.bpr, sres.bpr) && close(res.chns, sres.chns) &&
             close(res.synergy, sres.synergy) && close(res.l2, sres.l2));
  FUZZ_CHECK(res.hard_negative_agreement == sres.hard_negative_agreement);
  for (int o : out_i) {
    const region& g = p.ids.all[std::size_t(o)];
    for (std::size_t i = 0; i < g.rows; ++i)
      for (std::size_t j = 0; j < g.cols; ++j) FUZZ_CHECK(A.ip(g)[i * g.stride + j] == S.ip(g)[i * g.stride + j]);
  }
  for (int o : out_v) {
    const region& g = p.vals.all[std::size_t(o)];
    for (std::size_t i = 0; i < g.rows; ++i)
      for (std::size_t j = 0; j < g.cols; ++j) FUZZ_CHECK(close(A.vp(g)[i * g.stride + j], S.vp(g)[i * g.stride + j]));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::bytes in(data, size);
  switch (in.u8() % 4) {
    case 0: run<float, std::int32_t>(in); break;
    case 1: run<double, std::int32_t>(in); break;
    case 2: run<float, std::int64_t>(in); break;
    default: run<double, std::int64_t>(in); break;
  }
  return 0;
}
