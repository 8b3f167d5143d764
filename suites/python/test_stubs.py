"""The shipped .pyi stubs match the runtime module (mypy's stubtest)."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import cfuser, plain_python_only

PACKAGE_DIR = os.path.dirname(os.path.abspath(cfuser.__file__))
ROOT = os.path.dirname(PACKAGE_DIR)
# stubtest walks the package's submodules itself (naming them again makes
# mypy see each module twice)
PUBLIC = ["cfuser"]


def _env(tmp_path):
    env = dict(os.environ)
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
