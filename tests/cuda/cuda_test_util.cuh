// Shared by the CUDA tests (not a test itself): a tiny checker with a non-zero exit on failure,
// the "no device" skip (exit 77, registered with ctest as SKIP_RETURN_CODE), and device copies.
// Catch2 is not used in .cu files: nvcc and Catch2's macros do not mix well, and these tests must
// build wherever nvcc does (the device machine may lack Catch2).
#pragma once

#include <cuda_runtime.h>

#include <brmrs/backend/cuda/error.cuh>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace brmrs_cuda_test {

inline int& failures() {
  static int n = 0;
  return n;
}
inline int& checks() {
  static int n = 0;
  return n;
}

inline void check(bool ok, const std::string& what, const char* file, int line) {
  ++checks();
  if (!ok) {
    ++failures();
    std::fprintf(stderr, "FAILED %s:%d: %s\n", file, line, what.c_str());
  }
}
#define CT_CHECK(cond, msg) ::brmrs_cuda_test::check((cond), std::string(#cond) + " | " + (msg), __FILE__, __LINE__)

// Returns an exit code: 77 and a SKIP line when no CUDA device can be used, else 0.
inline int skip_without_device() {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    std::printf("SKIP: no CUDA device (%s: %s)\n", cudaGetErrorName(e), cudaGetErrorString(e));
    (void)cudaGetLastError();
    return 77;
  }
  if (n == 0) {
    std::printf("SKIP: no CUDA device (cudaGetDeviceCount returned 0 devices)\n");
    return 77;
  }
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess)
    std::printf("device 0: %s, compute capability %d.%d, %d SMs\n", prop.name, prop.major, prop.minor,
                prop.multiProcessorCount);
  return 0;
}

inline int finish(const char* name) {
  if (failures() != 0) {
    std::printf("%s: %d of %d checks FAILED\n", name, failures(), checks());
    return 1;
  }
  std::printf("%s: all %d checks passed\n", name, checks());
  return 0;
}

template <class T>
brmrs::backend::cuda::device_buffer<T> to_device(const std::vector<T>& h) {
  brmrs::backend::cuda::device_buffer<T> d(h.size());
  if (!h.empty()) BRMRS_CUDA_CHECK(cudaMemcpy(d.data(), h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice));
  return d;
}

template <class T>
std::vector<T> to_host(const brmrs::backend::cuda::device_buffer<T>& d) {
  std::vector<T> h(d.size());
  if (!h.empty()) BRMRS_CUDA_CHECK(cudaMemcpy(h.data(), d.data(), h.size() * sizeof(T), cudaMemcpyDeviceToHost));
  return h;
}

template <class T>
void upload(brmrs::backend::cuda::device_buffer<T>& d, const std::vector<T>& h) {
  if (!h.empty()) BRMRS_CUDA_CHECK(cudaMemcpy(d.data(), h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice));
}

// Bitwise equality of two buffers (NaN payloads included).
template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  if (a.size() != b.size()) return false;
  return a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

}  // namespace brmrs_cuda_test
