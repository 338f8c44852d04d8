"""BRMRSLoss(sparse_grad=True): the sparse COO gradients equal the dense ones of the default path
(itself gradchecked and checked against reference.py) for M = 2 and 3, a shared user table, given and
drawn negatives, both synergy modes, an upstream gradient other than 1 and a second backward; they
hold the batch's rows only; SparseAdam steps with them as with the dense gradients made sparse; and
a scripted module passes the flag through."""
import pytest
import torch

import brmrs
from reference import make_case, reference_loss

CFG = dict(lambda_bpr=0.7, lambda_h=1.3, lambda_s=0.9, theta=0.2, lambda_reg=0.05)


def _run(sparse, U, Q, Pf, Qf, users, pos, pools, neg, shared, scale=1.0, synergy_grad="stop", tau=0.0):
    M = len(Q)
    nU = 1 if shared else M
    leaves = [t.clone().requires_grad_() for t in U[:nU] + Q + [Pf, Qf]]
    user = leaves[:1] * M if shared else leaves[:M]
    out = brmrs.BRMRSLoss(sparse_grad=sparse, synergy_grad=synergy_grad, tau=tau, **CFG)(
        user, leaves[nU:nU + M], leaves[nU + M], leaves[nU + M + 1], users, pos, pools, neg)
    (scale * out.loss).backward()
    return out, leaves


@pytest.mark.parametrize("M,shared,negatives_given,synergy_grad,tau", [
    (2, False, True, "stop", 0.0), (2, True, False, "flow", 0.0), (3, False, False, "stop", 0.3),
    (3, True, True, "flow", 0.0)])
def test_sparse_gradients_equal_the_dense_ones(M, shared, negatives_given, synergy_grad, tau):
    U, Q, Pf, Qf, users, pos, pools, neg = make_case(60 + M, M=M, n_users=9, n_items=17, d=4, d_f=5, B=8, K=6,
                                                     shared_user=shared)
    neg = neg if negatives_given else None
    for scale in (1.0, 2.5):
        dense, a = _run(False, U, Q, Pf, Qf, users, pos, pools, neg, shared, scale, synergy_grad, tau)
        sparse, b = _run(True, U, Q, Pf, Qf, users, pos, pools, neg, shared, scale, synergy_grad, tau)
        assert torch.equal(dense.loss, sparse.loss)
        assert torch.equal(dense.hard_negatives, sparse.hard_negatives)
        for k, (x, y) in enumerate(zip(a, b)):
            assert y.grad.is_sparse, f"input {k}"
            assert torch.allclose(y.grad.to_dense(), x.grad, rtol=1e-12, atol=1e-14), \
                f"input {k}: max diff {(y.grad.to_dense() - x.grad).abs().max()}"


def test_sparse_gradients_equal_the_reference_and_touch_only_the_batch_rows():
    U, Q, Pf, Qf, users, pos, pools, neg = make_case(70, M=2, n_users=30, n_items=40, d=4, d_f=5, B=6, K=5)
    out, leaves = _run(True, U, Q, Pf, Qf, users, pos, pools, neg, False)
    ref_leaves = [t.clone().requires_grad_() for t in U + Q + [Pf, Qf]]
    ref, _, _ = reference_loss(ref_leaves[:2], ref_leaves[2:4], ref_leaves[4], ref_leaves[5], users, pos, pools, neg,
                               **CFG)
    ref.backward()
    for k, (x, y) in enumerate(zip(leaves, ref_leaves)):
        assert torch.allclose(x.grad.to_dense(), y.grad, rtol=1e-6, atol=1e-9), f"input {k}"
    # Rows: the users; item tables: positives, negatives and every hard negative (the table's own
    # modality's rows are zero), B + B + B M of them.
    assert set(leaves[0].grad.coalesce().indices()[0].tolist()) == set(users.tolist())
    item_rows = set(pos.tolist()) | set(neg.tolist()) | set(out.hard_negatives.flatten().tolist())
    assert set(leaves[2].grad.coalesce().indices()[0].tolist()) <= item_rows
    assert leaves[2].grad._nnz() == 6 + 6 + 6 * 2


def test_a_second_backward_recomputes_sparse_gradients():
    U, Q, Pf, Qf, users, pos, pools, neg = make_case(71)
    leaves = [t.clone().requires_grad_() for t in U + Q + [Pf, Qf]]
    out = brmrs.BRMRSLoss(sparse_grad=True, **CFG)(leaves[:2], leaves[2:4], leaves[4], leaves[5], users, pos, pools,
                                                   neg)
    out.loss.backward(retain_graph=True)
    first = [t.grad.to_dense().clone() for t in leaves]
    out.loss.backward()
    for g, t in zip(first, leaves):
        assert torch.allclose(t.grad.to_dense(), 2 * g, rtol=1e-14, atol=0)


def test_sparse_adam_takes_the_sparse_gradients():
    U, Q, Pf, Qf, users, pos, pools, neg = make_case(72, n_users=9, n_items=17, B=8)
    tables = {}
    for sparse in (False, True):
        leaves = [torch.nn.Parameter(t.clone()) for t in U + Q + [Pf, Qf]]
        opt = torch.optim.SparseAdam(leaves, lr=0.05)
        for step in range(3):
            opt.zero_grad()
            brmrs.BRMRSLoss(sparse_grad=sparse, **CFG)(leaves[:2], leaves[2:4], leaves[4], leaves[5], users, pos,
                                                       pools, neg).loss.backward()
            if not sparse:  # the dense gradient made sparse: SparseAdam's own input
                for p in leaves:
                    p.grad = p.grad.to_sparse()
            opt.step()
        tables[sparse] = [p.detach() for p in leaves]
    for a, b in zip(tables[False], tables[True]):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-12)


class SparseHost(torch.nn.Module):
    def __init__(self, U, Q0, Q1, Pf, Qf):
        super().__init__()
        self.U, self.Q0, self.Q1 = (torch.nn.Parameter(t.clone()) for t in (U, Q0, Q1))
        self.Pf, self.Qf = torch.nn.Parameter(Pf.clone()), torch.nn.Parameter(Qf.clone())
        self.loss_fn = brmrs.BRMRSLoss(sparse_grad=True, **CFG)

    def forward(self, users: torch.Tensor, pos: torch.Tensor, pools: torch.Tensor, neg: torch.Tensor):
        return self.loss_fn([self.U, self.U], [self.Q0, self.Q1], self.Pf, self.Qf, users, pos, pools, neg).loss


def test_torch_jit_script_passes_sparse_grad():
    U, Q, Pf, Qf, users, pos, pools, neg = make_case(73)
    eager, scripted = SparseHost(U[0], Q[0], Q[1], Pf, Qf), torch.jit.script(SparseHost(U[0], Q[0], Q[1], Pf, Qf))
    eager(users, pos, pools, neg).backward()
    scripted(users, pos, pools, neg).backward()
    for (n, p), (_, q) in zip(eager.named_parameters(), scripted.named_parameters()):
        assert q.grad.is_sparse, n
        assert torch.equal(p.grad.to_dense(), q.grad.to_dense()), n


def test_bad_input_raises_before_any_write_with_sparse_grad():
    U, Q, Pf, Qf, users, pos, pools, neg = make_case(74, n_users=9, n_items=17, B=8)
    leaves = [t.clone().requires_grad_() for t in U + Q + [Pf, Qf]]
    before = [t.detach().clone() for t in leaves]
    bad = pools.clone()
    bad[3, 2] = 17  # one past the last item
    with pytest.raises(ValueError, match=r"pools.*17"):
        brmrs.BRMRSLoss(sparse_grad=True, **CFG)(leaves[:2], leaves[2:4], leaves[4], leaves[5], users, pos, bad, neg)
    for t, b in zip(leaves, before):
        assert torch.equal(t.detach(), b) and t.grad is None


def test_changing_the_id_tensors_after_forward_leaves_the_gradient_rows_in_place():
    # The sparse gradients hold their own copies of the ids: a host that refills its batch
    # tensors before backward (a reused buffer) still gets the rows of the batch it scored.
    U, Q, Pf, Qf, users, pos, pools, neg = make_case(75, n_users=9, n_items=17, B=8)
    dense, a = _run(False, U, Q, Pf, Qf, users, pos, pools, neg, False)
    leaves = [t.clone().requires_grad_() for t in U + Q + [Pf, Qf]]
    u, p, n = users.clone(), pos.clone(), neg.clone()
    out = brmrs.BRMRSLoss(sparse_grad=True, **CFG)(leaves[:2], leaves[2:4], leaves[4], leaves[5], u, p, pools, n)
    u.fill_(0), p.fill_(0), n.fill_(0)
    out.loss.backward()
    for k, (x, y) in enumerate(zip(a, leaves)):
        assert torch.allclose(y.grad.to_dense(), x.grad, rtol=1e-12, atol=1e-14), f"input {k}"
