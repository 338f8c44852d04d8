// examples/train/model.hpp — the small multimodal recommender of the training example, its
// hand-written backward pass through the item projections, and Adam.
//
// Model (M modalities, width d per block):
//   h_i^m = x_i^m W_m                      modality m's item features x^m (f_m, standardised)
//                                          projected to d by a learned W_m (f_m x d)
//   x_i^× = Σ_{a<c} h_i^a ⊙ h_i^c          the interaction block (h^0 ⊙ h^1 for M = 2)
//   e_i                                    a learned item embedding (d; --item-embedding off
//                                          drops it, D_f = (M + 1) d)
//   fused item  q_i^f = [h_i^0 | ... | h_i^{M-1} | x_i^× | e_i]        (D_f = (M + 2) d)
//   branch m    s_m(u, i) = <p_u^m, h_i^m>
//   fused       s_f(u, i) = <p_u^f, q_i^f>
// The item encoders W_m are shared by the branch and the fused scorers. Two fusion choices
// (--fusion) differ in the user side:
//   sum (default): p_u^f = [p_u^0 | ... | p_u^{M-1} | p_u^× | p_u^e] reuses the branch blocks, so
//     s_f = Σ_m s_m + <p_u^×, x_i^×> + <p_u^e, e_i>: the fused score is the sum of the unimodal
//     scores plus an interaction and a collaborative term (the published coupling: the fused
//     representation is built from the branch representations, so fused BPR trains the
//     branches too and every variant's branch scorers, and hence U_t / U_v / U_r, mean something).
//   separate: p_u^f is its own D_f-wide user row; the branch scorers have their own user blocks
//     p_u^m, which only CHNS trains (under BPR-only they stay at their random start). CHNS trains
//     the shared item encoders through the branch scorers; it does not write into the fused row.
// Storage: one user table P (n_users x D) and one item table F (n_items x D), D = D_f + M d for
// separate (F repeats the h blocks: columns [0, Md) serve the branches, [Md, D) the fused
// scorer) and D = D_f for sum. brmrs sees plain views into them (row stride D): item[m] and
// user[m] are the d columns of block m, fused_item / fused_user the D_f columns from offset fo.
// Backward: brmrs returns per-example gradient rows (objective_outputs::rows); they are
// scattered into dP and dF, then dF flows back by the chain rule:
//   dE = dF[e], dX = dF[×], dH_a = dF[a] (+ dF[fo + a] for separate) + dX ⊙ Σ_{c≠a} H_c,
//   dW_a = X_aᵀ dH_a.
#pragma once

#include <Eigen/Core>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include <brmrs/objective.hpp>

namespace train_example {

template <class T>
using mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

template <class T>
struct adam_state {
  mat<T> m, v;
};

struct adam_options {
  double lr = 0.01, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
};

template <class T>
void adam_step(mat<T>& param, const mat<T>& grad, adam_state<T>& st, const adam_options& o, long t) {
  if (st.m.size() == 0) {
    st.m = mat<T>::Zero(param.rows(), param.cols());
    st.v = mat<T>::Zero(param.rows(), param.cols());
  }
  const T b1 = T(o.beta1), b2 = T(o.beta2);
  st.m = b1 * st.m + (T(1) - b1) * grad;
  st.v = b2 * st.v + (T(1) - b2) * grad.cwiseProduct(grad);
  const T c1 = T(1) / (T(1) - T(std::pow(o.beta1, double(t)))), c2 = T(1) / (T(1) - T(std::pow(o.beta2, double(t))));
  param.array() -= T(o.lr) * (st.m.array() * c1) / ((st.v.array() * c2).sqrt() + T(o.eps));
}

template <class T>
struct model {
  std::size_t M = 0, d = 0, D = 0, Df = 0, fo = 0, n_users = 0, n_items = 0;
  bool separate = true, item_embedding = true;
  mat<T> P;               // n_users x D: user rows
  mat<T> E;               // n_items x d: item embeddings
  std::vector<mat<T>> W;  // f_m x d: projections
  mat<T> F;               // n_items x D: fused item table (derived by forward_items)

  model() = default;
  model(std::size_t n_users_, std::size_t n_items_, const std::vector<mat<T>>& X, std::size_t d_, std::uint64_t seed,
        bool separate_ = true, bool item_embedding_ = true)
      : M(X.size()), d(d_), D((X.size() + (item_embedding_ ? 2 : 1)) * d_ + (separate_ ? X.size() * d_ : 0)),
        Df((X.size() + (item_embedding_ ? 2 : 1)) * d_), fo(separate_ ? X.size() * d_ : 0), n_users(n_users_),
        n_items(n_items_), separate(separate_), item_embedding(item_embedding_) {
    std::mt19937_64 g(seed);
    std::normal_distribution<double> nd(0.0, 1.0);
    auto fill = [&](mat<T>& m, std::size_t r, std::size_t c, double sd) {
      m.resize(Eigen::Index(r), Eigen::Index(c));
      for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = T(sd * nd(g));
    };
    fill(P, n_users, D, 0.1);
    fill(E, n_items, d, 0.1);
    W.resize(M);
    // W_m ~ N(0, 1/f_m): with standardised features every h entry starts with unit variance.
    for (std::size_t m = 0; m < M; ++m) fill(W[m], std::size_t(X[m].cols()), d, 1.0 / std::sqrt(double(X[m].cols())));
  }

  Eigen::Index blk(std::size_t b) const { return Eigen::Index(b * d); }
  Eigen::Index dd() const { return Eigen::Index(d); }

  void forward_items(const std::vector<mat<T>>& X) {
    F.resize(Eigen::Index(n_items), Eigen::Index(D));
    for (std::size_t m = 0; m < M; ++m) F.middleCols(blk(m), dd()).noalias() = X[m] * W[m];
    if (separate) F.middleCols(Eigen::Index(fo), Eigen::Index(M * d)) = F.leftCols(Eigen::Index(M * d));
    const Eigen::Index xb = Eigen::Index(fo) + blk(M);
    F.middleCols(xb, dd()).setZero();
    for (std::size_t a = 0; a < M; ++a)
      for (std::size_t c = a + 1; c < M; ++c)
        F.middleCols(xb, dd()).array() += F.middleCols(blk(a), dd()).array() * F.middleCols(blk(c), dd()).array();
    if (item_embedding) F.middleCols(xb + dd(), dd()) = E;
  }

  brmrs::dot_tables<T> tables() const {
    brmrs::dot_tables<T> t;
    for (std::size_t m = 0; m < M; ++m) {
      t.user.emplace_back(P.data() + m * d, n_users, d, D);
      t.item.emplace_back(F.data() + m * d, n_items, d, D);
    }
    t.fused_user = brmrs::matrix_view<const T>(P.data() + fo, n_users, Df, D);
    t.fused_item = brmrs::matrix_view<const T>(F.data() + fo, n_items, Df, D);
    return t;
  }

  // dF -> dE, dW (the item side of the backward pass).
  void backward_items(const std::vector<mat<T>>& X, const mat<T>& dF, mat<T>& dE, std::vector<mat<T>>& dW) const {
    const Eigen::Index xb = Eigen::Index(fo) + blk(M);
    if (item_embedding) dE = dF.middleCols(xb + dd(), dd());
    dW.resize(M);
    mat<T> hsum = mat<T>::Zero(Eigen::Index(n_items), dd());
    for (std::size_t c = 0; c < M; ++c) hsum += F.middleCols(blk(c), dd());
    for (std::size_t a = 0; a < M; ++a) {
      mat<T> dH = dF.middleCols(blk(a), dd());
      if (separate) dH += dF.middleCols(Eigen::Index(fo) + blk(a), dd());
      dH.array() += dF.middleCols(xb, dd()).array() * (hsum - F.middleCols(blk(a), dd())).array();
      dW[a].noalias() = X[a].transpose() * dH;
    }
  }
};

// Per-example gradient buffers for a batch of up to B examples, and the scatter into dP, dF.
template <class T>
struct batch_grads {
  std::size_t M = 0, d = 0, D = 0, fo = 0, B = 0;  // D here: the fused width D_f; fo its offset
  std::vector<mat<T>> user, pos, neg, hard;
  mat<T> fu, fp, fn;
  std::vector<std::int32_t> negatives, hard_ids;

  void resize(std::size_t M_, std::size_t d_, std::size_t B_, std::size_t fo_, std::size_t Df_) {
    M = M_, d = d_, D = Df_, fo = fo_, B = B_;
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

  // dP[u] and dF[i] += the rows of the first b examples (block m of a row is columns m*d..m*d+d).
  void scatter(std::size_t b, const std::int32_t* users, const std::int32_t* positives, mat<T>& dP, mat<T>& dF) const {
    const auto dd = Eigen::Index(d);
    for (std::size_t e = 0; e < b; ++e) {
      const auto r = Eigen::Index(e);
      const auto u = Eigen::Index(users[e]), ip = Eigen::Index(positives[e]), in = Eigen::Index(negatives[e]);
      const auto f0 = Eigen::Index(fo), fw = Eigen::Index(D);
      dP.row(u).segment(f0, fw) += fu.row(r);
      dF.row(ip).segment(f0, fw) += fp.row(r);
      dF.row(in).segment(f0, fw) += fn.row(r);
      for (std::size_t m = 0; m < M; ++m) {
        const auto c0 = Eigen::Index(m * d);
        dP.row(u).segment(c0, dd) += user[m].row(r);
        dF.row(ip).segment(c0, dd) += pos[m].row(r);
        dF.row(in).segment(c0, dd) += neg[m].row(r);
        for (std::size_t c = 0; c < M; ++c) {
          if (c == m) continue;  // modality m's own hard negative gets no CHNS gradient
          const auto j = Eigen::Index(hard_ids[e * M + c]);
          dF.row(j).segment(c0, dd) += hard[m].row(Eigen::Index(e * M + c));
        }
      }
    }
  }
};

}  // namespace train_example
