#!/usr/bin/env bash
# `make perf`: every benchmark (size, import time, call overhead, instruction
# counts, kernel throughput, memory) in full, one JSON per run in
# reports/history/, then the comparison with this machine class's baseline.
# Extra arguments go to perf.run, e.g. `bash ci/perf.sh --device cuda` on the
# GPU machine or `bash ci/perf.sh --smoke` for a quick look.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
BUILD=${PERF_BUILD:-build-perf}
JOBS=${JOBS:-$(nproc)}
OUT=reports/out
mkdir -p "$OUT" reports/history

echo "perf: building $BUILD (Release, with the binding twins)"
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCFUSER_BUILD_PERF=ON \
  -DCFUSER_BUILD_TESTS=OFF -DCFUSER_BUILD_HARNESS=OFF \
  -DPython3_EXECUTABLE="$(command -v "$PY")" >"$OUT/perf-cmake.log" 2>&1 \
  || { tail -30 "$OUT/perf-cmake.log"; exit 1; }
cmake --build "$BUILD" -j "$JOBS" >>"$OUT/perf-cmake.log" 2>&1 \
  || { tail -30 "$OUT/perf-cmake.log"; exit 1; }

"$PY" -m perf.run --build "$BUILD" --out "$OUT/latest.json" --history reports/history \
  ${PERF_SUITES:+--suites "$PERF_SUITES"} "$@"
# PERF_SUMMARY_ONLY=1 (make report): the full table goes to compare.txt and
# the console gets its head and verdict; the report's summary comes last.
if [ -n "${PERF_SUMMARY_ONLY:-}" ]; then
  rc=0; "$PY" -m reports.compare "$OUT/latest.json" >"$OUT/compare.txt" || rc=$?
  grep -E '^(machine:|run:|  \(recorded|compare:)' "$OUT/compare.txt" || true
  exit "$rc"
fi
"$PY" -m reports.compare "$OUT/latest.json"
