"""The error contract: every brmrs::invalid_argument reaches Python as ValueError carrying brmrs's
message (argument, position, value), and no tensor is modified when it is raised (the inputs are
cloned before the call and compared after; the leaves get no gradient)."""
import pytest
import torch

import brmrs
from reference import make_case


def snapshot(ts):
    return [t.detach().clone() for t in ts]


def assert_untouched(before, after):
    for k, (a, b) in enumerate(zip(before, after)):
        assert torch.equal(a, b.detach()), f"tensor {k} was modified"


def call_with(overrides=None, loss_kw=None, **kw):
    U, Q, Pf, Qf, users, pos, pools, neg = make_case(60, n_users=6, n_items=11, B=5, K=5)
    args = dict(U=[t.clone().requires_grad_() for t in U], Q=[t.clone().requires_grad_() for t in Q],
                Pf=Pf.clone().requires_grad_(), Qf=Qf.clone().requires_grad_(), users=users, pos=pos, pools=pools,
                neg=neg)
    for k, v in (overrides or {}).items():
        args[k] = v(args[k]) if callable(v) else v
    tensors = list(args["U"]) + list(args["Q"]) + [args[k] for k in ("Pf", "Qf", "users", "pos", "pools")]
    if args["neg"] is not None:
        tensors.append(args["neg"])
    before = snapshot(tensors)
    loss_fn = brmrs.BRMRSLoss(**(loss_kw or {}))
    with pytest.raises(ValueError) as info:
        loss_fn(args["U"], args["Q"], args["Pf"], args["Qf"], args["users"], args["pos"], args["pools"], args["neg"],
                **kw)
    assert_untouched(before, tensors)
    for t in tensors:
        if t.is_leaf:
            assert t.grad is None
    return str(info.value)


def with_entry(t, idx, value):
    t = t.clone()
    t[idx] = value
    return t


def test_out_of_range_pool_id():
    msg = call_with({"pools": lambda p: with_entry(p, (1, 2), 99)})
    assert msg == "brmrs::compute_objective: batch.pools(1, 2) = 99 is out of range [0, 11)", msg


def test_negative_and_out_of_range_ids():
    msg = call_with({"users": lambda u: with_entry(u, 3, -4)})
    assert msg.startswith("brmrs::compute_objective: batch.users[3] = -4"), msg
    msg = call_with({"pos": lambda u: with_entry(u, 0, 11)})
    assert msg == "brmrs::compute_objective: batch.positives[0] = 11 is out of range [0, 11)", msg
    msg = call_with({"neg": lambda u: with_entry(u, 4, 1000)})
    assert msg == "brmrs::compute_objective: batch.negatives[4] = 1000 is out of range [0, 11)", msg


def test_bad_hyper_parameters():
    msg = call_with(loss_kw=dict(theta=0.0))
    assert msg == "brmrs::compute_objective: config.theta = 0 must be finite and > 0", msg
    msg = call_with(loss_kw=dict(lambda_h=-1.0))
    assert msg == "brmrs::compute_objective: config.lambda_hard = -1 must be finite and >= 0", msg
    msg = call_with(loss_kw=dict(tau=float("nan")))
    assert "config.tau" in msg and "nan" in msg, msg
    msg = call_with(step=-1)
    assert msg == "brmrs: step = -1 must be >= 0", msg


def test_shapes_and_dtypes():
    msg = call_with({"Q": lambda q: [q[0], q[1][:, :2]]})
    assert "tables.item" in msg and "1" in msg, msg
    msg = call_with({"Pf": lambda p: p[:3]})
    assert "fused_user" in msg, msg
    msg = call_with({"Qf": lambda q: q.float()})
    assert msg == "brmrs: fused_item has dtype Float but fused_user has Double", msg
    msg = call_with({"pools": lambda p: p[:, 0]})
    assert "pools must be 2-D" in msg, msg
    msg = call_with({"U": lambda u: u[:1], "Q": lambda q: q[:1]})
    assert "expected at least 2" in msg, msg
    msg = call_with({"pools": lambda p: p[:4]})
    assert "pools" in msg, msg


def test_module_arguments_checked_at_construction():
    with pytest.raises(ValueError, match='reduction = "avg"'):
        brmrs.BRMRSLoss(reduction="avg")
    with pytest.raises(ValueError, match='synergy_grad = "through"'):
        brmrs.BRMRSLoss(synergy_grad="through")


def test_sampler_errors():
    pairs = torch.tensor([[0, 1], [5, 1], [2, 3]])
    before = pairs.clone()
    with pytest.raises(ValueError) as info:
        brmrs.NegativeSampler(pairs, n_users=3, n_items=4)
    assert str(info.value) == "brmrs::interactions::from_pairs: users[1] = 5 is out of range [0, 3)", info.value
    assert torch.equal(pairs, before)
    s = brmrs.NegativeSampler(torch.tensor([[0, 0], [0, 1], [1, 1]]), n_users=3, n_items=2, K=4)
    users = torch.tensor([2, 0, 1])
    ub = users.clone()
    with pytest.raises(ValueError) as info:  # user 0 has seen both items: nothing to draw
        s.sample(users, 0)
    assert "0" in str(info.value) and "users" in str(info.value), info.value
    assert torch.equal(users, ub)
    with pytest.raises(ValueError) as info:
        s.sample(torch.tensor([1, 7]), 0)
    assert "users[1] = 7" in str(info.value), info.value
    with pytest.raises(ValueError):
        brmrs.NegativeSampler(pairs, K=0)
    with pytest.raises(ValueError):
        brmrs.NegativeSampler(torch.zeros(3, 3, dtype=torch.long))


def test_cuda_tensors_get_a_clear_error():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device in this torch build")
    U, Q, Pf, Qf, users, pos, pools, neg = make_case(61)
    with pytest.raises(RuntimeError, match="CUDA"):
        brmrs.BRMRSLoss()([u.cuda() for u in U], [q.cuda() for q in Q], Pf.cuda(), Qf.cuda(), users.cuda(),
                          pos.cuda(), pools.cuda(), neg.cuda())
