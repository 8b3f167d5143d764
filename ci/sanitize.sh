#!/usr/bin/env bash
# ci/sanitize.sh - `make sanitize`, the pre-release run: every harness suite
# with larger iteration counts in the ASan+UBSan build, under valgrind
# memcheck in the normal build, and the threading suite under ThreadSanitizer
# (a build-tsan of module + harness). The last line is "N passed, N failed,
# N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
jobs=${JOBS:-2}
py=$(command -v "${PYTHON:-python3}")
export LANG=C LC_ALL=C
export CFUSER_HARNESS_SCALE=${CFUSER_HARNESS_SCALE:-5}
mkdir -p reports/out/harness
t0=$(date +%s)
fail=0; total_p=0; total_f=0; total_s=0

build() {
  local dir=$1; shift
  cmake -S . -B "$dir" -DPython3_EXECUTABLE="$py" "$@" >"reports/out/harness/$(basename "$dir")-cmake.log" 2>&1 \
    && cmake --build "$dir" -j "$jobs" >"reports/out/harness/$(basename "$dir")-build.log" 2>&1
}
run() { # dir, mode, suites...
  local dir=$1 mode=$2; shift 2
  bash sanitizers/run-suites.sh "$root/$dir" "$mode" "$@"
  local rc=$?
  read -r p f s <"reports/out/harness/$mode/totals" || { p=0; f=1; s=0; }
  total_p=$((total_p + p)); total_f=$((total_f + f)); total_s=$((total_s + s))
  [ $rc -eq 0 ] || fail=1
}
step() { # name, dir, mode, cmake args (as one string), suites...
  local name=$1 dir=$2 mode=$3 args=$4; shift 4
  echo "== sanitize: $name"
  # shellcheck disable=SC2086
  if build "$dir" $args; then run "$dir" "$mode" "$@"
  else echo "sanitize: $dir build failed"; tail -20 "reports/out/harness/$dir-build.log"; total_f=$((total_f + 1)); fail=1; fi
}

step "ASan+UBSan, scale $CFUSER_HARNESS_SCALE" build-asan asan \
  "-DCMAKE_BUILD_TYPE=Debug -DCFUSER_SANITIZE=address;undefined"
# valgrind is ~30x slower: one job per suite at the normal scale
CFUSER_HARNESS_SCALE=1 CFH_JOBS=1 step "valgrind memcheck" build valgrind "-DCMAKE_BUILD_TYPE=RelWithDebInfo"
CC=${TSAN_CC:-gcc} step "ThreadSanitizer (threading suites)" build-tsan tsan \
  "-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCFUSER_SANITIZE=thread" test_threads test_selftest

printf '{"passed": %d, "failed": %d, "skipped": %d, "seconds": %d}\n' \
  "$total_p" "$total_f" "$total_s" "$(( $(date +%s) - t0 ))" > reports/out/harness/sanitize-summary.json
echo "sanitize: $(( $(date +%s) - t0 )) s"
echo "$total_p passed, $total_f failed, $total_s skipped"
exit $fail
