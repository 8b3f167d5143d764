#!/usr/bin/env bash
# `make check`: install what is missing, build (gcc and clang, warnings as
# errors), run every suite (core C API under Criterion, the Python API under
# pytest, the same against the installed wheel, the embedded harness normal +
# ASan/UBSan), lint, and the
# deterministic perf gates. Ends with one line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
export LANG=C LC_ALL=C
PY=$(command -v "${PYTHON:-python3}")
JOBS=${JOBS:-$(nproc)}
OUT=reports/out
mkdir -p "$OUT"
t0=$(date +%s)
passed=0; failed=0; skipped=0; stage_fail=()

nstep=0; NSTEPS=$(grep -c '^step "' "$0")
step() { nstep=$((nstep + 1)); echo; echo "== check [$nstep/$NSTEPS]: $* (elapsed $(( $(date +%s) - t0 )) s)"; }
count() { passed=$((passed + $1)); failed=$((failed + $2)); skipped=$((skipped + ${3:-0})); }
# A stage that ends with "N passed, N failed[, N skipped]": count it (none: one failure).
count_summary() { # log, stage name
  local line p f k
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -1)
  p=$(sed -nE 's/^([0-9]+) passed.*/\1/p' <<<"$line"); f=$(sed -nE 's/.* ([0-9]+) failed.*/\1/p' <<<"$line")
  k=$(sed -nE 's/.* ([0-9]+) skipped.*/\1/p' <<<"$line")
  [ -n "$line" ] || { p=0; f=1; }
  count "${p:-0}" "${f:-0}" "${k:-0}"; [ "${f:-1}" -eq 0 ] || stage_fail+=("$2")
}

step "setup"
bash ci/setup.sh || { echo "setup failed"; exit 1; }

# NVRTC from the pinned wheel (on no loader path): with it the core suites
# compile the generated CUDA kernels for sm_90 on this GPU-less machine.
nvrtc=$("$PY" -c 'import glob, os, nvidia; print((glob.glob(os.path.join(list(nvidia.__path__)[0], "cu13", "lib", "libnvrtc.so.13")) or [""])[0])' 2>/dev/null)
[ -n "$nvrtc" ] && export CFUSER_NVRTC_LIBRARY=$nvrtc
echo "NVRTC for the code generator's tests: ${nvrtc:-none (those tests skip)}"

step "build (gcc, -Werror)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCFUSER_WERROR=ON -DPython3_EXECUTABLE="$PY" >"$OUT/build-cmake.log" 2>&1 \
  && cmake --build build -j "$JOBS" >"$OUT/build.log" 2>&1 \
  || { tail -40 "$OUT/build-cmake.log" "$OUT/build.log"; echo "0 passed, 1 failed"; exit 1; }

step "build (clang, -Werror)"
if CC=clang cmake -S . -B build-clang -DCMAKE_BUILD_TYPE=Release -DCFUSER_WERROR=ON -DCFUSER_BUILD_HARNESS=OFF \
     -DPython3_EXECUTABLE="$PY" >"$OUT/clang-cmake.log" 2>&1 && cmake --build build-clang -j "$JOBS" >"$OUT/clang-build.log" 2>&1; then
  count 1 0
else
  tail -30 "$OUT/clang-build.log"; count 0 1; stage_fail+=(clang-build)
fi

step "core C API suites (Criterion)"
for t in build/suites/test_*; do
  [ -x "$t" ] || continue
  log="$OUT/$(basename "$t").log"
  "$t" --jobs "$JOBS" >"$log" 2>&1; rc=$?
  syn=$(grep -E '^\[====\] Synthesis:' "$log" | tail -1)
  p=$(sed -nE 's/.*Passing: ([0-9]+).*/\1/p' <<<"$syn"); f=$(sed -nE 's/.*Failing: ([0-9]+).*/\1/p' <<<"$syn")
  c=$(sed -nE 's/.*Crashing: ([0-9]+).*/\1/p' <<<"$syn"); s=$(sed -nE 's/.*Skipped: ([0-9]+).*/\1/p' <<<"$syn")
  echo "$(basename "$t"): ${syn:-no synthesis line (rc=$rc)}"
  count "${p:-0}" $(( ${f:-0} + ${c:-0} + ( rc != 0 && ${f:-0} == 0 && ${c:-0} == 0 ? 1 : 0 ) )) "${s:-0}"
  [ "$rc" -eq 0 ] || { stage_fail+=("$(basename "$t")"); grep -E '\[(FAIL|----)\]' "$log" | head -20; }
done

step "generated CUDA kernels, both tiers, through NVRTC (gpu_test --compile-only)"
if [ -x build/suites/gpu/gpu_test ]; then
  build/suites/gpu/gpu_test --compile-only >"$OUT/gpu_compile_only.log" 2>&1; rc=$?
  tail -2 "$OUT/gpu_compile_only.log"
  if [ "$rc" -eq 77 ]; then count 0 0 1
  elif [ "$rc" -eq 0 ]; then count 1 0
  else grep '^FAIL' "$OUT/gpu_compile_only.log" | head -20; count 0 1; stage_fail+=(gpu-compile-only); fi
fi

step "Python API suites (pytest)"
CFUSER_CATALOGUE="$OUT/catalogue.json" PYTHONPATH="$PWD/build/python" "$PY" -m pytest -q -p no:cacheprovider suites/python --junitxml="$OUT/pytest.xml" >"$OUT/pytest.log" 2>&1; rc=$?
tail -15 "$OUT/pytest.log"
read -r p f s < <("$PY" ci/junit_counts.py "$OUT/pytest.xml")
count "$p" "$f" "$s"; [ "$rc" -eq 0 ] || stage_fail+=(pytest)

step "wheel: pip install ., sdist + wheel, suites/python against the installed wheel (ci/wheel.sh)"
JOBS=2 bash ci/wheel.sh 2>&1 | tee "$OUT/wheel.log" | tail -8
count_summary "$OUT/wheel.log" wheel

step "nvFuser-style programs (import cfuser as nvfuser_direct)"
PYTHONPATH="$PWD/build/python" "$PY" -m pytest -q -p no:cacheprovider suites/nvfuser_style >"$OUT/nvfuser_style.log" 2>&1; rc=$?
grep -E '^nvfuser-style programs' "$OUT/nvfuser_style.log"; tail -1 "$OUT/nvfuser_style.log"
np=$(tail -1 "$OUT/nvfuser_style.log" | sed -nE 's/.* ([0-9]+) passed.*/\1/p;s/^([0-9]+) passed.*/\1/p' | head -1)
count "${np:-0}" $(( rc != 0 ? 1 : 0 )); [ "$rc" -eq 0 ] || stage_fail+=(nvfuser-style)

step "conformance kit: cfuser passes every row, the broken binding fails each (suites/conformance)"
CFUSER_CONFORMANCE_JSON="$OUT/conformance.json" CFUSER_CONFORMANCE_CYCLES=60 PYTHONPATH="$PWD/build/python" \
  "$PY" -m pytest -q -p no:cacheprovider suites/conformance --junitxml="$OUT/conformance.xml" >"$OUT/conformance.log" 2>&1; rc=$?
tail -3 "$OUT/conformance.log"
read -r p f s < <("$PY" ci/junit_counts.py "$OUT/conformance.xml")
count "$p" "$f" "$s"; [ "$rc" -eq 0 ] || stage_fail+=(conformance)

step "lint (clang-tidy, cppcheck)"
if BUILD=build bash ci/lint.sh >"$OUT/lint.log" 2>&1; then count 1 0; else tail -30 "$OUT/lint.log"; count 0 1; stage_fail+=(lint); fi

step "embedded harness suites (normal and ASan+UBSan)"
# a line per suite as it finishes (and each build), the rest in the log
bash ci/harness.sh 2>&1 | tee "$OUT/harness.log" \
  | grep --line-buffered -E '^(== |run-suites:|test_[a-z_]+: |  test_[a-z_]+: pytest |harness:|[0-9]+ passed|.*(FAIL|finding|deadlock))'
grep -qE ' [1-9][0-9]* failed' "$OUT/harness.log" && tail -40 "$OUT/harness.log"
count_summary "$OUT/harness.log" harness

step "perf smoke (binary size and instruction counts against the baseline)"
if bash ci/perf-smoke.sh 2>&1 | tee "$OUT/perf-smoke.log" | tail -25; [ "${PIPESTATUS[0]}" -eq 0 ]; then
  count 1 0
else
  count 0 1; stage_fail+=(perf-smoke)
fi

echo
echo "check: $(( $(date +%s) - t0 )) s; failed stages: ${stage_fail[*]:-none}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "${#stage_fail[@]}" -eq 0 ]
