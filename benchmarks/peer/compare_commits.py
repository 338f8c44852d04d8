#!/usr/bin/python3
"""The peer script (peer.py) run on two commits of brmrs, alternated, on one machine in one run.

    /usr/bin/python3 benchmarks/peer/compare_commits.py OLD NEW [--invocations N] [--work DIR]

For each commit (anything `git worktree add` accepts) this builds, in a worktree of its own, the
binaries peer.py times (bench_select, bench_objective, bench_roofline, peer/brmrs_peer and, on an
AVX-512 host, hand_loop/bench_hand_loop: Release, -march=native, no tests or examples, no CUDA).
Then it runs THIS tree's peer.py (so both commits are measured by the same script) against each
build, alternating OLD NEW NEW OLD OLD NEW ... --invocations times in all (default 4), each with
one round, so that a drift of the shared machine cannot fall on one commit only. It prints, per
commit, the best over its invocations of: brmrs SIMD objective time, the PyTorch / brmrs ratio
(each invocation's own PyTorch figure over its own brmrs figure), selection candidates/s, and the
brmrs / hand-loop time ratios; then NEW / OLD for each time, with the load average before and
after. The raw peer.json of each invocation stays under --work (default: a temporary folder).
Exits 1 when a build or a peer.py invocation fails (peer.py checks brmrs against PyTorch and the
hand loop before it times anything).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TARGETS = ["bench_select", "bench_objective", "bench_roofline", "brmrs_peer"]
SIZES = (2000, 100000)


def sh(cmd, **kw):
    print("+ " + " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kw)


def build(commit, work, jobs):
    src = os.path.join(work, "src-" + commit)
    if not os.path.isdir(src):
        sh(["git", "-C", ROOT, "worktree", "add", "--detach", src, commit])
    b = os.path.join(work, "build-" + commit)
    gen = ["-GNinja"] if subprocess.run(["sh", "-c", "command -v ninja"], capture_output=True).returncode == 0 \
        and not os.path.exists(os.path.join(b, "CMakeCache.txt")) else []
    sh(["cmake", "-S", src, "-B", b] + gen + ["-DCMAKE_BUILD_TYPE=Release", "-DBRMRS_NATIVE=ON",
       "-DBRMRS_BUILD_TESTS=OFF", "-DBRMRS_BUILD_EXAMPLES=OFF", "-DBRMRS_WITH_CUDA=OFF",
       "-DBRMRS_BUILD_BENCHMARKS=ON"], stdout=subprocess.DEVNULL)
    targets = list(TARGETS)
    # bench_hand_loop exists where the compiler targets AVX-512F (benchmarks/hand_loop).
    if "bench_hand_loop" in subprocess.run(["cmake", "--build", b, "--target", "help"], capture_output=True,
                                           text=True).stdout:
        targets.append("bench_hand_loop")
    sh(["cmake", "--build", b, "-j", str(jobs), "--target"] + targets)
    return b


def summary(report):
    """The figures of one peer.json that the comparison reads."""
    s = {}
    for r in report["objective"]:
        n = r["n_items"]
        s["objective_ms/%d" % n] = r["simd_ms"]
        s["torch_over_brmrs/%d" % n] = r["torch_over_simd"]
    for r in report["selection"]:
        if r["backend"] == "simd" and r["n_items"] in SIZES:
            s["select_Mcand_per_s/%d" % r["n_items"]] = r["candidates_per_s"] / 1e6
    for row in report.get("hand_loop", []):
        for what in ("select", "objective", "objective_tables"):
            if what in row:
                s["%s_over_hand/%d" % (what, row["n_items"])] = row[what]["brmrs_over_hand_time"]
    return s


# Which way is better for each figure: the best of a commit's invocations is its min or max.
def better(key):
    return max if key.startswith(("torch_over_brmrs", "select_Mcand")) else min


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--invocations", type=int, default=4)
    ap.add_argument("--work", default=None)
    ap.add_argument("--repetitions", type=int, default=5)
    a = ap.parse_args()
    work = a.work or tempfile.mkdtemp(prefix="brmrs_compare_")
    os.makedirs(work, exist_ok=True)
    commits = [subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", c], capture_output=True, text=True,
                              check=True).stdout.strip() for c in (a.old, a.new)]
    jobs = os.cpu_count() or 2
    builds = {c: build(c, work, jobs) for c in commits}
    load_before = os.getloadavg()
    # OLD NEW NEW OLD OLD NEW NEW OLD ...: each commit as often first as second.
    order = [commits[((i + 1) // 2) % 2] for i in range(a.invocations)]
    results = {c: [] for c in commits}
    for i, c in enumerate(order):
        out = os.path.join(work, "peer-%d-%s" % (i + 1, c))
        sh([sys.executable, os.path.join(HERE, "peer.py"), "--build", builds[c], "--out", out, "--rounds", "1",
            "--repetitions", str(a.repetitions)], stdout=subprocess.DEVNULL)
        with open(os.path.join(out, "peer.json")) as f:
            results[c].append(summary(json.load(f)))
    load_after = os.getloadavg()
    keys = sorted({k for c in commits for r in results[c] for k in r})
    old, new = commits
    print("\nPeer script on two commits, alternated %s (%d invocations, 1 round of %d repetitions each)"
          % (" ".join(order), a.invocations, a.repetitions))
    print("| figure | %s best | %s range | %s best | %s range | %s / %s |" % (old, old, new, new, new, old))
    print("|---|---:|---|---:|---|---:|")
    table = []
    for k in keys:
        pick = better(k)
        vo = [r[k] for r in results[old] if k in r]
        vn = [r[k] for r in results[new] if k in r]
        if not vo or not vn:
            continue
        bo, bn = pick(vo), pick(vn)
        table.append({"figure": k, old: bo, new: bn, "new_over_old": bn / bo})
        print("| %s | %.3f | %s | %.3f | %s | %.3f |" % (k, bo, ", ".join("%.3f" % v for v in vo), bn,
                                                         ", ".join("%.3f" % v for v in vn), bn / bo))
    print("load average before: %.2f %.2f %.2f; after: %.2f %.2f %.2f" % (tuple(load_before) + tuple(load_after)))
    with open(os.path.join(work, "compare.json"), "w") as f:
        json.dump({"order": order, "results": results, "table": table, "load_before": load_before,
                   "load_after": load_after}, f, indent=2)
    print("wrote %s" % os.path.join(work, "compare.json"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
