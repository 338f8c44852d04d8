#!/usr/bin/env python3
"""Step benchmark of the brmrs PyTorch package (not a timed test).

1. Forward + backward of brmrs.BRMRSLoss against the same loss written by hand in PyTorch ops
   (autograd backward) at B = 4096, K = 64, d = 64 (every modality and the fused pair),
   n_users = n_items = 100 000, a shared user table, M = 2 and 3, float32 leaf tables. The two
   are first checked equal at the benchmark size in float64 (hard negatives identical, loss and
   every gradient to 1e-9 relative), then each is timed. Both again with sparse gradients:
   BRMRSLoss(sparse_grad=True) against the hand loss gathering through F.embedding(sparse=True)
   (the nn.Embedding(sparse=True) path), checked equal to the dense gradients first.
2. brmrs.NegativeSampler against a hand PyTorch sampler with positive exclusion (torch.randint,
   membership of user * n_items + item in the sorted observed keys via torch.searchsorted,
   redraw the observed entries until none is left), in pools (rows of K) per second, on random
   interactions of 20 items per user on average.

    /usr/bin/python3 benchmarks/torch/step.py [--threads 2] [--repeats 10] [--warmup 10]

with the brmrs package importable (pip install --no-build-isolation ./python, docs/pytorch.md).
Each figure is the median of --repeats timed calls after --warmup untimed ones (the steady state
of a training loop: a process's first calls fault fresh pages in); the ratio is the
hand version's median over brmrs's. BRMRS_LEVEL=v3 forces the AVX2 build on an AVX-512 CPU.
"""
import argparse
import os
import statistics
import sys
import time

import torch

import brmrs

F = torch.nn.functional


def hand_loss(U, Q, Pf, Qf, users, pos, pools, neg, lambda_bpr, lambda_h, lambda_s, theta, lambda_reg, sparse=False):
    """The BR-MRS loss (mean reduction, τ = 0, synergy gradient stopped at the unimodal margins);
    sparse: rows gathered by F.embedding(sparse=True), so the tables get sparse gradients."""
    def rows_of(table, idx):
        return F.embedding(idx, table, sparse=True) if sparse else table[idx]

    M = len(Q)
    rows = {}
    pu = []
    for m in range(M):  # a shared user table is gathered once
        if id(U[m]) not in rows:
            rows[id(U[m])] = rows_of(U[m], users)
        pu.append(rows[id(U[m])])
    hard = []
    with torch.no_grad():
        for m in range(M):
            s = torch.bmm(Q[m][pools], pu[m].unsqueeze(2)).squeeze(2)  # B x K
            hard.append(pools.gather(1, s.argmax(dim=1, keepdim=True)).squeeze(1))
    qp = [rows_of(Q[m], pos) for m in range(M)]
    qn = [rows_of(Q[m], neg) for m in range(M)]
    pos_s = [(pu[m] * qp[m]).sum(-1) for m in range(M)]
    neg_s = [(pu[m] * qn[m]).sum(-1) for m in range(M)]
    pf, qfp, qfn = rows_of(Pf, users), rows_of(Qf, pos), rows_of(Qf, neg)
    delta_f = (pf * (qfp - qfn)).sum(-1)
    bpr = F.softplus(-delta_f)
    chns = 0
    for a in range(M):
        for c in range(M):
            if c != a:
                chns = chns + F.softplus((pu[a] * rows_of(Q[a], hard[c])).sum(-1) - pos_s[a]) / (M - 1)
    mx = torch.stack([pos_s[m] - neg_s[m] for m in range(M)]).max(dim=0).values.detach()
    syn = F.softplus(-(delta_f - mx - theta))
    l2 = (pf ** 2).sum(-1) + (qfp ** 2).sum(-1) + (qfn ** 2).sum(-1)
    for m in range(M):
        l2 = l2 + (pu[m] ** 2).sum(-1) + (qp[m] ** 2).sum(-1) + (qn[m] ** 2).sum(-1)
    loss = (lambda_bpr * bpr + lambda_h * chns + lambda_s * syn + lambda_reg * l2).mean()
    return loss, torch.stack(hard, dim=1)


# glibc's malloc settings the benchmark runs under (it re-executes itself with them unless
# --default-allocator): 25.6 MB tables and gradients come from the heap and freed memory stays
# there, so every call of both implementations reuses resident pages, as a training loop's steps do
# once warm. Under glibc's defaults the mmap threshold adapts and the heap is trimmed as the
# allocation history dictates, and a call can spend 100+ ms faulting in fresh pages (this host,
# 2026-12-07: 5 zeroed 100 000 x 64 float32 tables 2.2 ms resident, 75-200 ms faulting).
ALLOCATOR = {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(16 << 30)}

CFG = dict(lambda_bpr=1.0, lambda_h=1.0, lambda_s=1.0, theta=0.1, lambda_reg=1e-4)


def make_tables(M, n_users, n_items, d, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    U = (0.1 * torch.randn(n_users, d, generator=g)).to(dtype)
    Q = [(0.1 * torch.randn(n_items, d, generator=g)).to(dtype) for _ in range(M)]
    Pf = (0.1 * torch.randn(n_users, d, generator=g)).to(dtype)
    Qf = (0.1 * torch.randn(n_items, d, generator=g)).to(dtype)
    return [t.requires_grad_() for t in [U] + Q + [Pf, Qf]]


def run_brmrs(loss_fn, leaves, M, batch):
    U, Q, Pf, Qf = leaves[0], leaves[1:1 + M], leaves[1 + M], leaves[2 + M]
    out = loss_fn([U] * M, Q, Pf, Qf, *batch)
    out.loss.backward()
    return out.loss.detach(), out.hard_negatives


def run_hand(leaves, M, batch, sparse=False):
    U, Q, Pf, Qf = leaves[0], leaves[1:1 + M], leaves[1 + M], leaves[2 + M]
    loss, hard = hand_loss([U] * M, Q, Pf, Qf, *batch, **CFG, sparse=sparse)
    loss.backward()
    return loss.detach(), hard


def timed(fn, leaves, repeats, warmup):
    times = []
    for r in range(warmup + repeats):
        for t in leaves:
            t.grad = None
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times[warmup:])


def check_equal(M, n_users, n_items, d, batch, sparse):
    loss_fn = brmrs.BRMRSLoss(**CFG, sparse_grad=sparse)
    a = make_tables(M, n_users, n_items, d, torch.double, 7)
    b = [t.detach().clone().requires_grad_() for t in a]
    la, ha = run_brmrs(loss_fn, a, M, batch)
    lb, hb = run_hand(b, M, batch, sparse)
    assert torch.equal(ha, hb), "hard negatives differ"
    assert torch.allclose(la, lb, rtol=1e-9, atol=0), (la, lb)
    for k, (x, y) in enumerate(zip(a, b)):
        assert x.grad.is_sparse == sparse and y.grad.is_sparse == sparse, f"gradient {k}: layout"
        gx, gy = (x.grad.to_dense(), y.grad.to_dense()) if sparse else (x.grad, y.grad)
        assert (gx - gy).abs().max() <= 1e-9 * gy.abs().max(), f"gradient {k} differs"


def bench_loss(M, args, batch, sparse=False):
    n = args.n
    check_equal(M, n, n, args.d, batch, sparse)
    loss_fn = brmrs.BRMRSLoss(**CFG, sparse_grad=sparse)
    leaves = make_tables(M, n, n, args.d, torch.float32, 8)
    t_b = timed(lambda: run_brmrs(loss_fn, leaves, M, batch), leaves, args.repeats, args.warmup)
    t_h = timed(lambda: run_hand(leaves, M, batch, sparse), leaves, args.repeats, args.warmup)
    return t_b, t_h


def hand_sampler(keys, n_items, users, K, gen):
    """Uniform pools over the unobserved items by rejection: keys = sorted user * n_items + item."""
    def observed(u, i):
        key = u * n_items + i
        at = torch.searchsorted(keys, key).clamp_(max=keys.numel() - 1)
        return keys[at] == key

    pools = torch.randint(0, n_items, (users.numel(), K), generator=gen)
    uu = users.unsqueeze(1).expand(-1, K)
    bad = observed(uu, pools)
    idx = bad.nonzero(as_tuple=True)
    while idx[0].numel():
        redraw = torch.randint(0, n_items, (idx[0].numel(),), generator=gen)
        pools[idx] = redraw
        still = observed(users[idx[0]], redraw)
        idx = (idx[0][still], idx[1][still])
    return pools


def bench_sampler(args):
    n, B, K = args.n, args.B, args.K
    g = torch.Generator().manual_seed(3)
    pairs = torch.stack([torch.randint(0, n, (20 * n,), generator=g), torch.randint(0, n, (20 * n,), generator=g)], 1)
    sampler = brmrs.NegativeSampler(pairs, n_users=n, n_items=n, K=K, seed=1)
    keys = torch.unique(pairs[:, 0] * n + pairs[:, 1])  # sorted
    users = torch.randint(0, n, (B,), generator=g)
    gen = torch.Generator().manual_seed(4)
    for pools in (sampler.sample(users, 0), hand_sampler(keys, n, users, K, gen)):  # both exclude
        key = users.unsqueeze(1) * n + pools
        at = torch.searchsorted(keys, key).clamp_(max=keys.numel() - 1)
        assert not (keys[at] == key).any(), "an observed item in a pool"
    step = [0]

    def ours():
        step[0] += 1
        sampler.sample(users, step[0])

    t_b = timed(ours, [], args.repeats, args.warmup)
    t_h = timed(lambda: hand_sampler(keys, n, users, K, gen), [], args.repeats, args.warmup)
    return t_b, t_h


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=10,
                    help="untimed calls first: a process's first calls page fresh memory in (glibc "
                         "adapts its mmap threshold only after some frees), which a training loop's "
                         "thousands of steps do not see")
    ap.add_argument("--B", type=int, default=4096)
    ap.add_argument("--K", type=int, default=64)
    ap.add_argument("--d", type=int, default=64)
    ap.add_argument("--n", type=int, default=100_000, help="n_users = n_items")
    ap.add_argument("--default-allocator", action="store_true",
                    help="keep glibc's adaptive mmap threshold and heap trimming (see ALLOCATOR)")
    args = ap.parse_args()
    if not args.default_allocator and any(os.environ.get(k) != v for k, v in ALLOCATOR.items()):
        os.execve(sys.executable, [sys.executable] + sys.argv, {**os.environ, **ALLOCATOR})
    torch.set_num_threads(args.threads)
    alloc = "glibc defaults" if args.default_allocator else " ".join(f"{k}={v}" for k, v in ALLOCATOR.items())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {brmrs.build_info}; "
          f"load average {os.getloadavg()[0]:.2f}; allocator: {alloc}")
    print(f"B = {args.B}, K = {args.K}, d = {args.d}, n_users = n_items = {args.n}, "
          f"median of {args.repeats} after {args.warmup} untimed calls")
    g = torch.Generator().manual_seed(2)
    users = torch.randint(0, args.n, (args.B,), generator=g)
    pos = torch.randint(0, args.n, (args.B,), generator=g)
    pools = torch.randint(0, args.n, (args.B, args.K), generator=g)
    neg = brmrs.pool_negatives(pools, 0, 0)
    batch = (users, pos, pools, neg)
    for sparse in (False, True):
        for M in (2, 3):
            t_b, t_h = bench_loss(M, args, batch, sparse)
            print(f"loss M = {M}, {'sparse' if sparse else 'dense '} gradients: BRMRSLoss {1e3 * t_b:8.2f} ms   "
                  f"hand PyTorch {1e3 * t_h:8.2f} ms   ratio {t_h / t_b:6.1f}x   "
                  f"(forward + backward, float32, checked equal in float64)")
    t_b, t_h = bench_sampler(args)
    print(f"sampler: NegativeSampler {args.B / t_b:12.0f} pools/s   hand PyTorch {args.B / t_h:12.0f} pools/s   "
          f"ratio {t_h / t_b:6.1f}x   (pools of K = {args.K}, degree 20)")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
