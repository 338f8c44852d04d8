#!/usr/bin/env python3
"""Tests of the PyTorch bridge (examples/torch): gradcheck in double, agreement with an
independent pure-PyTorch implementation of DESIGN.md §1 (loss and autograd gradients, both
synergy gradient modes), the shared user table, strided table slices, the sampler, and errors.

Exit 77 with "SKIP: ..." when torch is not importable (ctest SKIP_RETURN_CODE 77)."""
import os
import sys
import time
import traceback

try:
    import torch
except Exception as e:  # noqa: BLE001
    print(f"SKIP: PyTorch is not importable with {sys.executable} ({e}); the torch bridge tests did not run")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import brmrs_torch as bt  # noqa: E402

F = torch.nn.functional


def reference(U, Q, Pf, Qf, users, pos, pools, neg, lb, lh, ls, theta, lreg, reduction, stop):
    """DESIGN.md §1 written directly in PyTorch ops; autograd gives its gradients."""
    M = len(Q)
    B = pools.shape[0]
    ar = torch.arange(B)
    j = []
    for m in range(M):
        s = (U[m][users].unsqueeze(1) * Q[m][pools]).sum(-1)  # B x K
        j.append(pools[ar, s.detach().argmax(dim=1)])          # first maximiser; no gradient through the choice
    pos_s = [(U[m][users] * Q[m][pos]).sum(-1) for m in range(M)]
    neg_s = [(U[m][users] * Q[m][neg]).sum(-1) for m in range(M)]
    pf = (Pf[users] * Qf[pos]).sum(-1)
    nf = (Pf[users] * Qf[neg]).sum(-1)
    bpr = F.softplus(-(pf - nf))
    chns = 0
    for a in range(M):
        for c in range(M):
            if c != a:
                chns = chns + F.softplus((U[a][users] * Q[a][j[c]]).sum(-1) - pos_s[a]) / (M - 1)
    margins = torch.stack([pos_s[m] - neg_s[m] for m in range(M)])
    mx = margins.max(dim=0).values
    if stop:
        mx = mx.detach()
    syn = F.softplus(-(pf - nf - mx - theta))
    l2 = (Pf[users] ** 2).sum(-1) + (Qf[pos] ** 2).sum(-1) + (Qf[neg] ** 2).sum(-1)
    for m in range(M):
        l2 = l2 + (U[m][users] ** 2).sum(-1) + (Q[m][pos] ** 2).sum(-1) + (Q[m][neg] ** 2).sum(-1)
    per = lb * bpr + lh * chns + ls * syn + lreg * l2
    return per.mean() if reduction == "mean" else per.sum(), torch.stack(j, dim=1)


def make_case(seed, M=2, n_users=5, n_items=9, d=3, d_f=4, B=4, K=5, shared_user=False):
    """Random double tables and a batch whose argmax and max have no near-ties (gap > 1e-3), so a
    finite-difference step of 1e-6 cannot flip a choice (the selection is piecewise constant)."""
    for attempt in range(1000):
        g = torch.Generator().manual_seed(seed * 1000 + attempt)
        U0 = torch.randn(n_users, d, generator=g, dtype=torch.double)
        U = [U0] * M if shared_user else [torch.randn(n_users, d, generator=g, dtype=torch.double) for _ in range(M)]
        Q = [torch.randn(n_items, d, generator=g, dtype=torch.double) for _ in range(M)]
        Pf = torch.randn(n_users, d_f, generator=g, dtype=torch.double)
        Qf = torch.randn(n_items, d_f, generator=g, dtype=torch.double)
        users = torch.randint(0, n_users, (B,), generator=g)
        pos = torch.randint(0, n_items, (B,), generator=g)
        pools = torch.randint(0, n_items, (B, K), generator=g)
        neg = torch.randint(0, n_items, (B,), generator=g)
        ok = True
        for m in range(M):
            s = (U[m][users].unsqueeze(1) * Q[m][pools]).sum(-1)
            for b in range(B):
                vals = {}
                for k in range(K):
                    vals[int(pools[b, k])] = float(s[b, k])
                top = sorted(vals.values(), reverse=True)
                if len(top) > 1 and top[0] - top[1] < 1e-3:
                    ok = False
        margins = torch.stack([(U[m][users] * (Q[m][pos] - Q[m][neg])).sum(-1) for m in range(M)])
        srt = margins.sort(dim=0, descending=True).values
        if M > 1 and (srt[0] - srt[1]).abs().min() < 1e-3:
            ok = False
        if ok:
            return U, Q, Pf, Qf, users, pos, pools, neg
    raise RuntimeError("no tie-free case found")


CFG = dict(lambda_bpr=0.7, lambda_hard=1.3, lambda_synergy=0.9, theta=0.2, lambda_reg=0.05)


def test_gradcheck_double():
    for seed in (1, 2):
        for reduction in ("mean", "sum"):
            U, Q, Pf, Qf, users, pos, pools, neg = make_case(seed)
            tables = [t.clone().requires_grad_() for t in U + Q + [Pf, Qf]]

            def f(*tabs):
                return bt.objective(tabs[:2], tabs[2:4], tabs[4], tabs[5], users, pos, pools, neg,
                                    reduction=reduction, synergy_mode="through_max", **CFG)[0]

            assert torch.autograd.gradcheck(f, tables, eps=1e-6, atol=1e-6, rtol=1e-5), f"seed {seed} {reduction}"


def test_gradcheck_pool_negatives_and_three_modalities():
    # negatives=None: brmrs draws each negative from the pool; M = 3.
    U, Q, Pf, Qf, users, pos, pools, neg = make_case(3, M=3)
    tables = [t.clone().requires_grad_() for t in U + Q + [Pf, Qf]]

    def f(*tabs):
        return bt.objective(tabs[:3], tabs[3:6], tabs[6], tabs[7], users, pos, pools, None, seed=11, step=4,
                            synergy_mode="through_max", **CFG)[0]

    assert torch.autograd.gradcheck(f, tables, eps=1e-6, atol=1e-6, rtol=1e-5), "seed 3, M = 3"


def test_matches_reference_in_both_synergy_modes():
    for seed in (4, 5, 6):
        for mode in ("through_max", "stop_unimodal"):
            U, Q, Pf, Qf, users, pos, pools, neg = make_case(seed, M=2, n_users=7, n_items=15, d=4, d_f=5, B=6, K=6)
            a = [t.clone().requires_grad_() for t in U + Q + [Pf, Qf]]
            b = [t.clone().requires_grad_() for t in U + Q + [Pf, Qf]]
            loss, info = bt.objective(a[:2], a[2:4], a[4], a[5], users, pos, pools, neg, synergy_mode=mode, **CFG)
            ref, hard = reference(b[:2], b[2:4], b[4], b[5], users, pos, pools, neg, CFG["lambda_bpr"],
                                  CFG["lambda_hard"], CFG["lambda_synergy"], CFG["theta"], CFG["lambda_reg"],
                                  "mean", mode == "stop_unimodal")
            assert torch.allclose(loss, ref, rtol=1e-12, atol=1e-12), f"seed {seed} {mode}: {loss} vs {ref}"
            assert torch.equal(info["hard_negatives"], hard), f"seed {seed}: hard negatives differ"
            assert torch.equal(info["negatives"], neg)
            loss.backward()
            ref.backward()
            for k, (x, y) in enumerate(zip(a, b)):
                assert torch.allclose(x.grad, y.grad, rtol=1e-10, atol=1e-12), f"seed {seed} {mode}: table {k}"


def test_shared_user_table_and_strided_slices():
    # One user table for both modalities (the published method): autograd adds the two gradients.
    U, Q, Pf, Qf, users, pos, pools, neg = make_case(7, shared_user=True)
    P = U[0].clone().requires_grad_()
    rest = [t.clone().requires_grad_() for t in Q + [Pf, Qf]]

    def f(P, q0, q1, pf, qf):
        return bt.objective([P, P], [q0, q1], pf, qf, users, pos, pools, neg, synergy_mode="through_max", **CFG)[0]

    assert torch.autograd.gradcheck(f, [P] + rest, eps=1e-6, atol=1e-6, rtol=1e-5), "seed 7 shared user table"

    # Item tables as column slices of one wide tensor (row stride 2d, no copy) give the same
    # loss and gradients as contiguous copies.
    wide = torch.cat([Q[0], Q[1]], dim=1).requires_grad_()
    q0, q1 = wide[:, :3], wide[:, 3:]
    assert not q0.is_contiguous()
    loss_s, _ = bt.objective([U[0], U[1]], [q0, q1], Pf, Qf, users, pos, pools, neg, **CFG)
    c0, c1 = Q[0].clone().requires_grad_(), Q[1].clone().requires_grad_()
    loss_c, _ = bt.objective([U[0], U[1]], [c0, c1], Pf, Qf, users, pos, pools, neg, **CFG)
    assert loss_s.item() == loss_c.item()
    loss_s.backward()
    loss_c.backward()
    assert torch.equal(wide.grad, torch.cat([c0.grad, c1.grad], dim=1))


def test_float32_matches_float64():
    U, Q, Pf, Qf, users, pos, pools, neg = make_case(8, n_users=20, n_items=50, d=8, d_f=8, B=16, K=8)
    l64, _ = bt.objective(U, Q, Pf, Qf, users, pos, pools, neg, **CFG)
    l32, _ = bt.objective([u.float() for u in U], [q.float() for q in Q], Pf.float(), Qf.float(),
                          users.int(), pos.int(), pools.int(), neg.int(), **CFG)
    assert l32.dtype == torch.float32
    assert abs(l32.item() - l64.item()) < 1e-4 * max(1.0, abs(l64.item())), (l32.item(), l64.item())


def test_sampler():
    n_users, n_items = 30, 40
    g = torch.Generator().manual_seed(9)
    us = torch.randint(0, n_users, (300,), generator=g)
    its = torch.randint(0, n_items, (300,), generator=g)
    inter = bt.Interactions(n_users, n_items, us, its)
    assert inter.n_users == n_users and inter.n_items == n_items
    assert inter.nnz == len(set(zip(us.tolist(), its.tolist())))
    batch = torch.arange(n_users).repeat(4)
    pools, negs = inter.sample(batch, K=16, seed=3, step=2)
    assert pools.shape == (len(batch), 16) and pools.dtype == torch.long
    observed = set(zip(us.tolist(), its.tolist()))
    for b, u in enumerate(batch.tolist()):
        assert all((u, i) not in observed for i in pools[b].tolist()), f"user {u}: observed item in pool"
        assert negs[b].item() in pools[b].tolist()  # pool_member source
    p2, n2 = inter.sample(batch, K=16, seed=3, step=2)
    assert torch.equal(pools, p2) and torch.equal(negs, n2)  # pure function of the key
    p3, _ = inter.sample(batch, K=16, seed=3, step=3)
    assert not torch.equal(pools, p3)
    # Sharding: the second half sampled alone with example_offset = its global start is identical.
    half = len(batch) // 2
    p4, n4 = inter.sample(batch[half:], K=16, seed=3, step=2, example_offset=half)
    assert torch.equal(p4, pools[half:]) and torch.equal(n4, negs[half:])
    _, nc = inter.sample(batch, K=16, seed=3, step=2, source="complement")
    for b, u in enumerate(batch.tolist()):
        assert (u, nc[b].item()) not in observed
    # The objective with negatives=None picks the same pool member as the sampler's pool_member draw.
    M, d = 2, 4
    U = [torch.randn(n_users, d, dtype=torch.double) for _ in range(M)]
    Q = [torch.randn(n_items, d, dtype=torch.double) for _ in range(M)]
    pos = torch.tensor([inter.items_of(u)[0].item() if inter.degree(u) else 0 for u in batch.tolist()])
    _, info = bt.objective(U, Q, U[0], Q[0], batch, pos, pools, None, seed=3, step=2)
    assert torch.equal(info["negatives"], negs)


def test_errors_name_the_argument():
    U, Q, Pf, Qf, users, pos, pools, neg = make_case(10)
    bad = pools.clone()
    bad[1, 2] = 99
    try:
        bt.objective(U, Q, Pf, Qf, users, pos, bad, neg)
    except ValueError as e:
        msg = str(e)
        assert "pools" in msg and "99" in msg and "out of range" in msg, msg
    else:
        raise AssertionError("an out-of-range pool id was accepted")
    try:
        bt.objective(U, Q, Pf, Qf, users, pos, pools, neg, theta=0.0)
    except ValueError as e:
        assert "theta" in str(e), str(e)
    else:
        raise AssertionError("theta = 0 was accepted")
    try:
        bt.Interactions(3, 4, torch.tensor([0, 5]), torch.tensor([1, 1]))
    except ValueError as e:
        assert "users" in str(e) and "5" in str(e), str(e)
    else:
        raise AssertionError("an out-of-range user id was accepted")


def main():
    t0 = time.time()
    bt.load(verbose=bool(os.environ.get("BRMRS_TORCH_VERBOSE")))
    print(f"extension ready in {time.time() - t0:.1f} s (torch {torch.__version__})")
    failed = 0
    tests = [(k, v) for k, v in globals().items() if k.startswith("test_") and callable(v)]
    for name, fn in tests:
        t = time.time()
        try:
            fn()
            print(f"PASS {name} ({time.time() - t:.2f} s)")
        except Exception:  # noqa: BLE001
            failed += 1
            print(f"FAIL {name}")
            traceback.print_exc()
    print(f"{len(tests) - failed}/{len(tests)} passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
