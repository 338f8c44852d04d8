#!/usr/bin/python3
"""brmrs vs a researcher's PyTorch objective, and brmrs's selection vs the gather roofline.

    /usr/bin/python3 benchmarks/peer/peer.py --build BUILD_DIR [--out DIR] [--repetitions N]
                                             [--smoke] [--chart docs/performance_peer.png]

BUILD_DIR is a CMake build of brmrs (Release, -march=native) holding benchmarks/bench_objective,
benchmarks/bench_select, benchmarks/bench_roofline, benchmarks/peer/brmrs_peer and, on an AVX-512
host, benchmarks/hand_loop/bench_hand_loop (the hand-written yardstick of issue 20). In ONE
invocation this script
  1. dumps workload W (DESIGN.md §4: M = 2, d = d_f = 64, float32, B = 2048, K = 64, 100 000
     users) for n_items = 2 000 and 100 000 with brmrs_peer, which also writes brmrs's loss parts,
     hard negatives and table gradients;
  2. runs the same objective written as a researcher would in PyTorch (indexing, bmm, argmax,
     gather, logsigmoid, autograd) on those very bytes and CHECKS it against brmrs: loss parts to
     1e-4 relative, hard negatives by the score of the chosen item, every table gradient to 1e-3
     of its largest entry; a disagreement stops the script (exit 1) before anything is timed;
  3. times PyTorch forward+backward (torch.set_num_threads(--threads)) in two settings, each in a fresh
     process: glibc defaults, and GLIBC_TUNABLES=glibc.malloc.hugetlb=1 (transparent huge pages
     for malloc, which avoids the page-fault storm of the fresh B x K x d tensors each step);
     the faster one is PyTorch's figure, and the table says which it was;
  4. runs the brmrs Google Benchmark binaries (JSON output, real time, OMP_NUM_THREADS=--threads,
     default 2, the same thread count PyTorch gets) alternated with the hand loop, --rounds times
     over (default 3; each round: brmrs selection, hand selection, brmrs objective (per-example
     rows and into tables), hand objectives, roofline probe), so that a drift of the shared
     machine's memory speed over a minute or two cannot fall on one side of a ratio only; the
     hand loop checks itself against brmrs on the same data before it times anything (a
     disagreement stops the script, exit 1);
  5. prints one table (brmrs scalar, brmrs SIMD, PyTorch, the ratios, selection as a percentage of
     the gather roofline, objective / selection), the hand-loop table and the issue-20 targets
     (SIMD selection >= 1.0x the hand loop's candidates/s at 2 000 and 100 000 items; objective
     with per-example rows <= 1.1x the hand loop's time; objective into tables <= 1.3x the
     per-example objective; in-cache selection >= 70 % of the gather roofline), each with its
     best-of-all-rounds ratio and the range over rounds; the CPU (/proc/cpuinfo model name and
     SIMD flags) and the load average before and after; writes it all as JSON (DIR/peer.json,
     with the raw Google Benchmark JSON next to it) and draws a PNG chart with gnuplot.
Every time is a minimum: for brmrs, the best of --repetitions runs (default 5) in every round,
each run the mean of as many iterations as fill 0.2 s; for PyTorch, the fastest of --torch-iters
single steps (default 10) after 2 warm-up steps. The machine is shared, and the minimum is the
figure least disturbed by other processes.
--smoke: tiny shapes (BRMRS_BENCH_SMOKE=1), one repetition: checks that the script works (the
hand loop's check against brmrs included, when it is built); its targets are not timings.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np


# ─── The researcher's PyTorch objective ─────────────────────────────────────────────────────────
def torch_objective(F, torch, P, Q, Pf, Qf, users, pos, neg, pools, theta):
    """Mean over the batch of fused BPR + CHNS + synergy (DESIGN.md §1), as one would write it."""
    M = len(P)
    pu = [P[m][users] for m in range(M)]                                   # B x d
    cand = [Q[m][pools] for m in range(M)]                                 # B x K x d
    s_pool = [torch.bmm(cand[m], pu[m].unsqueeze(2)).squeeze(2) for m in range(M)]  # B x K
    k_star = [s.argmax(dim=1) for s in s_pool]                             # first maximiser
    hard = [pools.gather(1, k.unsqueeze(1)).squeeze(1) for k in k_star]
    s_pos = [(pu[m] * Q[m][pos]).sum(1) for m in range(M)]
    s_neg = [(pu[m] * Q[m][neg]).sum(1) for m in range(M)]
    chns = 0
    for a in range(M):
        for c in range(M):
            if c != a:
                cross = s_pool[a].gather(1, k_star[c].unsqueeze(1)).squeeze(1)  # s_a(u, j^c)
                chns = chns - F.logsigmoid(s_pos[a] - cross) / (M - 1)
    fu = Pf[users]
    delta_f = (fu * Qf[pos]).sum(1) - (fu * Qf[neg]).sum(1)
    bpr = -F.logsigmoid(delta_f)
    deltas = torch.stack([s_pos[m] - s_neg[m] for m in range(M)], 1).detach()  # stop-gradient
    syn = -F.logsigmoid(delta_f - deltas.max(1).values - theta)
    loss = (bpr + chns + syn).mean()
    return loss, bpr.mean(), chns.mean(), syn.mean(), torch.stack(hard, 1)


def load_dump(d, torch):
    meta = json.load(open(os.path.join(d, "meta.json")))
    M, dd, df, B, K = meta["M"], meta["d"], meta["d_f"], meta["B"], meta["K"]
    nu, ni = meta["n_users"], meta["n_items"]

    def f32(name, rows, cols):
        return torch.from_numpy(np.fromfile(os.path.join(d, name), dtype=np.float32).reshape(rows, cols))

    def i64(name, shape):
        return torch.from_numpy(np.fromfile(os.path.join(d, name), dtype=np.int32).astype(np.int64).reshape(shape))

    data = {
        "meta": meta,
        "P": [f32("user_%d.f32" % m, nu, dd) for m in range(M)],
        "Q": [f32("item_%d.f32" % m, ni, dd) for m in range(M)],
        "Pf": f32("fused_user.f32", nu, df), "Qf": f32("fused_item.f32", ni, df),
        "users": i64("users.i32", (B,)), "pos": i64("positives.i32", (B,)),
        "neg": i64("negatives.i32", (B,)), "pools": i64("pools.i32", (B, K)),
        "hard": i64("hard.i32", (B, M)),
        "gP": [f32("grad_user_%d.f32" % m, nu, dd) for m in range(M)],
        "gQ": [f32("grad_item_%d.f32" % m, ni, dd) for m in range(M)],
        "gPf": f32("grad_fused_user.f32", nu, df), "gQf": f32("grad_fused_item.f32", ni, df),
    }
    return data


def leaves(data):
    params = [t.clone().requires_grad_(True) for t in data["P"] + data["Q"] + [data["Pf"], data["Qf"]]]
    M = data["meta"]["M"]
    return params, params[:M], params[M:2 * M], params[2 * M], params[2 * M + 1]


def check_agreement(data, threads):
    """PyTorch vs brmrs on identical data; returns a dict of the measured differences."""
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(threads)
    meta = data["meta"]
    M = meta["M"]
    params, P, Q, Pf, Qf = leaves(data)
    loss, bpr, chns, syn, hard = torch_objective(F, torch, P, Q, Pf, Qf, data["users"], data["pos"], data["neg"],
                                                 data["pools"], float(np.float32(meta["theta"])))
    loss.backward()
    rep = {}
    ok = True
    for name, t in (("loss", loss), ("bpr", bpr), ("chns", chns), ("synergy", syn)):
        ref = meta[name]
        rel = abs(float(t) - ref) / max(1e-12, abs(ref))
        rep[name + "_rel_diff"] = rel
        ok &= rel <= 1e-4
    # Hard negatives: the same id, or (near-tie) an id whose score equals the best to rounding.
    with torch.no_grad():
        mism = 0
        worst = 0.0
        for m in range(M):
            u = data["P"][m][data["users"]]
            s_t = (u * data["Q"][m][hard[:, m]]).sum(1)
            s_b = (u * data["Q"][m][data["hard"][:, m]]).sum(1)
            diff = (hard[:, m] != data["hard"][:, m])
            mism += int(diff.sum())
            if diff.any():
                worst = max(worst, float((s_t - s_b).abs()[diff].max()))
        rep["hard_negative_mismatches"] = mism
        rep["hard_negative_worst_score_gap"] = worst
        ok &= worst <= 1e-5
        grads = [(p.grad if p.grad is not None else torch.zeros_like(p)) for p in params]
        refs = data["gP"] + data["gQ"] + [data["gPf"], data["gQf"]]
        worst_g = 0.0
        for g, r in zip(grads, refs):
            scale = float(g.abs().max()) or 1.0
            worst_g = max(worst_g, float((g - r).abs().max()) / scale)
        rep["gradient_worst_rel_diff"] = worst_g
        # A near-tie that picks another hard negative moves one example's rows: allow it only
        # when such a mismatch happened, else the gradients must agree to float rounding.
        ok &= worst_g <= (1e-3 if mism == 0 else 5e-2)
    rep["agree"] = bool(ok)
    return rep


def torch_worker(d, iters, warmup, threads):
    """Runs in a fresh process (so GLIBC_TUNABLES applies): prints the per-step times in ms."""
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(threads)
    data = load_dump(d, torch)
    params, P, Q, Pf, Qf = leaves(data)
    theta = float(np.float32(data["meta"]["theta"]))
    times = []
    for i in range(warmup + iters):
        for p in params:
            p.grad = None
        t0 = time.perf_counter()
        loss = torch_objective(F, torch, P, Q, Pf, Qf, data["users"], data["pos"], data["neg"], data["pools"],
                               theta)[0]
        loss.backward()
        t1 = time.perf_counter()
        if i >= warmup:
            times.append((t1 - t0) * 1e3)
    print(json.dumps({"times_ms": times, "threads": torch.get_num_threads(), "torch": torch.__version__}))


def run(cmd, env=None, capture=True):
    r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE if capture else None, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.stderr.write("command failed: %s\n%s\n%s\n" % (" ".join(cmd), r.stdout or "", r.stderr))
        sys.exit(1)
    return r.stdout


def gbench(binary, out_json, flt, reps, smoke, env):
    cmd = [binary, "--benchmark_filter=" + flt, "--benchmark_out=" + out_json, "--benchmark_out_format=json",
           "--benchmark_format=console"]
    if smoke:
        cmd += ["--benchmark_min_time=0.001"]
    else:
        cmd += ["--benchmark_repetitions=%d" % reps, "--benchmark_min_time=0.2"]
    run(cmd, env=env)
    res = {}
    for b in json.load(open(out_json))["benchmarks"]:
        if b.get("run_type") == "aggregate":
            continue
        name = b["run_name"] if "run_name" in b else b["name"]
        name = name.replace("/real_time", "")
        t_ms = b["real_time"] * {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b["time_unit"]]
        cur = res.get(name)
        if cur is None or t_ms < cur["ms"]:
            res[name] = {"ms": t_ms, "bytes_per_second": b.get("bytes_per_second", 0.0),
                         "items_per_second": b.get("items_per_second", 0.0)}
    return res


def machine():
    info = {}
    try:
        out = subprocess.run(["lscpu"], stdout=subprocess.PIPE, text=True).stdout
        for line in out.splitlines():
            k, _, v = line.partition(":")
            if k.strip() in ("Model name", "CPU(s)", "Thread(s) per core", "L2 cache", "L3 cache", "Flags"):
                info[k.strip()] = v.strip()
    except OSError:
        pass
    if "Flags" in info:
        keep = [f for f in info["Flags"].split() if f.startswith(("avx", "fma", "sse4"))]
        info["Flags"] = " ".join(keep)
    return info


def cpuinfo():
    """The first CPU's model name and SIMD flags from /proc/cpuinfo (Linux), or {}."""
    try:
        text = open("/proc/cpuinfo").read()
    except OSError:
        return {}
    info = {}
    for line in text.split("\n\n")[0].splitlines():
        k, _, v = line.partition(":")
        k = k.strip()
        if k in ("model name", "cpu family", "model", "vendor_id"):
            info[k] = v.strip()
        elif k == "flags":
            info["simd flags"] = " ".join(f for f in v.split() if f.startswith(("avx", "fma", "sse4", "amx")))
    return info


def write_chart(report, out, chart):
    """The PNG of docs/performance.md from a report (peer.json's content), with gnuplot."""
    if not shutil.which("gnuplot"):
        print("gnuplot not found: no chart")
        return
    threads = report["threads"]
    dat = os.path.join(out, "peer_chart.dat")
    with open(dat, "w") as f:
        f.write("# label scalar simd torch\n")
        for r in report["objective"]:
            f.write('"%d items" %g %g %g\n' % (r["n_items"], r["scalar_ms"], r["simd_ms"], r["torch_ms"]))
    sdat = os.path.join(out, "peer_select.dat")
    labels = {2000: "2k (cache)", 100000: "100k", 1000000: "1M (DRAM)"}
    with open(sdat, "w") as f:
        f.write("# label selection roofline\n")
        for r in report["selection"]:
            if r["backend"] == "simd":
                f.write('"%s" %g %g\n' % (labels[r["n_items"]], r["GB_per_s"], r["roofline_GB_per_s"]))
    gp = """
set terminal pngcairo size 1200,480 font ",11" noenhanced
set output '%s'
set multiplot layout 1,2
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key top left opaque box
set grid ytics
set logscale y
set ylabel 'ms per batch (log scale, lower is better)'
set title 'Objective fwd+bwd, workload W (%s, %d thread(s))'
plot '%s' using 2:xtic(1) title 'brmrs scalar', '' using 3 title 'brmrs SIMD', '' using 4 title 'PyTorch 1.13'
unset logscale y
set ylabel 'GB/s of item rows gathered'
set title 'Selection vs gather roofline (probe with prefetch, %d thread(s))'
set yrange [0:*]
set key top right opaque box
plot '%s' using 2:xtic(1) title 'brmrs SIMD selection', '' using 3 title 'roofline (random 256 B rows)'
unset multiplot
""" % (chart, report["machine"].get("Model name", "CPU").replace("'", ""), threads, dat, threads, sdat)
    p = subprocess.run(["gnuplot"], input=gp, text=True, stderr=subprocess.PIPE)
    if p.returncode != 0:
        sys.stderr.write("gnuplot failed: %s\n" % p.stderr)
    else:
        print("wrote %s" % chart)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", help="CMake build directory of brmrs")
    ap.add_argument("--out", default=None, help="output directory (default: a temporary one)")
    ap.add_argument("--repetitions", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3,
                    help="run the brmrs benchmarks this many times over, interleaved; best of all (default 3)")
    ap.add_argument("--torch-iters", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2,
                    help="threads for both sides: OMP_NUM_THREADS of the brmrs benchmarks and "
                         "torch.set_num_threads (default 2)")
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--chart", default=None, help="PNG path for the chart (default: OUT/performance_peer.png)")
    ap.add_argument("--torch-worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--warmup", type=int, default=2, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.torch_worker:
        torch_worker(a.torch_worker, a.torch_iters, a.warmup, a.threads)
        return 0
    if not a.build:
        ap.error("--build is required")
    smoke = a.smoke or os.environ.get("BRMRS_BENCH_SMOKE", "0") not in ("", "0")
    reps = 1 if smoke else a.repetitions
    rounds = 1 if smoke else max(1, a.rounds)
    out = a.out or tempfile.mkdtemp(prefix="brmrs_peer_")
    os.makedirs(out, exist_ok=True)
    bdir = os.path.join(a.build, "benchmarks")
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(a.threads)
    if smoke:
        env["BRMRS_BENCH_SMOKE"] = "1"
    import torch  # noqa: F401  (fail early if torch is missing)

    report = {"machine": machine(), "cpuinfo": cpuinfo(), "threads": a.threads, "repetitions": reps, "rounds": rounds,
              "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "(unset: libgomp default)"),
              "load_average_before": os.getloadavg(),
              "command": " ".join([sys.executable] + sys.argv), "smoke": smoke, "shapes": {}}
    ci = report["cpuinfo"]
    print("CPU: %s (vendor %s, family %s, model %s)" % (ci.get("model name", "?"), ci.get("vendor_id", "?"),
                                                        ci.get("cpu family", "?"), ci.get("model", "?")))
    print("SIMD flags: %s" % ci.get("simd flags", "?"))
    print("load average before: %.2f %.2f %.2f" % tuple(report["load_average_before"]))
    sizes = [2000, 100000]
    # 1-3: dump, check, time PyTorch.
    for n in sizes:
        d = os.path.join(out, "dump_%d" % n)
        os.makedirs(d, exist_ok=True)
        run([os.path.join(bdir, "peer", "brmrs_peer"), "--dump", d, "--items", str(n)], env=env)
        import torch as _t
        data = load_dump(d, _t)
        agree = check_agreement(data, a.threads)
        print("agreement n_items=%d: %s" % (n, json.dumps(agree)))
        if not agree["agree"]:
            sys.stderr.write("PyTorch and brmrs disagree on n_items=%d: %s\n" % (n, json.dumps(agree)))
            return 1
        del data
        settings = {}
        for label, extra in (("default malloc", {}), ("GLIBC_TUNABLES=glibc.malloc.hugetlb=1",
                                                      {"GLIBC_TUNABLES": "glibc.malloc.hugetlb=1"})):
            e = dict(env)
            e.update(extra)
            iters = 2 if smoke else a.torch_iters
            o = run([sys.executable, os.path.abspath(__file__), "--torch-worker", d, "--torch-iters", str(iters),
                     "--warmup", "1" if smoke else str(a.warmup), "--threads", str(a.threads)], env=e)
            w = json.loads(o.strip().splitlines()[-1])
            settings[label] = {"best_ms": min(w["times_ms"]), "median_ms": float(np.median(w["times_ms"])),
                               "threads": w["threads"], "torch": w["torch"]}
        best = min(settings, key=lambda k: settings[k]["best_ms"])
        report["shapes"][str(n)] = {"agreement": agree, "torch": settings, "torch_best_setting": best}
        if not a.out:
            shutil.rmtree(d, ignore_errors=True)

    # 4: the brmrs benchmarks, same invocation, in --rounds rounds (objective, selection, probe,
    # then again): the memory system's speed drifts over minutes on this shared machine, so each
    # figure is the best over every round, the selection's and the probe's alike, and no ratio
    # rests on one side having been measured in a slow minute.
    def best_of(a, b):
        return {k: (b[k] if k in b and (k not in a or b[k]["ms"] < a[k]["ms"]) else a[k]) for k in set(a) | set(b)}

    # The hand loop (benchmarks/hand_loop, built only where the compiler targets AVX-512F) runs
    # right after the brmrs binary it is compared with, in every round.
    hand_bin = os.path.join(bdir, "hand_loop", "bench_hand_loop")
    have_hand = os.path.exists(hand_bin)
    if not have_hand:
        print("hand loop not built (%s: needs AVX-512F targeted): its targets are not evaluated" % hand_bin)
    obj, sel, roof, hand = {}, {}, {}, {}
    per_round = []
    for r in range(rounds):
        suffix = "" if rounds == 1 else "_r%d" % (r + 1)
        rs = gbench(os.path.join(bdir, "bench_select"), os.path.join(out, "bench_select%s.json" % suffix),
                    "^BM_select/(scalar|simd)/64/64/", reps, smoke, env)
        rh = {}
        if have_hand:
            rh = gbench(hand_bin, os.path.join(out, "bench_hand_select%s.json" % suffix), "^BM_hand_select/", reps, smoke, env)
        ro = gbench(os.path.join(bdir, "bench_objective"), os.path.join(out, "bench_objective%s.json" % suffix),
                    "^(BM_objective/(scalar|simd)|BM_objective_tables/simd)/64/64/items_(2000|100000)/", reps, smoke, env)
        if have_hand:
            rh.update(gbench(hand_bin, os.path.join(out, "bench_hand_objective%s.json" % suffix), "^BM_hand_objective",
                             reps, smoke, env))
        rr = gbench(os.path.join(bdir, "bench_roofline"), os.path.join(out, "bench_roofline%s.json" % suffix),
                    "^BM_gather/", reps, smoke, env)
        sel, hand, obj, roof = best_of(sel, rs), best_of(hand, rh), best_of(obj, ro), best_of(roof, rr)
        per_round.append({"select": rs, "hand": rh, "objective": ro, "roofline": rr})

    def roofline(rows):
        c = [v["bytes_per_second"] for k, v in roof.items() if k.startswith("BM_gather/probe/64/%d/" % rows)]
        return max(c) if c else float("nan")

    rows = []
    for n in sizes:
        sh = report["shapes"][str(n)]
        t_sc = obj["BM_objective/scalar/64/64/items_%d" % n]["ms"]
        t_simd = obj["BM_objective/simd/64/64/items_%d" % n]["ms"]
        t_torch = sh["torch"][sh["torch_best_setting"]]["best_ms"]
        s_simd = sel["BM_select/simd/64/64/items_%d" % n]
        rows.append({"n_items": n, "scalar_ms": t_sc, "simd_ms": t_simd, "torch_ms": t_torch,
                     "torch_setting": sh["torch_best_setting"], "torch_over_simd": t_torch / t_simd,
                     "scalar_over_simd": t_sc / t_simd, "select_simd_ms": s_simd["ms"],
                     "objective_over_select": t_simd / s_simd["ms"]})
    # Selection vs roofline: in cache (2 000 rows) and DRAM (1 000 000 items: 2 x 256 MB).
    roof_rows = {2000: 2000, 1000000: 2000000}
    sel_rows = []
    for n, probe_rows in roof_rows.items():
        r = roofline(probe_rows)
        for be in ("scalar", "simd"):
            k = "BM_select/%s/64/64/items_%d" % (be, n)
            if k in sel:
                sel_rows.append({"n_items": n, "backend": be, "ms": sel[k]["ms"],
                                 "candidates_per_s": sel[k]["items_per_second"],
                                 "GB_per_s": sel[k]["bytes_per_second"] / 1e9,
                                 "roofline_GB_per_s": r / 1e9,
                                 "percent_of_roofline": 100.0 * sel[k]["bytes_per_second"] / r})
    k = "BM_select/simd/64/64/items_100000"
    if k in sel:
        sel_rows.append({"n_items": 100000, "backend": "simd", "ms": sel[k]["ms"],
                         "candidates_per_s": sel[k]["items_per_second"], "GB_per_s": sel[k]["bytes_per_second"] / 1e9,
                         "roofline_GB_per_s": roofline(2000000) / 1e9,
                         "percent_of_roofline": 100.0 * sel[k]["bytes_per_second"] / roofline(2000000)})
    report["objective"] = rows
    report["selection"] = sel_rows
    report["roofline_GB_per_s"] = {"in_cache_2000_rows": roofline(2000) / 1e9, "dram_2000000_rows": roofline(2000000) / 1e9}

    # The issue-20 targets: each ratio from the best of all rounds, and its range over the rounds
    # (every round's figures are the best of --repetitions, measured side by side).
    def roof_of(rr, rows_):
        c = [v["bytes_per_second"] for k, v in rr.items() if k.startswith("BM_gather/probe/64/%d/" % rows_)]
        return max(c) if c else float("nan")

    def ratio(fn):
        best = fn(sel, hand, obj, roof)
        rounds_ = []
        for pr in per_round:
            try:
                rounds_.append(fn(pr["select"], pr["hand"], pr["objective"], pr["roofline"]))
            except KeyError:
                pass
        return best, rounds_

    targets = []

    def target(name, fn, op, bound, unit="x"):
        try:
            best, rr = ratio(fn)
        except KeyError:
            targets.append({"target": name, "bound": bound, "op": op, "value": None, "met": None})
            return
        met = best >= bound if op == ">=" else best <= bound
        targets.append({"target": name, "op": op, "bound": bound, "value": best, "rounds": rr, "unit": unit,
                        "met": bool(met), "met_in_rounds": sum(1 for v in rr if (v >= bound if op == ">=" else v <= bound))})

    for n in sizes:
        if have_hand:
            target("SIMD selection / hand loop, candidates/s, %d items" % n,
                   lambda s_, h, o, r_, n=n: s_["BM_select/simd/64/64/items_%d" % n]["items_per_second"]
                   / h["BM_hand_select/%d" % n]["items_per_second"], ">=", 1.0)
    for n in sizes:
        if have_hand:
            target("objective (per-example rows) / hand loop, time, %d items" % n,
                   lambda s_, h, o, r_, n=n: o["BM_objective/simd/64/64/items_%d" % n]["ms"]
                   / h["BM_hand_objective/%d" % n]["ms"], "<=", 1.1)
    for n in sizes:
        target("objective into tables / per-example objective, time, %d items" % n,
               lambda s_, h, o, r_, n=n: o["BM_objective_tables/simd/64/64/items_%d" % n]["ms"]
               / o["BM_objective/simd/64/64/items_%d" % n]["ms"], "<=", 1.3)
    target("in-cache selection (2 000 items) / gather roofline (2 000 rows)",
           lambda s_, h, o, r_: 100.0 * s_["BM_select/simd/64/64/items_2000"]["bytes_per_second"] / roof_of(r_, 2000),
           ">=", 70.0, "%")
    report["targets"] = targets
    hand_rows = []
    if have_hand:
        for n in sizes:
            row = {"n_items": n}
            for what, bk, hk in (("select", "BM_select/simd/64/64/items_%d", "BM_hand_select/%d"),
                                 ("objective", "BM_objective/simd/64/64/items_%d", "BM_hand_objective/%d"),
                                 ("objective_tables", "BM_objective_tables/simd/64/64/items_%d",
                                  "BM_hand_objective_tables/%d")):
                b_, h_ = (sel if what == "select" else obj).get(bk % n), hand.get(hk % n)
                if b_ and h_:
                    row[what] = {"brmrs_ms": b_["ms"], "hand_ms": h_["ms"], "brmrs_over_hand_time": b_["ms"] / h_["ms"],
                                 "brmrs_candidates_per_s": b_["items_per_second"],
                                 "hand_candidates_per_s": h_["items_per_second"]}
            hand_rows.append(row)
    report["hand_loop"] = hand_rows

    # 5: the table.
    print()
    report["load_average_after"] = os.getloadavg()
    print("Objective forward+backward, workload W (best of %d x %d rounds; %d threads for brmrs and PyTorch; "
          "load average before/after %s / %s)" % (reps, rounds, a.threads, "%.1f" % report["load_average_before"][0],
                                                  "%.1f" % report["load_average_after"][0]))
    print("| n_items | brmrs scalar ms | brmrs SIMD ms | PyTorch ms | PyTorch / SIMD | scalar / SIMD | SIMD objective / selection | PyTorch setting |")
    print("|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print("| %d | %.3f | %.3f | %.2f | %.0fx | %.1fx | %.2fx | %s |" % (
            r["n_items"], r["scalar_ms"], r["simd_ms"], r["torch_ms"], r["torch_over_simd"], r["scalar_over_simd"],
            r["objective_over_select"], r["torch_setting"]))
    print()
    print("Selection (fused gather-score-argmax) vs the gather roofline")
    print("| n_items | backend | ms | candidates/s | GB/s | roofline GB/s | % of roofline |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for r in sel_rows:
        print("| %d | %s | %.3f | %.3g | %.1f | %.1f | %.0f%% |" % (r["n_items"], r["backend"], r["ms"],
              r["candidates_per_s"], r["GB_per_s"], r["roofline_GB_per_s"], r["percent_of_roofline"]))
    if hand_rows:
        print()
        print("brmrs SIMD vs the hand-written AVX-512 loop (benchmarks/hand_loop), best of %d x %d rounds" % (reps, rounds))
        print("| n_items | work | brmrs ms | hand ms | brmrs / hand time | brmrs Mcand/s | hand Mcand/s |")
        print("|---:|---|---:|---:|---:|---:|---:|")
        for row in hand_rows:
            for what in ("select", "objective", "objective_tables"):
                if what in row:
                    x = row[what]
                    print("| %d | %s | %.3f | %.3f | %.2fx | %.0f | %.0f |" % (
                        row["n_items"], what, x["brmrs_ms"], x["hand_ms"], x["brmrs_over_hand_time"],
                        x["brmrs_candidates_per_s"] / 1e6, x["hand_candidates_per_s"] / 1e6))
    print()
    print("Issue-20 targets (value: best of all rounds; rounds: the same ratio from each round's figures)%s"
          % ("  [SMOKE: tiny shapes, not a timing]" if smoke else ""))
    print("| target | bound | value | rounds | met |")
    print("|---|---:|---:|---|---|")
    for t in targets:
        if t["value"] is None:
            print("| %s | %s %g | n/a | | not measured |" % (t["target"], t["op"], t["bound"]))
            continue
        fmt = "%.0f%%" if t["unit"] == "%" else "%.2fx"
        print("| %s | %s %s | %s | %s | %s (%d of %d rounds) |" % (
            t["target"], t["op"], fmt % t["bound"], fmt % t["value"], ", ".join(fmt % v for v in t["rounds"]),
            "MET" if t["met"] else "NOT MET", t["met_in_rounds"], len(t["rounds"])))
    print("load average before: %.2f %.2f %.2f; after: %.2f %.2f %.2f" % (
        tuple(report["load_average_before"]) + tuple(report["load_average_after"])))
    print("CPU: %s; SIMD flags: %s" % (ci.get("model name", "?"), ci.get("simd flags", "?")))
    with open(os.path.join(out, "peer.json"), "w") as f:
        json.dump(report, f, indent=2)
    print("\nwrote %s" % os.path.join(out, "peer.json"))

    # 6: the chart.
    write_chart(report, out, a.chart or os.path.join(out, "performance_peer.png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
