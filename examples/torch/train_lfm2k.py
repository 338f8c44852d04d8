#!/usr/bin/env python3
"""Trains the training example's multimodal recommender (examples/train/model.hpp, fusion
"separate") in PyTorch on an MMRec folder such as Last.fm 2K, with brmrs's sampler and
objective through the brmrs package (python/, docs/pytorch.md). Autograd does the backward pass through the
projections and the interaction block; brmrs gives the gradients of the loss w.r.t. its tables.

    /usr/bin/python3 examples/torch/train_lfm2k.py --data ../shared/data/lfm2k \
        --modalities all-MiniLM-L6-v2,vggish --variant full --epochs 20

Prints a progress line per epoch (loss parts, fusion degradation rate, validation Recall@20 /
NDCG@20) and, at the end, Recall@10/20 and NDCG@10/20 on validation and test for the epoch with
the best validation Recall@20 (full ranking, training items masked, plus validation items for
test; ties broken by torch.topk). Uses /usr/bin/python3 (Debian's python3-torch) with the brmrs
package installed (`/usr/bin/python3 -m pip install --no-build-isolation ./python`).
"""
import argparse
import copy
import csv
import math
import os
import sys
import time

import numpy as np
import torch

import brmrs

# (λ_bpr, uses CHNS, uses synergy); the weights come from --lambda-hard / --lambda-synergy.
VARIANTS = {"bpr": (1.0, 0, 0), "chns": (1.0, 1, 0), "synergy": (1.0, 0, 1), "full": (1.0, 1, 1)}


def load_inter(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f, delimiter="\t"))
    head, body = rows[0], rows[1:]
    ui, ii = head.index("userID"), head.index("itemID")
    xi = head.index("x_label") if "x_label" in head else None
    split = {0: [], 1: [], 2: []}
    for r in body:
        split[int(r[xi]) if xi is not None else 0].append((int(r[ui]), int(r[ii])))
    n_users = 1 + max(u for s in split.values() for u, _ in s)
    n_items = 1 + max(i for s in split.values() for _, i in s)
    return n_users, n_items, split


class Model(torch.nn.Module):
    """h^m = x^m W_m; fused item [h^0 | ... | x^× | e]; branch users p^m, fused user p^f."""

    def __init__(self, n_users, n_items, feats, d, seed):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.M, self.d = len(feats), d
        self.X = feats
        self.W = torch.nn.ParameterList(
            [torch.nn.Parameter(torch.randn(x.shape[1], d, generator=g) / math.sqrt(x.shape[1])) for x in feats])
        self.E = torch.nn.Parameter(0.1 * torch.randn(n_items, d, generator=g))
        self.Pm = torch.nn.Parameter(0.1 * torch.randn(n_users, self.M * d, generator=g))
        self.Pf = torch.nn.Parameter(0.1 * torch.randn(n_users, (self.M + 2) * d, generator=g))

    def tables(self):
        H = [x @ w for x, w in zip(self.X, self.W)]
        inter = 0
        for a in range(self.M):
            for c in range(a + 1, self.M):
                inter = inter + H[a] * H[c]
        Qf = torch.cat(H + [inter, self.E], dim=1)
        users = [self.Pm[:, m * self.d:(m + 1) * self.d] for m in range(self.M)]  # strided views, no copy
        return users, H, self.Pf, Qf


@torch.no_grad()
def evaluate(model, held, excluded, n_users, n_items, ks=(10, 20)):
    _, _, Pf, Qf = model.tables()
    scores = Pf @ Qf.T
    for ex in excluded:
        if ex:
            u, i = zip(*ex)
            scores[list(u), list(i)] = -float("inf")
    truth = {}
    for u, i in held:
        truth.setdefault(u, set()).add(i)
    users = sorted(truth)
    top = scores[users].topk(max(ks), dim=1).indices.tolist()
    out = {}
    for K in ks:
        rec, nd = 0.0, 0.0
        for row, u in zip(top, users):
            t = truth[u]
            hits = [r for r, i in enumerate(row[:K]) if i in t]
            rec += len(hits) / len(t)
            idcg = sum(1 / math.log2(r + 2) for r in range(min(len(t), K)))
            nd += sum(1 / math.log2(r + 2) for r in hits) / idcg
        out[f"recall@{K}"] = rec / len(users)
        out[f"ndcg@{K}"] = nd / len(users)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "lfm2k"))
    ap.add_argument("--inter", default=None)
    ap.add_argument("--modalities", default="all-MiniLM-L6-v2,vggish")
    ap.add_argument("--variant", default="full", choices=sorted(VARIANTS))
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--pool", type=int, default=32)
    ap.add_argument("--dim", type=int, default=32)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--l2", type=float, default=1e-3)
    ap.add_argument("--theta", type=float, default=0.1)
    ap.add_argument("--lambda-hard", type=float, default=0.1)
    ap.add_argument("--lambda-synergy", type=float, default=0.1)
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: default)")
    a = ap.parse_args()
    if not os.path.isdir(a.data):
        print(f"SKIP: data folder {a.data} is absent")
        return 77
    if a.threads:
        torch.set_num_threads(a.threads)
    t0 = time.time()
    inter = a.inter or [f for f in os.listdir(a.data) if f.endswith(".inter")][0]
    n_users, n_items, split = load_inter(os.path.join(a.data, inter))
    feats = []
    for name in a.modalities.split(","):
        path = os.path.join(a.data, name if name.endswith(".npy") else name + ".npy")
        x = np.load(path)
        if x.dtype not in (np.float16, np.float32, np.float64):
            raise SystemExit(f"{path}: dtype {x.dtype} is not float16/32/64")
        x = torch.from_numpy(x.astype(np.float64))
        x = (x - x.mean(0)) / x.std(0, unbiased=False).clamp_min(1e-12)  # column z-scores, as brmrs_train
        feats.append(x.float().contiguous())
        print(f"  modality {name}: {tuple(x.shape)}")
    train = brmrs.NegativeSampler(torch.tensor(split[0]), n_users=n_users, n_items=n_items, K=a.pool, seed=a.seed)
    print(f"{n_users} users, {n_items} items, train {train.interactions.nnz()}, validation {len(split[1])}, "
          f"test {len(split[2])}")

    model = Model(n_users, n_items, feats, a.dim, a.seed)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    lb, uh, us = VARIANTS[a.variant]
    lh, ls = uh * a.lambda_hard, us * a.lambda_synergy
    loss_fn = brmrs.BRMRSLoss(lambda_bpr=lb, lambda_h=lh, lambda_s=ls, theta=a.theta, lambda_reg=a.l2, seed=a.seed)
    pairs = torch.tensor(split[0])
    g = torch.Generator().manual_seed(a.seed)
    step, best, best_state, best_epoch = 0, -1.0, None, 0
    for epoch in range(1, a.epochs + 1):
        perm = pairs[torch.randperm(len(pairs), generator=g)]
        sums = np.zeros(5)
        nb = 0
        for s in range(0, len(perm), a.batch):
            users, pos = perm[s:s + a.batch, 0].contiguous(), perm[s:s + a.batch, 1].contiguous()
            pools = train.sample(users, step)
            U, Q, Pf, Qf = model.tables()
            out = loss_fn(U, Q, Pf, Qf, users, pos, pools, step=step)
            loss = out.loss
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            nb += 1
            sums += [loss.item(), out.bpr.item(), out.chns.item(), out.synergy.item(), out.fusion_degradation_rate.item()]
        m = sums / nb
        val = evaluate(model, split[1], [split[0]], n_users, n_items)
        print(f"[{a.variant} seed {a.seed}] epoch {epoch:2d}/{a.epochs}  loss {m[0]:.4f} (bpr {m[1]:.3f} chns {m[2]:.3f} "
              f"syn {m[3]:.3f})  fdr {m[4]:.3f}  val R@20 {val['recall@20']:.4f} N@20 {val['ndcg@20']:.4f}  "
              f"({time.time() - t0:.0f} s)", flush=True)
        if val["recall@20"] > best:
            best, best_epoch, best_state = val["recall@20"], epoch, copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    val = evaluate(model, split[1], [split[0]], n_users, n_items)
    test = evaluate(model, split[2], [split[0], split[1]], n_users, n_items)
    print(f"best epoch {best_epoch}: validation " + "  ".join(f"{k} {v:.4f}" for k, v in val.items()))
    print(f"                test       " + "  ".join(f"{k} {v:.4f}" for k, v in test.items()))
    print(f"total {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
