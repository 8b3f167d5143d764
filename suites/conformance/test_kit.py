"""The conformance kit checked both ways: cfuser passes every row, and the
deliberately broken binding (broken/_brokenfuser.c) fails every row it is
built to fail, so that no check is one that cannot fail.

    PYTHONPATH=build/python python3 -m pytest -q suites/conformance

CFUSER_BUILD (default build) is where the module, the broken module and the
embedded runner were built; CFUSER_CONFORMANCE_JSON, when set, receives the
report (make check writes reports/out/conformance.json for the dashboard).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
BUILD = Path(os.environ.get("CFUSER_BUILD", REPO / "build"))
sys.path.insert(0, str(REPO))

from reports.schema import RunFileError, validate_conformance  # noqa: E402

# Every row the broken binding must fail or crash; the rest are measurements
# (info) or need cfuser's internals (skip).
BROKEN_FAILS = {
    "keepalive.definition": "crash", "keepalive.uses": "crash", "keepalive.domain": "crash",
    "keepalive.extent": "crash", "keepalive.fusion": "fail",
    "repr.Statement": "fail", "repr.Val": "fail", "repr.Expr": "fail", "repr.IterDomain": "fail",
    "repr.TensorDomain": "fail", "repr.TensorView": "fail", "repr.Fusion": "fail",
    "repr.FusionExecutorCache": "fail",
    "seqconv.per_element": "fail", "caster.errors": "fail", "gil.execute": "fail",
    "exceptions.types": "fail", "exceptions.messages": "fail", "signatures.coverage": "fail",
    "kwargs.ops": "fail", "enums.types": "fail",
    "lifecycle.cycles": "fail", "lifecycle.subinterpreter": "fail",
}
INFO = {"import.time", "binary.size"}
INTERNAL = {"internal.faultinj", "internal.refleak"}


def kit(*args, timeout=600):
    env = dict(os.environ)
    env.setdefault("CFUSER_CONFORMANCE_CYCLES", "60")
    env["CFUSER_CONFORMANCE_HARNESS"] = str(BUILD / "harness" / "cfharness")
    return subprocess.run([sys.executable, str(HERE / "kit.py"), "--path", str(BUILD / "python"),
                           "--path", str(BUILD / "suites" / "conformance"), "--device", "cpu", *args],
                          capture_output=True, text=True, env=env, timeout=timeout)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    if not (BUILD / "suites" / "conformance" / "brokenfuser").is_dir():
        pytest.fail(f"the broken binding is not built under {BUILD} (cmake with CFUSER_BUILD_TESTS=ON)")
    out = Path(os.environ.get("CFUSER_CONFORMANCE_JSON") or tmp_path_factory.mktemp("conf") / "conformance.json")
    r = kit("--target", "cfuser", "--target", "brokenfuser", "--json", str(out))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    sys.stderr.write(r.stdout)
    doc = json.loads(out.read_text())
    return {"doc": doc, "cells": {it["id"]: it["cells"] for it in doc["items"]}, "stdout": r.stdout}


def test_report_fits_its_schema(report):
    validate_conformance(report["doc"])
    assert [t["name"] for t in report["doc"]["targets"]] == ["cfuser", "brokenfuser"]
    assert all(t["loaded"] for t in report["doc"]["targets"])


def test_every_row_is_in_the_report(report):
    assert set(report["cells"]) == set(BROKEN_FAILS) | INFO | INTERNAL


def test_cfuser_passes_every_row(report):
    bad = {cid: cells["cfuser"] for cid, cells in report["cells"].items()
           if cells["cfuser"]["status"] != ("info" if cid in INFO else "pass")}
    assert not bad, json.dumps(bad, indent=1)


@pytest.mark.parametrize("cid", sorted(BROKEN_FAILS))
def test_broken_binding_fails_the_row(report, cid):
    cell = report["cells"][cid]["brokenfuser"]
    assert cell["status"] == BROKEN_FAILS[cid], cell
    assert cell["evidence"]


def test_a_crash_names_its_signal_and_frame(report):
    cell = report["cells"]["keepalive.definition"]["brokenfuser"]
    assert cell["signal"] == "SIGSEGV"
    assert "Segmentation fault" in cell["evidence"] and "File " in cell["evidence"], cell


def test_internal_rows_are_skipped_for_other_targets(report):
    for cid in INTERNAL:
        cell = report["cells"][cid]["brokenfuser"]
        assert cell["status"] == "skip" and "cfuser's C internals" in cell["evidence"], cell


def test_table_has_a_column_per_target(report):
    head = next(ln for ln in report["stdout"].splitlines() if ln.startswith("item "))
    assert "cfuser" in head and "brokenfuser" in head
    assert "brokenfuser: 0 pass" in report["stdout"]


def test_a_target_that_does_not_load_says_why(tmp_path):
    out = tmp_path / "r.json"
    r = kit("--target", "no_such_binding", "--only", "repr", "--only", "keepalive.definition",
            "--unavailable", "other_binding=its setup failed: no libnvrtc.so.13", "--json", str(out))
    assert r.returncode == 0, r.stderr
    doc = validate_conformance(json.loads(out.read_text()))
    for it in doc["items"]:
        a, b = it["cells"]["no_such_binding"], it["cells"]["other_binding"]
        assert a["status"] == "skip" and "No module named 'no_such_binding'" in a["evidence"], a
        assert b["status"] == "skip" and "no libnvrtc.so.13" in b["evidence"], b
    assert {t["name"]: t["loaded"] for t in doc["targets"]} == {"no_such_binding": False, "other_binding": False}


def test_bad_report_is_a_clear_error(report):
    doc = json.loads(json.dumps(report["doc"]))
    doc["items"][0]["cells"]["cfuser"]["status"] = "maybe"
    with pytest.raises(RunFileError, match="not a valid conformance report"):
        validate_conformance(doc)


def test_a_target_that_crashes_on_import_is_a_finding(tmp_path):
    (tmp_path / "crashing_binding.py").write_text("import ctypes\nctypes.string_at(0)\n")
    out = tmp_path / "r.json"
    r = kit("--target", "crashing_binding", "--path", str(tmp_path), "--only", "repr", "--json", str(out))
    assert r.returncode == 0, r.stderr
    doc = validate_conformance(json.loads(out.read_text()))
    assert doc["targets"][0]["loaded"] is False and "SIGSEGV" in doc["targets"][0]["error"]
    for it in doc["items"]:
        cell = it["cells"]["crashing_binding"]
        assert cell["status"] == "crash" and "the import died (SIGSEGV)" in cell["evidence"], cell
