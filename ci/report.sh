#!/usr/bin/env bash
# `make report`, the main job: the suites of `make check`, then every
# benchmark, the comparison with the baseline, a JSON in reports/history/,
# the dashboard in reports/site/index.html, and the summary table last.
# Exit status: non-zero when a suite failed or a metric regressed.
#   REPORT_SANITIZE=1   also run ci/sanitize.sh and show its result
#   REPORT_SKIP_CHECK=1 reuse the benchmarks only (the suites show as skipped)
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
OUT=reports/out
mkdir -p "$OUT"
suites_json="$OUT/suites.json"

run_suite() {  # name script -> appends {"name": {"status", "detail", "seconds"}}
  local name=$1 script=$2 log="$OUT/$1.log" t0 rc
  t0=$(date +%s)
  if [ ! -f "$script" ]; then
    "$PY" - "$suites_json" "$name" skipped "$script does not exist" 0 <<'PYEOF'
import json, sys
p, name, status, detail, secs = sys.argv[1:]
d = json.load(open(p))
d[name] = {"status": status, "detail": detail, "seconds": int(secs)}
json.dump(d, open(p, "w"), indent=1)
PYEOF
    return 0
  fi
  echo "report: running $script (log: $log)"
  bash "$script" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  local status=pass detail="exit 0"
  if [ "$rc" -ne 0 ]; then status=fail; detail="exit $rc; last line: $(tail -1 "$log" | tr -d '"\\' | cut -c1-160)"; fi
  "$PY" - "$suites_json" "$name" "$status" "$detail" "$(( $(date +%s) - t0 ))" <<'PYEOF'
import json, sys
p, name, status, detail, secs = sys.argv[1:]
d = json.load(open(p))
d[name] = {"status": status, "detail": detail, "seconds": int(secs)}
json.dump(d, open(p, "w"), indent=1)
PYEOF
  return "$rc"
}

echo '{}' >"$suites_json"
failed=0
if [ "${REPORT_SKIP_CHECK:-0}" = 1 ]; then
  "$PY" -c "import json; json.dump({'check': {'status': 'skipped', 'detail': 'REPORT_SKIP_CHECK=1'}}, open('$suites_json', 'w'))"
else
  run_suite check ci/check.sh || failed=1
fi
if [ "${REPORT_SANITIZE:-0}" = 1 ]; then
  run_suite sanitize ci/sanitize.sh || failed=1
else
  "$PY" - "$suites_json" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["sanitize"] = {"status": "skipped", "detail": "set REPORT_SANITIZE=1 to include the sanitizer runs"}
json.dump(d, open(sys.argv[1], "w"), indent=1)
PYEOF
fi

regressed=0
PERF_SUITES="$suites_json" bash ci/perf.sh "$@" 2>&1 | tee "$OUT/perf.log"
regressed=${PIPESTATUS[0]}
"$PY" -m reports.dashboard --latest "$OUT/latest.json"

echo
echo "================ summary ================"
"$PY" -m reports.compare "$OUT/latest.json" || true
echo
"$PY" - "$suites_json" <<'PYEOF'
import json, sys
for name, s in json.load(open(sys.argv[1])).items():
    print(f"suite {name}: {s['status']}  {s.get('detail', '')}")
PYEOF
echo "dashboard: reports/site/index.html"
if [ "$failed" -ne 0 ] || [ "$regressed" -ne 0 ]; then
  echo "report: FAILED (suites failed: $failed, perf exit status: $regressed)"
  exit 1
fi
echo "report: OK"
