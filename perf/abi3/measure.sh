#!/usr/bin/env bash
# perf/abi3/measure.sh - what Py_LIMITED_API (>= 3.12, where vectorcall is
# limited) would cost per call: builds _C twice, as it is (build-perf) and
# with limited_cost.h force-included into the bindings (build-abi3), runs
# perf's call shapes under callgrind for both (deterministic instruction
# counts) and prints the change per shape. About 5 minutes on 2 cores.
#   perf/abi3/measure.sh [OUT_DIR]   (default reports/out/abi3)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
PY=$(command -v "${PYTHON:-python3}")
OUT=${1:-reports/out/abi3}
JOBS=${JOBS:-2}
mkdir -p "$OUT"
common=(-DCMAKE_BUILD_TYPE=Release -DCFUSER_BUILD_PERF=ON -DCFUSER_BUILD_TESTS=OFF
        -DCFUSER_BUILD_HARNESS=OFF -DPython3_EXECUTABLE="$PY")
cmake -S . -B build-perf "${common[@]}" >"$OUT/cmake-full.log" 2>&1
cmake --build build-perf -j "$JOBS" >>"$OUT/cmake-full.log" 2>&1
cmake -S . -B build-abi3 "${common[@]}" -DCMAKE_C_FLAGS="-include $ROOT/perf/abi3/limited_cost.h" \
  >"$OUT/cmake-limited.log" 2>&1
cmake --build build-abi3 -j "$JOBS" >>"$OUT/cmake-limited.log" 2>&1
for b in build-perf build-abi3; do
  "$PY" -m perf.run --only instructions --build "$b" --out "$OUT/instructions-$b.json" --quiet \
    >"$OUT/run-$b.log" 2>&1
done
"$PY" - "$OUT/instructions-build-perf.json" "$OUT/instructions-build-abi3.json" <<'PYEOF'
import json, sys
full, limited = (json.load(open(p))["metrics"] for p in sys.argv[1:3])
print(f"{'cfuser call shape (instructions per call)':44s} {'full API':>10s} {'limited':>10s} {'change':>8s}")
for key, m in full.items():
    if key.startswith("instructions.cfuser.") and key in limited:
        a, b = m["value"], limited[key]["value"]
        print(f"{key.split('.', 2)[2]:44s} {a:10.1f} {b:10.1f} {100 * (b / a - 1):+7.1f}%")
PYEOF
