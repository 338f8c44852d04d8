#!/usr/bin/env bash
# The README's demo command: installs what is missing, builds the training example in Release and
# runs its default: the BPR / +CHNS / +synergy / full ablation on the built-in synthetic data set.
# Extra arguments go to the example (see `build/release/examples/train/brmrs_train --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
root=${BRMRS_BUILD_ROOT:-build}
cmake -S . -B "$root/release" -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build "$root/release" -j "$(nproc)" --target brmrs_train
exec "$root/release/examples/train/brmrs_train" "$@"
