"""A typed user script passes mypy --strict against the stubs, and typing
mistakes in one are reported (the stubs are precise, not Any)."""

from __future__ import annotations

import os
import site
import subprocess
import sys
import textwrap

from conftest import cfuser

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(cfuser.__file__)))
# Installed (a wheel, `pip install .`), mypy finds the package by its py.typed
# (PEP 561) and refuses a site-packages directory on MYPYPATH.
INSTALLED = os.path.realpath(ROOT) in {os.path.realpath(p) for p in site.getsitepackages()}

GOOD = '''
from __future__ import annotations

from typing import Any

import numpy as np

import cfuser
from cfuser import DataType, Fusion, FusionDefinition, FusionExecutorCache, FusionGuard
from cfuser.ir import Expr, IterDomain, Scalar, TensorDomain, TensorView, Val


def build() -> FusionDefinition:
    with FusionDefinition() as fd:
        x: TensorView = fd.define_tensor(shape=[-1, -1], contiguity=True, dtype=DataType.Float)
        b: TensorView = fd.define_tensor(shape=[-1], dtype=DataType.Float)
        s: Scalar = fd.define_scalar(0.5, dtype=DataType.Double)
        n: Scalar = fd.define_scalar(dtype=DataType.Int)
        bb = cfuser.ops.broadcast_in_dim(b, shape=x.shape(), broadcast_dims=[1])
        y = cfuser.ops.mul(cfuser.ops.tanh(cfuser.ops.add(x, bb)), s)
        z = cfuser.ops.add(y, 1.0)
        fd.add_output(z)
        fd.add_output(cfuser.ops.sum(y, dims=[1], keepdim=False))
        v, m = cfuser.ops.var_mean(x, dims=[1], correction=1, keepdim=False)
        fd.add_output(cfuser.ops.mul(v, n))
        fd.add_output(m)
    return fd


def inspect_ir(fd: FusionDefinition) -> int:
    fusion: Fusion = fd.fusion
    text: str = fusion.print_math()
    ins: list[Val] = fusion.inputs()
    exprs: list[Expr] = fusion.exprs()
    total = len(text) + len(ins) + len(exprs)
    for e in exprs:
        name: str = e.op_name()
        first: Val = e.input(0)
        d = first.definition()
        if d is not None:
            total += d.num_outputs()
        total += len(name) + e.num_inputs()
    t = ins[0]
    if isinstance(t, TensorView):
        dom: TensorDomain = t.domain()
        ax: IterDomain = t.axis(-1)
        ext: Scalar = ax.extent()
        val = ext.value()
        total += t.ndim + dom.ndim + (0 if val is None else int(val))
        flags: list[bool] = [a.is_broadcast() or a.is_reduction() for a in t.logical_domain()]
        total += len(flags) + len(t.root_domain()) + len(t.allocation_domain())
        dt: DataType = t.dtype()
        total += len(dt.name)
    return total


def run() -> list[Any]:
    fd = build()
    fec = FusionExecutorCache(fd.fusion)
    x = np.ones((2, 3), np.float32)
    b = np.ones(3, np.float32)
    outs = fec.execute([x, b, 4], device=None)
    k: int = fec.num_kernels()
    again = fd.execute([x, b, 4])
    f2 = Fusion()
    with FusionGuard(f2):
        t = cfuser.define_tensor(shape=[-1], dtype=DataType.Half)
        f2.add_output(cfuser.ops.neg(t))
    try:
        fec.execute([])
    except cfuser.InvalidArgumentError as e:
        msg: str = str(e)
        k += len(msg)
    except cfuser.Error:
        pass
    return list(outs) + list(again) + [k, inspect_ir(fd)]


version: str = cfuser.__version__
'''

BAD = '''
import cfuser
from cfuser import DataType, FusionDefinition, FusionExecutorCache

with FusionDefinition() as fd:
    x = fd.define_tensor(shape=[-1], dtype=DataType.Float)
    y = cfuser.ops.tanh(x, x)
    bad_ndim: str = x.ndim
    cfuser.ops.sum(x, dims=[0], keepdim="no")
    fd.add_output(y)
kernels: str = FusionExecutorCache(fd.fusion).num_kernels()
nope = cfuser.ops.not_an_op(x)
'''


def _mypy(tmp_path, name, source):
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    env = dict(os.environ)
    if not INSTALLED:
        env["MYPYPATH"] = ROOT
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", str(tmp_path / "cache"), str(path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300 * float(os.environ.get("CFUSER_HARNESS_TIME_FACTOR", "1")),  # follows the host
    )


def test_typed_script_passes_strict(tmp_path):
    res = _mypy(tmp_path, "good.py", GOOD)
    assert res.returncode == 0, res.stdout + res.stderr


def test_typing_mistakes_are_reported(tmp_path):
    res = _mypy(tmp_path, "bad.py", BAD)
    out = res.stdout
    assert res.returncode == 1, out + res.stderr
    lines = {
        int(line.split(":")[1])
        for line in out.splitlines()
        if ": error:" in line and line.split(":")[0].endswith("bad.py")
    }
    # tanh with two arguments, ndim into str, keepdim a str, num_kernels into str, unknown op
    for lineno in (7, 8, 9, 11, 12):
        assert lineno in lines, f"no error reported on line {lineno}:\n{out}"
