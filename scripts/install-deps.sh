#!/usr/bin/env bash
# Installs the Debian packages brmrs's build, tests, benchmarks and examples need, and nothing
# else: nothing is ever fetched at configure or build time. As root it runs apt-get; otherwise
# it prints the exact apt-get line to run and exits 1 when something is missing.
set -euo pipefail
# pybind11-dev is listed because python3-torch only recommends it and the brmrs Python package
# (python/) compiles against its headers; python3-pip, -setuptools and -wheel build and install that
# package offline, python3-pytest and python3-scipy run its tests (python/tests).
packages=(
  build-essential cmake ninja-build pkg-config
  libeigen3-dev xtensor-dev xtl-dev libxsimd-dev
  catch2 libbenchmark-dev
  python3 python3-dev python3-numpy python3-torch libtorch-dev pybind11-dev
  python3-pip python3-setuptools python3-wheel python3-pytest python3-scipy
  gnuplot-nox
)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
line="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages; run as root:" >&2
  echo "  apt-get update && $line" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends "${missing[@]}"
