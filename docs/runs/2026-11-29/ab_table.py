"""The prefetcht1 / prefetcht0 A/B of measure.sh: one row per interleaved round, from its JSON files."""
import json, os, sys
d = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "json")
print("| round | selection, prefetcht1 | selection, prefetcht0 | objective, prefetcht1 | objective, prefetcht0 |")
print("|---:|---:|---:|---:|---:|")
for a in range(1, 6):
    t = {}
    for v in ("t1", "t0"):
        for k in ("select", "objective"):
            js = json.load(open("%s/ab%d_%s_%s.json" % (d, a, v, k)))
            t[v, k] = [b for b in js["benchmarks"] if b.get("run_type") == "iteration"][0]["real_time"]
    gb = lambda us: 131072 * 512 / (us * 1e-6) / 1e9  # W's candidates x M*d*4 bytes, decimal GB/s
    print("| %d | %.0f us (%.1f GB/s) | %.0f us (%.1f GB/s) | %.0f us | %.0f us |" % (
        a, t["t1", "select"], gb(t["t1", "select"]), t["t0", "select"], gb(t["t0", "select"]),
        t["t1", "objective"], t["t0", "objective"]))
