// brmrs/brmrs.hpp — the table of contents: one line per public header.
//
// brmrs gives any recommender the BR-MRS training objective: per-modality dot-product scores,
// uniform candidate pools over unobserved items, argmax hard negatives, and the CHNS, synergy
// and fused-BPR losses with analytic gradients (docs/math.md). Including this header includes
// the whole library except the opt-in adapters (adapters/eigen.hpp, adapters/xtensor.hpp) and
// the CUDA backend (backend/cuda/*.cuh, nvcc only).
#pragma once

#include "config.hpp"    // version, BRMRS_HD, feature macros
#include "error.hpp"     // brmrs::invalid_argument
#include "views.hpp"     // vector_view, matrix_view
#include "validate.hpp"  // input checks shared by the entry points
#include "rng/philox.hpp"  // Philox4x32-10 and the keyed draws
#include "backend/tags.hpp"  // scalar_backend, simd_backend<Arch>, cuda_backend
#include "objective_types.hpp"  // dot_tables, batch, objective_config, outputs, result
#include "interactions.hpp"     // CSR store of each user's observed items
#include "io/mmrec.hpp"         // MMRec .inter loader (train / validation / test)
#include "io/npy.hpp"           // NumPy .npy feature reader (float16 / float32 / float64)
#include "sampler.hpp"          // sample_pools: uniform pools over unobserved items
#include "losses/bpr.hpp"       // score level: fused BPR
#include "losses/chns.hpp"      // score level: cross-modal hard-negative loss
#include "losses/synergy.hpp"   // score level: synergy-aware BPR
#include "objective.hpp"        // compute_objective: the fused dot-product path, all backends
#include "eval.hpp"             // Recall/NDCG@K and the modality user subsets
