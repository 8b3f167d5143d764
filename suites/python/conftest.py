"""Shared helpers for the cfuser Python test suite.

The suite runs under plain pytest (``PYTHONPATH=build/python python3 -m pytest
suites/python``) and inside the embedding harness.  It imports only public
APIs.  References are computed with numpy (float64 where that is more exact)
on random data from a generator seeded per test.
"""

from __future__ import annotations

import importlib
import os
import sys
import zlib

import numpy as np
import pytest

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _import_cfuser():
    try:
        return importlib.import_module("cfuser")
    except ImportError:
        build = os.path.join(_REPO, "build", "python")
        if os.path.isdir(os.path.join(build, "cfuser")) and build not in sys.path:
            sys.path.insert(0, build)
            return importlib.import_module("cfuser")
        raise


cfuser = _import_cfuser()

import torch  # noqa: E402  (after cfuser: cfuser must not need torch to import)

DataType = cfuser.DataType

# The dtypes the CPU executor supports, by enum member name.
SUPPORTED = ["Float", "Double", "Half", "BFloat16", "Int", "Int32", "Bool"]
FLOATS = ["Float", "Double", "Half", "BFloat16"]
INTS = ["Int", "Int32"]
UNSUPPORTED = ["ComplexFloat", "ComplexDouble", "Float8_e4m3fn", "Float8_e5m2"]

NP_DTYPE = {
    "Float": np.float32,
    "Double": np.float64,
    "Half": np.float16,
    "Int": np.int64,
    "Int32": np.int32,
    "Bool": np.bool_,
}
TORCH_DTYPE = {
    "Float": torch.float32,
    "Double": torch.float64,
    "Half": torch.float16,
    "BFloat16": torch.bfloat16,
    "Int": torch.int64,
    "Int32": torch.int32,
    "Bool": torch.bool,
}
# nvFuser's type names as print_math writes them.
IR_NAME = {
    "Float": "float",
    "Double": "double",
    "Half": "__half",
    "BFloat16": "__bfloat",
    "Int": "int64_t",
    "Int32": "int",
    "Bool": "bool",
}

# (rtol, atol) per result dtype.  Half and BFloat16 are computed in float32
# and rounded once, so one or two units in the last place are allowed.
TOL = {
    "Float": (1e-5, 1e-6),
    "Double": (1e-10, 1e-12),
    "Half": (2e-3, 2e-3),
    "BFloat16": (2e-2, 2e-2),
    "Int": (0, 0),
    "Int32": (0, 0),
    "Bool": (0, 0),
}


def dt(name: str):
    """The DataType member called name."""
    return getattr(DataType, name)


@pytest.fixture
def rng(request):
    """A generator seeded from the test's id, so every case has its own
    fixed data."""
    seed = zlib.crc32(request.node.nodeid.encode())
    return np.random.default_rng(seed)


def random_array(rng, shape, dtype_name, lo=-3.0, hi=3.0):
    """Random numpy data for dtype_name (BFloat16 data is float32 values
    already rounded to bfloat16).  Integers are drawn from [lo, hi]."""
    if dtype_name == "Bool":
        return rng.random(shape) < 0.5
    if dtype_name in INTS:
        return rng.integers(int(np.floor(lo)), int(np.ceil(hi)) + 1, size=shape).astype(
            NP_DTYPE[dtype_name]
        )
    vals = rng.uniform(lo, hi, size=shape)
    if dtype_name == "BFloat16":
        return bf16_round(vals.astype(np.float32))
    return vals.astype(NP_DTYPE[dtype_name])


def torch_random(shape, dtype_name, seed=0):
    """A torch tensor of a cfuser dtype (by name), seeded: Bool fair coins,
    integers in [-50, 50), floating values from a normal distribution."""
    g = torch.Generator().manual_seed(seed)
    if dtype_name == "Bool":
        return torch.rand(shape, generator=g) < 0.5
    if dtype_name in ("Int", "Int32"):
        return torch.randint(-50, 50, shape, generator=g, dtype=TORCH_DTYPE[dtype_name])
    return torch.randn(shape, generator=g, dtype=torch.float64).to(TORCH_DTYPE[dtype_name])


def bf16_round(a):
    """float32 values rounded to the nearest bfloat16 (ties to even)."""
    a = np.asarray(a, dtype=np.float32)
    flat = np.ascontiguousarray(a.reshape(-1))
    return torch.from_numpy(flat).to(torch.bfloat16).float().numpy().reshape(a.shape)


def to_input(a, dtype_name, framework="numpy"):
    """The array as an execute() input of dtype_name: a numpy array, or a
    torch tensor when framework is "torch" or the dtype is BFloat16 (numpy
    has no bfloat16)."""
    if framework == "torch" or dtype_name == "BFloat16":
        return torch.from_numpy(np.ascontiguousarray(a)).to(TORCH_DTYPE[dtype_name])
    return np.ascontiguousarray(a, dtype=NP_DTYPE[dtype_name])


def as_numpy(out):
    """An execute() output as a numpy array (bfloat16 widened to float32)."""
    if isinstance(out, torch.Tensor):
        if out.dtype == torch.bfloat16:
            out = out.float()
        return out.numpy()
    assert isinstance(out, np.ndarray), f"output of unexpected type {type(out)!r}"
    return out


def check_out_dtype(out, dtype_name):
    """The output's dtype is dtype_name in its framework."""
    if isinstance(out, torch.Tensor):
        assert out.dtype == TORCH_DTYPE[dtype_name], (out.dtype, dtype_name)
    else:
        assert dtype_name != "BFloat16", "a numpy output cannot be bfloat16"
        assert out.dtype == NP_DTYPE[dtype_name], (out.dtype, dtype_name)


def reference_cast(ref, dtype_name):
    """A float64/int reference rounded to the storage of dtype_name, as the
    implementation stores it (then widened for comparison)."""
    if dtype_name == "BFloat16":
        return bf16_round(np.asarray(ref, dtype=np.float32))
    return np.asarray(ref).astype(NP_DTYPE[dtype_name])


def assert_close(out, ref, dtype_name, rtol=None, atol=None):
    """Compare an execute() output with a reference of dtype_name: dtype,
    shape and values (NaN matches NaN; integers and bools exactly)."""
    check_out_dtype(out, dtype_name)
    got = as_numpy(out)
    want = reference_cast(ref, dtype_name)
    assert got.shape == want.shape, (got.shape, want.shape)
    if dtype_name in ("Bool",) + tuple(INTS):
        np.testing.assert_array_equal(got, want)
        return
    r, a = TOL[dtype_name]
    np.testing.assert_allclose(
        got.astype(np.float64),
        want.astype(np.float64),
        rtol=r if rtol is None else rtol,
        atol=a if atol is None else atol,
        equal_nan=True,
    )


def run(build, inputs):
    """Define a fusion with build(fd) (which adds its outputs) and execute it
    on inputs; returns the list of outputs."""
    with cfuser.FusionDefinition() as fd:
        build(fd)
    return fd.execute(inputs)


def define(fd, dtype_name, shape=(-1,), **kw):
    """fd.define_tensor with a DataType given by name."""
    return fd.define_tensor(shape=list(shape), dtype=dt(dtype_name), **kw)


def count_live(cls):
    """GC-tracked live instances of cls (every cfuser type that can reach a
    Python object supports GC, so it is tracked)."""
    import gc

    return sum(1 for o in gc.get_objects() if type(o) is cls)


# Set by sanitizers/run-suites.sh when these files run inside an instrumented
# (ASan, TSan, valgrind) interpreter.
UNDER_SANITIZER = bool(os.environ.get("CFUSER_SANITIZER"))
plain_python_only = pytest.mark.skipif(
    UNDER_SANITIZER,
    reason="starts a plain python3, which cannot load the sanitizer-instrumented module; "
    "it runs in the normal build (make check)",
)


# --- the adversarial catalogue (catalogue.py) ---------------------------------
_outcomes: dict = {"passed": {}, "failed": {}}


def pytest_runtest_logreport(report):
    if report.when == "call" or (report.when == "setup" and report.failed):
        kind = "passed" if report.passed else "failed" if report.failed else None
        if kind:
            name = os.path.basename(report.nodeid.split("::")[0])
            _outcomes[kind][name] = _outcomes[kind].get(name, 0) + 1


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get("CFUSER_CATALOGUE")
    if path:
        import catalogue

        doc = catalogue.write(path, _outcomes["passed"], _outcomes["failed"])
        print(f"\ncatalogue: {doc['total_tried']} bad inputs, misuse sequences and random programs tried, "
              f"{doc['total_failed']} without a clear outcome -> {path}")
