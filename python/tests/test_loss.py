"""BRMRSLoss: gradcheck in float64 w.r.t. every embedding input (leaf and non-leaf, M = 2 and 3,
shared user table), agreement with the independent plain-PyTorch objective of reference.py (loss
parts, hard negatives and gradients, 1e-6 relative), both synergy gradient modes, τ > 0, both
reductions, float32, strided slices, and torch.jit.script."""
import itertools

import pytest
import torch

import brmrs
from reference import make_case, reference_loss

CFG = dict(lambda_bpr=0.7, lambda_h=1.3, lambda_s=0.9, theta=0.2, lambda_reg=0.05)


def close(a, b, rtol=1e-6, atol=1e-9):
    return torch.allclose(a, b, rtol=rtol, atol=atol)


@pytest.mark.parametrize("M,shared,reduction,tau,negatives_given", [
    (2, False, "mean", 0.0, True), (2, False, "sum", 0.0, True), (3, False, "mean", 0.0, True),
    (3, False, "sum", 0.4, False), (2, True, "mean", 0.0, True), (3, True, "mean", 0.3, False)])
def test_gradcheck_every_embedding_input(M, shared, reduction, tau, negatives_given):
    U, Q, Pf, Qf, users, pos, pools, neg = make_case(M + 10 * shared, M=M, shared_user=shared)
    loss_fn = brmrs.BRMRSLoss(tau=tau, reduction=reduction, synergy_grad="flow", seed=5, **CFG)
    if shared:
        P = U[0].clone().requires_grad_()
        rest = [t.clone().requires_grad_() for t in Q + [Pf, Qf]]
        inputs = [P] + rest

        def f(P, *r):
            return loss_fn([P] * M, list(r[:M]), r[M], r[M + 1], users, pos, pools,
                           neg if negatives_given else None, step=3).loss
    else:
        inputs = [t.clone().requires_grad_() for t in U + Q + [Pf, Qf]]

        def f(*t):
            return loss_fn(list(t[:M]), list(t[M:2 * M]), t[2 * M], t[2 * M + 1], users, pos, pools,
                           neg if negatives_given else None, step=3).loss
    assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-6, rtol=1e-5)


def test_gradcheck_non_leaf_inputs_from_a_propagation():
    # The embeddings are outputs of a LightGCN-like forward (normalised adjacency times a table,
    # averaged over layers) and of a projection of features: gradcheck w.r.t. the leaves.
    M = 3
    U, Q, Pf, Qf, users, pos, pools, neg = make_case(21, M=M, n_users=6, n_items=11, d=3)
    g = torch.Generator().manual_seed(3)
    A = torch.rand(6 + 11, 6 + 11, generator=g, dtype=torch.double)
    A = (A + A.T) / (6 + 11)
    X = torch.randn(11, 5, generator=g, dtype=torch.double)  # item features
    E = torch.cat([U[0], Q[0]]).clone().requires_grad_()
    W = torch.randn(5, 3, generator=g, dtype=torch.double).mul_(0.5).requires_grad_()
    Ef = torch.cat([Pf, Qf]).clone().requires_grad_()
    loss_fn = brmrs.BRMRSLoss(synergy_grad="flow", **CFG)

    def f(E, W, Ef):
        H = (E + A @ E + A @ (A @ E)) / 3  # non-leaf
        Hf = (Ef + A @ Ef) / 2
        u, i = H[:6], H[6:]
        return loss_fn([u, u, u], [i, X @ W, i * 0.5 + X @ W], Hf[:6], Hf[6:], users, pos, pools, neg).loss

    assert torch.autograd.gradcheck(f, [E, W, Ef], eps=1e-6, atol=1e-6, rtol=1e-5)


CASES = list(itertools.product([2, 3], ["stop", "flow"], [0.0, 0.5], ["mean", "sum"], [False, True]))


@pytest.mark.parametrize("M,synergy_grad,tau,reduction,shared", CASES)
def test_matches_independent_reference(M, synergy_grad, tau, reduction, shared):
    U, Q, Pf, Qf, users, pos, pools, neg = make_case(40 + M, M=M, n_users=9, n_items=17, d=4, d_f=5, B=8, K=6,
                                                     shared_user=shared)
    nU = 1 if shared else M
    a = [t.clone().requires_grad_() for t in U[:nU] + Q + [Pf, Qf]]
    b = [t.clone().requires_grad_() for t in U[:nU] + Q + [Pf, Qf]]
    ua = a[:1] * M if shared else a[:M]
    ub = b[:1] * M if shared else b[:M]
    out = brmrs.BRMRSLoss(tau=tau, reduction=reduction, synergy_grad=synergy_grad, **CFG)(
        ua, a[nU:nU + M], a[nU + M], a[nU + M + 1], users, pos, pools, neg)
    ref, parts, hard = reference_loss(ub, b[nU:nU + M], b[nU + M], b[nU + M + 1], users, pos, pools, neg, tau=tau,
                                      reduction=reduction, synergy_grad=synergy_grad, **CFG)
    assert close(out.loss, ref), (out.loss, ref)
    for k, v in parts.items():
        assert close(getattr(out, k), v.to(out.loss.dtype)), (k, getattr(out, k), v)
        assert not getattr(out, k).requires_grad
    assert torch.equal(out.hard_negatives, hard)
    assert torch.equal(out.negatives, neg)
    out.loss.backward()
    ref.backward()
    for k, (x, y) in enumerate(zip(a, b)):
        assert close(x.grad, y.grad), f"input {k}: max diff {(x.grad - y.grad).abs().max()}"


def test_stop_and_flow_differ_only_in_the_unimodal_synergy_gradient():
    # Same loss value; the gradient of the unimodal tables differs when the synergy term is active.
    U, Q, Pf, Qf, users, pos, pools, neg = make_case(50, n_users=9, n_items=17, B=8)
    grads = {}
    for mode in ("stop", "flow"):
        t = [x.clone().requires_grad_() for x in U + Q + [Pf, Qf]]
        out = brmrs.BRMRSLoss(synergy_grad=mode, lambda_bpr=0.0, lambda_h=0.0, lambda_s=1.0)(
            t[:2], t[2:4], t[4], t[5], users, pos, pools, neg)
        out.loss.backward()
        grads[mode] = (out.loss.detach(), [x.grad for x in t])
    assert grads["stop"][0] == grads["flow"][0]
    assert all(torch.count_nonzero(g) == 0 for g in grads["stop"][1][:4])  # no gradient into Δ_m
    assert any(torch.count_nonzero(g) > 0 for g in grads["flow"][1][:4])
    for gs, gf in zip(grads["stop"][1][4:], grads["flow"][1][4:]):
        assert torch.equal(gs, gf)  # the fused tables get the same gradient


def test_negatives_none_uses_the_pool_member_of_the_key():
    U, Q, Pf, Qf, users, pos, pools, neg = make_case(51, n_users=9, n_items=17, B=8, K=6)
    loss_fn = brmrs.BRMRSLoss(seed=9, **CFG)
    out = loss_fn(U, Q, Pf, Qf, users, pos, pools, None, step=4, example_offset=100)
    assert torch.equal(out.negatives, brmrs.pool_negatives(pools, 9, 4, 100))
    for b in range(pools.shape[0]):
        assert out.negatives[b] in pools[b]
    explicit = loss_fn(U, Q, Pf, Qf, users, pos, pools, out.negatives)
    assert torch.equal(out.loss, explicit.loss)
    # The key matters: another step picks other members somewhere in a batch this size.
    other = loss_fn(U, Q, Pf, Qf, users, pos, pools, None, step=5, example_offset=100)
    assert not torch.equal(other.negatives, out.negatives)


def test_upstream_gradient_scales_the_table_gradients():
    U, Q, Pf, Qf, users, pos, pools, neg = make_case(52)
    t1 = [x.clone().requires_grad_() for x in U + Q + [Pf, Qf]]
    t2 = [x.clone().requires_grad_() for x in U + Q + [Pf, Qf]]
    f = brmrs.BRMRSLoss(**CFG)
    f(t1[:2], t1[2:4], t1[4], t1[5], users, pos, pools, neg).loss.backward()
    (2.5 * f(t2[:2], t2[2:4], t2[4], t2[5], users, pos, pools, neg).loss).backward()
    for x, y in zip(t1, t2):
        assert close(2.5 * x.grad, y.grad, rtol=1e-14)


def _leaves(U, Q, Pf, Qf, shared):
    """Fresh leaf copies; a shared user table is one leaf passed M times."""
    if shared:
        P = U[0].clone().requires_grad_()
        return [P], [P] * len(Q), [q.clone().requires_grad_() for q in Q] + [Pf.clone().requires_grad_(),
                                                                              Qf.clone().requires_grad_()]
    u = [x.clone().requires_grad_() for x in U]
    return u, u, [q.clone().requires_grad_() for q in Q] + [Pf.clone().requires_grad_(), Qf.clone().requires_grad_()]


@pytest.mark.parametrize("M,shared,negatives_given,tau,reduction,synergy_grad", [
    (2, False, True, 0.0, "mean", "stop"), (2, False, False, 0.0, "mean", "stop"),
    (3, True, False, 0.3, "sum", "flow"), (3, False, True, 0.2, "mean", "flow")])
def test_a_second_backward_recomputes_the_gradients(M, shared, negatives_given, tau, reduction, synergy_grad):
    # The first backward hands brmrs's gradient buffers to autograd; a second one of the same graph
    # (retain_graph) recomputes them from the saved inputs and settings, scaled by its own upstream
    # gradient, and equals a fresh graph's gradients bit for bit.
    U, Q, Pf, Qf, users, pos, pools, neg = make_case(54 + M, M=M, shared_user=shared)
    f = brmrs.BRMRSLoss(tau=tau, reduction=reduction, synergy_grad=synergy_grad, seed=11, **CFG)
    negatives = neg if negatives_given else None

    def loss_of(user_args, rest):
        return f(user_args, rest[:M], rest[M], rest[M + 1], users, pos, pools, negatives, step=4,
                 example_offset=1000).loss

    lu1, ua1, r1 = _leaves(U, Q, Pf, Qf, shared)
    loss_of(ua1, r1).backward()
    ref = [t.grad for t in lu1 + r1]
    lu2, ua2, r2 = _leaves(U, Q, Pf, Qf, shared)
    leaves = lu2 + r2
    loss = loss_of(ua2, r2)
    loss.backward(retain_graph=True)
    for t, g in zip(leaves, ref):
        assert torch.equal(t.grad, g)
    second = torch.autograd.grad(loss, leaves, grad_outputs=torch.tensor(3.0, dtype=loss.dtype), retain_graph=True)
    for g2, g in zip(second, ref):
        assert torch.equal(g2, 3.0 * g)
    loss.backward()
    for t, g in zip(leaves, ref):
        assert torch.equal(t.grad, 2.0 * g)


def test_pools_drawn_under_inference_mode_are_accepted():
    U, Q, Pf, Qf, users, pos, pools, neg = make_case(56)
    with torch.inference_mode():
        pools_i, neg_i = pools.clone(), neg.clone()
    t = [x.clone().requires_grad_() for x in U + Q + [Pf, Qf]]
    u = [x.clone().requires_grad_() for x in U + Q + [Pf, Qf]]
    f = brmrs.BRMRSLoss(**CFG)
    f(t[:2], t[2:4], t[4], t[5], users, pos, pools_i, neg_i).loss.backward()
    f(u[:2], u[2:4], u[4], u[5], users, pos, pools, neg).loss.backward()
    for x, y in zip(t, u):
        assert torch.equal(x.grad, y.grad)


def test_a_differentiable_upstream_gradient_stays_in_the_graph():
    # create_graph with a grad_output that requires grad: the table gradients are v times brmrs's,
    # so d(sum of the gradient)/dv is the sum of brmrs's gradient, even at v = 1.
    U, Q, Pf, Qf, users, pos, pools, neg = make_case(57)
    t = [x.clone().requires_grad_() for x in U + Q + [Pf, Qf]]
    loss = brmrs.BRMRSLoss(**CFG)(t[:2], t[2:4], t[4], t[5], users, pos, pools, neg).loss
    v = torch.ones((), dtype=loss.dtype, requires_grad=True)
    (g,) = torch.autograd.grad(loss, [t[2]], grad_outputs=v, create_graph=True)
    (dv,) = torch.autograd.grad(g.sum(), [v])
    assert close(dv, g.detach().sum(), rtol=1e-14)


def test_a_second_backward_after_an_inplace_change_raises():
    U, Q, Pf, Qf, users, pos, pools, neg = make_case(55)
    t = [x.clone().requires_grad_() for x in U + Q + [Pf, Qf]]
    loss = brmrs.BRMRSLoss(**CFG)(t[:2], t[2:4], t[4], t[5], users, pos, pools, neg).loss
    loss.backward(retain_graph=True)
    with torch.no_grad():
        t[2].mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_float32_agrees_with_float64():
    U, Q, Pf, Qf, users, pos, pools, neg = make_case(53, n_users=20, n_items=50, d=8, d_f=8, B=16, K=8)
    f = brmrs.BRMRSLoss(**CFG)
    o64 = f(U, Q, Pf, Qf, users, pos, pools, neg)
    o32 = f([u.float() for u in U], [q.float() for q in Q], Pf.float(), Qf.float(), users.int(), pos.int(),
            pools.int(), neg.int())
    assert o32.loss.dtype == torch.float32 and o32.bpr.dtype == torch.float32
    assert abs(o32.loss.item() - o64.loss.item()) < 1e-4 * max(1.0, abs(o64.loss.item()))


def test_strided_column_slices_equal_contiguous_copies():
    U, Q, Pf, Qf, users, pos, pools, neg = make_case(54)
    wide = torch.cat([Q[0], Q[1]], dim=1).requires_grad_()
    q0, q1 = wide[:, :3], wide[:, 3:]
    assert not q0.is_contiguous()
    f = brmrs.BRMRSLoss(**CFG)
    ls = f(U, [q0, q1], Pf, Qf, users, pos, pools, neg).loss
    c0, c1 = Q[0].clone().requires_grad_(), Q[1].clone().requires_grad_()
    lc = f(U, [c0, c1], Pf, Qf, users, pos, pools, neg).loss
    assert ls.item() == lc.item()
    ls.backward()
    lc.backward()
    assert torch.equal(wide.grad, torch.cat([c0.grad, c1.grad], dim=1))


class Host(torch.nn.Module):
    """A scripted host: two projections of one user table and a sampler call inside forward."""

    def __init__(self, U, Q0, Q1, Pf, Qf):
        super().__init__()
        self.U = torch.nn.Parameter(U.clone())
        self.Q0 = torch.nn.Parameter(Q0.clone())
        self.Q1 = torch.nn.Parameter(Q1.clone())
        self.Pf = torch.nn.Parameter(Pf.clone())
        self.Qf = torch.nn.Parameter(Qf.clone())
        self.loss_fn = brmrs.BRMRSLoss(tau=0.2, synergy_grad="flow", seed=7, **CFG)

    def forward(self, users: torch.Tensor, pos: torch.Tensor, pools: torch.Tensor, step: int):
        out = self.loss_fn([self.U, self.U], [self.Q0, self.Q1 * 2.0], self.Pf, self.Qf, users, pos, pools, None,
                           step, 0)
        return out.loss, out.negatives


def test_torch_jit_script_module_calls_the_ops():
    U, Q, Pf, Qf, users, pos, pools, neg = make_case(55)
    eager = Host(U[0], Q[0], Q[1], Pf, Qf)
    scripted = torch.jit.script(Host(U[0], Q[0], Q[1], Pf, Qf))
    assert "brmrs::loss" in str(scripted.loss_fn.graph)
    le, ne = eager(users, pos, pools, 2)
    ls, ns = scripted(users, pos, pools, 2)
    assert torch.equal(le, ls) and torch.equal(ne, ns)
    le.backward()
    ls.backward()
    for (n, p), (_, q) in zip(eager.named_parameters(), scripted.named_parameters()):
        assert torch.equal(p.grad, q.grad), n

    @torch.jit.script
    def draw(inter: torch.classes.brmrs.Interactions, users: torch.Tensor, step: int):
        return torch.ops.brmrs.sample_pools(inter, users, 4, 3, step, 0)

    s = brmrs.NegativeSampler(torch.tensor([[0, 1], [1, 2], [2, 3]]), n_users=3, n_items=6, K=4, seed=3)
    p1, n1 = draw(s.interactions, torch.tensor([0, 1, 2]), 5)
    p2, n2 = s.sample_with_negatives(torch.tensor([0, 1, 2]), 5)
    assert torch.equal(p1, p2) and torch.equal(n1, n2)
