"""Issue 5's targets for each peer.json given: one row per run (the figures docs/performance.md tabulates)."""
import json, os, sys


def run_name(path):
    """r1 for r1.peer.json (this folder) or for /tmp/rec/r1/peer.json (where peer.py wrote it)."""
    base = os.path.basename(path)
    return base[: -len(".peer.json")] if base.endswith(".peer.json") else os.path.basename(os.path.dirname(path))


print("| run | threads | load before/after | PyTorch/SIMD 2000 | PyTorch/SIMD 100000 | in-cache % | DRAM % (sel / probe GB/s) | obj/sel 2000 | obj/sel 100000 |")
print("|---|---:|---|---:|---:|---:|---|---:|---:|")
for p in sys.argv[1:]:
    d = json.load(open(p))
    ob = {o["n_items"]: o for o in d["objective"]}
    se = {(s["n_items"], s["backend"]): s for s in d["selection"]}
    c, m = se[(2000, "simd")], se[(1000000, "simd")]
    print("| %s | %d | %.1f / %.1f | %.0fx | %.0fx | %.1f%% | %.1f%% (%.1f / %.1f) | %.2fx | %.2fx |" % (
        run_name(p), d["threads"], d["load_average_before"][0], d["load_average_after"][0],
        ob[2000]["torch_over_simd"], ob[100000]["torch_over_simd"], c["percent_of_roofline"],
        m["percent_of_roofline"], m["GB_per_s"], m["roofline_GB_per_s"],
        ob[2000]["objective_over_select"], ob[100000]["objective_over_select"]))
