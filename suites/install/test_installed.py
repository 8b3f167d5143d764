"""The installed cfuser package (a wheel or `pip install .`), not the build tree.

ci/wheel.sh runs this file beside suites/python, from a directory outside the
source tree, with the venv's interpreter and LD_LIBRARY_PATH empty. It needs
CFUSER_SOURCE_ROOT (the checkout, to read the one version in the header).
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
import textwrap

import pytest

import cfuser

SOURCE_ROOT = os.environ.get("CFUSER_SOURCE_ROOT", "")
PKG_DIR = os.path.dirname(os.path.abspath(cfuser.__file__))
EXT = os.path.abspath(cfuser._C.__file__)


def test_imports_the_installed_package_not_the_source_or_build_tree():
    assert PKG_DIR.startswith(os.path.realpath(sys.prefix) + os.sep) or PKG_DIR.startswith(sys.prefix + os.sep), PKG_DIR
    if SOURCE_ROOT:
        assert not os.path.realpath(PKG_DIR).startswith(os.path.realpath(SOURCE_ROOT) + os.sep), PKG_DIR


def test_version_is_the_headers_everywhere():
    assert SOURCE_ROOT, "CFUSER_SOURCE_ROOT names the checkout"
    with open(os.path.join(SOURCE_ROOT, "core", "include", "cfuser", "cfuser.h")) as f:
        header = re.search(r'#define CFUSER_VERSION "([^"]+)"', f.read()).group(1)
    assert cfuser.__version__ == header
    assert importlib.metadata.version("cfuser") == header


def test_ships_typed_marker_and_stubs():
    names = set(os.listdir(PKG_DIR))
    assert {"py.typed", "_C.pyi", "ops.pyi", "__init__.py"} <= names, names


def _dynamic_paths(lib: str) -> list[str]:
    out = subprocess.run(["readelf", "-d", lib], capture_output=True, text=True, check=True).stdout
    paths: list[str] = []
    for line in out.splitlines():
        m = re.search(r"\((RPATH|RUNPATH)\).*\[(.*)\]", line)
        if m:
            paths += m.group(2).split(":")
    return paths


def test_no_rpath_into_a_build_tree():
    libs = [EXT]
    bundled = os.path.join(os.path.dirname(PKG_DIR), "cfuser.libs")
    if os.path.isdir(bundled):
        libs += [os.path.join(bundled, n) for n in os.listdir(bundled)]
    for lib in libs:
        for p in _dynamic_paths(lib):
            assert p.startswith("$ORIGIN"), f"{lib}: search path {p!r} leaves the package"


RUN_FUSION = textwrap.dedent(
    """
    import numpy as np, cfuser
    from cfuser import FusionDefinition, DataType
    with FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=DataType.Float)
        fd.add_output(fd.ops.sum(fd.ops.tanh(fd.ops.exp(x)), dims=[0], keepdim=False))
    n = 1 << 22
    (y,) = fd.execute([np.full(n, 0.25, np.float32)])
    assert abs(float(y) - n * np.tanh(np.exp(np.float32(0.25)))) < 1e-3 * n, float(y)
    print("\\n".join(sorted({l.split()[-1] for l in open("/proc/self/maps") if ".so" in l})))
    """
)


def test_runs_without_the_build_machines_libraries():
    # A large tanh/exp fusion goes through SLEEF's vector math and the OpenMP
    # runtime; both must come from the wheel, never from the system's
    # libsleef / libgomp (which a user's machine does not have).
    env = dict(os.environ, LD_LIBRARY_PATH="")
    env.pop("PYTHONPATH", None)
    res = subprocess.run([sys.executable, "-I", "-c", RUN_FUSION], env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    mapped = res.stdout.split()
    for lib in mapped:
        name = os.path.basename(lib)
        if name.startswith(("libsleef", "libgomp", "libomp")):
            assert "/site-packages/" in lib, f"{lib} comes from outside the installed package"
    assert any(os.path.basename(p).startswith("_C.") for p in mapped), mapped
