#!/usr/bin/env python3
"""A multimodal LightGCN host recommender in plain PyTorch, trained with its own BPR loss or with
BPR + brmrs.BRMRSLoss, on an MMRec folder such as Last.fm 2K (docs/host.md describes the model,
the protocol and the results).

    /usr/bin/python3 examples/host/host.py --data ../shared/data/lfm2k --arm bpr --seed 0 \
        --out /tmp/host/bpr-0.json

Model (per modality m = text, audio; d-dimensional everything):
    h^m   = standardise(x^m) W_m                  (a projection of the frozen modality features)
    h^m  <- S_m h^m  with --item-graph knn        (FREEDOM-style: one hop over a frozen kNN
                                                   item-item graph built on the raw features)
    (P^m, Q^m) = LightGCN(A_hat, [E_u ; E_i + h^m])   modality branch m: users and items
    (P^f, Q^f) = ([P^1 | ... | P^M], [Q^1 | ... | Q^M])  fused representation (--fusion concat:
                                                   s_f = sum_m s_m, as MMGCN-style hosts score)
    (P^f, Q^f) = (mean_m P^m, mean_m Q^m)              --fusion mean: the fused margin is then about
                                                   the mean branch margin, below the best one, so
                                                   the synergy term cannot be met (docs/host.md)
    s_m(u, i) = <P^m_u, Q^m_i>,   s_f(u, i) = <P^f_u, Q^f_i>
A_hat = D^-1/2 A D^-1/2 of the user-item training graph; LightGCN(A_hat, X) is the mean of
X, A_hat X, ..., A_hat^L X. The id tables E_u, E_i are shared by the branches; by linearity the
id part is propagated once.

Arms (identical except for the loss; same sampler pools, same negatives, same batches):
    bpr     L = mean_b softplus(-(s_f(u,i+) - s_f(u,i-))) + wd * L2(ego rows of the batch)
    brmrs   the same L + brmrs.BRMRSLoss(lambda_bpr=0, lambda_h, lambda_s, theta)(...).loss
            (lambda_bpr=0 because the host's own BPR line stays: fused BPR is counted once)
Pools come from brmrs.NegativeSampler (K candidates per example); i- is a uniformly chosen
member of the pool, drawn by the host and passed to the loss as `negatives`.

Evaluation: full ranking of every item outside the user's training set (plus the validation
set when testing), ties broken by lowest item id first (brmrs's eval.hpp rule), Recall@K and
NDCG@K per scorer (text, audio, fused) and the hit-pattern user subsets U_t, U_v, U_tv, U_r.
"""
import argparse
import copy
import json
import math
import os
import sys
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F

SCORER_NAMES = ("text", "audio", "fused")


# ----------------------------------------------------------------------------------------- data
def load_inter(path):
    """MMRec .inter (tab-separated, header userID itemID rating x_label) -> n_users, n_items,
    {0: train, 1: validation, 2: test} as (users, items) int64 arrays."""
    with open(path) as f:
        head = f.readline().rstrip("\n").split("\t")
    body = np.loadtxt(path, skiprows=1, dtype=np.int64, delimiter="\t", ndmin=2)
    ui, ii, xi = head.index("userID"), head.index("itemID"), head.index("x_label")
    n_users, n_items = int(body[:, ui].max()) + 1, int(body[:, ii].max()) + 1
    split = {}
    for x in (0, 1, 2):
        rows = body[body[:, xi] == x]
        split[x] = (rows[:, ui].copy(), rows[:, ii].copy())
    return n_users, n_items, split


def load_features(path, n_items):
    """One .npy feature file (float16/32/64, n_items rows) -> float32 tensor, columns standardised
    (zero mean, unit variance; constant columns left at 0)."""
    x = np.load(path)
    if x.dtype not in (np.float16, np.float32, np.float64):
        raise ValueError(f"{path}: dtype {x.dtype} is not float16, float32 or float64")
    if x.ndim != 2 or x.shape[0] != n_items:
        raise ValueError(f"{path}: shape {x.shape} is not ({n_items}, d)")
    x = torch.from_numpy(x.astype(np.float64))
    sd = x.std(dim=0)
    x = (x - x.mean(dim=0)) / torch.where(sd > 0, sd, torch.ones_like(sd))
    return x.float()


# --------------------------------------------------------------------------------------- graphs
def sym_normalise(rows, cols, n):
    """D^-1/2 A D^-1/2 of the symmetric 0/1 matrix A with ones at (rows, cols) (both triangles
    given), as a coalesced sparse n x n float32 tensor; a node of degree 0 keeps a zero row."""
    idx = torch.stack([torch.as_tensor(rows), torch.as_tensor(cols)])
    a = torch.sparse_coo_tensor(idx, torch.ones(idx.shape[1]), (n, n)).coalesce()
    a = torch.sparse_coo_tensor(a.indices(), torch.ones(a.indices().shape[1]), (n, n)).coalesce()
    deg = torch.sparse.sum(a, dim=1).to_dense()
    inv = torch.where(deg > 0, deg.pow(-0.5), torch.zeros_like(deg))
    r, c = a.indices()
    return torch.sparse_coo_tensor(a.indices(), inv[r] * inv[c], (n, n)).coalesce()


def bipartite_adjacency(n_users, n_items, users, items):
    """A_hat of the user-item graph: nodes 0..n_users-1 are users, n_users + i is item i."""
    u = np.asarray(users, dtype=np.int64)
    i = np.asarray(items, dtype=np.int64) + n_users
    return sym_normalise(np.concatenate([u, i]), np.concatenate([i, u]), n_users + n_items)


def knn_item_graph(x, k):
    """FREEDOM-style frozen item-item graph: each item linked to its k most cosine-similar items
    (itself excluded), made symmetric (A = max(A, A^T)), then D^-1/2 A D^-1/2."""
    z = F.normalize(x.double(), dim=1)
    sim = z @ z.T
    sim.fill_diagonal_(-math.inf)
    nbr = sim.topk(k, dim=1).indices
    rows = torch.arange(x.shape[0]).repeat_interleave(k)
    cols = nbr.reshape(-1)
    return sym_normalise(torch.cat([rows, cols]), torch.cat([cols, rows]), x.shape[0])


class SymmetricSpMM(torch.autograd.Function):
    """y = A x for a symmetric sparse CSR matrix A (constant): the backward is A^T g = A g, so
    both directions use the fast CSR product (torch 1.13's own CSR backward is slow)."""

    @staticmethod
    def forward(ctx, adj, x):
        ctx.adj = adj
        return adj @ x

    @staticmethod
    def backward(ctx, g):
        return None, ctx.adj @ g.contiguous()


def to_csr(adj):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "sparse CSR support is in beta"
        return adj.to_sparse_csr()


def lightgcn(adj, x, layers):
    """Mean of x, adj x, ..., adj^layers x (adj: a symmetric CSR matrix from to_csr)."""
    acc, h = x, x
    for _ in range(layers):
        h = SymmetricSpMM.apply(adj, h)
        acc = acc + h
    return acc / (layers + 1)


# ---------------------------------------------------------------------------------------- model
class MultimodalLightGCN(torch.nn.Module):
    def __init__(self, n_users, n_items, feats, d, layers, adj, item_graphs=None, seed=0, fusion="concat"):
        super().__init__()
        if fusion not in ("concat", "mean"):
            raise ValueError(f"fusion = {fusion!r} is not 'concat' or 'mean'")
        self.fusion = fusion
        g = torch.Generator().manual_seed(seed)
        self.n_users, self.n_items, self.layers, self.adj = n_users, n_items, layers, adj
        self.feats, self.item_graphs = feats, item_graphs
        self.E_u = torch.nn.Parameter(0.1 * torch.randn(n_users, d, generator=g))
        self.E_i = torch.nn.Parameter(0.1 * torch.randn(n_items, d, generator=g))
        self.W = torch.nn.ParameterList(
            [torch.nn.Parameter(0.1 * torch.randn(x.shape[1], d, generator=g) / math.sqrt(x.shape[1]))
             for x in feats])

    def forward(self):
        """-> ([P^m], [Q^m], P^f, Q^f): branch and fused tables (non-leaf tensors)."""
        nu, d, M = self.n_users, self.E_u.shape[1], len(self.feats)
        hs = []
        for m, (x, w) in enumerate(zip(self.feats, self.W)):
            h = x @ w
            if self.item_graphs is not None:
                h = SymmetricSpMM.apply(self.item_graphs[m], h)
            hs.append(h)
        # One propagation of [id | modality 0 | ... ] (n x (M+1)d): LightGCN is linear, so
        # branch m = id part + modality-m part, users starting from E_u, items from E_i + h^m.
        x0 = torch.cat([torch.cat([self.E_u, self.E_u.new_zeros(nu, M * d)], 1),
                        torch.cat([self.E_i] + hs, 1)])
        z = lightgcn(self.adj, x0, self.layers)
        ident = z[:, :d]
        P, Q = [], []
        for m in range(M):
            zm = ident + z[:, (m + 1) * d:(m + 2) * d]
            P.append(zm[:nu])
            Q.append(zm[nu:])
        if self.fusion == "mean":
            return P, Q, torch.stack(P).mean(0), torch.stack(Q).mean(0)
        return P, Q, torch.cat(P, 1), torch.cat(Q, 1)


# ----------------------------------------------------------------------------------- evaluation
def dense_mask(n_users, n_items, pairs_list):
    m = torch.zeros(n_users, n_items, dtype=torch.bool)
    for users, items in pairs_list:
        m[torch.as_tensor(users), torch.as_tensor(items)] = True
    return m


def evaluate(scores, held, excluded, ks=(20,)):
    """Full-ranking evaluation with brmrs's conventions (include/brmrs/eval.hpp).

    scores: (S, n_users, n_items) finite, scorer S-1 is the fused one; held: (users, items) of
    the held-out pairs; excluded: list of (users, items) masked for the ranking. A held-out item
    is ranked among the items outside the user's excluded set, ties to the lowest item id
    (a stable descending sort). Returns {"users", "pairs", "recall": {K: [per scorer]},
    "ndcg": ..., "patterns": {K: counts[2^S]}, "subsets": {K: {U_t, U_v, U_tv, U_r}}}.
    """
    S, n_users, n_items = scores.shape
    if not torch.isfinite(scores).all():
        raise ValueError("evaluate: scores are not all finite")
    hu, hi = torch.as_tensor(held[0]), torch.as_tensor(held[1])
    ex = dense_mask(n_users, n_items, excluded)
    if ex[hu, hi].any():
        raise ValueError("evaluate: a held-out pair is also excluded")
    deg = torch.bincount(hu, minlength=n_users)
    eval_users = deg > 0
    kmax = max(ks)
    out = {"users": int(eval_users.sum()), "pairs": int(hu.numel()), "recall": {}, "ndcg": {},
           "patterns": {}, "subsets": {}}
    pair_rank = torch.empty(S, hu.numel(), dtype=torch.long)
    for s in range(S):
        masked = scores[s].masked_fill(ex, -math.inf)
        order = torch.sort(masked, dim=1, descending=True, stable=True).indices[:, :kmax]
        rank = torch.full((n_users, n_items), kmax + 1, dtype=torch.long)
        rank.scatter_(1, order, torch.arange(1, kmax + 1).expand(n_users, kmax).contiguous())
        pair_rank[s] = rank[hu, hi]
    for K in ks:
        hit = pair_rank <= K  # (S, pairs)
        disc = torch.where(hit, 1.0 / torch.log2(pair_rank.double() + 1.0), torch.zeros(()).double())
        n_hit = torch.zeros(S, n_users, dtype=torch.float64).index_add_(1, hu, hit.double())
        dcg = torch.zeros(S, n_users, dtype=torch.float64).index_add_(1, hu, disc)
        ideal = torch.cumsum(1.0 / torch.log2(torch.arange(1, K + 1).double() + 1.0), 0)
        idcg = ideal[(deg.clamp(min=1, max=K) - 1)]
        recall = (n_hit[:, eval_users] / deg[eval_users].double()).mean(1)
        ndcg = (dcg[:, eval_users] / idcg[eval_users]).mean(1)
        mask = (hit.long() << torch.arange(S).unsqueeze(1)).sum(0)
        counts = torch.bincount(mask, minlength=1 << S)
        out["recall"][K] = recall.tolist()
        out["ndcg"][K] = ndcg.tolist()
        out["patterns"][K] = counts.tolist()
        share = lambda m: float(counts[m]) / max(1, hu.numel())  # noqa: E731
        if S == 3:  # M = 2: modality 0 = text, 1 = audio, 2 = fused
            out["subsets"][K] = {"U_t": share(1), "U_v": share(2), "U_tv": share(4), "U_r": share(3)}
    return out


@torch.no_grad()
def score_all(model, fused_only=False):
    """(S, n_users, n_items) scores: the modalities, then the fused scorer (alone if fused_only)."""
    P, Q, Pf, Qf = model()
    branches = [] if fused_only else [p @ q.T for p, q in zip(P, Q)]
    return torch.stack(branches + [Pf @ Qf.T])


# ------------------------------------------------------------------- reference loss and sampler
class ReferenceNegativeSampler:
    """Plain-PyTorch stand-in for brmrs.NegativeSampler (same call; different random stream):
    K ids per user drawn uniformly with replacement from the items the user never interacted
    with (r-th unobserved id by binary search, as DESIGN.md §1 describes)."""

    def __init__(self, interactions, n_users, n_items, K=64, seed=0):
        inter = torch.as_tensor(interactions)
        key = inter[:, 0] * n_items + inter[:, 1]
        key = torch.unique(key)
        self.offsets = torch.zeros(n_users + 1, dtype=torch.long)
        self.offsets[1:] = torch.cumsum(torch.bincount(key // n_items, minlength=n_users), 0)
        self.items = key % n_items
        self.n_items, self.K, self.seed = n_items, K, seed

    def sample(self, users, step):
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + step)
        users = torch.as_tensor(users)
        start, end = self.offsets[users], self.offsets[users + 1]
        free = (self.n_items - (end - start)).unsqueeze(1)
        r = (torch.rand(users.numel(), self.K, generator=g, dtype=torch.float64) * free).long()
        # smallest t with (observed[t] - t) > r: r-th unobserved id = r + t
        out = r.clone()
        for b in range(users.numel()):
            obs = self.items[start[b]:end[b]]
            below = obs - torch.arange(obs.numel())
            t = torch.searchsorted(below, r[b], right=True)
            out[b] = r[b] + t
        return out


class ReferenceBRMRSLoss(torch.nn.Module):
    """DESIGN.md §1 in autograd (mean reduction, stop-gradient synergy, hard max): the stand-in
    the example used while the package was written; same call as brmrs.BRMRSLoss."""

    def __init__(self, lambda_bpr=1.0, lambda_h=1.0, lambda_s=1.0, theta=0.1, lambda_reg=0.0,
                 tau=0.0, reduction="mean", synergy_grad="stop", seed=0):
        super().__init__()
        assert tau == 0.0 and reduction == "mean" and synergy_grad == "stop"
        self.lb, self.lh, self.ls, self.theta, self.lr = lambda_bpr, lambda_h, lambda_s, theta, lambda_reg

    def forward(self, user_emb, item_emb, fused_user, fused_item, users, positives, pools,
                negatives=None, step=0, example_offset=0):
        assert negatives is not None
        M = len(user_emb)
        pu = [p[users] for p in user_emb]
        sp = [(a * q[positives]).sum(-1) for a, q in zip(pu, item_emb)]
        sn = [(a * q[negatives]).sum(-1) for a, q in zip(pu, item_emb)]
        spool = [torch.einsum("bd,bkd->bk", a, q[pools]) for a, q in zip(pu, item_emb)]
        hard = torch.stack([pools.gather(1, s.detach().argmax(1, keepdim=True)).squeeze(1) for s in spool])
        chns = 0
        for a in range(M):
            for c in range(M):
                if c != a:
                    sh = (pu[a] * item_emb[a][hard[c]]).sum(-1)
                    chns = chns + F.softplus(sh - sp[a]) / (M - 1)
        fu = fused_user[users]
        df = (fu * fused_item[positives]).sum(-1) - (fu * fused_item[negatives]).sum(-1)
        dm = torch.stack([p - n for p, n in zip(sp, sn)]).detach()
        syn = F.softplus(-(df - dm.max(0).values - self.theta))
        bpr = F.softplus(-df)
        loss = (self.lb * bpr + self.lh * chns + self.ls * syn).mean()
        return argparse.Namespace(loss=loss, bpr=bpr.mean().detach(), chns=chns.mean().detach(),
                                  synergy=syn.mean().detach(),
                                  fusion_degradation_rate=(df.detach() < dm.max(0).values).double().mean())


def make_loss_and_sampler(impl, train_pairs, n_users, n_items, K, seed, brmrs_kwargs):
    if impl == "brmrs":
        import brmrs
        sampler = brmrs.NegativeSampler(train_pairs, n_users, n_items, K=K, seed=seed)
        loss = brmrs.BRMRSLoss(lambda_bpr=0.0, seed=seed, **brmrs_kwargs)
    else:
        sampler = ReferenceNegativeSampler(train_pairs, n_users, n_items, K=K, seed=seed)
        loss = ReferenceBRMRSLoss(lambda_bpr=0.0, seed=seed, **brmrs_kwargs)
    return loss, sampler


# ------------------------------------------------------------------------------------- training
PHASES = ("sampling", "forward", "host loss", "brmrs loss", "monitoring", "backward", "optimiser", "evaluation")


def train(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    n_users, n_items, split = load_inter(os.path.join(args.data, os.path.basename(args.data) + ".inter"))
    feats = [load_features(os.path.join(args.data, f + ".npy"), n_items) for f in args.modalities.split(",")]
    tu, ti = split[0]
    adj = to_csr(bipartite_adjacency(n_users, n_items, tu, ti))
    graphs = [to_csr(knn_item_graph(x, args.knn)) for x in feats] if args.item_graph == "knn" else None
    model = MultimodalLightGCN(n_users, n_items, feats, args.dim, args.layers, adj, graphs, seed=args.seed,
                               fusion=args.fusion)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    train_pairs = torch.from_numpy(np.stack([tu, ti], 1))
    kw = dict(lambda_h=args.lambda_h, lambda_s=args.lambda_s, theta=args.theta)
    loss_fn, sampler = make_loss_and_sampler(args.impl, train_pairs, n_users, n_items, args.pool, args.seed, kw)
    val_ex, test_ex = [split[0]], [split[0], split[1]]
    g = torch.Generator().manual_seed(args.seed)
    n = train_pairs.shape[0]
    step, best, best_state, best_epoch, bad = 0, -1.0, None, -1, 0
    curve, train_s = [], []
    # --profile: wall seconds per phase over every epoch (PyTorch's CPU ops return when done, so
    # a phase's clock covers its work; the final test evaluation is not counted).
    phases = dict.fromkeys(PHASES, 0.0)
    last = time.perf_counter()

    def lap(phase):
        nonlocal last
        now = time.perf_counter()
        phases[phase] += now - last
        last = now
    for epoch in range(args.epochs):
        model.train()
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=g)
        sums = {"bpr": 0.0, "chns": 0.0, "synergy": 0.0, "fdr": 0.0}
        nb = 0
        last = time.perf_counter()
        for s in range(0, n, args.batch):
            idx = perm[s:s + args.batch]
            users, pos = train_pairs[idx, 0].contiguous(), train_pairs[idx, 1].contiguous()
            pools = sampler.sample(users, step)
            col = torch.randint(0, pools.shape[1], (users.numel(), 1), generator=g)
            neg = pools.gather(1, col).squeeze(1).contiguous()
            lap("sampling")
            P, Q, Pf, Qf = model()
            lap("forward")
            fu = Pf[users]
            df = (fu * Qf[pos]).sum(-1) - (fu * Qf[neg]).sum(-1)
            bpr = F.softplus(-df).mean()
            reg = (model.E_u[users].pow(2).sum() + model.E_i[pos].pow(2).sum()
                   + model.E_i[neg].pow(2).sum()) / (2 * users.numel())
            loss = bpr + args.wd * reg
            lap("host loss")
            if args.arm == "brmrs":
                out = loss_fn(P, Q, Pf, Qf, users, pos, pools, negatives=neg, step=step)
                loss = loss + out.loss
                sums["chns"] += float(out.chns)
                sums["synergy"] += float(out.synergy)
                lap("brmrs loss")
            with torch.no_grad():
                dm = torch.stack([(p[users] * q[pos]).sum(-1) - (p[users] * q[neg]).sum(-1) for p, q in zip(P, Q)])
                sums["fdr"] += float((df < dm.max(0).values).double().mean())
            sums["bpr"] += float(bpr)
            lap("monitoring")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            lap("backward")
            opt.step()
            lap("optimiser")
            step += 1
            nb += 1
        train_s.append(time.perf_counter() - t0)
        model.eval()
        rep = evaluate(score_all(model, fused_only=True), split[1], val_ex, ks=(20,))
        lap("evaluation")
        val_r = rep["recall"][20][-1]
        row = {"epoch": epoch, "train_s": train_s[-1], "val_recall20": val_r, "val_ndcg20": rep["ndcg"][20][-1]}
        row.update({k: v / nb for k, v in sums.items()})
        curve.append(row)
        if not args.quiet:
            print(json.dumps(row), flush=True)
        if val_r > best:
            best, best_state, best_epoch, bad = val_r, copy.deepcopy(model.state_dict()), epoch, 0
        else:
            bad += 1
            if bad >= args.patience:
                break
    model.load_state_dict(best_state)
    model.eval()
    scores = score_all(model)
    val = evaluate(scores, split[1], val_ex, ks=(10, 20))
    test = evaluate(scores, split[2], test_ex, ks=(10, 20))
    result = {"args": vars(args), "best_epoch": best_epoch, "epochs_run": len(curve),
              "s_per_epoch": float(np.mean(train_s)), "curve": curve, "val": val, "test": test,
              "profile_s_per_epoch": {k: v / len(curve) for k, v in phases.items()}}
    if args.profile:
        print(f"profile [{args.arm} seed {args.seed}], s per epoch: "
              + " ".join(f"{k} {v / len(curve):.3f}" for k, v in phases.items())
              + f" | training {float(np.mean(train_s)):.3f}", flush=True)
    return result


def parse_args(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.path.join(here, "..", "..", "..", "shared", "data", "lfm2k"))
    p.add_argument("--modalities", default="all-MiniLM-L6-v2,vggish", help="text first, then audio")
    p.add_argument("--arm", choices=("bpr", "brmrs"), default="bpr")
    p.add_argument("--impl", choices=("brmrs", "reference"), default="brmrs",
                   help="sampler and BRMRSLoss from the package, or the plain-PyTorch stand-ins")
    p.add_argument("--item-graph", choices=("none", "knn"), default="none")
    p.add_argument("--knn", type=int, default=10)
    p.add_argument("--fusion", choices=("concat", "mean"), default="concat")
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--wd", type=float, default=1e-4, help="L2 weight on the batch's ego rows")
    p.add_argument("--batch", type=int, default=2048)
    p.add_argument("--pool", type=int, default=64)
    p.add_argument("--lambda-h", type=float, default=0.1)
    p.add_argument("--lambda-s", type=float, default=0.1)
    p.add_argument("--theta", type=float, default=0.1)
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--patience", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--profile", action="store_true", help="print seconds per epoch by phase at the end")
    p.add_argument("--out", default=None, help="write the result (curve, val, test) as JSON here")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    res = train(args)
    t = res["test"]
    print(json.dumps({"arm": args.arm, "seed": args.seed, "best_epoch": res["best_epoch"],
                      "s_per_epoch": res["s_per_epoch"], "val_recall20": res["val"]["recall"][20][-1],
                      "test_recall20": t["recall"][20][-1], "test_ndcg20": t["ndcg"][20][-1],
                      "subsets20": t["subsets"].get(20)}))
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(res, f)


if __name__ == "__main__":
    sys.exit(main())
