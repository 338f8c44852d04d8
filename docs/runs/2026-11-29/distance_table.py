"""distance.sh's rounds: one row per round, the DRAM selection at each look-ahead, from its JSON files."""
import json, os, sys
d = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "json")
print("| round | 16 slots | 32 slots (default) | 64 slots |")
print("|---:|---:|---:|---:|")
for a in range(1, 6):
    r = []
    for dd in (16, 32, 64):
        b = [x for x in json.load(open("%s/dist%d_%d.json" % (d, a, dd)))["benchmarks"] if x.get("run_type") == "iteration"][0]
        r.append("%.0f us (%.1f GB/s)" % (b["real_time"], b["bytes_per_second"] / 1e9))
    print("| %d | " % a + " | ".join(r) + " |")
