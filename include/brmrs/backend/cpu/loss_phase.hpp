// brmrs/backend/cpu/loss_phase.hpp — the per-example losses of the CPU pipeline and the batch
// reductions.
//
// evaluate_example_losses: the losses and score gradients of one thread's block of examples,
// by the policy's own block version when it has one (P::example_losses, vectorised one example
// per lane by the SIMD policy), else by detail::example_losses, then faults 6-7 (a non-finite
// loss or L2 term). throw_first_fault: after the parallel loop, the lowest failing example
// throws, so the message does not depend on the thread count. reduce_examples: the batch sums in
// example order, accumulated in double (deterministic, and accurate for float too).
#pragma once

#include <cmath>
#include <cstddef>

#include "../../config.hpp"
#include "../../detail/example_fault.hpp"
#include "../../detail/example_loss.hpp"
#include "../../detail/objective_validation.hpp"
#include "../../detail/objective_workspace.hpp"
#include "../../objective_types.hpp"
#include "../../validate.hpp"
#include "../policy.hpp"
#include "schedule.hpp"

BRMRS_BEGIN_NAMESPACE
namespace detail {

template <class P, class T, class Id>
void evaluate_example_losses(const example_buffers<T, Id>& e, const example_loss_arrays<T>& losses,
                             const example_loss_params<T>& params, const objective_config<T>& cfg,
                             example_range range, T* work) noexcept {
  if constexpr (policy_has_example_losses<P, T>::value)
    P::example_losses(losses, range.first, range.end - range.first, params, work);
  else
    example_losses(losses, range.first, range.end - range.first, params, work);
  for (std::size_t b = range.first; b < range.end; ++b) {
    if (e.fault[b].kind != 0) continue;
    const T total = cfg.lambda_bpr * e.t_bpr[b] + cfg.lambda_hard * e.t_chns[b] + cfg.lambda_synergy * e.t_syn[b];
    if (!std::isfinite(total)) e.fault[b] = {6, -1, 0, total};
    else if (!std::isfinite(e.t_l2[b])) e.fault[b] = {7, -1, 0, e.t_l2[b]};
  }
}

// A bad pool id first (named by check_ids_in_range as the up-front check would have), then the
// lowest example with a non-finite value.
template <class T, class Id>
void throw_first_fault(const example_buffers<T, Id>& e, const batch<Id>& bt, const objective_shape& sh) {
  for (std::size_t b = 0; b < sh.B; ++b)
    if (e.fault[b].kind == 8) check_ids_in_range(objective_fn, "batch.pools", bt.pools, sh.n_items);  // throws
  for (std::size_t b = 0; b < sh.B; ++b)
    if (e.fault[b].kind != 0) throw_fault(b, e.fault[b]);
}

template <class T, class Id>
objective_result<T> reduce_examples(const example_buffers<T, Id>& e, const objective_config<T>& cfg,
                                    const objective_shape& sh) {
  const std::size_t M = sh.M, B = sh.B;
  double s_bpr = 0, s_chns = 0, s_syn = 0, s_l2 = 0, s_deg = 0, s_agree = 0;
  for (std::size_t b = 0; b < B; ++b) {
    s_bpr += static_cast<double>(e.t_bpr[b]);
    s_chns += static_cast<double>(e.t_chns[b]);
    s_syn += static_cast<double>(e.t_syn[b]);
    s_l2 += static_cast<double>(e.t_l2[b]);
    s_deg += e.degraded[b];
    std::size_t agree = 0;
    for (std::size_t a = 0; a < M; ++a)
      for (std::size_t c = a + 1; c < M; ++c) agree += e.hard_id[b * M + a] == e.hard_id[b * M + c];
    s_agree += static_cast<double>(agree);
  }
  const double dscale = cfg.reduce == reduction::mean ? 1.0 / static_cast<double>(B) : 1.0;
  objective_result<T> res;
  res.bpr = static_cast<T>(s_bpr * dscale);
  res.chns = static_cast<T>(s_chns * dscale);
  res.synergy = static_cast<T>(s_syn * dscale);
  res.l2 = static_cast<T>(s_l2 * dscale);
  res.loss = static_cast<T>((static_cast<double>(cfg.lambda_bpr) * s_bpr + static_cast<double>(cfg.lambda_hard) * s_chns +
                             static_cast<double>(cfg.lambda_synergy) * s_syn + static_cast<double>(cfg.lambda_reg) * s_l2) *
                            dscale);
  res.fusion_degradation_rate = static_cast<T>(s_deg / static_cast<double>(B));
  res.hard_negative_agreement = static_cast<T>(s_agree / (static_cast<double>(B) * static_cast<double>(M * (M - 1) / 2)));
  if (!std::isfinite(res.loss))
    throw_invalid_argument(objective_fn, ": the reduced loss = ", res.loss, " is not finite");
  return res;
}

}  // namespace detail
BRMRS_END_NAMESPACE
