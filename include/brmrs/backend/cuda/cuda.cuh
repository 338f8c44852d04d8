// brmrs/backend/cuda/cuda.cuh — the CUDA backend in one include (nvcc only). Its headers:
//   sampler.cuh    sample_pools on the GPU, bit-identical to brmrs::sample_pools; the device CSR
//   select.cuh     select_hard_negatives: fused gather-score-argmax, one warp per example
//   objective.cuh  compute_objective on the GPU (and the brmrs::cuda_backend tag overload)
//   options.cuh    launch_options: id checks on/off, deterministic or atomic scatter, block size
//   error.cuh      brmrs::cuda_error, BRMRS_CUDA_CHECK, device_buffer, stream_scratch
// Internal: warp.cuh (row layout, warp dot products, the (score, slot) arg-max),
// objective_kernels.cuh (the objective's kernels and their parameters), scatter_kernels.cuh and
// scatter.cuh (table gradients: kernels; sort and launches), validate.cuh (host checks). docs/cuda.md has the design and the timings.
#pragma once

#include "error.cuh"
#include "objective.cuh"
#include "options.cuh"
#include "sampler.cuh"
#include "select.cuh"
