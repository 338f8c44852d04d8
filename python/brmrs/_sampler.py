"""brmrs.NegativeSampler: uniform pools over each user's unobserved items (torch.ops.brmrs.sample_pools).

Every pool entry is a pure function of (interactions, user, seed, step, global example index, slot):
no state advances between calls, so any split of a batch over processes draws the same rows as
one process drawing the whole batch, as long as each part passes its first global index as
example_offset.

Distributed convention: the union batch of a step is the concatenation, in rank order, of the
ranks' batches, every rank holding the same number B of examples. Under an initialised
torch.distributed, sample(users, step) therefore defaults example_offset to rank * B; pass
example_offset yourself for uneven shards.
"""
from typing import Optional

import numpy as np
import torch


def _offset(example_offset, batch_size):
    if example_offset is not None:
        return int(example_offset)
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank() * batch_size
    return 0


def pool_negatives(pools: torch.Tensor, seed: int, step: int, example_offset: int = 0) -> torch.Tensor:
    """The negative BRMRSLoss uses for example b when negatives=None:
    pools[b, pool_negative_slot(seed, step, example_offset + b, K)] (rng/philox.hpp)."""
    return torch.ops.brmrs.pool_negatives(pools, int(seed), int(step), int(example_offset))


class NegativeSampler:
    """NegativeSampler(interactions, n_users=None, n_items=None, K=64, seed=0)

    interactions: a (N, 2) integer tensor / array of (user, item) pairs, or a (users, items) pair
    of 1-D arrays or tensors (NumPy, torch). n_users / n_items default to 1 + the largest id.
    sample(users, step, example_offset=None) -> (B, K) int64 pools, each entry uniform over the
    items `users[b]` never interacted with (with replacement)."""

    def __init__(self, interactions, n_users: Optional[int] = None, n_items: Optional[int] = None, K: int = 64,
                 seed: int = 0):
        if isinstance(interactions, (tuple, list)) and len(interactions) == 2:
            users = torch.as_tensor(np.asarray(interactions[0]) if not torch.is_tensor(interactions[0])
                                    else interactions[0])
            items = torch.as_tensor(np.asarray(interactions[1]) if not torch.is_tensor(interactions[1])
                                    else interactions[1])
        else:
            pairs = torch.as_tensor(interactions if torch.is_tensor(interactions) else np.asarray(interactions))
            if pairs.dim() != 2 or pairs.shape[1] != 2:
                raise ValueError(f"brmrs.NegativeSampler: interactions has shape {tuple(pairs.shape)}, "
                                 "expected (N, 2) (user, item) pairs or a (users, items) pair of arrays")
            users, items = pairs[:, 0], pairs[:, 1]
        for name, t in (("users", users), ("items", items)):
            if t.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8, torch.int8):
                raise ValueError(f"brmrs.NegativeSampler: interaction {name} must be integers, got {t.dtype}")
        users, items = users.reshape(-1).long(), items.reshape(-1).long()
        if n_users is None:
            n_users = int(users.max()) + 1 if users.numel() else 0
        if n_items is None:
            n_items = int(items.max()) + 1 if items.numel() else 0
        if int(K) < 1:
            raise ValueError(f"brmrs.NegativeSampler: K = {K} must be >= 1")
        if int(seed) < 0:
            raise ValueError(f"brmrs.NegativeSampler: seed = {seed} must be >= 0")
        self.interactions = torch.classes.brmrs.Interactions(int(n_users), int(n_items), users, items)
        self.n_users, self.n_items, self.K, self.seed = int(n_users), int(n_items), int(K), int(seed)

    def sample_with_negatives(self, users: torch.Tensor, step: int, example_offset: Optional[int] = None):
        """(pools (B, K), negatives (B,)): negatives[b] is the pool member BRMRSLoss(seed=self.seed)
        uses with negatives=None at the same step and example_offset."""
        users = torch.as_tensor(users)
        off = _offset(example_offset, int(users.numel()))
        return torch.ops.brmrs.sample_pools(self.interactions, users, self.K, self.seed, int(step), off)

    def sample(self, users: torch.Tensor, step: int, example_offset: Optional[int] = None) -> torch.Tensor:
        return self.sample_with_negatives(users, step, example_offset)[0]

    def __repr__(self):
        return (f"NegativeSampler(n_users={self.n_users}, n_items={self.n_items}, "
                f"nnz={self.interactions.nnz()}, K={self.K}, seed={self.seed})")
