// brmrs/detail/cache_size.hpp — the size of the CPU's last-level cache, as the OS reports it.
//
//   std::size_t last_level_cache_bytes();  // 0 when the OS does not say
//
// Read once per process (sysconf(_SC_LEVEL3_CACHE_SIZE) on glibc, the L2 when no L3 is reported);
// a hint for the prefetch decisions of the CPU kernels, never for a result. Never throws.
#pragma once

#include <cstddef>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

#include "../config.hpp"

BRMRS_BEGIN_NAMESPACE
namespace detail {

inline std::size_t last_level_cache_bytes() noexcept {
  static const std::size_t bytes = [] {
    long b = 0;
#if defined(_SC_LEVEL3_CACHE_SIZE)
    b = sysconf(_SC_LEVEL3_CACHE_SIZE);
#endif
#if defined(_SC_LEVEL2_CACHE_SIZE)
    if (b <= 0) b = sysconf(_SC_LEVEL2_CACHE_SIZE);
#endif
    return b > 0 ? static_cast<std::size_t>(b) : std::size_t(0);
  }();
  return bytes;
}

}  // namespace detail
BRMRS_END_NAMESPACE
