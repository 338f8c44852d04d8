// brmrs/detail/math.hpp — the transcendental arithmetic of the objective, and the lane
// vocabulary its per-example loss is written in.
//
// softplus(x) = log(1 + e^x) evaluated as max(x, 0) + log1p(exp(-|x|)): finite for every finite
// x (no overflow of exp), and exact to rounding in both tails. sigmoid(x) = 1 / (1 + e^-x)
// evaluated from the side where exp cannot overflow; softplus_sigmoid returns both from one exp
// (the objective needs both for every term). These are the only transcendental functions the
// objective uses. lanes_softplus_sigmoid<L> is the same expression over a lane type L (below):
// scalar_lanes<T> for the scalar and CUDA backends (BRMRS_HD, so the CPU tests cover the GPU
// arithmetic), an xsimd batch for the SIMD backend (backend/simd/example_loss_lanes.hpp).
#pragma once

#include <cmath>

#include "../config.hpp"

BRMRS_BEGIN_NAMESPACE
namespace detail {

template <class T>
BRMRS_HD inline T softplus(T x) {
  using std::exp;
  using std::fabs;
  using std::log1p;
  return (x > T(0) ? x : T(0)) + log1p(exp(-fabs(x)));
}

template <class T>
BRMRS_HD inline T sigmoid(T x) {
  using std::exp;
  if (x >= T(0)) return T(1) / (T(1) + exp(-x));
  const T e = exp(x);
  return e / (T(1) + e);
}

// The arithmetic of one "lane" value V: a scalar T here (scalar_lanes<T>, host and device), an
// xsimd batch in the SIMD backend (backend/simd/example_loss_lanes.hpp). The per-example loss
// (detail/example_loss.hpp) is written once over these few operations:
//   V, T, mask                the value, its scalar type, the result of a comparison
//   exp_nonpositive(x)        exp(x) for x <= 0 (the only arguments the loss gives it)
//   log1p(x), abs(x), relu(x) log(1 + x), |x|, max(x, 0)
//   select(c, a, b)           c ? a : b, lane by lane
template <class T>
struct scalar_lanes {
  using V = T;
  using scalar = T;
  using mask = bool;
  static BRMRS_HD V exp_nonpositive(V x) {
    using std::exp;
    return exp(x);
  }
  static BRMRS_HD V log1p(V x) {
    using std::log1p;
    return log1p(x);
  }
  static BRMRS_HD V abs(V x) {
    using std::fabs;
    return fabs(x);
  }
  static BRMRS_HD V relu(V x) { return x > T(0) ? x : T(0); }
  static BRMRS_HD V select(mask c, V a, V b) { return c ? a : b; }
};

// softplus(x) and sigmoid(x) from one exponential: both need e = exp(-|x|), so the pair costs one
// exp and one log1p instead of two exps and a log1p (for scalar_lanes, bitwise the same values
// as the two functions above: the same e, the same expressions).
template <class V>
struct softplus_sigmoid_pair {
  V softplus, sigmoid;
};
template <class L>
BRMRS_HD inline softplus_sigmoid_pair<typename L::V> lanes_softplus_sigmoid(typename L::V x) {
  using V = typename L::V;
  const V zero(typename L::scalar(0)), one(typename L::scalar(1));
  const V e = L::exp_nonpositive(-L::abs(x));
  return {L::relu(x) + L::log1p(e), L::select(x >= zero, one / (one + e), e / (one + e))};
}
template <class T>
BRMRS_HD inline softplus_sigmoid_pair<T> softplus_sigmoid(T x) {
  return lanes_softplus_sigmoid<scalar_lanes<T>>(x);
}

}  // namespace detail
BRMRS_END_NAMESPACE
