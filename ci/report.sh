#!/usr/bin/env bash
# `make report`, the main job, in stages that each say "[k/N] name (elapsed)":
#   1. the suites of `make check` (a line per suite as it finishes);
#   2. every benchmark (ci/perf.sh): a JSON in reports/history/ with the
#      host's facts; deterministic figures gated on the recorded baseline,
#      timings there shown as another host's history;
#   3. A/B on this host (python3 -m perf.ab): the baseline's commit and the
#      working tree built side by side and timed interleaved; regressions
#      judged on the paired samples;
#   4. the dashboard (reports/site/index.html);
# then the summary (reports.summary) as the last screen.
# Exit status: non-zero when a suite failed, a deterministic gate failed or
# the A/B run found a regression. Targets and other hosts' timings are shown.
#   REPORT_SANITIZE=1   also run ci/sanitize.sh and show its result
#   REPORT_SKIP_CHECK=1 skip the suites (shown as skipped)
#   AB_ARGS="..."       extra arguments for perf.ab (e.g. --base REF)
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
OUT=reports/out
mkdir -p "$OUT"
suites_json="$OUT/suites.json"
t0=$(date +%s)
N=$(( 4 + ${REPORT_SANITIZE:-0} ))
k=0
stage() { k=$((k + 1)); echo; echo "== report [$k/$N] $1 (elapsed $(( $(date +%s) - t0 )) s)"; }

record() {  # name status detail seconds
  "$PY" - "$suites_json" "$@" <<'PYEOF'
import json, sys
p, name, status, detail, secs = sys.argv[1:]
d = json.load(open(p))
d[name] = {"status": status, "detail": detail, "seconds": int(secs)}
json.dump(d, open(p, "w"), indent=1)
PYEOF
}

run_suite() {  # name script: its output streams (and goes to a log)
  local name=$1 script=$2 log="$OUT/$1.log" t1 rc
  t1=$(date +%s)
  echo "report: $script (log: $log)"
  bash "$script" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  local status=pass detail="exit 0"
  if [ "$rc" -ne 0 ]; then status=fail; detail="exit $rc; last line: $(tail -1 "$log" | tr -d '"\\' | cut -c1-160)"; fi
  record "$name" "$status" "$detail" "$(( $(date +%s) - t1 ))"
  return "$rc"
}

echo '{}' >"$suites_json"
stage "suites (make check)"
if [ "${REPORT_SKIP_CHECK:-0}" = 1 ]; then
  record check skipped "REPORT_SKIP_CHECK=1" 0; echo "skipped (REPORT_SKIP_CHECK=1)"
else
  run_suite check ci/check.sh
fi
if [ "${REPORT_SANITIZE:-0}" = 1 ]; then
  stage "sanitizers (make sanitize)"
  run_suite sanitize ci/sanitize.sh
else
  record sanitize skipped "set REPORT_SANITIZE=1 to include the sanitizer runs" 0
fi

stage "benchmarks (make perf)"
rm -f "$OUT/latest.json"
PERF_SUMMARY_ONLY=1 PERF_SUITES="$suites_json" bash ci/perf.sh "$@" 2>&1 | tee "$OUT/perf.log"
echo "perf: exit ${PIPESTATUS[0]} (the full table: $OUT/compare.txt)"
[ -f "$OUT/latest.json" ] || record perf error "no run was written (build or benchmark failure: $OUT/perf.log)" 0

stage "A/B against the baseline's commit, on this host (perf.ab)"
rm -f "$OUT/ab.json"
# shellcheck disable=SC2086
t1=$(date +%s)
"$PY" -m perf.ab --out "$OUT/ab.json" ${AB_ARGS:-} 2>&1 | tee "$OUT/ab.log" \
  | grep --line-buffered -vE '^  [a-z_]+\.[0-9]+[KM]iB '   # the summary repeats the table
ab_rc=${PIPESTATUS[0]}
# a regression is counted by the summary; an A/B run that could not run at
# all (no base commit in a shallow clone, a build error) fails the report here
if [ "$ab_rc" -ge 2 ]; then
  record ab error "perf.ab exit $ab_rc: $(tail -1 "$OUT/ab.log" | tr -d '"\\' | cut -c1-160)" "$(( $(date +%s) - t1 ))"
fi

stage "dashboard"
dash_ab=(); [ -f "$OUT/ab.json" ] && dash_ab=(--ab "$OUT/ab.json")
dash_run=(); [ -f "$OUT/latest.json" ] && dash_run=(--latest "$OUT/latest.json")
"$PY" -m reports.dashboard "${dash_run[@]}" "${dash_ab[@]}"

echo
echo "report: $(( $(date +%s) - t0 )) s"
"$PY" -m reports.summary --run "$OUT/latest.json" --ab "$OUT/ab.json" --suites "$suites_json"
