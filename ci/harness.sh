#!/usr/bin/env bash
# ci/harness.sh - the harness part of `make check`: a normal build, an
# ASan+UBSan(+LSan) build and a build against the debug interpreter
# (python3.11-dbg, whose sys.gettotalrefcount() lets the refleak loops count
# references) of the module, the harness and its suites, then every harness
# suite in each. Reports under reports/out/harness/; the last line is
# "N passed, N failed, N skipped".
#
# The sanitizer build uses gcc's libasan (LSan included), so libclang-rt is
# not needed; -fno-sanitize-recover=undefined makes UBSan fatal. Python runs
# on the malloc allocator there so ASan sees every block.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
jobs=${JOBS:-2}
py=$(command -v "${PYTHON:-python3}")
export LANG=C LC_ALL=C
mkdir -p reports/out/harness
t0=$(date +%s)
fail=0

build() { # dir, extra cmake args...
  local dir=$1; shift
  cmake -S . -B "$dir" -DPython3_EXECUTABLE="$py" -DCFUSER_BUILD_TESTS=ON -DCFUSER_BUILD_HARNESS=ON "$@" >"reports/out/harness/$(basename "$dir")-cmake.log" 2>&1 \
    && cmake --build "$dir" -j "$jobs" >"reports/out/harness/$(basename "$dir")-build.log" 2>&1
}

total_p=0; total_f=0; total_s=0
run() { # dir, mode, [suite...]
  bash sanitizers/run-suites.sh "$root/$1" "$2" "${@:3}"
  local rc=$?
  read -r p f s <"reports/out/harness/$2/totals" || { p=0; f=1; s=0; }
  total_p=$((total_p + p)); total_f=$((total_f + f)); total_s=$((total_s + s))
  [ $rc -eq 0 ] || fail=1
}

echo "== harness: normal build (build)"
if build build -DCMAKE_BUILD_TYPE=Release; then run build plain
else echo "harness: normal build failed (reports/out/harness/build-build.log)"; tail -20 reports/out/harness/build-build.log; total_f=$((total_f + 1)); fail=1; fi

echo "== harness: ASan+UBSan build (build-asan)"
if CC=${SAN_CC:-gcc} build build-asan -DCMAKE_BUILD_TYPE=Debug -DCFUSER_SANITIZE="address;undefined"; then
  # Every suite but the module's pytest files, which run in the normal build:
  # under ASan they take several minutes on two cores.
  asan_suites=()
  for f in build-asan/suites/harness/test_*; do
    [ -x "$f" ] && [ "$(basename "$f")" != test_pytest ] && asan_suites+=("$(basename "$f")")
  done
  run build-asan asan "${asan_suites[@]}"
else echo "harness: sanitizer build failed (reports/out/harness/build-asan-build.log)"; tail -20 reports/out/harness/build-asan-build.log; total_f=$((total_f + 1)); fail=1; fi

echo "== harness: debug interpreter build (build-pydebug)"
pydbg=${PYTHON_DBG:-$(command -v python3.11-dbg || true)}
if [ -z "$pydbg" ]; then
  echo "harness: no debug interpreter (python3.11-dbg; ci/setup.sh installs it)"; total_f=$((total_f + 1)); fail=1
elif py=$pydbg build build-pydebug -DCMAKE_BUILD_TYPE=Debug; then run build-pydebug pydebug
else echo "harness: debug interpreter build failed (reports/out/harness/build-pydebug-build.log)"; tail -20 reports/out/harness/build-pydebug-build.log; total_f=$((total_f + 1)); fail=1; fi

printf '{"passed": %d, "failed": %d, "skipped": %d, "seconds": %d}\n' \
  "$total_p" "$total_f" "$total_s" "$(( $(date +%s) - t0 ))" > reports/out/harness/summary.json
echo "harness: $(( $(date +%s) - t0 )) s"
echo "$total_p passed, $total_f failed, $total_s skipped"
exit $fail
