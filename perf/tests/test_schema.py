"""Run and baseline files are validated when read: a bad one is one clear
error naming the file and the field."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from reports.schema import RunFileError, load_run, validate_run

from .conftest import REPO
from .runs import make_run, standard_metrics


def _write(tmp_path, name, doc):
    p = tmp_path / name
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return p


def test_committed_runs_and_baselines_are_valid():
    files = sorted((REPO / "reports" / "baselines").glob("*.json")) + \
        sorted((REPO / "reports" / "history").glob("*.json"))
    assert files
    for p in files:
        load_run(p)


@pytest.mark.parametrize("breakage,where", [
    (lambda d: d.pop("metrics"), "'metrics' is a required property"),
    (lambda d: d["metrics"]["size._C.stripped"].update(kind="fast"), "at metrics/size._C.stripped/kind"),
    (lambda d: d["metrics"]["size._C.stripped"].update(value="big"), "'big' is not of type"),
    (lambda d: d["metrics"]["overhead.add.cfuser_over_nanobind"].update(samples=[1, "x"]),
     "at metrics/overhead.add.cfuser_over_nanobind/samples/1"),
    (lambda d: d["commit"].pop("short"), "at commit: 'short' is a required property"),
    (lambda d: d.update(schema=2), "at schema"),
])
def test_bad_fields_are_named(tmp_path, breakage, where):
    doc = make_run(metrics=standard_metrics())
    validate_run(doc)
    breakage(doc)
    p = _write(tmp_path, "bad.json", doc)
    with pytest.raises(RunFileError) as e:
        load_run(p)
    assert str(p) in str(e.value) and where in str(e.value)


def test_unreadable_and_not_json(tmp_path):
    with pytest.raises(RunFileError, match="cannot read"):
        load_run(tmp_path / "absent.json")
    with pytest.raises(RunFileError, match="is not JSON"):
        load_run(_write(tmp_path, "x.json", "{oops"))


def test_compare_cli_reports_a_bad_baseline_without_a_traceback(tmp_path):
    run = _write(tmp_path, "run.json", make_run(metrics=standard_metrics()))
    bad = make_run(metrics=standard_metrics())
    del bad["machine_class"]
    base = _write(tmp_path, "base.json", bad)
    res = subprocess.run([sys.executable, "-m", "reports.compare", str(run), "--baseline", str(base)],
                         cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert "'machine_class' is a required property" in res.stderr and Path(base).name in res.stderr
