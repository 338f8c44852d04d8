# Sourced by scripts/test.sh, build_checks.sh and sanitize_optional.sh: what their builds share.
# root: the build folders' parent (BRMRS_BUILD_ROOT, default build/); jobs: one per core.
root=${BRMRS_BUILD_ROOT:-build}
jobs=$(nproc)
# The tests run $jobs at a time and some deliberately oversubscribe the cores (the determinism
# tests use up to 7 OpenMP threads): with libgomp's default spinning, a thread waiting at a
# barrier for a descheduled one burns its time slice (a 0.4 s test took 24 s, 150 s under the
# sanitizers, on a loaded 2-core machine). Sleeping waits keep the suite's time independent of
# the load; results do not depend on it. A caller's own setting wins.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
# generator DIR: -GNinja for a new build folder when ninja is installed (it keeps both cores busy
# across targets, and its .ninja_log records each target's build time); nothing for a folder made
# earlier, which keeps its generator.
generator() {
  if [ ! -f "$1/CMakeCache.txt" ] && command -v ninja > /dev/null; then echo "-GNinja"; fi
}
# The sanitizer builds: Debug with -g1 (line tables, enough for the stack traces and cheaper to
# compile than -g), ASan+UBSan, no CUDA, benchmarks, examples, header or Python checks; and the
# run-time options that halt on the first error.
sanitize_options=(-DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 -DBRMRS_SANITIZE=address,undefined
  -DBRMRS_WITH_CUDA=OFF -DBRMRS_BUILD_BENCHMARKS=OFF -DBRMRS_BUILD_EXAMPLES=OFF
  -DBRMRS_BUILD_HEADER_CHECKS=OFF -DBRMRS_BUILD_PYTHON_CHECKS=OFF)
sanitizer_env() {
  export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=0
  export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
}
# python_install LEVELS DIR: the Python package (python/) built for the x86-64 LEVELS (setup.py's
# BRMRS_LEVELS: native, v3, ...) and installed offline into DIR/site; pip's output in DIR/pip.log.
python_install() {
  BRMRS_LEVELS=$1 /usr/bin/python3 -m pip install --no-build-isolation --no-deps --no-index \
    --target "$2/site" ./python > "$2/pip.log" 2>&1
}
# python_tests DIR: the package's pytest suite and the host model's tests against DIR/site, run
# from DIR (outside the tree, so the source folder cannot stand in for the installed package).
# pytest exits 5 when it collects no test, which fails like any other non-zero status.
python_tests() {
  local here=$PWD
  (cd "$1" && PYTHONPATH="$1/site" /usr/bin/python3 -m pytest -q -p no:cacheprovider "$here/python/tests" \
    "$here/examples/host/test_host.py")
}
