// A consumer of the installed/added brmrs: includes the umbrella header and computes one
// hand-checkable value, so a broken include path or target shows up as a failed build or run.
#include <brmrs/brmrs.hpp>

#include <cmath>
#include <cstdio>

// The linked target decides whether the SIMD backend is on: brmrs::simd, or brmrs::brmrs (off).
static_assert(BRMRS_HAS_XSIMD == BRMRS_CONSUMER_EXPECT_XSIMD,
              "the linked target (brmrs::brmrs or brmrs::simd) did not reach the headers as expected");

int main() {
  // softplus(0) = log 2.
  const double sp = brmrs::detail::softplus(0.0);
  if (std::fabs(sp - std::log(2.0)) > 1e-15) {
    std::printf("softplus(0) = %.17g, expected log 2\n", sp);
    return 1;
  }
  std::printf("brmrs %d.%d.%d consumer OK\n", BRMRS_VERSION_MAJOR, BRMRS_VERSION_MINOR, BRMRS_VERSION_PATCH);
  return 0;
}
