// brmrs/detail/math.hpp — the scalar arithmetic of the scalar and CUDA backends (host and device).
//
// softplus(x) = log(1 + e^x) evaluated as max(x, 0) + log1p(exp(-|x|)): finite for every finite
// x (no overflow of exp), and exact to rounding in both tails. sigmoid(x) = 1 / (1 + e^-x)
// evaluated from the side where exp cannot overflow; softplus_sigmoid returns both from one exp
// (the objective needs both for every term). These are the only transcendental
// functions the objective uses; the CUDA backend calls the very same functions (BRMRS_HD), so
// the CPU tests cover the GPU arithmetic. The SIMD backend evaluates the same expressions with
// xsimd's vector exp / log1p (backend/simd/example_loss_lanes.hpp).
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

// softplus(x) and sigmoid(x) from one exponential: both need e = exp(-|x|), so the pair costs one
// exp and one log1p instead of two exps and a log1p (bitwise the same values as the two
// functions above: the same e, the same expressions).
template <class T>
struct softplus_sigmoid_pair {
  T softplus, sigmoid;
};
template <class T>
BRMRS_HD inline softplus_sigmoid_pair<T> softplus_sigmoid(T x) {
  using std::exp;
  using std::fabs;
  using std::log1p;
  const T e = exp(-fabs(x));
  return {(x > T(0) ? x : T(0)) + log1p(e), x >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e)};
}

template <class T>
BRMRS_HD inline T max_of(T a, T b) {
  return a < b ? b : a;
}

}  // namespace detail
BRMRS_END_NAMESPACE
