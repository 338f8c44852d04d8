// brmrs/backend/cuda/error.cuh — CUDA failures as exceptions, and the device memory the CUDA
// backend allocates for itself.
//
//   brmrs::cuda_error            thrown when a CUDA runtime call or a kernel launch fails; derives
//                                from std::runtime_error, what() holds the call, the CUDA error
//                                name and text (cudaGetErrorString), e.g.
//                                "cudaMalloc(...) failed: cudaErrorNoDevice: no CUDA-capable device
//                                is detected", and code() the cudaError_t.
//   BRMRS_CUDA_CHECK(call)       throws brmrs::cuda_error when `call` does not return cudaSuccess.
//   BRMRS_CUDA_CHECK_LAUNCH(k)   after a <<<...>>> launch: checks cudaGetLastError() (bad launch
//                                configuration, missing kernel image for this GPU, ...).
//   device_buffer<T>             RAII owner of cudaMalloc'ed memory (move-only).
//   stream_scratch               stream-ordered scratch (cudaMallocAsync / cudaFreeAsync) that the
//                                launchers take per call and give back in stream order.
// Bad *input* is never a cuda_error: it is brmrs::invalid_argument (error.hpp), thrown by host
// validation before any CUDA call. Kernels never throw. nvcc only (includes cuda_runtime.h).
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>

#include "../../config.hpp"
#include "../../error.hpp"

BRMRS_BEGIN_NAMESPACE

class cuda_error : public std::runtime_error {
 public:
  cuda_error(cudaError_t code, const std::string& what) : std::runtime_error(what), code_(code) {}
  cudaError_t code() const noexcept { return code_; }

 private:
  cudaError_t code_;
};

namespace backend {
namespace cuda {
namespace detail {

[[noreturn]] inline void throw_cuda_error(cudaError_t e, const char* what, const char* file, int line) {
  std::string msg = std::string("brmrs: ") + what + " failed: " + cudaGetErrorName(e) + ": " +
                    cudaGetErrorString(e) + " (" + file + ":" + std::to_string(line) + ")";
  throw cuda_error(e, msg);
}

inline void check_cuda(cudaError_t e, const char* what, const char* file, int line) {
  if (e != cudaSuccess) {
    // Clear a non-sticky error so that the next, unrelated check does not report it again.
    (void)cudaGetLastError();
    throw_cuda_error(e, what, file, line);
  }
}

}  // namespace detail
}  // namespace cuda
}  // namespace backend

BRMRS_END_NAMESPACE

#define BRMRS_CUDA_CHECK(call) ::brmrs::backend::cuda::detail::check_cuda((call), #call, __FILE__, __LINE__)
#define BRMRS_CUDA_CHECK_LAUNCH(kernel_name) \
  ::brmrs::backend::cuda::detail::check_cuda(cudaGetLastError(), "launch of " kernel_name, __FILE__, __LINE__)

BRMRS_BEGIN_NAMESPACE
namespace backend {
namespace cuda {

// Owns `size` elements of device memory from cudaMalloc; freed in the destructor.
template <class T>
class device_buffer {
 public:
  device_buffer() = default;
  explicit device_buffer(std::size_t size) : size_(size) {
    if (size != 0) {
      void* p = nullptr;
      BRMRS_CUDA_CHECK(cudaMalloc(&p, size * sizeof(T)));
      data_ = static_cast<T*>(p);
    }
  }
  device_buffer(const device_buffer&) = delete;
  device_buffer& operator=(const device_buffer&) = delete;
  device_buffer(device_buffer&& o) noexcept : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  device_buffer& operator=(device_buffer&& o) noexcept {
    if (this != &o) {
      reset();
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  ~device_buffer() { reset(); }

  T* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }

  void reset() noexcept {
    if (data_ != nullptr) (void)cudaFree(data_);  // a destructor cannot throw; errors stay sticky
    data_ = nullptr;
    size_ = 0;
  }

 private:
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

// Scratch memory ordered on a stream: allocated with cudaMallocAsync and freed with cudaFreeAsync
// on the same stream when the owner goes out of scope, so kernels queued before the free still
// see it. Carved into 256-byte aligned pieces by take<T>(n).
class stream_scratch {
 public:
  stream_scratch(std::size_t bytes, cudaStream_t stream) : stream_(stream), bytes_(bytes) {
    if (bytes != 0) BRMRS_CUDA_CHECK(cudaMallocAsync(&base_, bytes, stream));
  }
  stream_scratch(const stream_scratch&) = delete;
  stream_scratch& operator=(const stream_scratch&) = delete;
  ~stream_scratch() {
    if (base_ != nullptr) (void)cudaFreeAsync(base_, stream_);
  }

  // Bytes needed for n elements of T, aligned as take<T> aligns them.
  template <class T>
  static constexpr std::size_t bytes_for(std::size_t n) {
    return (n * sizeof(T) + 255) / 256 * 256;
  }

  template <class T>
  T* take(std::size_t n) {
    const std::size_t b = bytes_for<T>(n);
    if (used_ + b > bytes_) throw std::logic_error("brmrs: internal error, CUDA scratch too small");
    T* p = reinterpret_cast<T*>(static_cast<char*>(base_) + used_);
    used_ += b;
    return p;
  }

 private:
  cudaStream_t stream_;
  void* base_ = nullptr;
  std::size_t bytes_ = 0;
  std::size_t used_ = 0;
};

}  // namespace cuda
}  // namespace backend
BRMRS_END_NAMESPACE
