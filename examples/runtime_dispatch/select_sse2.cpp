// examples/runtime_dispatch/select_sse2.cpp — score_pools for xsimd::sse2, compiled with that
// instruction set's flags only (see CMakeLists.txt).
#include "score_pools_impl.hpp"

template void score_pools::operator()<xsimd::sse2>(xsimd::sse2, const pool_batch&) const;
