"""Builds brmrs's PyTorch operators (brmrs/csrc/ops.cpp) against the repository's headers
(../include, found relative to this file; BRMRS_INCLUDE_DIR overrides it), no copy of them.

Two extension modules hold the same operators compiled for two x86-64 levels, and brmrs/__init__.py
imports the one the CPU runs (never both, so no inline function compiled for one instruction set
is ever linked into the other's code):
  brmrs._C_v4   -march=x86-64-v4 (AVX-512 F/BW/CD/DQ/VL): xsimd's avx512bw objective kernels and
                the AVX-512 sampler kernel
  brmrs._C_v3   -march=x86-64-v3 (AVX2, FMA, BMI2): xsimd's fma3<avx2> kernels, the portable
                sampler kernel; any x86-64 CPU since 2013 (Haswell, Zen)
On other machines one module brmrs._C_v0 is built for the compiler's default target (xsimd picks
what that enables). Both modules use -O3 and OpenMP. BRMRS_NO_XSIMD=1 builds the scalar backend
only; BRMRS_LEVELS=v3 (comma list) limits the levels built (faster local builds), and
BRMRS_LEVELS=native builds the one level brmrs would import on this CPU (scripts/test.sh).

The CUDA backend is not built: Debian's python3-torch 1.13 is a CPU-only build
(torch.version.cuda is None, there is no libc10_cuda / libtorch_cuda to link and no CUDA tensor
to receive), so CUDA tensors raise a RuntimeError naming this.
"""
import importlib.util
import os
import platform

from setuptools import setup
from torch.utils.cpp_extension import BuildExtension, CppExtension

HERE = os.path.dirname(os.path.abspath(__file__))
INCLUDE = os.environ.get("BRMRS_INCLUDE_DIR", os.path.join(HERE, os.pardir, "include"))
if not os.path.isfile(os.path.join(INCLUDE, "brmrs", "brmrs.hpp")):
    raise SystemExit(f"brmrs: headers not found at {os.path.abspath(INCLUDE)} (set BRMRS_INCLUDE_DIR)")
INCLUDE = os.path.abspath(INCLUDE)

common = ["-O3", "-g0", "-std=c++17", "-fopenmp", "-DNDEBUG"]
if os.environ.get("BRMRS_NO_XSIMD"):
    common.append("-DBRMRS_NO_XSIMD")


def native_level():
    """The level brmrs/__init__.py imports on this CPU (brmrs/_levels.py, loaded by path)."""
    spec = importlib.util.spec_from_file_location("_levels", os.path.join(HERE, "brmrs", "_levels.py"))
    levels = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(levels)
    runnable = levels.runnable_levels()
    if not runnable:
        raise SystemExit("brmrs: BRMRS_LEVELS=native, but this CPU runs neither x86-64-v4 nor x86-64-v3")
    return runnable[0]


if platform.machine().lower() in ("x86_64", "amd64"):
    levels = os.environ.get("BRMRS_LEVELS", "v4,v3").split(",")
    if levels == ["native"]:
        levels = [native_level()]
    arch = {"v3": ["-march=x86-64-v3", "-mtune=generic"], "v4": ["-march=x86-64-v4", "-mtune=generic"]}
else:
    levels, arch = ["v0"], {"v0": []}

# One source per level (each includes ops.cpp) so each gets its own object file; relative paths:
# setuptools wants sources inside the project folder.
ext_modules = [
    CppExtension(
        name=f"brmrs._C_{lv}",
        sources=[os.path.join("brmrs", "csrc", f"ops_{lv}.cpp")],
        include_dirs=[INCLUDE],
        extra_compile_args=common + arch[lv],
        extra_link_args=["-fopenmp"],
    )
    for lv in levels
]

setup(ext_modules=ext_modules, cmdclass={"build_ext": BuildExtension.with_options(use_ninja=True)})
