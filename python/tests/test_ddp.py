"""DistributedDataParallel: 2 ranks (torch.multiprocessing.spawn, gloo), each with its half of a
batch, draw pools bit-identical to one process drawing the whole batch, and DDP's averaged
gradients equal the one-process gradients to 1e-6.

reduction="mean" across ranks: each rank's loss is the mean over its B/W examples and DDP averages
the W gradients, so the result is the gradient of the mean over the union batch when the shards
have equal size (the convention NegativeSampler's default example_offset = rank * B assumes)."""
import os

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import brmrs

N_USERS, N_ITEMS, D, B, K, STEP, WORLD = 12, 20, 4, 16, 6, 3, 2


class TinyLightGCN(torch.nn.Module):
    """ID embeddings propagated over a fixed normalised user-item graph, and item features projected
    per modality: every table BRMRSLoss sees is a non-leaf output."""

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.E = torch.nn.Parameter(0.3 * torch.randn(N_USERS + N_ITEMS, D, generator=g, dtype=torch.double))
        self.W = torch.nn.Parameter(0.3 * torch.randn(5, D, generator=g, dtype=torch.double))
        self.Ef = torch.nn.Parameter(0.3 * torch.randn(N_USERS + N_ITEMS, D, generator=g, dtype=torch.double))
        R = (torch.rand(N_USERS, N_ITEMS, generator=g) < 0.3).double()
        A = torch.zeros(N_USERS + N_ITEMS, N_USERS + N_ITEMS, dtype=torch.double)
        A[:N_USERS, N_USERS:] = R
        A[N_USERS:, :N_USERS] = R.T
        deg = A.sum(1).clamp(min=1).rsqrt()
        self.register_buffer("A", deg[:, None] * A * deg[None, :])
        self.register_buffer("X", torch.randn(N_ITEMS, 5, generator=g, dtype=torch.double))

    def forward(self):
        H = (self.E + self.A @ self.E + self.A @ (self.A @ self.E)) / 3
        Hf = (self.Ef + self.A @ self.Ef) / 2
        u, i = H[:N_USERS], H[N_USERS:]
        return [u, u], [i, self.X @ self.W], Hf[:N_USERS], Hf[N_USERS:]


def batch_and_sampler():
    g = torch.Generator().manual_seed(1)
    pairs = torch.stack([torch.randint(0, N_USERS, (60,), generator=g), torch.randint(0, N_ITEMS, (60,), generator=g)], 1)
    users = torch.randint(0, N_USERS, (B,), generator=g)
    positives = torch.randint(0, N_ITEMS, (B,), generator=g)
    return brmrs.NegativeSampler(pairs, n_users=N_USERS, n_items=N_ITEMS, K=K, seed=4), users, positives


def step(model, loss_fn, sampler, users, positives, example_offset=None):
    pools = sampler.sample(users, STEP, example_offset)
    user_emb, item_emb, fu, fi = model()
    off = example_offset if example_offset is not None else dist.get_rank() * users.numel()
    out = loss_fn(user_emb, item_emb, fu, fi, users, positives, pools, None, step=STEP, example_offset=off)
    out.loss.backward()
    return pools, out.negatives


def worker(rank, folder):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method="file://" + os.path.join(folder, "rendezvous"), rank=rank,
                            world_size=WORLD)
    sampler, users, positives = batch_and_sampler()
    h = B // WORLD
    mine = slice(rank * h, (rank + 1) * h)
    model = torch.nn.parallel.DistributedDataParallel(TinyLightGCN())
    loss_fn = brmrs.BRMRSLoss(lambda_h=0.8, lambda_s=1.2, theta=0.15, lambda_reg=0.01, synergy_grad="stop", seed=2)
    pools, negs = step(model, loss_fn, sampler, users[mine], positives[mine])  # example_offset from the rank
    torch.save({"pools": pools, "negatives": negs,
                "grads": {n: p.grad for n, p in model.module.named_parameters()}},
               os.path.join(folder, f"rank{rank}.pt"))
    dist.destroy_process_group()


def test_two_ranks_equal_one_process(tmp_path):
    folder = str(tmp_path)
    mp.spawn(worker, args=(folder,), nprocs=WORLD, join=True)
    sampler, users, positives = batch_and_sampler()
    model = TinyLightGCN()
    loss_fn = brmrs.BRMRSLoss(lambda_h=0.8, lambda_s=1.2, theta=0.15, lambda_reg=0.01, synergy_grad="stop", seed=2)
    pools, negs = step(model, loss_fn, sampler, users, positives, example_offset=0)
    ranks = [torch.load(os.path.join(folder, f"rank{r}.pt")) for r in range(WORLD)]
    assert torch.equal(torch.cat([r["pools"] for r in ranks]), pools)
    assert torch.equal(torch.cat([r["negatives"] for r in ranks]), negs)
    for name, p in model.named_parameters():
        for r in ranks:
            g = r["grads"][name]
            assert torch.count_nonzero(p.grad) > 0
            assert torch.allclose(g, p.grad, rtol=1e-6, atol=1e-12), (name, (g - p.grad).abs().max())
