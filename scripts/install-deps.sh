#!/usr/bin/env bash
# Installs the Debian packages one purpose needs, and nothing else: nothing is ever fetched at
# configure or build time. As root it runs apt-get; otherwise it prints the exact apt-get line to
# run and exits 1 when something is missing.
#   install-deps.sh demo   the training example (scripts/demo.sh): compiler, CMake, xsimd, Eigen
#                          (the example's model), gnuplot (its chart); no PyTorch
#   install-deps.sh test   everything scripts/test.sh builds and runs (the default)
#   install-deps.sh check  test, plus clang-14 and libomp for scripts/fuzz.sh and tsan.sh (= all)
set -euo pipefail
purpose=${1:-all}
demo=(
  build-essential cmake pkg-config
  libxsimd-dev xtl-dev libeigen3-dev
  gnuplot-nox
)
# pybind11-dev is listed because python3-torch only recommends it and the brmrs Python package
# (python/) compiles against its headers; python3-pip, -setuptools and -wheel build and install that
# package offline, python3-pytest and python3-scipy run its tests (python/tests).
test=(
  "${demo[@]}" ninja-build
  xtensor-dev
  catch2 libbenchmark-dev
  python3 python3-dev python3-numpy python3-torch libtorch-dev pybind11-dev
  python3-pip python3-setuptools python3-wheel python3-pytest python3-scipy
)
# scripts/fuzz.sh (libFuzzer) and scripts/tsan.sh (ThreadSanitizer with LLVM's libomp and Archer).
check=(
  "${test[@]}" clang-14 libclang-rt-14-dev libomp-14-dev
)
case "$purpose" in
  demo) packages=("${demo[@]}") ;;
  test) packages=("${test[@]}") ;;
  check | all) packages=("${check[@]}") ;;
  *)
    echo "usage: install-deps.sh [demo|test|check|all]" >&2
    exit 2
    ;;
esac
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps ($purpose): all ${#packages[@]} packages present"
  exit 0
fi
line="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps ($purpose): missing packages; run as root:" >&2
  echo "  apt-get update && $line" >&2
  exit 1
fi
echo "install-deps ($purpose): installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
