#!/usr/bin/env bash
# The perf gate of `make check`: deterministic figures only (stripped binary
# sizes, callgrind instruction counts per call) against this machine class's
# baseline, plus the tests of the perf tools and the dashboard in headless
# Chromium. Timings are not gated here: they belong to `make report`.
# Budget: under 3 minutes on 2 cores once the build exists.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
BUILD=${PERF_BUILD:-build-perf}
JOBS=${JOBS:-$(nproc)}
OUT=reports/out
mkdir -p "$OUT"
start=$(date +%s)

echo "perf-smoke: building $BUILD (Release, with the binding twins)"
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCFUSER_BUILD_PERF=ON \
  -DCFUSER_BUILD_TESTS=OFF -DCFUSER_BUILD_HARNESS=OFF \
  -DPython3_EXECUTABLE="$(command -v "$PY")" >"$OUT/perf-smoke-cmake.log" 2>&1 \
  || { tail -30 "$OUT/perf-smoke-cmake.log"; exit 1; }
cmake --build "$BUILD" -j "$JOBS" >>"$OUT/perf-smoke-cmake.log" 2>&1 \
  || { tail -30 "$OUT/perf-smoke-cmake.log"; exit 1; }

echo "perf-smoke: size and instruction counts"
"$PY" -m perf.run --smoke --build "$BUILD" --only size,instructions --out "$OUT/smoke.json"

echo "perf-smoke: gate against the baseline (deterministic metrics)"
gate=0
"$PY" -m reports.compare "$OUT/smoke.json" --kinds deterministic --hide-info || gate=$?

echo "perf-smoke: tests of the perf tools and the dashboard"
"$PY" -m pytest -q -p no:cacheprovider perf/tests

echo "perf-smoke: done in $(( $(date +%s) - start )) s"
exit "$gate"
