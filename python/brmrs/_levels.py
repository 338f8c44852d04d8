"""Which x86-64 levels this CPU runs, best first: read by brmrs/__init__.py (to import the
extension module built for it) and by setup.py (BRMRS_LEVELS=native builds that one alone). No
torch import, so setup.py can load this file before the package exists."""

V3 = {"avx2", "fma", "bmi2", "f16c", "movbe"}
V4 = V3 | {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"}


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def runnable_levels():
    """["v4", "v3"], ["v3"] or []: the x86-64 levels whose module this CPU can import."""
    flags = cpu_flags()
    return [lv for lv, need in (("v4", V4), ("v3", V3)) if need <= flags]
