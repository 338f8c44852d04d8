// examples/train/model.hpp — the small multimodal recommender of the training example and its
// hand-written backward pass through the item projections (Adam: adam.hpp).
//
// Model (M modalities, width d per block):
//   h_i^m = x_i^m W_m                      modality m's item features x^m (f_m, standardised)
//                                          projected to d by a learned W_m (f_m x d)
//   x_i^× = Σ_{a<c} h_i^a ⊙ h_i^c          the interaction block (h^0 ⊙ h^1 for M = 2)
//   e_i                                    a learned item embedding (d; --item-embedding off
//                                          drops it)
//   branch m    s_m(u, i) = <p_u^m, h_i^m>
//   fused       s_f(u, i) = <p_u^f, q_i^f>
// The item encoders W_m are shared by the branch and the fused scorers. Three fusion choices
// (--fusion) differ in the fused item row and the user side:
//   sum: q^f = [h^0 | ... | h^{M-1} | x^× | e], p_u^f = [p_u^0 | ... | p_u^{M-1} | p_u^× |
//     p_u^e] reuses the branch blocks, so s_f = Σ_m s_m + <p_u^×, x_i^×> + <p_u^e, e_i>: the fused
//     score is the sum of the unimodal scores plus an interaction and a collaborative term (fused
//     BPR trains the branches too and every variant's branch scorers, and hence U_t / U_v / U_r,
//     mean something).
//   separate: the same q^f, but p_u^f is its own D_f-wide user row; the branch scorers have their
//     own user blocks p_u^m, which only CHNS trains (under BPR-only they stay at their random
//     start). CHNS trains the shared item encoders through the branch scorers.
//   linear (default): a learned linear fusion with one shared user vector p_u (brmrs's shared-user-table
//     mode: the same user view for every branch): q^f = [Σ_m h^m C_m | x^× | e] with learned
//     C_m (d x d, initialised to the identity) and p_u^f = [p_u | p_u^× | p_u^e], so
//     s_m = <p_u, h^m> and s_f = <p_u, Σ_m h^m C_m> + <p_u^×, x^×> + <p_u^e, e>. At the start
//     (C_m = I) s_f = Σ_m s_m + ...; once the C_m move, the fused scorer reads p_u through its own
//     learned mixing of the modalities and is no longer a sum of the branch scores, so it can
//     lose a pair both branches rank high (U_r). Fused BPR trains p_u and W_m, hence the branches.
// Storage: one user table P (n_users x Du) and one item table F (n_items x Di, derived by
// forward_items). Branch m reads user columns [ucol(m), +d) and item columns [m d, +d) (the h
// blocks come first in F); the fused scorer reads user columns [fuo, +D_f) and item columns
// [fio, +D_f).
//   sum:      Du = Di = D_f = (M + 1 + e) d, ucol(m) = m d, fuo = fio = 0.
//   separate: Du = Di = M d + D_f, D_f = (M + 1 + e) d, ucol(m) = m d, fuo = fio = M d (F repeats
//             the h blocks there).
//   linear:   D_f = (2 + e) d, Du = D_f, ucol(m) = 0, fuo = 0; Di = M d + D_f, fio = M d.
// brmrs sees plain views into P and F (row stride Du, Di).
// Backward: brmrs returns per-example gradient rows (objective_outputs::rows); they are
// scattered into dP and dF (rows of a shared user block add up), then dF flows back by the
// chain rule:
//   dE = dF[e], dX = dF[×], dH_a = dF[a] (+ dF[fio + a] for separate, + dQ C_aᵀ for linear,
//   dQ = dF[fio, +d)) + dX ⊙ Σ_{c≠a} H_c, dW_a = X_aᵀ dH_a, dC_a = H_aᵀ dQ.
#pragma once

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include <brmrs/objective.hpp>

#include "adam.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace train_example {

// How many blocks of `rows` rows cover n rows.
inline Eigen::Index row_block_count(Eigen::Index n, Eigen::Index rows) { return (n + rows - 1) / rows; }

// Runs f(b, r0, r1) for every block b, rows [r0, r1) = [b * rows, min(n, (b + 1) * rows)) of
// [0, n), the blocks spread over the OpenMP threads. Every block is computed the same way whatever
// the thread count.
template <class F>
void for_row_blocks(Eigen::Index n, Eigen::Index rows, F&& f) {
  const Eigen::Index blocks = row_block_count(n, rows);
#pragma omp parallel for schedule(static)
  for (Eigen::Index b = 0; b < blocks; ++b) f(b, b * rows, std::min(n, (b + 1) * rows));
}

// Rows per block of the item-side products: ceil(n / b) for b = 8 ceil(n / 8 192) blocks, so
// blocks of at most 1 024 rows (big enough for Eigen's GEMM kernels to run at full speed) whose
// count is b, a multiple of 8, for 64 <= n <= 10^6: 1, 2, 4 or 8 threads get the same number of rows (7
// blocks of 1 024 at TikTok's 6 710 items left one of two threads 4 096 rows and the other 2 614;
// now 8 of 839). The size depends on n only, so the results do not depend on the threads.
inline Eigen::Index item_block_rows(Eigen::Index n) {
  const Eigen::Index blocks = 8 * std::max<Eigen::Index>(1, row_block_count(n, 8 * 1024));
  return std::max<Eigen::Index>(1, row_block_count(n, blocks));
}

enum class fusion { sum, separate, linear };

inline const char* fusion_name(fusion f) {
  return f == fusion::sum ? "sum" : f == fusion::separate ? "separate" : "linear";
}

template <class T>
struct model {
  std::size_t M = 0, d = 0, Du = 0, Di = 0, Df = 0, fuo = 0, fio = 0, n_users = 0, n_items = 0;
  fusion kind = fusion::sum;
  bool item_embedding = true;
  Eigen::Index block_rows = 1024;  // rows per block of the item-side products (item_block_rows)
  mat<T> P;               // n_users x Du: user rows
  mat<T> E;               // n_items x d: item embeddings
  std::vector<mat<T>> W;  // f_m x d: projections
  std::vector<mat<T>> C;  // d x d: linear fusion's mixing matrices (fusion::linear only)
  mat<T> F;               // n_items x Di: item table (derived by forward_items)

  model() = default;
  model(std::size_t n_users_, std::size_t n_items_, const std::vector<mat<T>>& X, std::size_t d_, std::uint64_t seed,
        fusion kind_ = fusion::sum, bool item_embedding_ = true)
      : M(X.size()), d(d_), n_users(n_users_), n_items(n_items_), kind(kind_), item_embedding(item_embedding_),
        block_rows(item_block_rows(Eigen::Index(n_items_))) {
    const std::size_t ie = item_embedding ? 1 : 0;
    if (kind == fusion::linear) {
      Df = (2 + ie) * d, Du = Df, fuo = 0, fio = M * d, Di = M * d + Df;
    } else {
      Df = (M + 1 + ie) * d;
      fuo = fio = kind == fusion::separate ? M * d : 0;
      Du = Di = fuo + Df;
    }
    std::mt19937_64 g(seed);
    std::normal_distribution<double> nd(0.0, 1.0);
    auto fill = [&](mat<T>& m, std::size_t r, std::size_t c, double sd) {
      m.resize(Eigen::Index(r), Eigen::Index(c));
      for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = T(sd * nd(g));
    };
    fill(P, n_users, Du, 0.1);
    fill(E, n_items, d, 0.1);
    W.resize(M);
    // W_m ~ N(0, 1/f_m): with standardised features every h entry starts with unit variance.
    for (std::size_t m = 0; m < M; ++m) fill(W[m], std::size_t(X[m].cols()), d, 1.0 / std::sqrt(double(X[m].cols())));
    if (kind == fusion::linear) C.assign(M, mat<T>::Identity(Eigen::Index(d), Eigen::Index(d)));
  }

  Eigen::Index blk(std::size_t b) const { return Eigen::Index(b * d); }
  Eigen::Index dd() const { return Eigen::Index(d); }
  // First user column of branch m (every branch shares block 0 under the linear fusion).
  Eigen::Index ucol(std::size_t m) const { return kind == fusion::linear ? 0 : blk(m); }
  // First item column of the interaction block x^× (e follows it).
  Eigen::Index xcol() const { return Eigen::Index(fio) + (kind == fusion::linear ? dd() : blk(M)); }

  // F = the item tables of every item, by blocks of rows (each row depends on its own features
  // only), the blocks in parallel.
  void forward_items(const std::vector<mat<T>>& X) {
    F.resize(Eigen::Index(n_items), Eigen::Index(Di));
    for_row_blocks(Eigen::Index(n_items), block_rows, [&](Eigen::Index, Eigen::Index r0, Eigen::Index r1) {
      const Eigen::Index n = r1 - r0;
      auto Fb = F.middleRows(r0, n);
      for (std::size_t m = 0; m < M; ++m) Fb.middleCols(blk(m), dd()).noalias() = X[m].middleRows(r0, n) * W[m];
      if (kind == fusion::separate) Fb.middleCols(Eigen::Index(fio), blk(M)) = Fb.leftCols(blk(M));
      if (kind == fusion::linear) {
        Fb.middleCols(Eigen::Index(fio), dd()).setZero();
        for (std::size_t m = 0; m < M; ++m)
          Fb.middleCols(Eigen::Index(fio), dd()).noalias() += Fb.middleCols(blk(m), dd()) * C[m];
      }
      const Eigen::Index xb = xcol();
      Fb.middleCols(xb, dd()).setZero();
      for (std::size_t a = 0; a < M; ++a)
        for (std::size_t c = a + 1; c < M; ++c)
          Fb.middleCols(xb, dd()).array() += Fb.middleCols(blk(a), dd()).array() * Fb.middleCols(blk(c), dd()).array();
      if (item_embedding) Fb.middleCols(xb + dd(), dd()) = E.middleRows(r0, n);
    });
  }

  brmrs::dot_tables<T> tables() const {
    brmrs::dot_tables<T> t;
    for (std::size_t m = 0; m < M; ++m) {
      t.user.emplace_back(P.data() + ucol(m), n_users, d, Du);
      t.item.emplace_back(F.data() + m * d, n_items, d, Di);
    }
    t.fused_user = brmrs::matrix_view<const T>(P.data() + fuo, n_users, Df, Du);
    t.fused_item = brmrs::matrix_view<const T>(F.data() + fio, n_items, Df, Di);
    return t;
  }

  // dF -> dE, dW, dC (the item side of the backward pass; dC only for the linear fusion). Each
  // block of item rows yields its share of dW and dC, and the shares are added in block order, so
  // the sums do not depend on the thread count. With clear_dF, dF is zeroed once read (for the
  // next step's scatter).
  // touched (optional): the rows the scatter wrote (batch_grads::scatter); every other row of dF
  // is zero and adds nothing, so only these rows enter the products (a TikTok-sized batch of
  // 1 024 reaches 41 % of the 6 710 items); with clear_dF they are then zeroed and their flags
  // reset, so the next scatter starts from the same invariant (without clear_dF the rows keep
  // their values and their flags). Without touched every row counts. With non-finite entries in
  // F the two differ (an untouched row's 0 * inf is NaN in the every-row products only).
  // Linear fusion: dH_a = dH'_a + dQ C_aᵀ (dH'_a: the branch and interaction terms) and H_a =
  // X_a W_a, so with Y_a = X_aᵀ dQ: dW_a = X_aᵀ dH'_a + Y_a C_aᵀ and dC_a = H_aᵀ dQ = W_aᵀ Y_a.
  // When f_a < 2 d, one product X_aᵀ [dQ | dH'_a] per block (2 f n d multiply-adds, X_a packed
  // once) is cheaper than dQ C_aᵀ, H_aᵀ dQ and X_aᵀ dH_a ((f + 2 d) n d); at f_a = d = 128 (TikTok)
  // it is a third fewer. Wider features take the direct products.
  void backward_items(const std::vector<mat<T>>& X, mat<T>& dF, mat<T>& dE, std::vector<mat<T>>& dW,
                      std::vector<mat<T>>& dC, bool clear_dF = false,
                      std::vector<unsigned char>* touched = nullptr) const {
    const Eigen::Index xb = xcol(), ni = Eigen::Index(n_items), D = dd();
    const Eigen::Index blocks = row_block_count(ni, block_rows);
    if (item_embedding) dE.resize(ni, D);
    const bool linear = kind == fusion::linear;
    std::vector<bool> via_features(M, false);  // the X_aᵀ [dQ | dH'_a] form, per modality
    for (std::size_t a = 0; a < M; ++a) via_features[a] = linear && X[a].cols() < 2 * D;
    // share[b * M + a]: block b's part of dW_a, then of dC_a (or of Y_a under via_features).
    std::vector<mat<T>> wshare(std::size_t(blocks) * M), cshare(linear ? std::size_t(blocks) * M : 0);
    // One block's shares from its rows with a gradient: Fb and dFb hold them (the block's rows of F
    // and dF, or copies of the touched ones), x(a) the same rows of X_a.
    auto shares = [&](std::size_t b, const auto& Fb, const auto& dFb, const auto& x) {
      const Eigen::Index n = Fb.rows();
      mat<T> hsum = mat<T>::Zero(n, D);
      for (std::size_t c = 0; c < M; ++c) hsum += Fb.middleCols(blk(c), D);
      const auto dQ = dFb.middleCols(Eigen::Index(fio), D);
      for (std::size_t a = 0; a < M; ++a) {
        const auto& Xa = x(a);
        mat<T> G(n, via_features[a] ? 2 * D : D);  // [dQ | dH'_a] or dH_a
        auto dH = G.rightCols(D);
        dH = dFb.middleCols(blk(a), D);
        if (kind == fusion::separate) dH += dFb.middleCols(Eigen::Index(fio) + blk(a), D);
        dH.array() += dFb.middleCols(xb, D).array() * (hsum - Fb.middleCols(blk(a), D)).array();
        if (via_features[a]) {
          G.leftCols(D) = dQ;
          const mat<T> share = Xa.transpose() * G;
          cshare[b * M + a] = share.leftCols(D);
          wshare[b * M + a] = share.rightCols(D);
          continue;
        }
        if (linear) {
          dH.noalias() += dQ * C[a].transpose();
          cshare[b * M + a].noalias() = Fb.middleCols(blk(a), D).transpose() * dQ;
        }
        wshare[b * M + a].noalias() = Xa.transpose() * dH;
      }
    };
    for_row_blocks(ni, block_rows, [&](Eigen::Index bi, Eigen::Index r0, Eigen::Index r1) {
      const Eigen::Index n = r1 - r0;
      const std::size_t b = std::size_t(bi);
      auto dFb = dF.middleRows(r0, n);
      if (item_embedding) dE.middleRows(r0, n) = dFb.middleCols(xb + D, D);
      std::vector<Eigen::Index> rows;  // the block's touched rows (all of them, when every row is)
      if (touched != nullptr)
        for (Eigen::Index r = r0; r < r1; ++r)
          if ((*touched)[std::size_t(r)] != 0) rows.push_back(r);
      if (touched == nullptr || Eigen::Index(rows.size()) == n) {
        shares(b, F.middleRows(r0, n), dFb, [&](std::size_t a) { return X[a].middleRows(r0, n); });
        if (clear_dF) dFb.setZero();
      } else {
        const Eigen::Index nn = Eigen::Index(rows.size());
        mat<T> Fc(nn, blk(M)), dFc(nn, dF.cols());
        std::vector<mat<T>> Xc(M);
        for (std::size_t a = 0; a < M; ++a) Xc[a].resize(nn, X[a].cols());
        for (Eigen::Index j = 0; j < nn; ++j) {
          const Eigen::Index r = rows[std::size_t(j)];
          Fc.row(j) = F.row(r).leftCols(blk(M));
          dFc.row(j) = dF.row(r);
          for (std::size_t a = 0; a < M; ++a) Xc[a].row(j) = X[a].row(r);
          if (clear_dF) dF.row(r).setZero();
        }
        shares(b, Fc, dFc, [&](std::size_t a) -> const mat<T>& { return Xc[a]; });
      }
      if (touched != nullptr && clear_dF)
        for (const Eigen::Index r : rows) (*touched)[std::size_t(r)] = 0;
    });
    dW.resize(M);
    if (linear) dC.resize(M);
    for (std::size_t a = 0; a < M; ++a) {  // zero, then the shares in block order
      dW[a].setZero(X[a].cols(), D);
      for (Eigen::Index b = 0; b < blocks; ++b) dW[a] += wshare[std::size_t(b) * M + a];
      if (!linear) continue;
      dC[a].setZero(via_features[a] ? X[a].cols() : D, D);
      for (Eigen::Index b = 0; b < blocks; ++b) dC[a] += cshare[std::size_t(b) * M + a];
      if (!via_features[a]) continue;
      const mat<T> Y = dC[a];  // X_aᵀ dQ
      dW[a].noalias() += Y * C[a].transpose();
      dC[a].noalias() = W[a].transpose() * Y;
    }
  }
};

// Per-example gradient buffers for a batch of up to B examples, and the scatter into dP, dF.
template <class T>
struct batch_grads {
  std::size_t M = 0, d = 0, D = 0, B = 0;  // D here: the fused width D_f
  std::vector<std::size_t> ucol;           // first user column of branch m (from model::ucol)
  std::size_t fuo = 0, fio = 0;            // first user / item column of the fused rows
  std::vector<mat<T>> user, pos, neg, hard;
  mat<T> fu, fp, fn;
  std::vector<std::int32_t> negatives, hard_ids;

  template <class Model>
  void resize(const Model& m, std::size_t B_) {
    M = m.M, d = m.d, D = m.Df, B = B_, fuo = m.fuo, fio = m.fio;
    ucol.resize(M);
    for (std::size_t k = 0; k < M; ++k) ucol[k] = std::size_t(m.ucol(k));
    user.assign(M, mat<T>(Eigen::Index(B), Eigen::Index(d)));
    pos = neg = user;
    hard.assign(M, mat<T>(Eigen::Index(B * M), Eigen::Index(d)));
    fu.resize(Eigen::Index(B), Eigen::Index(D));
    fp = fn = fu;
    negatives.resize(B);
    hard_ids.resize(B * M);
  }

  // The outputs for the first b <= B examples.
  brmrs::objective_outputs<T, std::int32_t> outputs(std::size_t b) {
    brmrs::objective_outputs<T, std::int32_t> o;
    o.hard_negatives = brmrs::matrix_view<std::int32_t>(hard_ids.data(), b, M);
    o.negatives = brmrs::vector_view<std::int32_t>(negatives.data(), b);
    for (std::size_t m = 0; m < M; ++m) {
      o.rows.user.emplace_back(user[m].data(), b, d);
      o.rows.positive.emplace_back(pos[m].data(), b, d);
      o.rows.negative.emplace_back(neg[m].data(), b, d);
      o.rows.hard.emplace_back(hard[m].data(), b * M, d);
    }
    o.rows.fused_user = brmrs::matrix_view<T>(fu.data(), b, D);
    o.rows.fused_positive = brmrs::matrix_view<T>(fp.data(), b, D);
    o.rows.fused_negative = brmrs::matrix_view<T>(fn.data(), b, D);
    return o;
  }

  // dP[u] and dF[i] += the rows of the first b examples (branch m: user columns ucol[m].., item
  // columns m*d..; fused: user columns fuo.., item columns fio..). Shared user blocks add up.
  // Owner-computes: each thread owns a range of dP's and of dF's rows, walks every example and adds
  // only to the rows it owns, so each row takes its terms in example order, as a serial loop would
  // add them, whatever the thread count.
  // touched (optional, n_items flags): set for every row of dF written, by the thread that owns it.
  void scatter(std::size_t b, const std::int32_t* users, const std::int32_t* positives, mat<T>& dP, mat<T>& dF,
               std::vector<unsigned char>* touched = nullptr) const {
    const auto dd = Eigen::Index(d), fw = Eigen::Index(D);
#pragma omp parallel
    {
#ifdef _OPENMP
      const auto threads = Eigen::Index(omp_get_num_threads()), id = Eigen::Index(omp_get_thread_num());
#else
      const Eigen::Index threads = 1, id = 0;
#endif
      const Eigen::Index u0 = dP.rows() * id / threads, u1 = dP.rows() * (id + 1) / threads;
      const Eigen::Index i0 = dF.rows() * id / threads, i1 = dF.rows() * (id + 1) / threads;
      auto user_owned = [&](Eigen::Index u) { return u >= u0 && u < u1; };
      // Whether this thread adds into dF's row i; if it does, the row is marked touched.
      auto claim_item = [&](Eigen::Index i) {
        const bool own = i >= i0 && i < i1;
        if (own && touched != nullptr) (*touched)[std::size_t(i)] = 1;
        return own;
      };
      for (std::size_t e = 0; e < b; ++e) {
        const auto r = Eigen::Index(e);
        const auto u = Eigen::Index(users[e]), ip = Eigen::Index(positives[e]), in = Eigen::Index(negatives[e]);
        if (user_owned(u)) {
          dP.row(u).segment(Eigen::Index(fuo), fw) += fu.row(r);
          for (std::size_t m = 0; m < M; ++m) dP.row(u).segment(Eigen::Index(ucol[m]), dd) += user[m].row(r);
        }
        if (claim_item(ip)) dF.row(ip).segment(Eigen::Index(fio), fw) += fp.row(r);
        if (claim_item(in)) dF.row(in).segment(Eigen::Index(fio), fw) += fn.row(r);
        for (std::size_t m = 0; m < M; ++m) {
          const auto c0 = Eigen::Index(m * d);
          if (claim_item(ip)) dF.row(ip).segment(c0, dd) += pos[m].row(r);
          if (claim_item(in)) dF.row(in).segment(c0, dd) += neg[m].row(r);
          for (std::size_t c = 0; c < M; ++c) {
            if (c == m) continue;  // modality m's own hard negative gets no CHNS gradient
            const auto j = Eigen::Index(hard_ids[e * M + c]);
            if (claim_item(j)) dF.row(j).segment(c0, dd) += hard[m].row(Eigen::Index(e * M + c));
          }
        }
      }
    }
  }
};

}  // namespace train_example
