"""An independent plain-PyTorch implementation of the BR-MRS objective (DESIGN.md §1, docs/math.md),
written from the formulas, not from brmrs's code; autograd gives its gradients. Also the random
test cases (tie-free, so a finite-difference step cannot flip an argmax or a max)."""
import torch

F = torch.nn.functional


def reference_loss(U, Q, Pf, Qf, users, pos, pools, neg, lambda_bpr=1.0, lambda_h=1.0, lambda_s=1.0, theta=0.1,
                   lambda_reg=0.0, tau=0.0, reduction="mean", synergy_grad="stop"):
    """Returns (loss, parts dict, hard negatives (B, M)). U, Q: lists of M tables."""
    M = len(Q)
    B = pools.shape[0]
    ar = torch.arange(B)
    hard = []
    for m in range(M):
        with torch.no_grad():
            s = torch.einsum("bd,bkd->bk", U[m][users], Q[m][pools])
        hard.append(pools[ar, s.argmax(dim=1)])  # torch.argmax returns the first maximiser
    pos_s = [(U[m][users] * Q[m][pos]).sum(-1) for m in range(M)]
    neg_s = [(U[m][users] * Q[m][neg]).sum(-1) for m in range(M)]
    delta_f = (Pf[users] * Qf[pos]).sum(-1) - (Pf[users] * Qf[neg]).sum(-1)
    bpr = F.softplus(-delta_f)
    chns = torch.zeros_like(bpr)
    for a in range(M):
        for c in range(M):
            if c != a:
                chns = chns + F.softplus((U[a][users] * Q[a][hard[c]]).sum(-1) - pos_s[a]) / (M - 1)
    margins = torch.stack([pos_s[m] - neg_s[m] for m in range(M)])  # M x B
    if tau > 0:
        mx = tau * torch.logsumexp(margins / tau, dim=0)
    else:
        mx = margins.max(dim=0).values
    if synergy_grad == "stop":
        mx = mx.detach()
    syn = F.softplus(-(delta_f - mx - theta))
    l2 = (Pf[users] ** 2).sum(-1) + (Qf[pos] ** 2).sum(-1) + (Qf[neg] ** 2).sum(-1)
    for m in range(M):
        l2 = l2 + (U[m][users] ** 2).sum(-1) + (Q[m][pos] ** 2).sum(-1) + (Q[m][neg] ** 2).sum(-1)
    per = lambda_bpr * bpr + lambda_h * chns + lambda_s * syn + lambda_reg * l2
    red = (lambda x: x.mean()) if reduction == "mean" else (lambda x: x.sum())
    with torch.no_grad():
        hard_max = margins.max(dim=0).values
        fdr = (delta_f < hard_max).double().mean()
    parts = {"bpr": red(bpr).detach(), "chns": red(chns).detach(), "synergy": red(syn).detach(),
             "l2": red(l2).detach(), "fusion_degradation_rate": fdr}
    return red(per), parts, torch.stack(hard, dim=1)


def make_case(seed, M=2, n_users=6, n_items=11, d=3, d_f=4, B=5, K=5, shared_user=False, dtype=torch.double):
    """Random tables and a batch whose pool argmaxes and margin maxima have gaps > 1e-3."""
    for attempt in range(1000):
        g = torch.Generator().manual_seed(seed * 1000 + attempt)
        U0 = torch.randn(n_users, d, generator=g, dtype=dtype)
        U = [U0] * M if shared_user else [torch.randn(n_users, d, generator=g, dtype=dtype) for _ in range(M)]
        Q = [torch.randn(n_items, d, generator=g, dtype=dtype) for _ in range(M)]
        Pf = torch.randn(n_users, d_f, generator=g, dtype=dtype)
        Qf = torch.randn(n_items, d_f, generator=g, dtype=dtype)
        users = torch.randint(0, n_users, (B,), generator=g)
        pos = torch.randint(0, n_items, (B,), generator=g)
        pools = torch.randint(0, n_items, (B, K), generator=g)
        neg = torch.randint(0, n_items, (B,), generator=g)
        ok = True
        for m in range(M):
            s = (U[m][users].unsqueeze(1) * Q[m][pools]).sum(-1)
            for b in range(B):
                vals = sorted({int(pools[b, k]): float(s[b, k]) for k in range(K)}.values(), reverse=True)
                if len(vals) > 1 and vals[0] - vals[1] < 1e-3:
                    ok = False
        margins = torch.stack([(U[m][users] * (Q[m][pos] - Q[m][neg])).sum(-1) for m in range(M)])
        srt = margins.sort(dim=0, descending=True).values
        if (srt[0] - srt[1]).abs().min() < 1e-3:
            ok = False
        if ok:
            return U, Q, Pf, Qf, users, pos, pools, neg
    raise RuntimeError("no tie-free case found")
