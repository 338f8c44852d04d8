#!/usr/bin/env bash
# brmrs CUDA device check: build, run the CUDA tests, time selection and the objective, print a
# table last. Meant for a machine with an NVIDIA GPU (an H100/H200 lent for a few minutes); sized
# to finish in well under 5 minutes. Run from anywhere:
#   bash benchmarks/cuda/device_check.sh
# Needs nvcc and a host C++ compiler; CMake, Catch2 and Google Benchmark are NOT needed (every
# program is built with plain nvcc, for this GPU's architecture, -arch=native). PyTorch with CUDA
# is used for the comparison column when `python3 -c "import torch"` works; otherwise the table
# says so. $OUT (default /tmp/brmrs-device-check) receives four files: summary.txt (what is printed
# at the end), logs.txt (every build, test, sanitizer and timing log), bench_cuda.csv and
# torch.json. Exit status: non-zero when a build or a test failed or skipped (a GPU is expected).
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
final=${OUT:-/tmp/brmrs-device-check}
mkdir -p "$final"
build="${BRMRS_DEVICE_BUILD:-/tmp/brmrs-device-build}"
OUT="$build/logs"  # detailed logs; collected into $final/logs.txt on exit
rm -rf "$OUT"
mkdir -p "$OUT"
collect() { for f in "$OUT"/*; do echo "===== $(basename "$f")"; cat "$f"; done >"$final/logs.txt" 2>/dev/null; }
trap collect EXIT
status=0
t0=$(date +%s)
log() { echo "[device_check $(( $(date +%s) - t0 ))s] $*"; }

log "host $(uname -n), $(date -u)"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv 2>&1 | tee "$OUT/nvidia-smi.txt" || true

NVCC=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
if ! "$NVCC" --version >"$OUT/nvcc.txt" 2>&1; then
  log "FAIL: no nvcc ($NVCC)"; exit 2
fi
log "$(tail -1 "$OUT/nvcc.txt")"
cc=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d '.[:space:]')
if [ -n "$cc" ]; then arch="-arch=sm_$cc"; else arch=-arch=native; fi
log "building with $arch"

# 1675: a host-only "#pragma GCC unroll" that nvcc's front end does not know (harmless).
flags=(-std=c++17 -O3 "$arch" -I"$root/include" -Xcompiler=-Wall,-Wextra -diag-suppress=1675 -lineinfo)
progs=(tests/cuda/test_cuda_validation tests/cuda/test_cuda_sampler tests/cuda/test_cuda_objective benchmarks/cuda/bench_cuda)
pids=()
for p in "${progs[@]}"; do
  n=$(basename "$p")
  extra=()
  [ "$n" = bench_cuda ] && extra=(-Xptxas=-v)  # registers, stack and spills of every kernel, in logs.txt
  "$NVCC" "${flags[@]}" "${extra[@]}" -o "$build/$n" "$root/$p.cu" >"$OUT/build_$n.log" 2>&1 &
  pids+=($!)
done
built=1
for i in "${!progs[@]}"; do
  n=$(basename "${progs[$i]}")
  if wait "${pids[$i]}"; then log "built $n"; else log "BUILD FAILED: $n"; tail -30 "$OUT/build_$n.log"; built=0; status=1; fi
done
[ "$built" = 1 ] || { log "stopping: build failed"; exit 1; }

# Tests: fresh seeds each run (printed, so a failure can be replayed).
seed=${BRMRS_SEED:-$(( ($(date +%s%N) / 1000) % 1000000007 ))}
results=()
for n in test_cuda_validation test_cuda_sampler test_cuda_objective; do
  arg=""
  [ "$n" != test_cuda_validation ] && arg=$seed
  timeout 180 "$build/$n" $arg >"$OUT/$n.log" 2>&1
  rc=$?
  case $rc in
    0) r="PASS" ;;
    77) r="SKIP, but this script expects a GPU: $(grep -m1 SKIP "$OUT/$n.log")"; status=1 ;;
    124) r="TIMEOUT"; status=1 ;;
    *) r="FAIL (exit $rc)"; status=1 ;;
  esac
  results+=("$n: $r")
  log "$n: $r"
  [ "$rc" != 0 ] && tail -25 "$OUT/$n.log"
done

# Memory checker on the parity tests, bounded (works on the Firecracker machines, not on gVisor).
if command -v compute-sanitizer >/dev/null 2>&1 && [ "${BRMRS_SANITIZER:-1}" = 1 ]; then
  for n in test_cuda_sampler test_cuda_objective; do
    timeout 120 compute-sanitizer --tool memcheck --error-exitcode 9 "$build/$n" "$seed" >"$OUT/memcheck_$n.log" 2>&1
    rc=$?
    case $rc in
      0) r="clean" ;;
      124) r="timed out at 120 s (not a finding)" ;;
      9) r="ERRORS (see $OUT/memcheck_$n.log)"; status=1 ;;
      *) r="exit $rc (see $OUT/memcheck_$n.log)" ;;
    esac
    results+=("memcheck $n: $r")
  done
  log "memcheck done"
fi

# PyTorch eager timings of the same objective (needs torch with CUDA).
PY=${PYTHON:-python3}
timeout 150 "$PY" benchmarks/cuda/torch_objective.py --json "$OUT/torch.json" >"$OUT/torch.log" 2>&1 ||
  echo "{\"note\": \"torch_objective.py failed: $(tail -1 "$OUT/torch.log" | tr -d '"\\')\"}" >"$OUT/torch.json"
log "torch: $(head -c 300 "$OUT/torch.json")"

# Timings; the table is printed last.
timeout 200 "$build/bench_cuda" --torch-json "$OUT/torch.json" --csv "$OUT/bench_cuda.csv" >"$OUT/bench.log" 2>&1
brc=$?
[ $brc != 0 ] && { status=1; tail -20 "$OUT/bench.log"; }
{
  echo
  echo "== brmrs device check ($(( $(date +%s) - t0 )) s), seed $seed"
  for r in "${results[@]}"; do echo "  $r"; done
  echo "  bench_cuda: exit $brc"
  sed -n '/^== brmrs CUDA timings/,$p' "$OUT/bench.log"
} >"$final/summary.txt"
cp "$OUT/torch.json" "$final/" 2>/dev/null
cp "$OUT/bench_cuda.csv" "$final/" 2>/dev/null
cat "$final/summary.txt"
exit $status
