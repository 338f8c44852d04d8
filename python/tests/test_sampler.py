"""NegativeSampler: pools avoid observed items, are uniform over the unobserved ones (a chi-square
test), are a pure function of (seed, step, example) (determinism, sharding by example_offset),
and the pool-member negative agrees with BRMRSLoss(negatives=None)."""
import numpy as np
import pytest
import torch

import brmrs
from scipy.stats import chi2


def random_pairs(n_users, n_items, n, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.stack([torch.randint(0, n_users, (n,), generator=g), torch.randint(0, n_items, (n,), generator=g)], 1)


def test_pools_avoid_observed_items_and_inputs_forms_agree():
    pairs = random_pairs(30, 40, 400, 1)
    s = brmrs.NegativeSampler(pairs, K=16, seed=3)
    assert (s.n_users, s.n_items) == (int(pairs[:, 0].max()) + 1, int(pairs[:, 1].max()) + 1)
    observed = set(map(tuple, pairs.tolist()))
    assert s.interactions.nnz() == len(observed)
    batch = torch.arange(s.n_users).repeat(5)
    pools = s.sample(batch, step=2)
    assert pools.shape == (len(batch), 16) and pools.dtype == torch.int64
    for b, u in enumerate(batch.tolist()):
        assert all((u, i) not in observed for i in pools[b].tolist()), f"user {u}: an observed item in its pool"
        assert all(0 <= i < s.n_items for i in pools[b].tolist())
    # A NumPy (users, items) pair and an int32 tensor give the same sampler.
    s2 = brmrs.NegativeSampler((pairs[:, 0].numpy(), pairs[:, 1].numpy().astype(np.int32)), K=16, seed=3)
    s3 = brmrs.NegativeSampler(pairs.int(), n_users=s.n_users, n_items=s.n_items, K=16, seed=3)
    assert torch.equal(s2.sample(batch, 2), pools) and torch.equal(s3.sample(batch, 2), pools)


def test_uniform_over_the_unobserved_items():
    # One user who saw 7 of 20 items: 13 free items, 200 examples x 64 slots = 12 800 draws.
    n_items = 20
    seen = [0, 3, 4, 9, 10, 15, 19]
    s = brmrs.NegativeSampler(torch.tensor([[0, i] for i in seen]), n_users=1, n_items=n_items, K=64, seed=11)
    pools = s.sample(torch.zeros(200, dtype=torch.long), step=7)
    counts = torch.bincount(pools.reshape(-1), minlength=n_items)
    assert counts[seen].sum() == 0
    free = [i for i in range(n_items) if i not in seen]
    obs = counts[free].double()
    expected = pools.numel() / len(free)
    stat = float(((obs - expected) ** 2 / expected).sum())
    # p = 1e-4 bound: fails for a biased sampler (e.g. one free item twice as likely gives ~1000).
    assert stat < chi2.ppf(1 - 1e-4, len(free) - 1), (stat, obs.tolist())
    # The same for the pool-member negatives: uniform over the K slots, so over the free items.
    _, negs = s.sample_with_negatives(torch.zeros(6500, dtype=torch.long), step=8)
    c = torch.bincount(negs, minlength=n_items)[free].double()
    e = negs.numel() / len(free)
    assert float(((c - e) ** 2 / e).sum()) < chi2.ppf(1 - 1e-4, len(free) - 1)


def test_determinism_and_sharding():
    pairs = random_pairs(50, 80, 600, 2)
    s = brmrs.NegativeSampler(pairs, n_users=50, n_items=80, K=8, seed=5)
    batch = torch.randint(0, 50, (64,), generator=torch.Generator().manual_seed(3))
    p, n = s.sample_with_negatives(batch, 4)
    p2, n2 = s.sample_with_negatives(batch, 4)
    assert torch.equal(p, p2) and torch.equal(n, n2)
    assert not torch.equal(p, s.sample(batch, 5))
    assert not torch.equal(p, brmrs.NegativeSampler(pairs, n_users=50, n_items=80, K=8, seed=6).sample(batch, 4))
    for lo, hi in ((0, 10), (10, 37), (37, 64)):  # uneven shards with explicit offsets
        ps, ns = s.sample_with_negatives(batch[lo:hi], 4, example_offset=lo)
        assert torch.equal(ps, p[lo:hi]) and torch.equal(ns, n[lo:hi])
    # The same user twice in a batch gets independent rows (the example index is in the key).
    twice = s.sample(torch.tensor([7, 7]), 4)
    assert not torch.equal(twice[0], twice[1])


def test_negatives_agree_with_the_loss_draw():
    pairs = random_pairs(20, 30, 200, 3)
    s = brmrs.NegativeSampler(pairs, n_users=20, n_items=30, K=8, seed=9)
    users = torch.arange(20)
    pools, negs = s.sample_with_negatives(users, 3, example_offset=40)
    assert torch.equal(negs, brmrs.pool_negatives(pools, 9, 3, 40))
    g = torch.Generator().manual_seed(0)
    U = [torch.randn(20, 4, generator=g, dtype=torch.double) for _ in range(2)]
    Q = [torch.randn(30, 4, generator=g, dtype=torch.double) for _ in range(2)]
    out = brmrs.BRMRSLoss(seed=9)(U, Q, U[0], Q[0], users, users % 30, pools, None, step=3, example_offset=40)
    assert torch.equal(out.negatives, negs)


@pytest.mark.parametrize("bad", [-1])
def test_negative_step_is_refused(bad):
    s = brmrs.NegativeSampler(random_pairs(5, 9, 10, 4), n_users=5, n_items=9, K=2)
    with pytest.raises(ValueError, match="step = -1"):
        s.sample(torch.arange(5), bad)
