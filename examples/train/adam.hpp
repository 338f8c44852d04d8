// examples/train/adam.hpp — Adam for the training example: the dense step over a parameter, and
// the lazy row-wise step of the user table, equal to the dense one bitwise.
#pragma once

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

namespace train_example {

// Row-major dense matrices, the storage of every table of the example (model.hpp).
template <class T>
using mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

template <class T>
struct adam_state {
  mat<T> m, v;
};

struct adam_options {
  double lr = 0.01, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
};

// Adam's bias corrections of step t (1-based): 1 / (1 - beta^t) for both moments.
template <class T>
std::pair<T, T> adam_corrections(const adam_options& o, long t) {
  return {T(1) / (T(1) - T(std::pow(o.beta1, double(t)))), T(1) / (T(1) - T(std::pow(o.beta2, double(t))))};
}

// Adam's constants in T, converted once per pass.
template <class T>
struct adam_constants {
  T b1, b2, lr, eps;
  explicit adam_constants(const adam_options& o) : b1(T(o.beta1)), b2(T(o.beta2)), lr(T(o.lr)), eps(T(o.eps)) {}
};

// One parameter's Adam update, written once for the dense and the lazy steps, so that both do the
// same arithmetic (which makes them equal bitwise).
template <class T>
inline void adam_update(T& p, T& m, T& v, T g, const adam_constants<T> k, T c1, T c2) {
  m = k.b1 * m + (T(1) - k.b1) * g;
  v = k.b2 * v + (T(1) - k.b2) * (g * g);
  p -= k.lr * (m * c1) / (std::sqrt(v * c2) + k.eps);
}

// One Adam step, fused into a single pass over the parameter, its moments and its gradient (three
// Eigen expressions read and wrote the dense tables three times). With clear_grad the gradient is
// zeroed in the same pass, ready for the next step's scatter.
template <class T>
void adam_step(mat<T>& param, mat<T>& grad, adam_state<T>& st, const adam_options& o, long t, bool clear_grad = false) {
  if (st.m.size() == 0) {
    st.m = mat<T>::Zero(param.rows(), param.cols());
    st.v = mat<T>::Zero(param.rows(), param.cols());
  }
  const auto [c1, c2] = adam_corrections<T>(o, t);
  const adam_constants<T> k(o);
  T *p = param.data(), *g = grad.data(), *m = st.m.data(), *v = st.v.data();
  const Eigen::Index n = param.size();
#pragma omp parallel for simd schedule(static)
  for (Eigen::Index i = 0; i < n; ++i) {
    adam_update(p[i], m[i], v[i], g[i], k, c1, c2);
    if (clear_grad) g[i] = T(0);
  }
}

// Adam over a table whose gradient is zero outside a few rows a step: the user table, of which a
// batch of 1 024 examples touches about a tenth at TikTok's 9 308 users (dense Adam moved the whole
// 9 308 x 384 table and its moments every step, ~6 GB an epoch). A row's zero-gradient steps are
// replayed, with adam_update, when the row is next read (catch_up) or at sync, so the parameters
// equal dense adam_step's bitwise at every read, while a step touches only its rows in memory.
// (Replayed steps add an exact zero, so any contraction of adam_update into FMAs gives the same
// bits; rows with a gradient rely on both loops compiling adam_update alike, which
// `brmrs_train --self-check` verifies in the built binary.)
template <class T>
struct lazy_row_adam {
  adam_state<T> st;
  std::vector<long> applied;  // steps applied to each row
  std::vector<T> c1, c2;      // bias corrections of step t at [t - 1]

  // Brings `rows` to step t, replaying their zero-gradient steps since they were last updated.
  void catch_up(mat<T>& param, const std::vector<Eigen::Index>& rows, const adam_options& o, long t) {
    prepare(param, o, t);
    const auto n = Eigen::Index(rows.size());
#pragma omp parallel for schedule(dynamic, 16)
    for (Eigen::Index k = 0; k < n; ++k) advance(param, rows[std::size_t(k)], o, t);
  }

  // Step t for `rows` (distinct, already at step t - 1): the update with their gradient rows, which
  // are then cleared (the gradient is zero elsewhere).
  void step(mat<T>& param, mat<T>& grad, const std::vector<Eigen::Index>& rows, const adam_options& o, long t) {
    prepare(param, o, t);
    const Eigen::Index n = Eigen::Index(rows.size()), cols = param.cols();
    const T a = c1[std::size_t(t - 1)], b = c2[std::size_t(t - 1)];
    const adam_constants<T> kc(o);
#pragma omp parallel for schedule(static)
    for (Eigen::Index k = 0; k < n; ++k) {
      const Eigen::Index r = rows[std::size_t(k)];
      T *p = param.row(r).data(), *g = grad.row(r).data(), *m = st.m.row(r).data(), *v = st.v.row(r).data();
#pragma omp simd
      for (Eigen::Index j = 0; j < cols; ++j) {
        adam_update(p[j], m[j], v[j], g[j], kc, a, b);
        g[j] = T(0);
      }
      applied[std::size_t(r)] = t;
    }
  }

  // Every row to step t (before the table is read whole: evaluation, a copy of the model).
  void sync(mat<T>& param, const adam_options& o, long t) {
    prepare(param, o, t);
#pragma omp parallel for schedule(static)
    for (Eigen::Index r = 0; r < param.rows(); ++r) advance(param, r, o, t);
  }

 private:
  void prepare(const mat<T>& param, const adam_options& o, long t) {
    if (st.m.size() == 0) {
      st.m = mat<T>::Zero(param.rows(), param.cols());
      st.v = mat<T>::Zero(param.rows(), param.cols());
      applied.assign(std::size_t(param.rows()), 0);
    }
    for (long s = long(c1.size()) + 1; s <= t; ++s) {
      const auto [a, b] = adam_corrections<T>(o, s);
      c1.push_back(a), c2.push_back(b);
    }
  }
  // Row r's zero-gradient steps up to t.
  void advance(mat<T>& param, Eigen::Index r, const adam_options& o, long t) {
    T *p = param.row(r).data(), *m = st.m.row(r).data(), *v = st.v.row(r).data();
    const Eigen::Index cols = param.cols();
    const adam_constants<T> k(o);
    for (long s = applied[std::size_t(r)] + 1; s <= t; ++s) {
      const T a = c1[std::size_t(s - 1)], b = c2[std::size_t(s - 1)];
#pragma omp simd
      for (Eigen::Index j = 0; j < cols; ++j) adam_update(p[j], m[j], v[j], T(0), k, a, b);
    }
    applied[std::size_t(r)] = std::max(applied[std::size_t(r)], t);
  }
};

}  // namespace train_example
