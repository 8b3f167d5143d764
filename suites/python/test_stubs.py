"""The shipped .pyi stubs match the runtime module (mypy's stubtest)."""

from __future__ import annotations

import os
import site
import subprocess
import sys

import pytest

from conftest import cfuser, plain_python_only

PACKAGE_DIR = os.path.dirname(os.path.abspath(cfuser.__file__))
ROOT = os.path.dirname(PACKAGE_DIR)
# Installed (a wheel, `pip install .`), mypy finds the package by its py.typed
# (PEP 561) and refuses a site-packages directory on MYPYPATH.
INSTALLED = os.path.realpath(ROOT) in {os.path.realpath(p) for p in site.getsitepackages()}
# stubtest walks the package's submodules itself (naming them again makes
# mypy see each module twice)
PUBLIC = ["cfuser"]


def _env(tmp_path):
    env = dict(os.environ)
    if not INSTALLED:
        env["MYPYPATH"] = ROOT
        env["PYTHONPATH"] = os.pathsep.join(p for p in [ROOT, env.get("PYTHONPATH")] if p)
    env["MYPY_CACHE_DIR"] = str(tmp_path / "mypy_cache")
    return env


def test_package_ships_stubs_and_marker():
    assert os.path.isfile(os.path.join(PACKAGE_DIR, "py.typed"))
    stubs = [f for f in os.listdir(PACKAGE_DIR) if f.endswith(".pyi")]
    assert stubs, "no .pyi stubs next to the package"
    assert "_C.pyi" in stubs or os.path.isdir(os.path.join(PACKAGE_DIR, "_C")), stubs


@plain_python_only
def test_stubtest(tmp_path):
    res = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", *PUBLIC],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300 * float(os.environ.get("CFUSER_HARNESS_TIME_FACTOR", "1")),  # follows the host
    )
    assert res.returncode == 0, f"stubtest failed:\n{res.stdout[-6000:]}\n{res.stderr[-2000:]}"
    # the public submodules were among those checked
    assert "no issues found in" in res.stdout
    checked = int(res.stdout.rsplit("no issues found in", 1)[1].split()[0])
    assert checked >= 4, res.stdout


# --- the generated ops stub -------------------------------------------------------------

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OPGEN = os.path.join(REPO, "core", "ops", "opgen.py")
TABLE = os.path.join(REPO, "core", "ops", "ops.toml")
CHECKED_IN_STUB = os.path.join(REPO, "bindings", "cfuser", "ops.pyi")
# Away from the checkout (ci/wheel.sh runs copies of these files against the
# installed wheel) the stub is the one the package ships.
SHIPPED_STUB = CHECKED_IN_STUB if os.path.isfile(CHECKED_IN_STUB) else \
    os.path.join(os.path.dirname(cfuser.__file__), "ops.pyi")
in_checkout = pytest.mark.skipif(not os.path.isfile(TABLE),
                                 reason="compares with the op table (core/ops), which only the checkout has")


@plain_python_only
@in_checkout
def test_ops_stub_matches_registry():
    """bindings/cfuser/ops.pyi is what core/ops/opgen.py generates from the
    registry; regenerate it with
    `python3 core/ops/opgen.py core/ops/ops.toml --stub > bindings/cfuser/ops.pyi`."""
    res = subprocess.run([sys.executable, OPGEN, TABLE, "--stub"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    with open(CHECKED_IN_STUB, encoding="utf-8") as fh:
        checked_in = fh.read()
    if res.stdout != checked_in:
        import difflib

        diff = "".join(
            difflib.unified_diff(
                checked_in.splitlines(True), res.stdout.splitlines(True), "checked in", "generated", n=1
            )
        )
        raise AssertionError("bindings/cfuser/ops.pyi differs from the registry's stub:\n" + diff[:4000])


@plain_python_only
def test_ops_stub_names_match_module():
    """The stub declares exactly the ops the module has."""
    import ast

    with open(SHIPPED_STUB, encoding="utf-8") as fh:
        tree = ast.parse(fh.read())
    declared = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    runtime = {n for n in vars(cfuser.ops) if not n.startswith("_") and callable(getattr(cfuser.ops, n))}
    assert declared == runtime
