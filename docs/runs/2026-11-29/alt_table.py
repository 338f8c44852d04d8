"""alt.sh's alternations: each benchmark's repetitions in decimal GB/s (the console prints GiB/s), from its JSON files."""
import json, os, sys
d = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "json")
cols = ["pf_32", "pf_64", "pf_32_l2", "pf_64_l2", "selection"]
print("| alternation | " + " | ".join("probe " + c if c != "selection" else "selection (1 000 000 items)" for c in cols) + " |")
print("|---:|" + "---:|" * len(cols))
for a in range(1, 4):
    rates = {c: [] for c in cols}
    for f in ("probe", "select"):
        for b in json.load(open("%s/alt%d_%s.json" % (d, a, f)))["benchmarks"]:
            if b.get("run_type") != "iteration":
                continue
            c = "selection" if f == "select" else b["name"].split("/")[4]
            rates[c].append(b["bytes_per_second"] / 1e9)
    print("| %d | " % a + " | ".join("%.1f-%.1f" % (min(rates[c]), max(rates[c])) for c in cols) + " |")
