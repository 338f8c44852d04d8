#!/usr/bin/env python3
"""PyTorch CUDA eager version of the brmrs objective, timed on workload W and 16x its batch.

The same function as brmrs::compute_objective with the default config (lambda_bpr = lambda_hard =
lambda_synergy = 1, theta = 0.1, tau = 0, stop-gradient on the unimodal margins, mean reduction,
no L2): per-modality pool scores, first-maximum hard negatives (torch.argmax returns the first
maximal index), CHNS, synergy and fused BPR, then backward into the leaf tables (dense table
gradients, as brmrs's table-gradient output). Timed with torch.cuda.Event, median of 30 runs after
5 warm-ups, forward + backward per run, pools rotating over 4 sets.

Writes a flat JSON object {"note": "...", "W/100000": ms, "W/2000": ms, "16xW/100000": ms,
"16xW/2000": ms} to --json (bench_cuda reads it). Without torch or without CUDA it writes only a
note that says why. --check runs one small problem on the CPU (no timing) to test the script.
"""
import argparse
import json
import sys


def objective(torch, U, I, FU, FI, users, pos, pools, neg, theta=0.1):
    F = torch.nn.functional
    M = len(I)
    pu = [U[m][users] for m in range(M)]
    hard = []
    with torch.no_grad():
        for m in range(M):
            s = torch.einsum("bd,bkd->bk", pu[m], I[m][pools])
            hard.append(pools.gather(1, s.argmax(dim=1, keepdim=True)).squeeze(1))
    s_pos = [(pu[m] * I[m][pos]).sum(-1) for m in range(M)]
    s_neg = [(pu[m] * I[m][neg]).sum(-1) for m in range(M)]
    chns = 0
    for a in range(M):
        for c in range(M):
            if c != a:
                chns = chns + F.softplus((pu[a] * I[a][hard[c]]).sum(-1) - s_pos[a]) / (M - 1)
    fu = FU[users]
    d_f = (fu * FI[pos]).sum(-1) - (fu * FI[neg]).sum(-1)
    bpr = F.softplus(-d_f)
    d_max = torch.stack([s_pos[m] - s_neg[m] for m in range(M)]).max(dim=0).values.detach()
    syn = F.softplus(-(d_f - d_max - theta))
    return (bpr + chns + syn).mean()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", required=True)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    out = {}
    try:
        import torch
    except Exception as e:  # noqa: BLE001
        out["note"] = "PyTorch not available: %s" % e
        json.dump(out, open(args.json, "w"))
        print(out["note"])
        return 0
    dev = "cpu" if args.check else "cuda"
    if not args.check and not torch.cuda.is_available():
        out["note"] = "PyTorch %s has no CUDA device here" % torch.__version__
        json.dump(out, open(args.json, "w"))
        print(out["note"])
        return 0
    name = "cpu" if args.check else torch.cuda.get_device_name(0)
    out["note"] = "torch %s eager, %s, forward + backward to dense table gradients" % (torch.__version__, name)
    M, d, K = 2, 64, 64
    n_users = 1000 if args.check else 100000
    g = torch.Generator(device="cpu").manual_seed(5)
    for n_items in ([500] if args.check else [100000, 2000]):
        U = [(torch.rand(n_users, d, generator=g) * 0.2 - 0.1).to(dev).requires_grad_() for _ in range(M)]
        I = [(torch.rand(n_items, d, generator=g) * 0.2 - 0.1).to(dev).requires_grad_() for _ in range(M)]
        FU = (torch.rand(n_users, d, generator=g) * 0.2 - 0.1).to(dev).requires_grad_()
        FI = (torch.rand(n_items, d, generator=g) * 0.2 - 0.1).to(dev).requires_grad_()
        params = U + I + [FU, FI]
        for mult, wl in ([(1, "W")] if args.check else [(1, "W"), (16, "16xW")]):
            B = (64 if args.check else 2048) * mult
            users = torch.randint(0, n_users, (B,), generator=g).to(dev)
            pos = torch.randint(0, n_items, (B,), generator=g).to(dev)
            sets = []
            for _ in range(4):
                pools = torch.randint(0, n_items, (B, K), generator=g).to(dev)
                slot = torch.randint(0, K, (B, 1), generator=g).to(dev)
                sets.append((pools, pools.gather(1, slot).squeeze(1)))

            def step(r):
                for p in params:
                    p.grad = None
                pools, neg = sets[r % 4]
                loss = objective(torch, U, I, FU, FI, users, pos, pools, neg)
                loss.backward()
                return loss

            if args.check:
                loss = step(0)
                ok = bool(torch.isfinite(loss)) and all(p.grad is not None for p in params)
                print("check: loss %.6f, gradients %s" % (float(loss), "present" if ok else "MISSING"))
                return 0 if ok else 1
            for r in range(5):
                step(r)
            torch.cuda.synchronize()
            times = []
            for r in range(30):
                a = torch.cuda.Event(enable_timing=True)
                b = torch.cuda.Event(enable_timing=True)
                a.record()
                step(r)
                b.record()
                b.synchronize()
                times.append(a.elapsed_time(b))
            times.sort()
            out["%s/%d" % (wl, n_items)] = times[len(times) // 2]
            print("torch %s n_items %d: %.3f ms" % (wl, n_items, times[len(times) // 2]), flush=True)
    json.dump(out, open(args.json, "w"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
