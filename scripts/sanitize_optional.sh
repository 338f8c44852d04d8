#!/usr/bin/env bash
# The tests scripts/test.sh's core-only sanitizer build leaves out, in a Debug build with
# -fsanitize=address,undefined halting on the first error: those that need xsimd (the SIMD
# backend), Eigen or xtensor (the adapters), the warp emulation and the README example (ctest
# labels xsimd, eigen, xtensor, cuda-emulation, readme). The fuzz targets' corpora run under the
# same sanitizers in scripts/fuzz.sh. .ci/run calls this script after test.sh. Exits non-zero on
# any failure or when no test carries those labels (xsimd missing, say).
# BRMRS_BUILD_ROOT picks the build folder's parent (default build/).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh
build=$root/sanitize-optional
labels='^(xsimd|eigen|xtensor|cuda-emulation|readme)$'
start=$(date +%s)
cmake -S . -B "$build" $(generator "$build") "${sanitize_options[@]}" -DBRMRS_WITH_XSIMD=ON > /dev/null
# Only the labelled tests' executables: their names are their ctest names.
mapfile -t targets < <(cd "$build" && ctest -N -L "$labels" | sed -n 's/^ *Test *#[0-9]*: *//p')
if [ ${#targets[@]} -eq 0 ]; then
  echo "sanitize_optional.sh: no test carries the labels $labels" >&2
  exit 1
fi
echo "== tests under -fsanitize=address,undefined: ${targets[*]}"
cmake --build "$build" -j "$jobs" --target "${targets[@]}"
sanitizer_env
(cd "$build" && ctest --output-on-failure -j "$jobs" -L "$labels")
echo "== sanitizer tests of the optional features passed in $(( $(date +%s) - start )) s"
