"""brmrs for PyTorch: the BR-MRS objective (BRMRSLoss) and its negative sampler (NegativeSampler).

    import brmrs
    sampler = brmrs.NegativeSampler(train_pairs, K=64, seed=0)     # (N, 2) int64 tensor
    loss_fn = brmrs.BRMRSLoss(lambda_h=1.0, lambda_s=1.0, theta=0.1)
    pools = sampler.sample(users, step)
    out = loss_fn([U, U], [Q_img, Q_txt], U_f, Q_f, users, positives, pools, step=step)
    out.loss.backward()

The operators live in torch.ops.brmrs (loss, sample_pools, pool_negatives, build_info) and the
class torch.classes.brmrs.Interactions; all work from torch.jit.script. See docs/pytorch.md.
"""
import importlib

import torch

from ._levels import runnable_levels


def _load_ops():
    """Imports the extension module built for this CPU: x86-64-v4 (AVX-512) when the CPU has it,
    else x86-64-v3 (AVX2 + FMA), else the generic build (non-x86 machines). BRMRS_LEVEL=v3 forces
    a level (benchmarks)."""
    import os

    order = runnable_levels() + ["v0"]
    forced = os.environ.get("BRMRS_LEVEL")
    if forced:
        order = [forced]
    errors = []
    for lv in order:
        try:
            importlib.import_module(f"brmrs._C_{lv}")
            return lv
        except ImportError as e:
            errors.append(f"_C_{lv}: {e}")
    raise ImportError("brmrs: no extension module for this CPU could be imported (" + "; ".join(errors) +
                      "); x86-64 builds need at least AVX2 + FMA (x86-64-v3)")


level = _load_ops()
build_info = torch.ops.brmrs.build_info() + f"; level {level}"

from ._loss import BRMRSLoss, BRMRSOutput  # noqa: E402
from ._sampler import NegativeSampler, pool_negatives  # noqa: E402

__all__ = ["BRMRSLoss", "BRMRSOutput", "NegativeSampler", "pool_negatives", "build_info", "level"]
__version__ = "0.1.0"
