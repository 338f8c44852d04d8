#!/usr/bin/env bash
# The README's demo command: installs what is missing (install-deps.sh demo: no PyTorch), builds
# the training example in Release and runs the BPR / +CHNS / +synergy / full ablation on the
# built-in synthetic data set: 3 seeds x 30 epochs per variant (the example's default is 60
# epochs; docs/results.md has that run of record). It prints the table, the chart's path and the
# time taken. Extra arguments go to the example and override these
# (see `build/demo/examples/train/brmrs_train --help`). BRMRS_BUILD_ROOT picks the build folder.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
bash scripts/install-deps.sh demo
root=${BRMRS_BUILD_ROOT:-build}
dir="$root/demo"
mkdir -p "$dir"
log="$dir/build.log"
echo "demo: building the training example (Release) in $dir; build log: $log"
# The example alone: no tests, benchmarks or CUDA, so only the demo's dependencies are needed.
if ! { cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DBRMRS_BUILD_TESTS=OFF -DBRMRS_BUILD_BENCHMARKS=OFF \
         -DBRMRS_WITH_CUDA=OFF &&
       cmake --build "$dir" -j "$(nproc)" --target brmrs_train; } > "$log" 2>&1; then
  tail -n 25 "$log" >&2
  echo "demo: the build failed; the whole log is $log" >&2
  exit 1
fi
built=$(date +%s)
echo "demo: training (4 variants x 3 seeds x 30 epochs; a progress line on a terminal)"
"$dir/examples/train/brmrs_train" --epochs 30 --quiet "$@"
done_at=$(date +%s)
echo "demo: training $((done_at - built)) s; total $((done_at - start)) s (dependencies and build $((built - start)) s)"
