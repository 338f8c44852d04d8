// brmrs/objective_types.hpp — the data the dot-product objective takes and returns.
//
// These are plain aggregates of views (views.hpp): brmrs owns none of the memory.
//   dot_tables<T>         the model: per-modality user and item tables and the fused pair
//   batch<Id>             the examples: users, positives, pools (B x K), optional negatives
//   objective_config<T>   the weights λ, the margin θ, the smooth-max temperature τ, the reduction,
//                         the synergy gradient mode, and the key of the pool-negative draw
//   gradient_rows<T>      per-example gradient rows (what an autograd host wants)
//   table_gradients<T>    table-shaped gradient buffers that brmrs adds (+=) into
//   objective_outputs<T,Id> the optional outputs, each an empty view when not wanted
//   objective_result<T>   the reduced loss parts and the batch diagnostics
// The entry point that uses them is brmrs::compute_objective (objective.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "config.hpp"
#include "views.hpp"

BRMRS_BEGIN_NAMESPACE

enum class reduction { mean, sum };

// The model's tables for the dot-product scorer s_m(u, i) = <user[m].row(u), item[m].row(i)>.
// M = item.size() >= 2. One user table may serve every modality (the published method): pass the
// same view M times; its gradients then add up. Every user table has the same row count
// (n_users), every item table the same row count (n_items); user[m] and item[m] share d_m.
template <class T>
struct dot_tables {
  std::vector<matrix_view<const T>> user;  // M views, n_users x d_m
  std::vector<matrix_view<const T>> item;  // M views, n_items x d_m
  matrix_view<const T> fused_user;         // n_users x d_f
  matrix_view<const T> fused_item;         // n_items x d_f
};

// B examples: user, observed item i+, a pool of K candidate items, and optionally the negative
// i- of the BPR and synergy terms. With `negatives` empty, example b uses pool member
// pools(b, pool_negative_slot(config.seed, config.step, config.example_offset + b, K)) (rng/philox.hpp).
template <class Id>
struct batch {
  vector_view<const Id> users;      // B
  vector_view<const Id> positives;  // B
  matrix_view<const Id> pools;      // B x K, K >= 1
  vector_view<const Id> negatives;  // B, or empty
};

// How the synergy loss's gradient treats the best unimodal margin max_m Δ_m.
enum class synergy_gradient {
  stop_unimodal,  // published method: no gradient into Δ_m (the loss cannot be met by making a modality worse)
  through_max     // literal formula of the first draft: +σ(-x) flows into Δ_{m*}
};

template <class T>
struct objective_config {
  T lambda_bpr = T(1);      // fused BPR weight (0 gives the published formula)
  T lambda_hard = T(1);     // CHNS weight λ_h
  T lambda_synergy = T(1);  // synergy weight λ_s
  T theta = T(0.1);         // synergy margin θ > 0
  T tau = T(0);             // 0: hard max over unimodal margins; > 0: τ·logsumexp(Δ/τ)
  T lambda_reg = T(0);      // L2 on the rows each example touches (docs/math.md)
  reduction reduce = reduction::mean;
  synergy_gradient synergy_mode = synergy_gradient::stop_unimodal;
  // Key of the pool-member negative draw, used only when batch.negatives is empty.
  std::uint64_t seed = 0;
  std::uint64_t step = 0;
  std::uint64_t example_offset = 0;  // global index of example 0 (sharded batches)
};

// Per-example gradient rows; every view is B rows (hard: B*M rows) or all are empty.
template <class T>
struct gradient_rows {
  std::vector<matrix_view<T>> user;      // M views B x d_m: dL/d user[m].row(users[b])
  std::vector<matrix_view<T>> positive;  // M views B x d_m: dL/d item[m].row(positives[b])
  std::vector<matrix_view<T>> negative;  // M views B x d_m: dL/d item[m].row(i-_b)
  std::vector<matrix_view<T>> hard;      // M views (B*M) x d_a: row b*M + c = dL/d item[a].row(j^c_b); 0 for c == a
  matrix_view<T> fused_user;             // B x d_f
  matrix_view<T> fused_positive;         // B x d_f
  matrix_view<T> fused_negative;         // B x d_f
};

// Table-shaped gradients, accumulated (+=) by a deterministic scatter. Shapes equal the tables';
// user[m] views may alias exactly when the tables' user views do (shared user table).
template <class T>
struct table_gradients {
  std::vector<matrix_view<T>> user;  // M views
  std::vector<matrix_view<T>> item;  // M views
  matrix_view<T> fused_user;
  matrix_view<T> fused_item;
};

template <class T, class Id>
struct objective_outputs {
  matrix_view<Id> hard_negatives;  // B x M: j^m of each example, or empty
  vector_view<Id> negatives;       // B: the i- each example used, or empty
  vector_view<T> example_loss;     // B: ℓ_b = λ_bpr·bpr_b + λ_h·chns_b + λ_s·syn_b + λ_reg·l2_b, or empty
                                   //    (reduce_b ℓ_b is the returned loss)
  gradient_rows<T> rows;           // or all empty
  table_gradients<T> tables;       // or all empty
};

template <class T>
struct objective_result {
  T loss = T(0);     // total: the reduced λ-weighted sum of the parts below
  T bpr = T(0);      // reduced, unweighted
  T chns = T(0);     // reduced, unweighted
  T synergy = T(0);  // reduced, unweighted
  T l2 = T(0);       // reduced, unweighted sum of squared norms of the touched rows
  T fusion_degradation_rate = T(0);  // mean_b [Δ_f < max_m Δ_m]
  T hard_negative_agreement = T(0);  // mean over b and modality pairs a < c of [j^a == j^c]
};

BRMRS_END_NAMESPACE
