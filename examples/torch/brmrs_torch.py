"""brmrs for PyTorch: the BR-MRS objective as a torch.autograd.Function and its sampler.

    import brmrs_torch as bt
    ext = bt.load()                                   # compiles brmrs_torch.cpp once (ninja), then cached
    train = bt.Interactions(n_users, n_items, users, items)
    pools, negatives = train.sample(batch_users, K=32, seed=1, step=t)
    loss, info = bt.objective([P0, P1], [Q0, Q1], Pf, Qf, batch_users, positives, pools,
                              lambda_hard=1.0, lambda_synergy=1.0, seed=1, step=t)
    loss.backward()                                   # gradients reach every table (and what built it)

The tables are CPU float32/float64 tensors with unit column stride (column slices of a wider
tensor are fine: no copy). `objective` returns the loss (a 0-d tensor with a gradient) and a dict
of the loss parts, the batch diagnostics, the hard negatives and the negatives used. brmrs
computes the loss and every table gradient in one pass; backward only scales the saved
gradients by the incoming one (first-order only: no double backward).

Build: torch.utils.cpp_extension.load into $BRMRS_TORCH_BUILD_DIR (default
<repo>/build/torch_ext), with the headers of <repo>/include (or $BRMRS_INCLUDE_DIR), -O3, OpenMP
and C++17. Set BRMRS_TORCH_NO_SIMD=1 to build the scalar backend only.
"""
import os

import torch
from torch.utils import cpp_extension

_HERE = os.path.dirname(os.path.abspath(__file__))
_REPO = os.path.dirname(os.path.dirname(_HERE))
_ext = None


def load(verbose=False):
    """Compiles (first time) and imports the extension module."""
    global _ext
    if _ext is not None:
        return _ext
    include = os.environ.get("BRMRS_INCLUDE_DIR", os.path.join(_REPO, "include"))
    build = os.environ.get("BRMRS_TORCH_BUILD_DIR", os.path.join(_REPO, "build", "torch_ext"))
    os.makedirs(build, exist_ok=True)
    cflags = ["-O3", "-std=c++17", "-fopenmp"]
    if os.environ.get("BRMRS_TORCH_NO_SIMD"):
        cflags.append("-DBRMRS_NO_XSIMD")
    _ext = cpp_extension.load(
        name="brmrs_torch_ext",
        sources=[os.path.join(_HERE, "brmrs_torch.cpp")],
        extra_include_paths=[include],
        extra_cflags=cflags,
        extra_ldflags=["-fopenmp"],
        build_directory=build,
        verbose=verbose,
    )
    return _ext


def Interactions(n_users, n_items, users, items):
    """brmrs::interactions (each user's observed items, CSR) built from (user, item) pairs."""
    return load().Interactions(int(n_users), int(n_items), torch.as_tensor(users), torch.as_tensor(items))


class BRMRSObjective(torch.autograd.Function):
    """forward(ctx, cfg, users, positives, pools, negatives, *tables) -> loss.

    tables = user_0..user_{M-1}, item_0..item_{M-1}, fused_user, fused_item. `cfg` is a dict of the
    objective's scalar settings (see `objective`). The hard negatives, negatives and parts are
    kept in ctx.info for the caller (they carry no gradient)."""

    @staticmethod
    def forward(ctx, cfg, users, positives, pools, negatives, *tables):
        M = (len(tables) - 2) // 2
        loss, parts, hard, used_neg, grads = load().objective_forward(
            list(tables[:M]), list(tables[M:2 * M]), tables[2 * M], tables[2 * M + 1],
            users, positives, pools, negatives,
            cfg["lambda_bpr"], cfg["lambda_hard"], cfg["lambda_synergy"], cfg["theta"], cfg["tau"],
            cfg["lambda_reg"], cfg["reduction"], cfg["synergy_mode"], cfg["seed"], cfg["step"],
            cfg["example_offset"])
        ctx.save_for_backward(*grads)
        ctx.info = {"parts": parts, "hard_negatives": hard, "negatives": used_neg}
        cfg["_info"] = ctx.info
        return loss

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_loss):
        grads = ctx.saved_tensors
        return (None, None, None, None, None) + tuple(grad_loss * g for g in grads)


def objective(user_tables, item_tables, fused_user, fused_item, users, positives, pools, negatives=None,
              lambda_bpr=1.0, lambda_hard=1.0, lambda_synergy=1.0, theta=0.1, tau=0.0, lambda_reg=0.0,
              reduction="mean", synergy_mode="stop_unimodal", seed=0, step=0, example_offset=0):
    """The BR-MRS loss of one batch (DESIGN.md §1) and a dict of diagnostics.

    With negatives=None each example's negative is the pool member brmrs draws from
    (seed, step, example_offset + b), exactly as the C++ API does. synergy_mode "stop_unimodal" (the
    published method) stops the gradient into the unimodal margins: that gradient is a chosen
    pseudo-gradient, not the derivative of the loss; "through_max" gives the true derivative."""
    cfg = dict(lambda_bpr=float(lambda_bpr), lambda_hard=float(lambda_hard), lambda_synergy=float(lambda_synergy),
               theta=float(theta), tau=float(tau), lambda_reg=float(lambda_reg), reduction=reduction,
               synergy_mode=synergy_mode, seed=int(seed), step=int(step), example_offset=int(example_offset))
    tables = list(user_tables) + list(item_tables) + [fused_user, fused_item]
    loss = BRMRSObjective.apply(cfg, users, positives, pools, negatives, *tables)
    info = cfg["_info"]
    p = info["parts"].tolist()
    return loss, {"bpr": p[0], "chns": p[1], "synergy": p[2], "l2": p[3], "fusion_degradation_rate": p[4],
                  "hard_negative_agreement": p[5], "hard_negatives": info["hard_negatives"],
                  "negatives": info["negatives"]}
