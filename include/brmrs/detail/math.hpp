// brmrs/detail/math.hpp — the scalar arithmetic every backend shares (host and device).
//
// softplus(x) = log(1 + e^x) evaluated as max(x, 0) + log1p(exp(-|x|)): finite for every finite
// x (no overflow of exp), and exact to rounding in both tails. sigmoid(x) = 1 / (1 + e^-x)
// evaluated from the side where exp cannot overflow. These are the only transcendental
// functions the objective uses; the CUDA backend calls the very same functions (BRMRS_HD), so
// the CPU tests cover the GPU arithmetic.
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

template <class T>
BRMRS_HD inline T max_of(T a, T b) {
  return a < b ? b : a;
}

}  // namespace detail
BRMRS_END_NAMESPACE
