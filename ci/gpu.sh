#!/usr/bin/env bash
# ci/gpu.sh - build, test and benchmark the CUDA backend on a GPU machine in
# one go; the benchmark table is printed last.
#
#   ci/gpu.sh [RESULTS_DIR]      (or CFUSER_GPU_RESULTS=dir)
#
# Optional: CFUSER_GPU_DEPS=dir holding lib/ and include/ of libraries the
# machine lacks (SLEEF, which the CPU executor, our reference, links).
# CFUSER_GPU_STAGES: which of "test probe sanitize cbench pytest pybench
# sweep conformance" run (default all but sweep; the builds always do).
# sweep: the reduction/normalization shape sweep (gpu_bench --sweep;
# CFUSER_GPU_SWEEP=quick|full, default quick, about 5 minutes), sweep.json
# and sweep.svg. conformance: the conformance kit against cfuser and
# NVIDIA's nvFuser (carry .nvfuser/carry, made by ci/nvfuser_fetch.sh;
# ci/nvfuser/gpu_stage.sh). CFUSER_GPU_PYSUITES: the suites/ folders the
# pytest stage runs (default "gpu python"). CFUSER_GPU_TRIALS: settings to
# compare, separated by '|', each one VAR=VALUE (CFUSER_CUDA_TUNE=...,
# CFUSER_NVRTC_OPTIONS=...), each measured with `gpu_bench --cfuser-only`
# before the main benchmark (kernel GB/s and first-compile time).
set -u -o pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RES=${1:-${CFUSER_GPU_RESULTS:-$ROOT/build-gpu/results}}
BUILD=$ROOT/build-gpu
mkdir -p "$RES" "$BUILD"
LOG=$RES/gpu_log.txt
: >"$LOG"
say() { echo "== $*" | tee -a "$LOG"; }
STAGES=" ${CFUSER_GPU_STAGES:-test probe sanitize cbench pytest pybench conformance} "
want() { [[ $STAGES == *" $1 "* ]]; }

EXTRA_CFLAGS=() EXTRA_LIBS=()
if [ -n "${CFUSER_GPU_DEPS:-}" ]; then
  D=$(cd "$CFUSER_GPU_DEPS" && pwd)
  mkdir -p "$BUILD/pkgconfig"
  printf 'Name: SLEEF\nDescription: SLEEF\nVersion: 3.5.1\nCflags: -I%s/include\nLibs: -L%s/lib -lsleef\n' \
    "$D" "$D" >"$BUILD/pkgconfig/sleef.pc"
  export PKG_CONFIG_PATH="$BUILD/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
  export LD_LIBRARY_PATH="$D/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  EXTRA_CFLAGS+=(-I"$D/include") EXTRA_LIBS+=(-L"$D/lib")
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | tee -a "$LOG"

say "build libcfuser (CMake)"
LIB=$BUILD/core/libcfuser_static.a
if ! { cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release \
         -DPython3_EXECUTABLE="$(command -v python3)" -DCFUSER_BUILD_TESTS=OFF \
         -DCFUSER_BUILD_HARNESS=OFF -DCFUSER_CUDA=ON >>"$LOG" 2>&1 &&
       cmake --build "$BUILD" -j"$(nproc)" --target cfuser_static >>"$LOG" 2>&1; }; then
  say "CMake build failed (see log); compiling core directly"
  mkdir -p "$BUILD/direct" && rm -f "$BUILD/direct"/*.o
  python3 "$ROOT/core/ops/opgen.py" "$ROOT/core/ops/ops.toml" --outdir "$BUILD/gen" >>"$LOG" 2>&1 || say "op registry generation failed"
  for f in "$ROOT"/core/src/*.c "$ROOT"/core/src/ir/*.c "$ROOT"/core/src/cpu/*.c "$ROOT"/core/src/cuda/*.c "$BUILD/gen/ops_registry.c"; do
    o=$BUILD/direct/$(echo "${f#$ROOT/}" | tr / _).o
    flags=(-std=c11 -O2 -fopenmp -D_GNU_SOURCE -DCFUSER_BUILDING=1 -DCFUSER_WITH_CUDA=1)
    case $f in *avx2*) flags+=(-mavx2 -mfma) ;; *avx512*) flags+=(-mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma) ;; esac
    cc "${flags[@]}" "${EXTRA_CFLAGS[@]}" -I"$ROOT/core/include" -I"$ROOT/core/src" -I"$BUILD/gen/include" -I"$BUILD/gen" \
       -isystem /usr/local/cuda/include -c "$f" -o "$o" >>"$LOG" 2>&1 || say "skip $f"
  done
  LIB=$BUILD/direct/libcfuser_direct.a
  rm -f "$LIB" && ar rcs "$LIB" "$BUILD"/direct/*.o
fi

say "build suites/gpu/gpu_test"
cc -std=c11 -O2 -g -D_GNU_SOURCE "${EXTRA_CFLAGS[@]}" -I"$ROOT/core/include" -I"$ROOT/core/src" -I"$BUILD/gen/include" \
   -isystem /usr/local/cuda/include "$ROOT/suites/gpu/gpu_test.c" "$LIB" \
   "${EXTRA_LIBS[@]}" -lsleef -fopenmp -lm -ldl -lpthread -o "$BUILD/gpu_test" 2>&1 | tee -a "$LOG"
T=$BUILD/gpu_test
[ -x "$T" ] || { say "gpu_test did not build"; exit 1; }

export XDG_CACHE_HOME=$BUILD/cache
rm -rf "$XDG_CACHE_HOME"
TEST_RC=0
if want test; then
  say "GPU tests (every op and dtype vs the CPU executor)"
  "$T" 2>&1 | tee "$RES/gpu_test.txt" | grep -v '^PASS' | tail -60
  TEST_RC=${PIPESTATUS[0]}
fi

if want probe; then
  say "first execute, compile and disk-cache times, host time per call (C)"
  rm -rf "$BUILD/probe-cache"
  XDG_CACHE_HOME=$BUILD/probe-cache "$T" --probe 2>&1 | sed 's/^/cold (NVRTC): /' | tee -a "$LOG"
  XDG_CACHE_HOME=$BUILD/probe-cache "$T" --probe 2>&1 | sed 's/^/warm (disk cache, fresh process): /' | tee -a "$LOG"
fi

SAN=compute-sanitizer
command -v $SAN >/dev/null || SAN=/usr/local/cuda/bin/compute-sanitizer
if ! want sanitize; then :
elif [ -x "$(command -v $SAN)" ]; then
  for tool in ${CFUSER_SAN_TOOLS:-memcheck racecheck}; do
    say "compute-sanitizer --tool $tool"
    $SAN --tool $tool --error-exitcode 9 "$T" --only "${CFUSER_SAN_FILTER:-}" \
      >"$RES/san_$tool.txt" 2>&1
    rc=$?
    echo "rc=$rc $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY|cases' "$RES/san_$tool.txt" | tr '\n' ' ')" | tee -a "$LOG"
    TEST_RC=$(( TEST_RC | rc ))
  done
else
  say "compute-sanitizer not found"
fi

if want cbench; then
  say "benchmarks (C, against a device copy)"
  "$T" --bench 2>&1 | tee "$RES/bench.txt"
fi

# The Python module on this machine's Python, as users get it: the wheel,
# installed into a venv that sees this Python's packages (torch, numpy,
# pytest); no network here, so it is built from the tree without build
# isolation (scikit-build-core from $CFUSER_GPU_WHEELS, a folder of wheels,
# when this Python lacks it; pytest and hypothesis from there too), or
# carried in as $CFUSER_WHEEL. Where neither
# works, the build tree is tested instead and the run fails (exit bit 2).
PY_RC=0
WHEEL_RC=0
VENV=$BUILD/venv
PYBIN=python3
install_wheel() {
  local whl=${CFUSER_WHEEL:-} dist=$BUILD/wheel
  if [ -z "$whl" ]; then
    if ! python3 -c 'import scikit_build_core' 2>/dev/null && [ -n "${CFUSER_GPU_WHEELS:-}" ]; then
      python3 -m pip install -q --no-index --find-links "$CFUSER_GPU_WHEELS" scikit-build-core >>"$LOG" 2>&1
    fi
    python3 -c 'import scikit_build_core' 2>/dev/null \
      || { say "wheel: scikit-build-core is not installed (set CFUSER_GPU_WHEELS or CFUSER_WHEEL)"; return 1; }
    rm -rf "$dist" && mkdir -p "$dist"
    CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) python3 -m pip wheel -q --no-deps --no-build-isolation --no-index \
      -w "$dist" -Cbuild-dir="$BUILD/wheel-tree" "$ROOT" >>"$LOG" 2>&1 || { say "wheel: build failed (see log)"; return 1; }
    whl=$(ls "$dist"/cfuser-*.whl)
    if python3 -m auditwheel --version >/dev/null 2>&1; then
      python3 -m auditwheel repair -w "$dist/repaired" "$whl" >>"$LOG" 2>&1 && whl=$(ls "$dist"/repaired/cfuser-*.whl)
    fi
  fi
  rm -rf "$VENV"
  python3 -m venv --system-site-packages "$VENV" >>"$LOG" 2>&1 || { say "wheel: python3 -m venv failed"; return 1; }
  # --system-site-packages reaches the base interpreter's packages only; where
  # python3 is itself a venv (torch installed there), a .pth names its folders
  python3 -c 'import site; print("\n".join(site.getsitepackages()))' \
    >"$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/_cfuser_parent.pth"
  "$VENV/bin/python" -m pip install -q --no-deps --no-index --force-reinstall "$whl" >>"$LOG" 2>&1 \
    || { say "wheel: installing $whl failed"; return 1; }
  # test tools this Python lacks, from the same folder of wheels
  local mod
  for mod in pytest hypothesis; do
    "$VENV/bin/python" -c "import $mod" 2>/dev/null && continue
    [ -n "${CFUSER_GPU_WHEELS:-}" ] && "$VENV/bin/python" -m pip install -q --no-index \
      --find-links "$CFUSER_GPU_WHEELS" "$mod" >>"$LOG" 2>&1 \
      || say "wheel: $mod is neither installed nor in \$CFUSER_GPU_WHEELS"
  done
  say "wheel: $(basename "$whl") installed: $(cd / && "$VENV/bin/python" -c 'import cfuser; print(cfuser.__version__, cfuser.__file__)')"
}
if ! want pytest && ! want pybench && ! want sweep && ! want conformance; then
  PYSUITES=  # no Python stage: no wheel
elif say "the cfuser wheel (built here from the tree, or \$CFUSER_WHEEL)"; install_wheel; then
  PYBIN=$VENV/bin/python
  unset PYTHONPATH
  PYSUITES=$BUILD/installed-suites  # copies: nothing imports from the tree
  rm -rf "$PYSUITES" && mkdir -p "$PYSUITES" && cp -r "$ROOT/suites/gpu" "$ROOT/suites/python" "$PYSUITES/"
elif cmake --build "$BUILD" -j"$(nproc)" --target _C >>"$LOG" 2>&1; then
  say "testing the build tree instead of the wheel"
  WHEEL_RC=2
  export PYTHONPATH=$BUILD/python${PYTHONPATH:+:$PYTHONPATH}
  PYSUITES=$ROOT/suites
else
  say "the module did not build (see $LOG)"; tail -30 "$LOG"; PY_RC=1; PYSUITES=
fi
if [ -n "$PYSUITES" ]; then
  if want pytest; then
    say "Python API tests on CUDA tensors (suites/gpu) and the CPU suites (suites/python)"
    ign=()
    "$PYBIN" -c "import mypy" 2>/dev/null || { ign=(--ignore="$PYSUITES/python/test_stubs.py" --ignore="$PYSUITES/python/test_typing.py"); say "mypy is not installed here: the stub checks run on the CPU machines only"; }
    # shellcheck disable=SC2086
    (cd "$PYSUITES" && CFUSER_REQUIRE_CUDA=1 "$PYBIN" -m pytest -q -p no:cacheprovider "${ign[@]}" ${CFUSER_GPU_PYSUITES:-gpu python} \
      --junitxml="$RES/pytest_gpu.xml") >"$RES/pytest_gpu.txt" 2>&1
    PY_RC=$?
    grep -E '^(FAILED|ERROR)' "$RES/pytest_gpu.txt" | head -40
    tail -3 "$RES/pytest_gpu.txt"
    say "nvFuser-style programs on CUDA tensors (suites/nvfuser_style)"
    rm -rf "$BUILD/nvfuser_style" && cp -r "$ROOT/suites/nvfuser_style" "$BUILD/nvfuser_style"
    (cd "$BUILD" && CFUSER_REQUIRE_CUDA=1 "$PYBIN" -m pytest -q -p no:cacheprovider nvfuser_style) >"$RES/nvfuser_style_gpu.txt" 2>&1
    PY_RC=$(( PY_RC | $? ))
    grep -E '^(FAILED|ERROR|nvfuser-style programs)' "$RES/nvfuser_style_gpu.txt" | head -40
  fi
  if want pybench; then
    IFS='|' read -r -a trials <<<"${CFUSER_GPU_TRIALS:-}"
    for i in "${!trials[@]}"; do
      say "trial: ${trials[$i]}"
      (cd "$ROOT" && env "${trials[$i]}" "$PYBIN" -m perf.gpu_bench --cfuser-only \
        --out "$RES/gpu_bench_trial$i.json") 2>>"$RES/gpu_bench_err.txt" | tee "$RES/gpu_bench_trial$i.txt"
    done
    say "benchmarks (Python, against torch eager, torch.compile and a device copy)"
    (cd "$ROOT" && "$PYBIN" -m perf.gpu_bench --out "$RES/gpu_bench.json" ${CFUSER_GPU_BENCH_ARGS:-}) 2>>"$RES/gpu_bench_err.txt"
    PY_RC=$(( PY_RC | $? ))
  fi
  if want sweep; then
    say "reduction/normalization sweep (${CFUSER_GPU_SWEEP:-quick})"
    # NVIDIA's nvFuser as a column where it is carried (.nvfuser/carry), set
    # up in a subshell so the stages after this one do not see it
    (
      if [ -f "$ROOT/.nvfuser/carry/nvfuser-tree.tar.xz" ]; then
        if msg=$(bash "$ROOT/ci/nvfuser/setup.sh" "$BUILD/nvfuser" 2>&1); then
          # shellcheck disable=SC1091
          source "$BUILD/nvfuser/env.sh"
        else
          echo "sweep: nvFuser column left out: $msg"
        fi
      fi
      cd "$ROOT" && "$PYBIN" -m perf.gpu_bench --sweep "${CFUSER_GPU_SWEEP:-quick}" --sweep-out "$RES" \
        --out "$RES/gpu_sweep.json"
    ) 2>>"$RES/gpu_sweep_err.txt" | tee "$RES/gpu_sweep.txt"
    PY_RC=$(( PY_RC | ${PIPESTATUS[0]} ))
  fi
  if want conformance; then
    say "conformance kit: cfuser and NVIDIA's nvFuser, item by item (suites/conformance)"
    bash "$ROOT/ci/nvfuser/gpu_stage.sh" "$PYBIN" "$RES" "$BUILD" | tee -a "$LOG"
  fi
fi
exit $(( TEST_RC | PY_RC | WHEEL_RC ))
