// brmrs/backend/cpu/objective_pipeline.hpp — the CPU pipeline of compute_objective, generic over
// a kernel policy (the contract: backend/policy.hpp), as named phases:
//
// validate  every check of DESIGN.md §3 that needs no score, before anything is written
//           (detail/objective_validation.hpp; the pool ids are checked in the select phase,
//           each pool just before it is read).
// select    per example, in parallel (OpenMP, contiguous blocks in thread order): the pool
//           negative, select_hard, the scores of i+ and i-, the cross scores s_a(u, j^c), the L2
//           term (select_phase.hpp); a non-finite score is recorded as the example's fault.
// losses    each thread's block of examples at once, in the same parallel region
//           (loss_phase.hpp; vectorised by policies that provide example_losses): no example
//           waits on the exp/log1p chain of the one before it. After the loop the lowest faulty
//           example throws, so the message does not depend on the thread count.
// reduce    batch sums in example order, accumulated in double (loss_phase.hpp).
// scatter   nothing throws from here on: the id and loss outputs, the caller's per-example
//           gradient rows (gradient_phase.hpp), and the deterministic owner-computes scatter of
//           the same rows into the table-shaped buffers (scatter_phase.hpp).
// Every buffer lives in the calling thread's workspace (detail/objective_workspace.hpp), sized
// before the parallel region: nothing in a parallel region allocates or throws.
#pragma once

#include <cstddef>

#include "../../config.hpp"
#include "../../detail/example_loss.hpp"
#include "../../detail/objective_validation.hpp"
#include "../../detail/objective_workspace.hpp"
#include "../../objective_types.hpp"
#include "../policy.hpp"
#include "gradient_phase.hpp"
#include "loss_phase.hpp"
#include "scatter_phase.hpp"
#include "schedule.hpp"
#include "select_phase.hpp"

BRMRS_BEGIN_NAMESPACE
namespace detail {

// The whole objective on the CPU with kernel policy P. Public entry: compute_objective.
template <class P, class T, class Id>
objective_result<T> run_objective(const dot_tables<T>& tables, const batch<Id>& bt, const objective_config<T>& cfg,
                                  const objective_outputs<T, Id>& out) {
  // validate
  const objective_shape sh = validate_objective(tables, bt, cfg, out, /*check_ids=*/true, /*check_pool_ids=*/false);
  const std::size_t M = sh.M, B = sh.B, K = sh.K;
  const T scale = cfg.reduce == reduction::mean ? T(1) / static_cast<T>(B) : T(1);
  const T reg = T(2) * cfg.lambda_reg * scale;  // d(scale·λ_reg·|r|²)/dr = reg·r

  const item_tables<T> items(tables);
  workspace_lease<T, Id> lease;
  objective_workspace<T, Id>& ws = *lease;
  const int n_threads = pipeline_max_threads();
  const example_buffers<T, Id> e = lay_out_example_buffers(ws, B, M);
  const thread_scratch<T> scratch = lay_out_thread_scratch(ws, static_cast<std::size_t>(n_threads), M, K);
  const selection_hints hints = make_selection_hints<P>(tables, bt, sh, items);
  const example_loss_params<T> params{cfg.lambda_bpr, cfg.lambda_hard, cfg.lambda_synergy, cfg.theta, cfg.tau,
                                      scale, cfg.synergy_mode};
  const example_loss_arrays<T> losses = e.loss_arrays(B, static_cast<int>(M));

  // select, then losses, on each thread's block of examples
#if BRMRS_HAS_OPENMP
#pragma omp parallel num_threads(n_threads) if (n_threads > 1)
#endif
  {
    const std::size_t tid = static_cast<std::size_t>(pipeline_thread_num());
    const example_range range = static_block(B, tid, static_cast<std::size_t>(pipeline_team_size()));
    T* const scores = scratch.values + tid * scratch.per_thread;
    const example_selection<P, T, Id> selection{tables, bt, cfg, sh, items, hints, e, scores,
                                                scratch.best + tid * scratch.best_block,
                                                scratch.urow + tid * scratch.urow_block};
    selection.select(range);
    evaluate_example_losses<P>(e, losses, params, cfg, range, /*work=*/scores + M * K);
  }
  throw_first_fault(e, bt, sh);

  // reduce
  const objective_result<T> res = reduce_examples(e, cfg, sh);

  // scatter: the plan first (the last step that may throw: bad_alloc), then the writes.
  const table_scatter_plan<T> plan = plan_table_scatter<P>(ws, sh, out, n_threads, hints.prefetch_items);
  write_example_outputs(e, cfg, sh, out);
  if (sh.want_rows) write_gradient_rows<P>(tables, bt, e, sh, out.rows, reg, n_threads, hints.prefetch_items);
  if (sh.want_tables) accumulate_table_gradients<P>(plan, tables, bt, e, sh, reg);
  return res;
}

}  // namespace detail
BRMRS_END_NAMESPACE
