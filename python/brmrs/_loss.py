"""brmrs.BRMRSLoss: the BR-MRS objective of one batch as an nn.Module (torch.ops.brmrs.loss)."""
from typing import List, NamedTuple, Optional

import torch


class BRMRSOutput(NamedTuple):
    loss: torch.Tensor  # 0-d, differentiable in every embedding input
    bpr: torch.Tensor  # 0-d, reduced, unweighted parts (detached)
    chns: torch.Tensor
    synergy: torch.Tensor
    l2: torch.Tensor
    fusion_degradation_rate: torch.Tensor  # mean_b [Δ_f < max_m Δ_m]
    hard_negatives: torch.Tensor  # (B, M) int64: j^m of each example
    negatives: torch.Tensor  # (B,) int64: the i- each example used


class BRMRSLoss(torch.nn.Module):
    """L = reduce_b(λ_bpr·bpr_b + λ_h·chns_b + λ_s·synergy_b + λ_reg·l2_b) (docs/math.md).

    forward(user_emb, item_emb, fused_user, fused_item, users, positives, pools, negatives=None,
            step=0, example_offset=0) -> BRMRSOutput
      user_emb, item_emb: lists of M >= 2 tensors (n_users x d_m, n_items x d_m); the same user
        tensor may be passed M times (a shared user table). fused_user, fused_item: n x d_f. All
        float32 or all float64, CPU, unit column stride; they may be non-leaf outputs of the
        host's forward pass: gradients flow back through autograd.
      users, positives: (B,) int64; pools: (B, K) int64; negatives: (B,) int64 or None, in which
        case example b uses the pool member drawn from (seed, step, example_offset + b), the one
        NegativeSampler.sample_with_negatives / brmrs.pool_negatives give.
    synergy_grad "stop" (the published method) gives the unimodal margins no synergy gradient;
    "flow" gives the literal derivative through the max. sparse_grad=True gives every table an
    uncoalesced sparse COO gradient (as nn.Embedding(sparse=True) does: the batch's rows only, no
    dense n x d table zeroed and written), for leaf tables trained by optimisers that take sparse
    gradients (torch.optim.SparseAdam, SGD); a host whose tables come out of a forward pass needs
    the dense default. Bad input raises ValueError naming the argument, the position and the
    value, before any tensor is written. Scriptable."""

    lambda_bpr: float
    lambda_h: float
    lambda_s: float
    theta: float
    lambda_reg: float
    tau: float
    reduction: str
    synergy_grad: str
    seed: int
    sparse_grad: bool

    def __init__(self, lambda_bpr=1.0, lambda_h=1.0, lambda_s=1.0, theta=0.1, lambda_reg=0.0, tau=0.0,
                 reduction="mean", synergy_grad="stop", seed=0, sparse_grad=False):
        super().__init__()
        if reduction not in ("mean", "sum"):
            raise ValueError(f'brmrs.BRMRSLoss: reduction = "{reduction}" must be "mean" or "sum"')
        if synergy_grad not in ("stop", "flow"):
            raise ValueError(f'brmrs.BRMRSLoss: synergy_grad = "{synergy_grad}" must be "stop" or "flow"')
        if int(seed) < 0:
            raise ValueError(f"brmrs.BRMRSLoss: seed = {seed} must be >= 0")
        self.lambda_bpr = float(lambda_bpr)
        self.lambda_h = float(lambda_h)
        self.lambda_s = float(lambda_s)
        self.theta = float(theta)
        self.lambda_reg = float(lambda_reg)
        self.tau = float(tau)
        self.reduction = reduction
        self.synergy_grad = synergy_grad
        self.seed = int(seed)
        self.sparse_grad = bool(sparse_grad)

    def forward(self, user_emb: List[torch.Tensor], item_emb: List[torch.Tensor], fused_user: torch.Tensor,
                fused_item: torch.Tensor, users: torch.Tensor, positives: torch.Tensor, pools: torch.Tensor,
                negatives: Optional[torch.Tensor] = None, step: int = 0, example_offset: int = 0) -> BRMRSOutput:
        loss, parts, hard, used = torch.ops.brmrs.loss(
            list(user_emb), list(item_emb), fused_user, fused_item, users, positives, pools, negatives,
            self.lambda_bpr, self.lambda_h, self.lambda_s, self.theta, self.tau, self.lambda_reg,
            self.reduction, self.synergy_grad, self.seed, step, example_offset, self.sparse_grad)
        return BRMRSOutput(loss, parts[0], parts[1], parts[2], parts[3], parts[4], hard, used)

    def extra_repr(self) -> str:
        return (f"lambda_bpr={self.lambda_bpr}, lambda_h={self.lambda_h}, lambda_s={self.lambda_s}, "
                f"theta={self.theta}, lambda_reg={self.lambda_reg}, tau={self.tau}, reduction={self.reduction!r}, "
                f"synergy_grad={self.synergy_grad!r}, seed={self.seed}, sparse_grad={self.sparse_grad}")
