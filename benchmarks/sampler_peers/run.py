#!/usr/bin/python3
"""benchmarks/sampler_peers/run.py — brmrs's negative sampler against the samplers users write
instead, in one run, as a Markdown table of pools/s (one pool = K negatives for one example).

Peers (each is checked before it is timed: every id in [0, n_items), no id an observed item of
its user):
  torch rejection   torch.randint for the whole batch, then a membership test of (user, item)
                    keys against the sorted observed keys by torch.searchsorted; the entries that
                    hit an observed item are drawn again until none does; timed with 1 and
                    --threads intra-op threads, the better counts.
  RecBole loop      RecBole's per-user rejection: one np.random.randint for every slot, then a
                    Python loop over the slots still to check, `v in used_ids[user]` against a
                    Python set per user, redrawing the hits until none is left.
  NumPy choice      per example: free = np.setdiff1d(arange(n_items), observed row), then
                    rng.choice(free, K) (with replacement, as brmrs).
  brmrs             brmrs::sample_pools through brmrs_sampler_timer (OpenMP, --threads threads).
brmrs runs with OMP_WAIT_POLICY=passive unless the environment sets it (see wait_policy).
Pools/s is the mean over what each sampler did within --seconds (the Python peers stop after the
first chunk past the limit, so a slow one is measured over a part of the batch). The Python-loop
peers run on one core (the GIL): the first ratio column takes every peer as it runs, the second
credits the loops with --threads x their rate (as if --threads processes scaled perfectly), a
lower bound on what brmrs gains over a parallelised loop.

Data: n_items in --items, density (share of items each user observed) in --densities; every user
has degree round(density * n_items), items uniform without replacement; n_users = 4096, fewer
when that would exceed --max-nnz observed pairs. The batch is --batch examples with users drawn
uniformly (seed 1). Setup (sets, sorted keys, the CSR store) is not timed for any sampler.

Usage: /usr/bin/python3 benchmarks/sampler_peers/run.py [--build build-rel] [--seconds 2]
The timer is built by `cmake --build BUILD --target brmrs_sampler_timer` (benchmarks/
sampler_peers/CMakeLists.txt). --smoke: tiny shapes, a check that everything runs.
"""
import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

# Before torch starts its OpenMP runtime: the same wait policy for torch and brmrs (wait_policy).
os.environ.setdefault("OMP_WAIT_POLICY", "passive")
import torch  # noqa: E402


def make_store(n_items, density, max_nnz, rng):
    deg = max(1, int(round(density * n_items)))
    n_users = int(min(4096, max(16, max_nnz // deg)))
    rows = np.empty((n_users, deg), dtype=np.int32)
    for u in range(n_users):
        # deg distinct ids uniform without replacement; a partial permutation when deg is small.
        if deg * 8 < n_items:
            got = np.unique(rng.integers(0, n_items, size=deg + deg // 2 + 16))
            while got.size < deg:
                got = np.unique(np.concatenate([got, rng.integers(0, n_items, size=deg)]))
            rows[u] = np.sort(rng.permutation(got)[:deg])
        else:
            rows[u] = np.sort(rng.choice(n_items, size=deg, replace=False))
    offsets = np.arange(n_users + 1, dtype=np.int64) * deg
    return n_users, deg, offsets, rows.reshape(-1)


def check_pools(name, pools, users, n_items, offsets, indices):
    """Every id in range and none observed by its user (a sorted-key membership test)."""
    pools = np.asarray(pools, dtype=np.int64)
    users = np.asarray(users, dtype=np.int64)
    if pools.shape[0] != users.shape[0]:
        raise SystemExit(f"{name}: {pools.shape[0]} pools for {users.shape[0]} users")
    if pools.min() < 0 or pools.max() >= n_items:
        raise SystemExit(f"{name}: id out of range [0, {n_items}): min {pools.min()}, max {pools.max()}")
    n_users = offsets.size - 1
    owner = np.repeat(np.arange(n_users, dtype=np.int64), np.diff(offsets))
    keys = owner * n_items + indices.astype(np.int64)  # sorted: CSR rows are sorted, users ascending
    q = (users[:, None] * n_items + pools).reshape(-1)
    pos = np.minimum(np.searchsorted(keys, q), keys.size - 1)
    bad = keys[pos] == q
    if bad.any():
        b = int(np.flatnonzero(bad)[0])
        raise SystemExit(f"{name}: pool entry {b} (user {users[b // pools.shape[1]]}) is observed item "
                         f"{pools.reshape(-1)[b]}")


class torch_rejection:
    def __init__(self, n_items, offsets, indices, K):
        n_users = offsets.size - 1
        owner = np.repeat(np.arange(n_users, dtype=np.int64), np.diff(offsets))
        self.keys = torch.from_numpy(owner * n_items + indices.astype(np.int64))
        self.n_items, self.K = n_items, K

    def observed(self, q):
        last = self.keys.numel() - 1
        return self.keys[torch.searchsorted(self.keys, q).clamp_(max=last)] == q

    def sample(self, users):
        u = torch.from_numpy(users.astype(np.int64))
        cand = torch.randint(0, self.n_items, (u.numel(), self.K), dtype=torch.int64)
        flat, owner = cand.view(-1), u.repeat_interleave(self.K)
        todo = torch.nonzero(self.observed(owner * self.n_items + flat)).view(-1)
        while todo.numel() > 0:  # redraw only the entries that hit an observed item
            new = torch.randint(0, self.n_items, (todo.numel(),), dtype=torch.int64)
            flat[todo] = new
            todo = todo[self.observed(owner[todo] * self.n_items + new)]
        return cand


class recbole_loop:
    def __init__(self, n_items, offsets, indices, K):
        self.n_items, self.K, self.offsets, self.indices = n_items, K, offsets, indices
        self.used = {}

    def prepare(self, users):  # RecBole builds used_ids once when the data set loads: not timed
        for u in np.unique(users):
            if u not in self.used:
                self.used[u] = set(self.indices[self.offsets[u]:self.offsets[u + 1]].tolist())

    def sample(self, users):
        key = np.repeat(users, self.K)
        value = np.zeros(key.size, dtype=np.int64)
        check = np.arange(key.size)
        used = self.used
        while check.size > 0:
            value[check] = np.random.randint(0, self.n_items, check.size)
            check = np.array([i for i, u, v in zip(check, key[check], value[check]) if v in used[u]], dtype=np.int64)
        return value.reshape(users.size, self.K)


class numpy_choice:
    def __init__(self, n_items, offsets, indices, K):
        self.all = np.arange(n_items, dtype=np.int32)
        self.offsets, self.indices, self.K = offsets, indices, K
        self.rng = np.random.default_rng(3)

    def sample(self, users):
        out = np.empty((users.size, self.K), dtype=np.int64)
        for b, u in enumerate(users):
            free = np.setdiff1d(self.all, self.indices[self.offsets[u]:self.offsets[u + 1]], assume_unique=True)
            out[b] = self.rng.choice(free, self.K)
        return out


def time_python_peer(name, peer, users, seconds, chunk, offsets, indices, n_items):
    """Checks the first chunk, then samples chunk after chunk until `seconds` of sampling time."""
    if hasattr(peer, "prepare"):
        peer.prepare(users[:chunk])
    check_pools(name, peer.sample(users[:chunk]), users[:chunk], n_items, offsets, indices)
    spent, done, start = 0.0, 0, 0
    while spent < seconds:
        part = users[start:start + chunk]
        if hasattr(peer, "prepare"):
            peer.prepare(part)
        t0 = time.perf_counter()
        peer.sample(part)
        spent += time.perf_counter() - t0
        done += part.size
        start = (start + chunk) % users.size
    return done / spent


def time_brmrs(timer, n_users, n_items, offsets, indices, users, K, seconds, threads):
    with tempfile.TemporaryDirectory(prefix="brmrs-sampler-peers-") as d:
        with open(os.path.join(d, "meta.txt"), "w") as f:
            f.write(f"{n_users} {n_items} {indices.size} {users.size}\n")
        offsets.astype(np.int64).tofile(os.path.join(d, "offsets.i64"))
        indices.astype(np.int32).tofile(os.path.join(d, "indices.i32"))
        users.astype(np.int32).tofile(os.path.join(d, "users.i32"))
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), OMP_WAIT_POLICY=wait_policy())
        out = subprocess.run([timer, d, str(K), str(seconds)], env=env, check=True, capture_output=True,
                             text=True).stdout.split()
        pools = np.fromfile(os.path.join(d, "brmrs_pools.i32"), dtype=np.int32).reshape(users.size, K)
        check_pools("brmrs", pools, users, n_items, offsets, indices)
        if int(out[3]) != threads:
            raise SystemExit(f"brmrs_sampler_timer ran with {out[3]} threads, asked for {threads}")
        return float(out[1])


def wait_policy():
    # Spinning OpenMP threads (libgomp's default) lose whole time slices on a shared machine;
    # `passive` costs ~40 us per parallel region (docs/performance.md), < 10 % of a 4096-example call.
    return os.environ["OMP_WAIT_POLICY"]


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build-rel", help="CMake build folder holding the timer")
    ap.add_argument("--items", default="10000,100000,1000000")
    ap.add_argument("--densities", default="0.001,0.05")
    ap.add_argument("--K", type=int, default=64)
    ap.add_argument("--batch", type=int, default=4096)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=2.0, help="sampling time per sampler and shape")
    ap.add_argument("--max-nnz", type=int, default=8_000_000)
    ap.add_argument("--smoke", action="store_true", help="tiny shapes and times: a check that it runs")
    a = ap.parse_args()
    if a.smoke:
        a.items, a.seconds, a.batch, a.max_nnz = "2000", 0.05, 256, 200_000
    timer = os.path.join(a.build, "benchmarks", "sampler_peers", "brmrs_sampler_timer")
    if not os.access(timer, os.X_OK):
        raise SystemExit(f"{timer} not found: cmake --build {a.build} --target brmrs_sampler_timer")
    np.random.seed(2)
    load0 = os.getloadavg()
    print(f"# sampler peers: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {cpu_name()}, "
          f"{os.cpu_count()} CPUs, torch {torch.__version__}, numpy {np.__version__}")
    print(f"# load average before: {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}")
    print(f"# K = {a.K}, batch {a.batch}, {a.threads} threads for brmrs, {a.seconds:g} s per sampler, "
          f"OMP_WAIT_POLICY={wait_policy()}; pools/s (one pool = K ids)\n")
    print("| n_items | density | degree | users | torch rejection | RecBole loop | NumPy choice | brmrs | "
          f"brmrs / best peer | brmrs / best peer, loops x{a.threads} |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    worst, worst_credited = None, None
    for n_items in [int(float(x)) for x in a.items.split(",")]:
        for density in [float(x) for x in a.densities.split(",")]:
            rng = np.random.default_rng(1)
            n_users, deg, offsets, indices = make_store(n_items, density, a.max_nnz, rng)
            users = rng.integers(0, n_users, size=a.batch).astype(np.int64)
            args = (n_items, offsets, indices, a.K)
            tr = torch_rejection(*args)
            check_pools("torch rejection", tr.sample(users).numpy(), users, n_items, offsets, indices)
            r_torch = 0.0
            for threads in sorted({1, a.threads}):  # the better of one thread and --threads
                torch.set_num_threads(threads)
                spent, done = 0.0, 0
                while spent < a.seconds / 2:
                    t0 = time.perf_counter()
                    tr.sample(users)
                    spent += time.perf_counter() - t0
                    done += users.size
                r_torch = max(r_torch, done / spent)
            r_rec = time_python_peer("RecBole loop", recbole_loop(*args), users, a.seconds, 64, offsets, indices, n_items)
            r_np = time_python_peer("NumPy choice", numpy_choice(*args), users, a.seconds, 16, offsets, indices, n_items)
            r_br = time_brmrs(timer, n_users, n_items, offsets, indices, users, a.K, a.seconds, a.threads)
            ratio = r_br / max(r_torch, r_rec, r_np)
            credited = r_br / max(r_torch, a.threads * r_rec, a.threads * r_np)
            worst = ratio if worst is None else min(worst, ratio)
            worst_credited = credited if worst_credited is None else min(worst_credited, credited)
            print(f"| {n_items:,} | {100 * density:g} % | {deg:,} | {n_users:,} | {r_torch:,.0f} | {r_rec:,.0f} | "
                  f"{r_np:,.0f} | {r_br:,.0f} | {ratio:,.1f}x | {credited:,.1f}x |", flush=True)
    load1 = os.getloadavg()
    print(f"\n# load average after: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")
    for what, r in (("", worst), (f", loops x{a.threads}", worst_credited)):
        print(f"# smallest ratio brmrs / best peer{what}: {r:,.1f}x (target >= 50x: {'met' if r >= 50 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
