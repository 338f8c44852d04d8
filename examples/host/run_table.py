#!/usr/bin/env python3
"""Makes the host-model table of docs/host.md: tunes the brmrs arm's lambda_h, lambda_s, theta on
the validation split (seed 0), then trains both arms over 5 seeds with everything else equal, and
prints a Markdown table of test Recall@20 / NDCG@20 (mean +- sample sd), the user subsets, the
best epochs and the seconds per training epoch; draws the validation curves as a PNG (gnuplot).

    PYTHONPATH=<brmrs package> /usr/bin/python3 examples/host/run_table.py \
        --data ../shared/data/lfm2k --runs /tmp/host-runs --png docs/host_curves.png

Runs already in --runs (one JSON per run) are reused, so an interrupted call picks up where it
stopped. Only validation figures choose anything; the test split is read once per final run.
"""
import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
GRID = {"lambda_h": (0.01, 0.1), "lambda_s": (0.01, 0.1), "theta": (0.1, 1.0)}


def run(args, name, extra):
    out = os.path.join(args.runs, name + ".json")
    if not os.path.exists(out):
        cmd = [sys.executable, os.path.join(HERE, "host.py"), "--data", args.data, "--quiet",
               "--threads", str(args.threads), "--out", out] + extra
        print("run:", " ".join(cmd[2:]), flush=True)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    with open(out) as f:
        return json.load(f)


def tune(args):
    """The grid on validation Recall@20 of the fused scorer (seed 0, --tune-epochs at most)."""
    best = None
    rows = []
    for lh, ls, th in itertools.product(*GRID.values()):
        name = f"tune-lh{lh}-ls{ls}-th{th}"
        res = run(args, name, ["--arm", "brmrs", "--seed", "0", "--epochs", str(args.tune_epochs),
                               "--lambda-h", str(lh), "--lambda-s", str(ls), "--theta", str(th)])
        v = res["val"]["recall"]["20"][-1]
        rows.append((lh, ls, th, v, res["best_epoch"]))
        if best is None or v > best[3]:
            best = (lh, ls, th, v)
    return best, rows


def mean_sd(xs):
    return statistics.mean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)


def fmt(xs, digits=4):
    m, s = mean_sd(xs)
    return f"{m:.{digits}f} ± {s:.{digits}f}"


def curves_png(path, results):
    """Validation Recall@20 per epoch, one line per arm and seed."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        plots = []
        for (arm, seed), res in sorted(results.items()):
            dat = os.path.join(tmp, f"{arm}-{seed}.dat")
            with open(dat, "w") as f:
                for row in res["curve"]:
                    f.write(f"{row['epoch'] + 1} {row['val_recall20']}\n")
            color = "#1f77b4" if arm == "bpr" else "#d62728"
            title = (("BPR" if arm == "bpr" else "BPR + brmrs") if seed == 0 else "")
            plots.append(f"'{dat}' with lines lc rgb '{color}' title '{title}'" if title else
                         f"'{dat}' with lines lc rgb '{color}' notitle")
        script = (f"set terminal pngcairo size 900,500; set output '{path}';"
                  "set xlabel 'epoch'; set ylabel 'validation Recall@20 (fused)'; set key bottom right;"
                  "set title 'Multimodal LightGCN on Last.fm 2K: 5 seeds per arm';"
                  "plot " + ", ".join(plots))
        subprocess.run(["gnuplot", "-e", script], check=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.path.join(HERE, "..", "..", "..", "shared", "data", "lfm2k"))
    p.add_argument("--runs", default="/tmp/host-runs", help="one JSON per run (outside the tree)")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--epochs", type=int, default=80)
    p.add_argument("--tune-epochs", type=int, default=30)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--png", default=None)
    args = p.parse_args()
    os.makedirs(args.runs, exist_ok=True)

    (lh, ls, th, v), grid = tune(args)
    print("\n| λ_h | λ_s | θ | validation Recall@20 | best epoch |\n|---|---|---|---|---|")
    for row in grid:
        print(f"| {row[0]} | {row[1]} | {row[2]} | {row[3]:.4f} | {row[4] + 1} |")
    print(f"\nchosen on validation: lambda_h = {lh}, lambda_s = {ls}, theta = {th} ({v:.4f})\n")

    results = {}
    for arm, seed in itertools.product(("bpr", "brmrs"), range(args.seeds)):
        extra = ["--arm", arm, "--seed", str(seed), "--epochs", str(args.epochs),
                 "--lambda-h", str(lh), "--lambda-s", str(ls), "--theta", str(th)]
        results[(arm, seed)] = run(args, f"final-{arm}-{seed}", extra)

    def col(arm, f):
        return [f(results[(arm, s)]) for s in range(args.seeds)]

    print("| arm | test Recall@20 | test NDCG@20 | U_t | U_v | U_tv (synergy) | U_r (degraded) | "
          "best epoch | s / epoch |\n|---|---|---|---|---|---|---|---|---|")
    for arm, label in (("bpr", "BPR"), ("brmrs", "BPR + brmrs")):
        sub = lambda k: col(arm, lambda r: r["test"]["subsets"]["20"][k])  # noqa: E731
        print(f"| {label} | {fmt(col(arm, lambda r: r['test']['recall']['20'][-1]))} | "
              f"{fmt(col(arm, lambda r: r['test']['ndcg']['20'][-1]))} | {fmt(sub('U_t'), 3)} | "
              f"{fmt(sub('U_v'), 3)} | {fmt(sub('U_tv'), 3)} | {fmt(sub('U_r'), 4)} | "
              f"{fmt(col(arm, lambda r: r['best_epoch'] + 1.0), 1)} | "
              f"{fmt(col(arm, lambda r: r['s_per_epoch']), 2)} |")
    rb, rm = col("bpr", lambda r: r["test"]["recall"]["20"][-1]), col("brmrs", lambda r: r["test"]["recall"]["20"][-1])
    (mb, sb), (mm, sm) = mean_sd(rb), mean_sd(rm)
    diffs = [b - a for a, b in zip(rb, rm)]  # same seed: same initialisation, pools, batches
    md, sd = mean_sd(diffs)
    verdict = ("beats" if mm - sm > mb + sb else "loses to" if mm + sm < mb - sb else "is within the seed spread of")
    print(f"\nBPR + brmrs {verdict} BPR on test Recall@20: {mm:.4f} ± {sm:.4f} vs {mb:.4f} ± {sb:.4f} "
          f"(paired per seed: {md:+.4f} ± {sd:.4f}, {sum(d > 0 for d in diffs)}/{len(diffs)} seeds better)")
    if args.png:
        curves_png(args.png, results)
        print("curves:", args.png)


if __name__ == "__main__":
    main()
