#!/usr/bin/env python3
"""Independent cross-check of brmrs::compute_objective against PyTorch autograd in float64.

For each case the C++ driver (objective_driver) generates random tables and a batch from a seed,
runs brmrs's scalar backend and prints the inputs and brmrs's results as JSON. This script
rebuilds the BR-MRS objective from DESIGN.md section 1 the way a researcher would write it in
PyTorch -- gather rows, dot products, argmax under no_grad, softplus via logsigmoid, detach for the
stop-gradient -- lets autograd differentiate it, and compares:
  * the loss and each part (bpr, chns, synergy, l2) and both diagnostics,
  * the hard negatives and the negatives used (the pool-member draw is recomputed here with its
    own Philox4x32-10),
  * every entry of every table gradient,
with |brmrs - torch| <= 1e-9 * max(1, |brmrs|, |torch|).

Exit status: 0 all cases agree, 1 a mismatch, 77 torch is not importable (ctest reports a skip).
"""
import argparse
import json
import subprocess
import sys

try:
    import torch
except Exception as exc:  # ImportError, or a broken install raising something else
    print(f"SKIP: torch not importable ({exc.__class__.__name__}: {exc})")
    sys.exit(77)

TOL = 1e-9
MASK32 = 0xFFFFFFFF


# ---- Philox4x32-10 (Salmon et al., SC'11), keyed as DESIGN.md section 2 / rng/philox.hpp ----
def philox4x32_10(ctr, key):
    m0, m1, w0, w1 = 0xD2511F53, 0xCD9E8D57, 0x9E3779B9, 0xBB67AE85
    c = list(ctr)
    k = list(key)
    for r in range(10):
        p0 = m0 * c[0]
        p1 = m1 * c[2]
        hi0, lo0 = p0 >> 32, p0 & MASK32
        hi1, lo1 = p1 >> 32, p1 & MASK32
        c = [hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0]
        if r < 9:
            k = [(k[0] + w0) & MASK32, (k[1] + w1) & MASK32]
    return c


def philox_draw64(seed, step, example, slot):
    key = (seed & MASK32, (seed >> 32) & MASK32)
    ctr = (slot >> 1, example & MASK32, step & MASK32, (step >> 32) & MASK32)
    out = philox4x32_10(ctr, key)
    w = (slot & 1) * 2
    return (out[w] << 32) | out[w + 1]


def pool_negative_slot(seed, step, example, pool_size):
    return (philox_draw64(seed, step, example, pool_size) * pool_size) >> 64


# ---- the objective in PyTorch ----
def softplus(x):
    # log(1 + e^x) = -log sigmoid(-x), evaluated stably by torch
    return -torch.nn.functional.logsigmoid(-x)


def first_argmax(scores):
    """Index of the first maximum along dim 1; NaN never wins."""
    K = scores.shape[1]
    s = torch.where(torch.isnan(scores), torch.full_like(scores, -float("inf")), scores)
    mx = s.max(dim=1, keepdim=True).values
    idx = torch.arange(K).expand_as(s)
    return torch.where(s == mx, idx, torch.full_like(idx, K)).min(dim=1).values


def torch_objective(case):
    M, B, K = case["M"], case["B"], case["K"]
    nu, ni, df = case["n_users"], case["n_items"], case["d_f"]
    dims = case["dims"]
    dt = torch.float64

    n_user_tables = 1 if case["shared_user"] else M
    P = [torch.tensor(case[f"user_{m}"], dtype=dt).reshape(nu, dims[m]).requires_grad_() for m in range(n_user_tables)]
    Q = [torch.tensor(case[f"item_{m}"], dtype=dt).reshape(ni, dims[m]).requires_grad_() for m in range(M)]
    PF = torch.tensor(case["fused_user"], dtype=dt).reshape(nu, df).requires_grad_()
    QF = torch.tensor(case["fused_item"], dtype=dt).reshape(ni, df).requires_grad_()
    user_table = [P[0] if case["shared_user"] else P[m] for m in range(M)]

    users = torch.tensor(case["users"])
    pos = torch.tensor(case["positives"])
    pools = torch.tensor(case["pools"]).reshape(B, K)
    if case["given_negatives"]:
        neg = torch.tensor(case["negatives"])
    else:
        neg = torch.tensor([
            case["pools"][b * K + pool_negative_slot(case["seed"], case["step"], case["example_offset"] + b, K)]
            for b in range(B)
        ])

    pu = [user_table[m][users] for m in range(M)]                        # B x d_m
    s_pos = torch.stack([(pu[m] * Q[m][pos]).sum(-1) for m in range(M)])  # M x B
    s_neg = torch.stack([(pu[m] * Q[m][neg]).sum(-1) for m in range(M)])
    # Hard negatives: a sampling step, no gradient through the choice.
    with torch.no_grad():
        k_star = [first_argmax(torch.einsum("bd,bkd->bk", pu[m], Q[m][pools])) for m in range(M)]
    hard = torch.stack([pools[torch.arange(B), k_star[m]] for m in range(M)], dim=1)  # B x M

    # CHNS: modality a must rank i+ above the negative modality c (c != a) finds hardest.
    chns = torch.zeros(B, dtype=dt)
    for a in range(M):
        for c in range(M):
            if c != a:
                s_cross = (pu[a] * Q[a][hard[:, c]]).sum(-1)
                chns = chns + softplus(s_cross - s_pos[a]) / (M - 1)

    fu = PF[users]
    d_f = (fu * QF[pos]).sum(-1) - (fu * QF[neg]).sum(-1)
    bpr = softplus(-d_f)

    deltas = s_pos - s_neg  # M x B
    if case["mode"] == "stop":
        deltas_for_max = deltas.detach()
    else:
        deltas_for_max = deltas
    tau = case["tau"]
    if tau > 0:
        best = tau * torch.logsumexp(deltas_for_max / tau, dim=0)
    else:
        best = deltas_for_max.max(dim=0).values
    syn = softplus(-(d_f - best - case["theta"]))

    l2 = (fu ** 2).sum(-1) + (QF[pos] ** 2).sum(-1) + (QF[neg] ** 2).sum(-1)
    for m in range(M):
        l2 = l2 + (pu[m] ** 2).sum(-1) + (Q[m][pos] ** 2).sum(-1) + (Q[m][neg] ** 2).sum(-1)

    red = (lambda x: x.mean()) if case["reduce"] == "mean" else (lambda x: x.sum())
    per_example = (case["lambda_bpr"] * bpr + case["lambda_hard"] * chns + case["lambda_synergy"] * syn
                   + case["lambda_reg"] * l2)
    loss = red(per_example)
    loss.backward()

    with torch.no_grad():
        degraded = (d_f < deltas.max(dim=0).values).double().mean()
        pairs = [(a, c) for a in range(M) for c in range(a + 1, M)]
        agree = sum((hard[:, a] == hard[:, c]).double().sum() for a, c in pairs) / (B * len(pairs))
    result = [loss.item(), red(bpr).item(), red(chns).item(), red(syn).item(), red(l2).item(), degraded.item(),
              float(agree)]
    grads = {f"grad_user_{m}": P[m].grad.flatten().tolist() for m in range(n_user_tables)}
    grads.update({f"grad_item_{m}": Q[m].grad.flatten().tolist() for m in range(M)})
    grads["grad_fused_user"] = PF.grad.flatten().tolist()
    grads["grad_fused_item"] = QF.grad.flatten().tolist()
    return result, hard.flatten().tolist(), neg.tolist(), grads


def close(a, b):
    return abs(a - b) <= TOL * max(1.0, abs(a), abs(b))


def check_case(driver, args):
    out = subprocess.run([driver] + [str(a) for a in args], check=True, capture_output=True, text=True).stdout
    case = json.loads(out)
    result, hard, neg, grads = torch_objective(case)
    problems = []
    names = ["loss", "bpr", "chns", "synergy", "l2", "fusion_degradation_rate", "hard_negative_agreement"]
    for name, b, t in zip(names, case["result"], result):
        if not close(b, t):
            problems.append(f"{name}: brmrs {b!r} torch {t!r}")
    if hard != case["brmrs_hard_negatives"]:
        problems.append(f"hard negatives differ: brmrs {case['brmrs_hard_negatives']} torch {hard}")
    if neg != case["brmrs_used_negatives"]:
        problems.append(f"negatives differ: brmrs {case['brmrs_used_negatives']} torch {neg}")
    worst = 0.0
    n_entries = 0
    for key, tg in grads.items():
        bg = case[key]
        if len(bg) != len(tg):
            problems.append(f"{key}: size {len(bg)} vs {len(tg)}")
            continue
        for i, (b, t) in enumerate(zip(bg, tg)):
            n_entries += 1
            worst = max(worst, abs(b - t) / max(1.0, abs(b), abs(t)))
            if not close(b, t):
                problems.append(f"{key}[{i}]: brmrs {b!r} torch {t!r}")
    return problems, worst, n_entries


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--driver", required=True, help="path to the objective_torch_driver executable")
    ap.add_argument("--cases", type=int, default=32)
    opts = ap.parse_args()
    torch.set_default_dtype(torch.float64)

    failures = 0
    worst = 0.0
    total_entries = 0
    for i in range(opts.cases):
        seed = 1 + i
        M = 2 + (i % 2)
        mode = "stop" if (i // 2) % 2 == 0 else "through"
        shared = (i // 4) % 2
        reduce = "mean" if (i // 8) % 2 == 0 else "sum"
        tau = 0.0 if (i // 16) % 2 == 0 else 0.4
        given = i % 3 == 0
        args = [seed, M, mode, shared, reduce, tau, int(given)]
        problems, w, n = check_case(opts.driver, args)
        worst = max(worst, w)
        total_entries += n
        label = f"case {i}: seed={seed} M={M} mode={mode} shared={shared} reduce={reduce} tau={tau} given_negatives={int(given)}"
        if problems:
            failures += 1
            print("FAIL " + label)
            for p in problems[:20]:
                print("    " + p)
        else:
            print(f"ok   {label}  ({n} gradient entries, worst rel. diff {w:.2e})")
    print(f"{opts.cases - failures}/{opts.cases} cases agree; {total_entries} gradient entries; "
          f"worst relative difference {worst:.3e} (tolerance {TOL:g}); torch {torch.__version__}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
