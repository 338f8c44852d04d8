// benchmarks/hand_loop/hand_loop.hpp — the yardstick of issue 20: workload W (DESIGN.md §4)
// written as a plain AVX-512F intrinsics loop, without brmrs, so brmrs's kernels can be timed
// against what a person would write by hand for exactly this shape.
//
// Fixed shape: M = 2 modalities, d = d_f = 64 floats (four 16-lane vectors), K a multiple of 16,
// explicit negatives, λ_bpr = λ_h = λ_s = 1, θ given, τ = 0, λ_reg = 0, mean reduction,
// stop-gradient on the unimodal margins. No validation: the caller passes valid ids and the
// data is finite (bench_hand_loop checks every result against brmrs before it times anything).
//   select           hard[b*2 + m] = pool id of the first k maximising <p_u^m, q_pool[k]^m>
//   objective_rows   loss parts, hard negatives and every per-example gradient row brmrs's
//                    gradient_rows holds (the same layout: hard rows b*2 + c, zero for c == m,
//                    negative rows zero under stop-gradient)
//   objective_tables the same objective, gradients added (+=) into table-shaped buffers
// Method: OpenMP over examples (schedule(static)). Selection: per step 16 candidates of one
// modality, 16 multiply-add chains of 4 FMAs (the user row stays in 4 registers), one
// transposed reduction (4 shuffle+add levels) to a vector of 16 scores, a strict-greater
// compare/mask-move into per-lane running maxima (ties keep the earlier k of a lane), and at the
// end the lane maximum and the smallest k among the lanes holding it (first-max argmax). Rows
// `prefetch_slots` pool slots ahead (into the next example's pool) are prefetched into L2 when the
// item tables exceed half the L3 (tables_beyond_l3). Losses: scalar expf / log1pf per example. Table
// gradients: owner-computes by row block after the forward pass (each thread walks every example
// in order and adds only the rows in its block): deterministic, no atomics, no row buffers.
#pragma once

#include <immintrin.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include <unistd.h>  // sysconf: the L3 size

#if defined(_OPENMP)
#include <omp.h>
#endif

#ifndef __AVX512F__
#error "hand_loop.hpp needs AVX-512F (compile with -march=native on an AVX-512 host)"
#endif

// GCC 12's AVX-512 intrinsics pass _mm512_undefined_*() through, which -W(maybe-)uninitialized
// reports once they are inlined (GCC bug 105593; every lane is defined). GCC checks the pragma
// state along the inlining chain, so this silences exactly those reports.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace hand_loop {

constexpr std::size_t D = 64;  // d = d_f = 64 floats: 4 vectors of 16 lanes
constexpr std::size_t prefetch_slots = 32;

struct tables {
  const float* user[2];  // n_users x 64 each
  const float* item[2];  // n_items x 64 each
  const float* fused_user;
  const float* fused_item;
  std::size_t n_users, n_items;
};

struct batch {
  const std::int32_t* users;      // B
  const std::int32_t* positives;  // B
  const std::int32_t* negatives;  // B
  const std::int32_t* pools;      // B x K
  std::size_t B, K;
};

// Per-example gradient rows, the layout of brmrs::gradient_rows (all B x 64, hard B*2 x 64).
struct rows {
  float* user[2];
  float* positive[2];
  float* negative[2];
  float* hard[2];
  float* fused_user;
  float* fused_positive;
  float* fused_negative;
};

// Table-shaped gradients (+=).
struct table_grads {
  float* user[2];
  float* item[2];
  float* fused_user;
  float* fused_item;
};

struct result {
  double loss = 0, bpr = 0, chns = 0, synergy = 0, fusion_degradation_rate = 0, hard_negative_agreement = 0;
};

// Lane l of the transposed reduction holds the sum of accumulator lane_of_acc[l] (computed once).
struct lane_map {
  alignas(64) std::int32_t slot[16];  // which of the 16 candidates a lane holds
  int lane[16];                       // inverse: the lane of candidate j
};

// 16 vectors of 16 partial products -> one vector of 16 sums, lanes in lane_map order.
inline __m512 reduce16(const __m512* a) {
  __m512 b[8], c[4], e[2];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i)
    b[i] = _mm512_add_ps(_mm512_shuffle_f32x4(a[2 * i], a[2 * i + 1], 0x44),
                         _mm512_shuffle_f32x4(a[2 * i], a[2 * i + 1], 0xEE));
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i)
    c[i] = _mm512_add_ps(_mm512_shuffle_f32x4(b[2 * i], b[2 * i + 1], 0x88),
                         _mm512_shuffle_f32x4(b[2 * i], b[2 * i + 1], 0xDD));
#pragma GCC unroll 2
  for (int i = 0; i < 2; ++i)
    e[i] = _mm512_add_ps(_mm512_shuffle_ps(c[2 * i], c[2 * i + 1], 0x44), _mm512_shuffle_ps(c[2 * i], c[2 * i + 1], 0xEE));
  return _mm512_add_ps(_mm512_shuffle_ps(e[0], e[1], 0x88), _mm512_shuffle_ps(e[0], e[1], 0xDD));
}

inline const lane_map& lanes() {
  static const lane_map m = [] {
    lane_map r{};
    __m512 a[16];
    for (int i = 0; i < 16; ++i) a[i] = _mm512_set1_ps(static_cast<float>(i));
    alignas(64) float out[16];
    _mm512_store_ps(out, reduce16(a));
    for (int l = 0; l < 16; ++l) {
      r.slot[l] = static_cast<std::int32_t>(out[l] / 16.0f);
      r.lane[r.slot[l]] = l;
    }
    return r;
  }();
  return m;
}

inline void prefetch_l2(const float* row) {
  const char* p = reinterpret_cast<const char*>(row);
  _mm_prefetch(p, _MM_HINT_T1);
  _mm_prefetch(p + 64, _MM_HINT_T1);
  _mm_prefetch(p + 128, _MM_HINT_T1);
  _mm_prefetch(p + 192, _MM_HINT_T1);
}

inline __m512 dot4(const __m512* u, const float* r) {
  __m512 acc = _mm512_mul_ps(u[0], _mm512_loadu_ps(r));
  acc = _mm512_fmadd_ps(u[1], _mm512_loadu_ps(r + 16), acc);
  acc = _mm512_fmadd_ps(u[2], _mm512_loadu_ps(r + 32), acc);
  return _mm512_fmadd_ps(u[3], _mm512_loadu_ps(r + 48), acc);
}

// Horizontal reductions written out (GCC 12's _mm512_reduce_* warn of an uninitialised operand);
// each leaves the result broadcast to every lane.
inline __m512 all_max(__m512 x) {
  x = _mm512_max_ps(x, _mm512_shuffle_f32x4(x, x, 0x4E));
  x = _mm512_max_ps(x, _mm512_shuffle_f32x4(x, x, 0xB1));
  x = _mm512_max_ps(x, _mm512_permute_ps(x, 0x4E));
  return _mm512_max_ps(x, _mm512_permute_ps(x, 0xB1));
}
inline __m512 all_sum(__m512 x) {
  x = _mm512_add_ps(x, _mm512_shuffle_f32x4(x, x, 0x4E));
  x = _mm512_add_ps(x, _mm512_shuffle_f32x4(x, x, 0xB1));
  x = _mm512_add_ps(x, _mm512_permute_ps(x, 0x4E));
  return _mm512_add_ps(x, _mm512_permute_ps(x, 0xB1));
}
inline std::int32_t min_epi32(__m512i x) {
  x = _mm512_min_epi32(x, _mm512_shuffle_i32x4(x, x, 0x4E));
  x = _mm512_min_epi32(x, _mm512_shuffle_i32x4(x, x, 0xB1));
  x = _mm512_min_epi32(x, _mm512_shuffle_epi32(x, _MM_PERM_BADC));
  x = _mm512_min_epi32(x, _mm512_shuffle_epi32(x, _MM_PERM_CDAB));
  return _mm_cvtsi128_si32(_mm512_castsi512_si128(x));
}

inline float dot64(const float* a, const float* b) {
  __m512 acc = _mm512_mul_ps(_mm512_loadu_ps(a), _mm512_loadu_ps(b));
  acc = _mm512_fmadd_ps(_mm512_loadu_ps(a + 16), _mm512_loadu_ps(b + 16), acc);
  acc = _mm512_fmadd_ps(_mm512_loadu_ps(a + 32), _mm512_loadu_ps(b + 32), acc);
  acc = _mm512_fmadd_ps(_mm512_loadu_ps(a + 48), _mm512_loadu_ps(b + 48), acc);
  return _mm512_cvtss_f32(all_sum(acc));
}

// One example's selection over both modalities. best[m] = first maximising slot. With Scores,
// scores[m*K + 16*step + lane] holds the score of slot 16*step + lane_map.slot[lane].
// `ahead` is the pool stream PF slots on (this pool, then next_pool), for the prefetch.
template <bool Prefetch, bool Scores>
inline void select_example(const tables& t, const float* const* urow, const std::int32_t* pool,
                           const std::int32_t* next_pool, std::size_t K, float* scores, int* best) {
  const lane_map& lm = lanes();
  __m512 u[2][4];
  for (int m = 0; m < 2; ++m)
    for (int c = 0; c < 4; ++c) u[m][c] = _mm512_loadu_ps(urow[m] + 16 * c);
  const __m512i slot0 = _mm512_load_si512(lm.slot);
  __m512 best_v[2] = {_mm512_set1_ps(-INFINITY), _mm512_set1_ps(-INFINITY)};
  __m512i best_i[2] = {slot0, slot0};
  __m512i idx = slot0;
  const __m512i step = _mm512_set1_epi32(16);
  for (std::size_t k0 = 0; k0 < K; k0 += 16) {
    if (Prefetch) {
      for (std::size_t j = 0; j < 16; ++j) {
        const std::size_t s = k0 + j + prefetch_slots;
        const std::int32_t* id = s < K ? pool + s : (next_pool != nullptr ? next_pool + (s - K) : nullptr);
        if (id == nullptr) break;
        prefetch_l2(t.item[0] + static_cast<std::size_t>(*id) * D);
        prefetch_l2(t.item[1] + static_cast<std::size_t>(*id) * D);
      }
    }
#pragma GCC unroll 2
    for (int m = 0; m < 2; ++m) {
      __m512 acc[16];
      const float* base = t.item[m];
#pragma GCC unroll 16
      for (int j = 0; j < 16; ++j) acc[j] = dot4(u[m], base + static_cast<std::size_t>(pool[k0 + j]) * D);
      const __m512 s = reduce16(acc);
      if (Scores) _mm512_storeu_ps(scores + m * K + k0, s);
      const __mmask16 gt = _mm512_cmp_ps_mask(s, best_v[m], _CMP_GT_OQ);
      best_v[m] = _mm512_mask_mov_ps(best_v[m], gt, s);
      best_i[m] = _mm512_mask_mov_epi32(best_i[m], gt, idx);
    }
    idx = _mm512_add_epi32(idx, step);
  }
  for (int m = 0; m < 2; ++m) {
    const __mmask16 at = _mm512_cmp_ps_mask(best_v[m], all_max(best_v[m]), _CMP_EQ_OQ);
    best[m] = min_epi32(_mm512_mask_mov_epi32(_mm512_set1_epi32(INT32_MAX), at, best_i[m]));
  }
}

// The score of slot k read back from select_example's score buffer.
inline float score_of(const float* scores, int m, std::size_t K, int k) {
  return scores[static_cast<std::size_t>(m) * K + static_cast<std::size_t>(k & ~15) + lanes().lane[k & 15]];
}

// Whether the look-ahead prefetch pays: when the item tables exceed half the L3 the OS reports
// (16 MiB where it reports none). Measured on this Intel Xeon (KVM, 480 MiB L3 reported), two
// threads, 2026-12-06: at 100 000 items (2 x 25.6 MB, L3-resident) the prefetch made selection
// 20 % slower (1.55 ms against 1.25 ms); at 2 000 items 30 % slower. Decided at run time from
// the CPU: a Zen 4 host (32 MiB L3) prefetches at 100 000 items.
inline bool tables_beyond_l3(const tables& t) {
  static const std::size_t limit = [] {
    const long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
    return l3 > 0 ? static_cast<std::size_t>(l3) / 2 : std::size_t(16) << 20;
  }();
  return t.n_items * 2 * D * sizeof(float) > limit;
}

inline void prefetch_user(const tables& t, std::int32_t u) {
  _mm_prefetch(reinterpret_cast<const char*>(t.user[0] + static_cast<std::size_t>(u) * D), _MM_HINT_T0);
  _mm_prefetch(reinterpret_cast<const char*>(t.user[1] + static_cast<std::size_t>(u) * D), _MM_HINT_T0);
}

template <bool Prefetch>
inline void select_all(const tables& t, const batch& bt, std::int32_t* hard) {
#pragma omp parallel for schedule(static)
  for (std::size_t b = 0; b < bt.B; ++b) {
    const std::int32_t* pool = bt.pools + b * bt.K;
    const std::int32_t* next = b + 1 < bt.B ? pool + bt.K : nullptr;
    if (next != nullptr) prefetch_user(t, bt.users[b + 1]);
    const std::size_t u = static_cast<std::size_t>(bt.users[b]);
    const float* urow[2] = {t.user[0] + u * D, t.user[1] + u * D};
    int best[2];
    select_example<Prefetch, false>(t, urow, pool, next, bt.K, nullptr, best);
    hard[2 * b] = pool[best[0]];
    hard[2 * b + 1] = pool[best[1]];
  }
}

// hard: B x 2 ids.
inline void select(const tables& t, const batch& bt, std::int32_t* hard) {
  if (tables_beyond_l3(t))
    select_all<true>(t, bt, hard);
  else
    select_all<false>(t, bt, hard);
}

// softplus(x) and sigmoid(x) from one exp, as DESIGN.md §1 defines them.
inline void softplus_sigmoid(float x, float& sp, float& sg) {
  const float e = std::exp(-std::fabs(x));
  sp = (x > 0.f ? x : 0.f) + std::log1p(e);
  sg = x >= 0.f ? 1.f / (1.f + e) : e / (1.f + e);
}

// One example's forward pass: ids, score gradients (scaled by 1/B) and its terms.
struct example {
  std::int32_t u, ip, in, j[2];
  float g_pos[2], g_cross[2];  // g_cross[a] = dL/ds_a(u, j^c), c = 1 - a
  float g_pos_f, g_neg_f;
  float bpr, chns, synergy;
  bool degraded, agree;
};

template <bool Prefetch>
inline example forward(const tables& t, const batch& bt, std::size_t b, float theta, float scale, float* scores) {
  example e;
  const std::int32_t* pool = bt.pools + b * bt.K;
  const std::int32_t* next = b + 1 < bt.B ? pool + bt.K : nullptr;
  e.u = bt.users[b];
  e.ip = bt.positives[b];
  e.in = bt.negatives[b];
  if (next != nullptr) prefetch_user(t, bt.users[b + 1]);
  const std::size_t u = static_cast<std::size_t>(e.u), ip = static_cast<std::size_t>(e.ip),
                    in = static_cast<std::size_t>(e.in);
  const float* urow[2] = {t.user[0] + u * D, t.user[1] + u * D};
  int best[2];
  select_example<Prefetch, true>(t, urow, pool, next, bt.K, scores, best);
  e.j[0] = pool[best[0]];
  e.j[1] = pool[best[1]];
  float pos[2], neg[2];
  for (int m = 0; m < 2; ++m) {
    pos[m] = dot64(urow[m], t.item[m] + ip * D);
    neg[m] = dot64(urow[m], t.item[m] + in * D);
  }
  const float* fu = t.fused_user + u * D;
  const float pos_f = dot64(fu, t.fused_item + ip * D), neg_f = dot64(fu, t.fused_item + in * D);
  const float cross[2] = {score_of(scores, 0, bt.K, best[1]), score_of(scores, 1, bt.K, best[0])};  // s_a(u, j^(1-a))
  // Fused BPR and synergy (stop-gradient: the unimodal margins get nothing).
  const float delta_f = pos_f - neg_f;
  float sp, sg;
  softplus_sigmoid(-delta_f, sp, sg);
  e.bpr = sp;
  float g_delta_f = -sg;
  const float d0 = pos[0] - neg[0], d1 = pos[1] - neg[1];
  const float dmax = d1 > d0 ? d1 : d0;
  e.degraded = delta_f < dmax;
  softplus_sigmoid(-(delta_f - dmax - theta), sp, sg);
  e.synergy = sp;
  g_delta_f -= sg;
  // CHNS, M = 2: softplus(s_a(u, j^c) - s_a(u, i+)) for (a, c) = (0, 1), (1, 0).
  e.chns = 0.f;
  for (int a = 0; a < 2; ++a) {
    softplus_sigmoid(-(pos[a] - cross[a]), sp, sg);
    e.chns += sp;
    e.g_pos[a] = -scale * sg;
    e.g_cross[a] = scale * sg;
  }
  e.g_pos_f = scale * g_delta_f;
  e.g_neg_f = -scale * g_delta_f;
  e.agree = e.j[0] == e.j[1];
  return e;
}

inline void store_scaled(float* y, float a, const float* x) {
  const __m512 va = _mm512_set1_ps(a);
  for (int c = 0; c < 4; ++c) _mm512_storeu_ps(y + 16 * c, _mm512_mul_ps(va, _mm512_loadu_ps(x + 16 * c)));
}

// y = a·x + b·z
inline void store_two(float* y, float a, const float* x, float b, const float* z) {
  const __m512 va = _mm512_set1_ps(a), vb = _mm512_set1_ps(b);
  for (int c = 0; c < 4; ++c)
    _mm512_storeu_ps(y + 16 * c, _mm512_fmadd_ps(vb, _mm512_loadu_ps(z + 16 * c), _mm512_mul_ps(va, _mm512_loadu_ps(x + 16 * c))));
}

// y += a·x + b·z
inline void add_two(float* y, float a, const float* x, float b, const float* z) {
  const __m512 va = _mm512_set1_ps(a), vb = _mm512_set1_ps(b);
  for (int c = 0; c < 4; ++c)
    _mm512_storeu_ps(y + 16 * c, _mm512_fmadd_ps(vb, _mm512_loadu_ps(z + 16 * c),
                                                 _mm512_fmadd_ps(va, _mm512_loadu_ps(x + 16 * c), _mm512_loadu_ps(y + 16 * c))));
}

// y += a·x
inline void add_one(float* y, float a, const float* x) {
  const __m512 va = _mm512_set1_ps(a);
  for (int c = 0; c < 4; ++c)
    _mm512_storeu_ps(y + 16 * c, _mm512_fmadd_ps(va, _mm512_loadu_ps(x + 16 * c), _mm512_loadu_ps(y + 16 * c)));
}

inline void store_zero(float* y) {
  for (int c = 0; c < 4; ++c) _mm512_storeu_ps(y + 16 * c, _mm512_setzero_ps());
}

inline void finish(result& r, double bpr, double chns, double syn, double deg, double agree, std::size_t B) {
  const double inv = 1.0 / static_cast<double>(B);
  r.bpr = bpr * inv;
  r.chns = chns * inv;
  r.synergy = syn * inv;
  r.loss = r.bpr + r.chns + r.synergy;
  r.fusion_degradation_rate = deg * inv;
  r.hard_negative_agreement = agree * inv;
}

template <bool Prefetch>
inline result objective_rows_p(const tables& t, const batch& bt, float theta, std::int32_t* hard, const rows& g,
                               std::vector<float>& score_buf) {
  const float scale = 1.f / static_cast<float>(bt.B);
  double s_bpr = 0, s_chns = 0, s_syn = 0, s_deg = 0, s_agree = 0;
#pragma omp parallel reduction(+ : s_bpr, s_chns, s_syn, s_deg, s_agree)
  {
#if defined(_OPENMP)
    float* scores = score_buf.data() + static_cast<std::size_t>(omp_get_thread_num()) * 2 * bt.K;
#else
    float* scores = score_buf.data();
#endif
#pragma omp for schedule(static)
    for (std::size_t b = 0; b < bt.B; ++b) {
      const example e = forward<Prefetch>(t, bt, b, theta, scale, scores);
      hard[2 * b] = e.j[0];
      hard[2 * b + 1] = e.j[1];
      s_bpr += e.bpr;
      s_chns += e.chns;
      s_syn += e.synergy;
      s_deg += e.degraded ? 1.0 : 0.0;
      s_agree += e.agree ? 1.0 : 0.0;
      const std::size_t u = static_cast<std::size_t>(e.u), ip = static_cast<std::size_t>(e.ip),
                        in = static_cast<std::size_t>(e.in);
      for (int m = 0; m < 2; ++m) {
        const float* pu = t.user[m] + u * D;
        const std::size_t jc = static_cast<std::size_t>(e.j[1 - m]);  // the other modality's hard negative
        // dL/dp_u^m = g_pos q_{i+} + g_cross q_{j^c} (g_neg = 0 under stop-gradient)
        store_two(g.user[m] + b * D, e.g_pos[m], t.item[m] + ip * D, e.g_cross[m], t.item[m] + jc * D);
        store_scaled(g.positive[m] + b * D, e.g_pos[m], pu);
        store_zero(g.negative[m] + b * D);
        store_zero(g.hard[m] + (2 * b + static_cast<std::size_t>(m)) * D);
        store_scaled(g.hard[m] + (2 * b + static_cast<std::size_t>(1 - m)) * D, e.g_cross[m], pu);
      }
      const float* pf = t.fused_user + u * D;
      store_two(g.fused_user + b * D, e.g_pos_f, t.fused_item + ip * D, e.g_neg_f, t.fused_item + in * D);
      store_scaled(g.fused_positive + b * D, e.g_pos_f, pf);
      store_scaled(g.fused_negative + b * D, e.g_neg_f, pf);
    }
  }
  result r;
  finish(r, s_bpr, s_chns, s_syn, s_deg, s_agree, bt.B);
  return r;
}

// Scratch the objectives reuse between calls (score buffers per thread, per-example records).
struct workspace {
  std::vector<float> scores;
  std::vector<example> ex;
  explicit workspace(const batch& bt) {
#if defined(_OPENMP)
    const std::size_t nt = static_cast<std::size_t>(omp_get_max_threads());
#else
    const std::size_t nt = 1;
#endif
    scores.resize(nt * 2 * bt.K);
    ex.resize(bt.B);
  }
};

inline result objective_rows(const tables& t, const batch& bt, float theta, std::int32_t* hard, const rows& g,
                             workspace& w) {
  return tables_beyond_l3(t) ? objective_rows_p<true>(t, bt, theta, hard, g, w.scores)
                             : objective_rows_p<false>(t, bt, theta, hard, g, w.scores);
}

template <bool Prefetch>
inline result objective_tables_p(const tables& t, const batch& bt, float theta, std::int32_t* hard,
                                 const table_grads& g, workspace& w) {
  const float scale = 1.f / static_cast<float>(bt.B);
  double s_bpr = 0, s_chns = 0, s_syn = 0, s_deg = 0, s_agree = 0;
  example* ex = w.ex.data();
#pragma omp parallel reduction(+ : s_bpr, s_chns, s_syn, s_deg, s_agree)
  {
#if defined(_OPENMP)
    const std::size_t tid = static_cast<std::size_t>(omp_get_thread_num()),
                      nt = static_cast<std::size_t>(omp_get_num_threads());
#else
    const std::size_t tid = 0, nt = 1;
#endif
    float* scores = w.scores.data() + tid * 2 * bt.K;
#pragma omp for schedule(static)
    for (std::size_t b = 0; b < bt.B; ++b) {
      const example e = forward<Prefetch>(t, bt, b, theta, scale, scores);
      ex[b] = e;
      hard[2 * b] = e.j[0];
      hard[2 * b + 1] = e.j[1];
      s_bpr += e.bpr;
      s_chns += e.chns;
      s_syn += e.synergy;
      s_deg += e.degraded ? 1.0 : 0.0;
      s_agree += e.agree ? 1.0 : 0.0;
    }  // implicit barrier: every example's record is written
    // Owner-computes: this thread adds into user rows [ulo, uhi) and item rows [ilo, ihi) only,
    // walking every example in order, so each row gets its contributions in example order.
    const std::size_t ulo = t.n_users * tid / nt, uhi = t.n_users * (tid + 1) / nt;
    const std::size_t ilo = t.n_items * tid / nt, ihi = t.n_items * (tid + 1) / nt;
    for (std::size_t b = 0; b < bt.B; ++b) {
      const example& e = ex[b];
      const std::size_t u = static_cast<std::size_t>(e.u), ip = static_cast<std::size_t>(e.ip),
                        in = static_cast<std::size_t>(e.in);
      const std::size_t j[2] = {static_cast<std::size_t>(e.j[0]), static_cast<std::size_t>(e.j[1])};
      if (u >= ulo && u < uhi) {
        for (int m = 0; m < 2; ++m)
          add_two(g.user[m] + u * D, e.g_pos[m], t.item[m] + ip * D, e.g_cross[m], t.item[m] + j[1 - m] * D);
        add_two(g.fused_user + u * D, e.g_pos_f, t.fused_item + ip * D, e.g_neg_f, t.fused_item + in * D);
      }
      for (int m = 0; m < 2; ++m) {
        const float* pu = t.user[m] + u * D;
        if (ip >= ilo && ip < ihi) add_one(g.item[m] + ip * D, e.g_pos[m], pu);
        if (j[1 - m] >= ilo && j[1 - m] < ihi) add_one(g.item[m] + j[1 - m] * D, e.g_cross[m], pu);
      }
      const float* pf = t.fused_user + u * D;
      if (ip >= ilo && ip < ihi) add_one(g.fused_item + ip * D, e.g_pos_f, pf);
      if (in >= ilo && in < ihi) add_one(g.fused_item + in * D, e.g_neg_f, pf);
    }
  }
  result r;
  finish(r, s_bpr, s_chns, s_syn, s_deg, s_agree, bt.B);
  return r;
}

inline result objective_tables(const tables& t, const batch& bt, float theta, std::int32_t* hard,
                               const table_grads& g, workspace& w) {
  return tables_beyond_l3(t) ? objective_tables_p<true>(t, bt, theta, hard, g, w)
                             : objective_tables_p<false>(t, bt, theta, hard, g, w);
}

}  // namespace hand_loop

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
