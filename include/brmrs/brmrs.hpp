// brmrs/brmrs.hpp — the table of contents: one line per public header.
//
// brmrs gives any recommender the BR-MRS training objective: per-modality dot-product scores,
// uniform candidate pools over unobserved items, argmax hard negatives, and the CHNS, synergy
// and fused-BPR losses with analytic gradients (docs/math.md). Including this header includes
// the whole library except the opt-in adapters (adapters/eigen.hpp, adapters/xtensor.hpp) and
// the CUDA backend (backend/cuda/*.cuh, nvcc only).
//
// Layers, lowest first; a header includes only its own layer and those below it:
//   1. core vocabulary: config, error, views, validate, rng/philox, objective_types,
//      backend/tags (the backend tags), interactions, unobserved_draw.
//   2. detail/: implementation pieces shared by every backend, std only: the host-and-device
//      arithmetic (math, example_loss), the objective's validation and fault messages, the
//      workspace, the scatter, the view regions of the aliasing checks, sample_pool_row.
//   3. backend/: the contract (backend/policy.hpp), the CPU pipeline generic over a policy
//      (backend/cpu/, validate -> select -> losses -> reduce -> scatter; the sampler's row
//      kernels), and the backends themselves (backend/scalar, backend/simd, backend/cuda).
//   4. the public operations: sampler, losses/, objective, eval, io/, adapters/.
#pragma once

#include "config.hpp"    // version, BRMRS_HD, feature macros
#include "error.hpp"     // brmrs::invalid_argument
#include "views.hpp"     // vector_view, matrix_view
#include "validate.hpp"  // input checks shared by the entry points
#include "rng/philox.hpp"  // Philox4x32-10 and the keyed draws
#include "backend/tags.hpp"  // scalar_backend, simd_backend<Arch>, cuda_backend
#include "backend/policy.hpp"  // the backend contract: what a CPU backend provides
#include "objective_types.hpp"  // dot_tables, batch, objective_config, outputs, result
#include "interactions.hpp"     // CSR store of each user's observed items
#include "io/mmrec.hpp"         // MMRec .inter loader (train / validation / test)
#include "io/npy.hpp"           // NumPy .npy feature reader (float16 / float32 / float64)
#include "unobserved_draw.hpp"  // nth_unobserved, draw_unobserved: one keyed draw from a complement
#include "sampler.hpp"          // sample_pools: uniform pools over unobserved items
#include "losses/bpr.hpp"       // score level: fused BPR
#include "losses/chns.hpp"      // score level: cross-modal hard-negative loss
#include "losses/synergy.hpp"   // score level: synergy-aware BPR
#include "objective.hpp"        // compute_objective: the fused dot-product path, all backends
#include "eval.hpp"             // Recall/NDCG@K and the modality user subsets
