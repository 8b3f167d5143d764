import json
import subprocess
import sys

import pytest

from perf import record_baseline
from perf.instructions import parse_dump, per_call
from perf.metrics import metric
from perf.tests.conftest import REPO
from perf.tests.runs import make_run, standard_metrics
from reports import compare as C


def row(base, now):
    return C.compare_metric("m", base, now)


def test_deterministic_tolerance_is_five_percent():
    b = metric(1000, "bytes", "deterministic")
    assert row(b, metric(1049, "bytes", "deterministic"))["status"] == "ok"
    assert row(b, metric(1050, "bytes", "deterministic"))["status"] == "ok"
    assert row(b, metric(1051, "bytes", "deterministic"))["status"] == "regression"
    assert row(b, metric(900, "bytes", "deterministic"))["status"] == "improved"


def test_deterministic_higher_is_better_direction():
    b = metric(100.0, "x", "deterministic", better="higher")
    assert row(b, metric(94.0, "x", "deterministic", better="higher"))["status"] == "regression"
    assert row(b, metric(110.0, "x", "deterministic", better="higher"))["status"] == "improved"


def test_zero_baseline():
    b = metric(0, "bytes", "deterministic")
    assert row(b, metric(0, "bytes", "deterministic"))["status"] == "ok"
    assert row(b, metric(1, "bytes", "deterministic"))["status"] == "regression"


def _ratio(values, better="lower"):
    return metric(sorted(values)[len(values) // 2], "x", "ratio", better=better, samples=values)


BASE = [1.00, 1.01, 0.99, 1.02, 0.98, 1.00, 1.01]


def test_ratio_regression_needs_size_and_significance():
    worse = [v * 1.25 for v in BASE]
    r = row(_ratio(BASE), _ratio(worse))
    assert r["status"] == "regression"
    assert r["p"] < C.ALPHA


def test_ratio_small_significant_shift_is_not_a_regression():
    r = row(_ratio(BASE), _ratio([v * 1.05 for v in BASE]))
    assert r["status"] == "ok"


def test_ratio_large_but_noisy_shift_is_flagged_noisy_not_failed():
    noisy = [0.6, 2.0, 0.7, 1.9, 0.8, 1.5, 1.15]
    r = row(_ratio(BASE), _ratio(noisy))
    assert r["status"] == "noisy"
    assert r["p"] >= C.ALPHA


def test_ratio_too_few_samples_never_fails():
    r = row(_ratio(BASE), _ratio([2.0, 2.1]))
    assert r["status"] == "noisy" and r["p"] is None


def test_ratio_higher_is_better():
    base = _ratio([v * 0.8 for v in BASE], better="higher")
    assert row(base, _ratio([v * 0.6 for v in BASE], better="higher"))["status"] == "regression"
    assert row(base, _ratio([v * 1.0 for v in BASE], better="higher"))["status"] == "improved"


def test_info_never_fails_and_new_and_missing():
    assert row(metric(1.0, "ns"), metric(100.0, "ns"))["status"] == "info"
    assert row(None, metric(1, "bytes", "deterministic"))["status"] == "new"
    assert row(metric(1, "bytes", "deterministic"), None)["status"] == "missing"


def test_regressions_strict_counts_missing_gated_metrics():
    rows = [{"metric": "a", "kind": "deterministic", "status": "missing"},
            {"metric": "b", "kind": "info", "status": "missing"}]
    assert C.regressions(rows) == []
    assert [r["metric"] for r in C.regressions(rows, strict=True)] == ["a"]


def test_targets_met_and_unmet():
    run = make_run(metrics=standard_metrics())
    t = {x["metric"]: x["met"] for x in C.targets(run)}
    assert t == {"overhead.cfuser.add.ns": True, "import.delta.ms": False}


def _write(tmp_path, name, doc):
    p = tmp_path / name
    p.write_text(json.dumps(doc))
    return p


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "reports.compare", *map(str, args)],
                          cwd=REPO, capture_output=True, text=True)


def test_cli_exit_status_and_table(tmp_path):
    base = _write(tmp_path, "base.json", make_run(metrics=standard_metrics()))
    same = _write(tmp_path, "same.json", make_run(metrics=standard_metrics()))
    res = _cli(same, "--baseline", base)
    assert res.returncode == 0, res.stderr
    assert "no regression" in res.stdout
    bigger = _write(tmp_path, "big.json", make_run(metrics=standard_metrics(scale=1.10,
                                                                            ratio_shift=1.3)))
    res = _cli(bigger, "--baseline", base)
    assert res.returncode == 1
    for name in ("size._C.stripped", "instructions.cfuser.add"):
        assert name in res.stderr
    # a ratio against a recorded baseline is history, shown but not failed ...
    assert "overhead.add.cfuser_over_nanobind" not in res.stderr
    line = next(x for x in res.stdout.splitlines() if x.startswith("overhead.add.cfuser_over"))
    assert "+30.0%" in line and line.rstrip().endswith("history")
    # ... unless asked, for a baseline recorded on this host
    res = _cli(bigger, "--baseline", base, "--gate-ratios")
    assert res.returncode == 1 and "overhead.add.cfuser_over_nanobind" in res.stderr
    line = next(x for x in res.stdout.splitlines() if x.startswith("size._C.stripped"))
    assert "100,000" in line and "110,000" in line and "+10.0%" in line and "REGRESSION" in line
    # The smoke gate compares only deterministic metrics.
    res = _cli(bigger, "--baseline", base, "--kinds", "deterministic")
    assert res.returncode == 1
    assert "overhead.add.cfuser_over_nanobind" not in res.stdout


def test_record_baseline_never_overwrites_silently(tmp_path, capsys):
    run = _write(tmp_path, "run.json", make_run(metrics=standard_metrics()))
    bdir = tmp_path / "baselines"
    assert record_baseline.main([str(run), "--dir", str(bdir)]) == 0
    first = (bdir / "test-class.json").read_text()
    run2 = _write(tmp_path, "run2.json", make_run(metrics=standard_metrics(scale=2.0)))
    assert record_baseline.main([str(run2), "--dir", str(bdir)]) == 1
    assert (bdir / "test-class.json").read_text() == first
    assert record_baseline.main([str(run2), "--dir", str(bdir), "--replace",
                                 "--reason", "test"]) == 0
    doc = json.loads((bdir / "test-class.json").read_text())
    assert doc["metrics"]["size._C.stripped"]["value"] == 200000
    assert doc["baseline"]["reason"] == "test"


def test_record_baseline_refuses_a_run_with_errors(tmp_path):
    doc = make_run(metrics=standard_metrics())
    doc["errors"] = [{"what": "throughput.softmax", "error": "boom"}]
    run = _write(tmp_path, "run.json", doc)
    assert record_baseline.main([str(run), "--dir", str(tmp_path / "b")]) == 1


def test_callgrind_dump_parsing(tmp_path):
    def dump(name, total):
        p = tmp_path / f"cg.out.{name}"
        p.write_text(f"version: 1\ncreator: callgrind\ndesc: Trigger: Client Request: {name}\n"
                     f"events: Ir\nfn=(1) x\n0 {total}\ntotals: {total}\n")
        return str(p)
    counts = dict(parse_dump(dump(n, t)) for n, t in
                  [("empty", 10_000), ("cfuser:add:main", 1_010_000),
                   ("cfuser:int_list_per_elem:main", 5_000_000),
                   ("cfuser:int_list_per_elem:base", 2_952_000)])
    per = per_call(counts, "cfuser", 1000)
    assert per["add"] == pytest.approx(1000.0)
    assert per["int_list_per_elem"] == pytest.approx(2.0)
