#!/usr/bin/env bash
# ci/sanitize.sh - `make sanitize`, the pre-release run: every harness suite
# with larger iteration counts in the ASan+UBSan build, under valgrind
# memcheck in the normal build, and the threading suite under ThreadSanitizer
# (a build-tsan of module + harness), then libFuzzer over the converters
# (CFUSER_FUZZ_SECONDS, default 120). The pytest files' property-based
# suites run their long budget here (CFUSER_FUZZ=long). The last line is
# "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
jobs=${JOBS:-2}
py=$(command -v "${PYTHON:-python3}")
export LANG=C LC_ALL=C
export CFUSER_FUZZ=${CFUSER_FUZZ:-long}
mkdir -p reports/out/harness
t0=$(date +%s)
# Work sized to a time budget: the iteration multiplier was set (5) on the
# reference host; a host that runs the calibration workload k times slower
# gets 5/k (at least 2). Every deadline scales by the factor each run-suites
# call measures under its own build and sanitizer.
if [ -z "${CFUSER_HARNESS_SCALE:-}" ]; then
  CFUSER_HARNESS_SCALE=$(CFUSER_CALIBRATE_LOOPS=20 "$py" sanitizers/calibrate.py --mode host \
    --work 5 --floor 2 -- "$py" sanitizers/calibration_workload.py) || CFUSER_HARNESS_SCALE=5
fi
export CFUSER_HARNESS_SCALE
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
# The debug interpreter: reference counts (refleak loops judge them), with
# the larger iteration counts.
pydbg=${PYTHON_DBG:-$(command -v python3.11-dbg || true)}
if [ -n "$pydbg" ]; then
  py=$pydbg step "debug interpreter ($pydbg), scale $CFUSER_HARNESS_SCALE" build-pydebug pydebug "-DCMAKE_BUILD_TYPE=Debug"
else
  echo "sanitize: no debug interpreter (python3.11-dbg; ci/setup.sh installs it)"; total_f=$((total_f + 1)); fail=1
fi
# valgrind is ~30x slower: one job per suite at the normal scale, over the
# C-driven suites; the module's pytest files (thousands of cases, large
# arrays) run under ASan+UBSan above, where they take minutes, not hours.
# The threading suite is left to ASan and TSan: valgrind runs one thread at
# a time, so "a background thread progresses during execute" cannot hold.
CFUSER_HARNESS_SCALE=1 CFH_JOBS=1 step "valgrind memcheck" build valgrind "-DCMAKE_BUILD_TYPE=RelWithDebInfo" \
  test_dlpack test_errors test_faultinj test_lifetime test_repr test_selftest test_seqconv
# Criterion's sandbox itself crashes under TSan, so the threading cases run
# through the cfharness runner, each under the watchdog; any TSan log fails.
echo "== sanitize: ThreadSanitizer (threading cases, cfharness runner)"
if CC=${TSAN_CC:-gcc} build build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCFUSER_SANITIZE=thread; then
  out=reports/out/harness/tsan; rm -rf "$out"; mkdir -p "$out/logs"
  topts=$(sed -e '/^#/d' -e '/^$/d' -e "s|@DIR@|$root/sanitizers|g" sanitizers/tsan.options | paste -sd: -)
  export TSAN_OPTIONS="$topts:log_path=$root/$out/logs/tsan" CFUSER_HARNESS_ALLOCATOR=malloc \
    CFUSER_PYTHONPATH="$root/build-tsan/python"
  # the deadline (300 s on the reference host) scales with the host factor under TSan
  cal=$("$py" sanitizers/calibrate.py --mode tsan -- build-tsan/harness/cfharness run \
    "$root/sanitizers/calibration_workload.py") || cal="CFUSER_HARNESS_TIME_FACTOR=1"
  eval "$cal"; export CFUSER_HARNESS_TIME_FACTOR CFUSER_HARNESS_CALIBRATION
  echo "sanitize: tsan deadlines x $CFUSER_HARNESS_TIME_FACTOR (${CFUSER_HARNESS_CALIBRATION:-})"
  CFUSER_HARNESS_DEADLINE=300 \
    build-tsan/harness/cfharness call threads.py background_progress \
      concurrent_execute_one_cache definitions_in_threads_stay_apart >"$out/threads.log" 2>&1
  cat "$out/threads.log" | grep -E '^(PASS|FAIL) '
  p=$(grep -c '^PASS ' "$out/threads.log"); f=$(grep -c '^FAIL ' "$out/threads.log")
  [ $((p + f)) -eq 3 ] || f=$((3 - p))
  for log in "$out"/logs/*; do [ -s "$log" ] && { echo "TSan finding: $log"; head -40 "$log"; f=$((f + 1)); }; done
  total_p=$((total_p + p)); total_f=$((total_f + f)); [ "$f" -eq 0 ] || fail=1
else
  echo "sanitize: build-tsan failed"; total_f=$((total_f + 1)); fail=1
fi

# Coverage-guided fuzzing (libFuzzer) of the converters: crafted DLPack
# capsules, sequences against a Python reference, scalar inputs; a clang
# build with ASan+UBSan where every target is instrumented for coverage.
fz=${CFUSER_FUZZ_SECONDS:-120}
echo "== sanitize: libFuzzer over the converters ($fz s)"
out=reports/out/fuzz; mkdir -p "$out/corpus"
if CC=clang build build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCFUSER_BUILD_FUZZ=ON "-DCFUSER_SANITIZE=address;undefined" \
     -DCFUSER_BUILD_TESTS=OFF -DCFUSER_CUDA=OFF; then
  ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 PYTHONMALLOC=malloc \
    build-fuzz/harness/fuzz_convert -max_total_time="$fz" -rss_limit_mb=4096 -timeout=30 \
      -artifact_prefix="$out/" "$out/corpus" >"$out/fuzz.log" 2>&1
  rc=$?
  grep -E '^(Done|#[0-9]+ *DONE)|ERROR|SUMMARY' "$out/fuzz.log" | tail -4
  if [ $rc -eq 0 ]; then total_p=$((total_p + 1)); else echo "fuzz: finding (rc=$rc), input saved under $out/"; tail -40 "$out/fuzz.log"; total_f=$((total_f + 1)); fail=1; fi
else
  echo "sanitize: build-fuzz failed"; tail -20 reports/out/harness/build-fuzz-build.log; total_f=$((total_f + 1)); fail=1
fi

printf '{"passed": %d, "failed": %d, "skipped": %d, "seconds": %d}\n' \
  "$total_p" "$total_f" "$total_s" "$(( $(date +%s) - t0 ))" > reports/out/harness/sanitize-summary.json
echo "sanitize: $(( $(date +%s) - t0 )) s"
echo "$total_p passed, $total_f failed, $total_s skipped"
exit $fail
