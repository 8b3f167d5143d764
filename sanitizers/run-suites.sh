#!/usr/bin/env bash
# run-suites.sh BUILD_DIR MODE [SUITE...]
#   MODE: plain | pydebug | asan | valgrind | helgrind | tsan
# pydebug: BUILD_DIR was built against a debug interpreter (python3.11-dbg),
# which counts references; it imports the release Python's numpy, torch and
# pytest (ABI-compatible since 3.8) from that Python's site-packages.
# Runs the harness suites of BUILD_DIR (all, or the named ones) with the
# sanitizer settings of MODE, writes Criterion's XML and every sanitizer or
# valgrind log under reports/out/harness/MODE/, and fails when a suite fails
# or when any log is non-empty (Criterion ignores a worker's exit status once
# the test has reported, so the logs are the only proof for exit-time
# findings). Prints "suite: N passed, N failed" per suite and writes the
# totals to reports/out/harness/MODE/totals.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=$1; mode=$2; shift 2
out="$root/reports/out/harness/$mode"
rm -rf "$out"; mkdir -p "$out/logs"
export LANG=C LC_ALL=C
export CFUSER_PYTHONPATH="$build/python"

opts() { sed -e '/^#/d' -e '/^$/d' -e "s|@DIR@|$here|g" "$here/$1" | paste -sd: -; }
wrap=()
# tells the module's pytest files they run inside an instrumented interpreter
case "$mode" in plain|pydebug) ;; *) export CFUSER_SANITIZER=$mode ;; esac
case "$mode" in
  plain) ;;
  pydebug)
    site=$("${PYTHON:-python3}" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    export CFUSER_PYTHONPATH="$build/python:$site" ;;
  asan)
    # the GIL test's big execute, sized for an instrumented build
    export CFUSER_GIL_TEST_ELEMENTS=${CFUSER_GIL_TEST_ELEMENTS:-4194304}
    export ASAN_OPTIONS="$(opts asan.options):log_path=$out/logs/asan"
    export LSAN_OPTIONS="$(opts lsan.options)"
    export UBSAN_OPTIONS="$(opts ubsan.options):log_path=$out/logs/ubsan"
    export CFUSER_HARNESS_ALLOCATOR=malloc ;;
  tsan)
    export CFUSER_GIL_TEST_ELEMENTS=${CFUSER_GIL_TEST_ELEMENTS:-4194304}
    export TSAN_OPTIONS="$(opts tsan.options):log_path=$out/logs/tsan"
    export CFUSER_HARNESS_ALLOCATOR=malloc ;;
  valgrind)
    # Leaks are checked in each test body (cfh_leak_check: a full check
    # while the interpreter is alive, counted as errors); the check at exit
    # is a summary only, because CPython 3.11 and numpy leave state behind
    # after Py_FinalizeEx by design.
    export CFUSER_HARNESS_ALLOCATOR=malloc
    export CFUSER_GIL_TEST_ELEMENTS=${CFUSER_GIL_TEST_ELEMENTS:-262144}
    wrap=(valgrind --tool=memcheck --trace-children=yes --quiet
          --leak-check=summary --errors-for-leak-kinds=definite,indirect
          --show-leak-kinds=definite,indirect --error-exitcode=97
          --suppressions="$here/valgrind.supp" --suppressions=/usr/lib/valgrind/python3.supp
          --log-file="$out/logs/valgrind.%p") ;;
  helgrind)
    export CFUSER_HARNESS_ALLOCATOR=malloc
    export CFUSER_GIL_TEST_ELEMENTS=${CFUSER_GIL_TEST_ELEMENTS:-262144}
    wrap=(valgrind --tool=helgrind --trace-children=yes --quiet --error-exitcode=97
          --suppressions="$here/helgrind.supp" --log-file="$out/logs/helgrind.%p") ;;
  *) echo "run-suites: unknown mode $mode" >&2; exit 2 ;;
esac

# The host factor: the fixed workload timed under this mode's build and
# wrapper; every watchdog deadline is multiplied by it (harness/src/
# timefactor.c). Set CFUSER_HARNESS_TIME_FACTOR yourself to skip this.
# CFUSER_CALIBRATE_RECORD=1 (on the reference host) records this mode's time
# in sanitizers/calibration.json, in the very environment of the suites, and
# runs no suite.
if [ "${CFUSER_CALIBRATE_RECORD:-0}" = 1 ]; then
  "${PYTHON:-python3}" "$here/calibrate.py" --mode "$mode" --record -- \
    "${wrap[@]}" "$build/harness/cfharness" run "$here/calibration_workload.py"
  rc=$?; echo "0 0 0" > "$out/totals"; exit $rc
fi
if [ -z "${CFUSER_HARNESS_TIME_FACTOR:-}" ]; then
  if cal=$("${PYTHON:-python3}" "$here/calibrate.py" --mode "$mode" -- \
        "${wrap[@]}" "$build/harness/cfharness" run "$here/calibration_workload.py"); then
    eval "$cal"
  else
    echo "run-suites: calibration failed (above); deadlines unscaled" >&2
    CFUSER_HARNESS_TIME_FACTOR=1 CFUSER_HARNESS_CALIBRATION="$mode: calibration failed"
  fi
fi
export CFUSER_HARNESS_TIME_FACTOR CFUSER_HARNESS_CALIBRATION=${CFUSER_HARNESS_CALIBRATION:-set by hand}
echo "run-suites: $mode: deadlines x $CFUSER_HARNESS_TIME_FACTOR ($CFUSER_HARNESS_CALIBRATION)"
echo "$CFUSER_HARNESS_TIME_FACTOR $CFUSER_HARNESS_CALIBRATION" > "$out/calibration"

suites=("$@")
if [ ${#suites[@]} -eq 0 ]; then
  for f in "$build"/suites/harness/test_*; do [ -x "$f" ] && suites+=("$(basename "$f")"); done
fi
if [ ${#suites[@]} -eq 0 ]; then
  echo "run-suites: no suites in $build/suites/harness (configured with CFUSER_BUILD_TESTS=OFF?)" >&2
  echo "0 1 0" > "$out/totals"
  exit 1
fi
passed=0; failed=0; skipped=0; rc=0
for s in "${suites[@]}"; do
  exe="$build/suites/harness/$s"
  start=$(date +%s.%N)
  # the log keeps everything; the console gets a line per failed test and
  # per pytest file as it ends (a long suite is not silent for half an hour)
  "${wrap[@]}" "$exe" -j"${CFH_JOBS:-2}" --ascii --xml="$out/$s.xml" 2>&1 | tee "$out/$s.log" \
    | grep --line-buffered -aE '^(pytest [^ ]+: exit |\[FAIL\])' | sed -u "s/^/  $s: /"
  status=${PIPESTATUS[0]}
  end=$(date +%s.%N)
  line=$(grep -a 'Synthesis' "$out/$s.log" | tail -1)
  t=$(sed -n 's/.*Tested: \([0-9]*\).*/\1/p' <<<"$line"); t=${t:-0}
  p=$(sed -n 's/.*Passing: \([0-9]*\).*/\1/p' <<<"$line"); p=${p:-0}
  f=$(( ${t} - ${p} ))
  # Criterion's synthesis line leaves skipped tests out; its XML counts them
  sk=$(sed -n 's/.*<testsuite [^>]*skipped="\([0-9]*\)".*/\1/p' "$out/$s.xml" 2>/dev/null | head -1); sk=${sk:-0}
  if [ -z "$line" ] || [ $status -ne 0 ] && [ $f -eq 0 ]; then f=$((f + 1)); fi
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + sk))
  printf '%-28s %3d passed, %d failed%s (%.1f s)\n' "$s:" "$p" "$f" "$([ "$sk" -gt 0 ] && echo ", $sk skipped")" \
    "$(echo "$end - $start" | bc)"
  if [ $f -ne 0 ]; then rc=1; grep -a -B2 -A25 'FAIL\|CRASH\|ERROR' "$out/$s.log" | head -80; fi
done
# Any sanitizer or valgrind log is a failure, whatever Criterion said.
for log in "$out"/logs/*; do
  [ -s "$log" ] || continue
  echo "run-suites: finding in $log:"; head -60 "$log"; failed=$((failed + 1)); rc=1
done
echo "$passed $failed $skipped" > "$out/totals"
exit $rc
