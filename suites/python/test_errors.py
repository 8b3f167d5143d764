"""Bad input across the API: a table of calls, each with the exception it
must raise and fragments its message must contain.

Every cfuser error is caught both by ``except cfuser.Error`` and by the
built-in base it derives from; a failed call leaves the fusion as it was
(same expressions, inputs and outputs) and usable.
"""

from __future__ import annotations

import itertools
import re
from types import SimpleNamespace
from typing import Any, Callable, NamedTuple

import numpy as np
import pytest
import torch

from conftest import cfuser

D = cfuser.DataType
E = cfuser


class Case(NamedTuple):
    id: str
    call: Callable[[Any], Any]
    exc: Any  # an exception type or a tuple of acceptable types
    frags: tuple = ()


def builtin_base(cls):
    for base in (ValueError, TypeError, IndexError, MemoryError, OverflowError):
        if issubclass(cls, base):
            return base
    return RuntimeError


def check_exception(e, exc, frags):
    types = exc if isinstance(exc, tuple) else (exc,)
    assert isinstance(e, types), f"expected {[t.__name__ for t in types]}, got {type(e).__name__}: {e}"
    if isinstance(e, cfuser.Error):
        caught = []
        try:
            raise e
        except cfuser.Error:
            caught.append("cfuser.Error")
        base = builtin_base(type(e))
        try:
            raise e
        except base:
            caught.append(base.__name__)
        assert len(caught) == 2, caught
        assert isinstance(e, RuntimeError)
    msg = str(e).lower()
    for f in frags:
        assert f.lower() in msg, f"message {str(e)!r} lacks {f!r}"


# --- calls inside an open fusion ---------------------------------------------------------


@pytest.fixture(scope="module")
def other():
    """A tensor of another fusion."""
    with cfuser.FusionDefinition() as fd2:
        t = fd2.define_tensor(shape=[-1, -1], dtype=D.Float)
        fd2.add_output(fd2.ops.neg(t))
    return t


def make_ctx(fd, other):
    c = SimpleNamespace(fd=fd, ops=fd.ops, other=other)
    c.x = fd.define_tensor(shape=[-1, -1], dtype=D.Float)
    c.y = fd.define_tensor(shape=[-1, -1], dtype=D.Float)
    c.b = fd.define_tensor(shape=[-1], dtype=D.Float)
    c.i = fd.define_tensor(shape=[-1, -1], dtype=D.Int)
    c.p = fd.define_tensor(shape=[-1, -1], dtype=D.Bool)
    c.f23 = fd.define_tensor(shape=[2, 3], dtype=D.Float)
    c.one = fd.define_tensor(shape=[1, -1], dtype=D.Float)
    c.s = fd.define_scalar(0.5, dtype=D.Double)
    c.e = fd.ops.exp(c.x)
    fd.add_output(c.e)
    return c


IN_FUSION = [
    # wrong Python types for op arguments
    Case("add-rhs-str", lambda c: c.ops.add(c.x, "a"), TypeError, ("add", "rhs")),
    Case("add-lhs-str", lambda c: c.ops.add("a", c.x), TypeError, ("add", "lhs")),
    Case("add-rhs-none", lambda c: c.ops.add(c.x, None), TypeError, ("add", "rhs")),
    Case("mul-rhs-list", lambda c: c.ops.mul(c.x, [1, 2]), TypeError, ("mul", "rhs")),
    Case("sub-rhs-complex", lambda c: c.ops.sub(c.x, 1j), TypeError, ("sub", "rhs")),
    Case("tanh-python-number", lambda c: c.ops.tanh(1.5), TypeError, ("tanh", "x")),
    Case("neg-fusion-object", lambda c: c.ops.neg(c.fd.fusion), TypeError, ("neg", "x")),
    Case("tanh-missing-arg", lambda c: c.ops.tanh(), TypeError, ("x",)),
    Case("add-missing-rhs", lambda c: c.ops.add(c.x), TypeError, ("rhs",)),
    Case("add-too-many", lambda c: c.ops.add(c.x, c.x, c.x), TypeError, ("add",)),
    Case("add-unknown-keyword", lambda c: c.ops.add(lhs=c.x, rhs=c.x, alpha=1), TypeError, ("alpha",)),
    Case("add-duplicate-keyword", lambda c: c.ops.add(c.x, lhs=c.x), TypeError, ("lhs",)),
    Case("clamp-min-str", lambda c: c.ops.clamp(c.x, "a", 1.0), TypeError, ("clamp", "min")),
    Case("where-y-str", lambda c: c.ops.where(c.p, c.x, "y"), TypeError, ("where", "y")),
    Case("lerp-weight-none", lambda c: c.ops.lerp(c.x, c.y, None), TypeError, ("lerp", "weight")),
    Case("addcmul-value-str", lambda c: c.ops.addcmul(c.x, c.x, c.x, "v"), TypeError, ("addcmul", "value")),
    Case("threshold-threshold-str", lambda c: c.ops.threshold(c.x, "t", 0.0), TypeError, ("threshold",)),
    Case("cast-dtype-str", lambda c: c.ops.cast(c.x, "Float"), TypeError, ("cast", "dtype")),
    Case("sum-dtype-str", lambda c: c.ops.sum(c.x, dims=[0], dtype="Double"), TypeError, ("sum", "dtype")),
    Case("iota-length-str", lambda c: c.ops.iota("3"), TypeError, ("iota", "length")),
    Case("full-fill-str", lambda c: c.ops.full([2], "a", D.Float), TypeError, ("full", "fill_value")),
    Case("broadcast-flags-int", lambda c: c.ops.broadcast(c.b, 5), TypeError, ("broadcast", "is_broadcast_dim")),
    Case("sum-dims-float-scalar", lambda c: c.ops.sum(c.x, dims=3.5), TypeError, ("sum", "dims")),
    # ops across two fusions
    Case("add-different-fusion", lambda c: c.ops.add(c.x, c.other), E.InvalidArgumentError, ("add", "different fusion")),
    Case("tanh-different-fusion", lambda c: c.ops.tanh(c.other), E.InvalidArgumentError, ("tanh", "different fusion")),
    Case("where-different-fusion", lambda c: c.ops.where(c.p, c.x, c.other), E.InvalidArgumentError, ("where", "different fusion")),
    Case("sum-different-fusion", lambda c: c.ops.sum(c.other, dims=[0]), E.InvalidArgumentError, ("sum", "different fusion")),
    # types the op does not take
    Case("bitwise_and-float", lambda c: c.ops.bitwise_and(c.x, c.y), E.InvalidTypeError, ("bitwise_and",)),
    Case("bitwise_not-float", lambda c: c.ops.bitwise_not(c.x), E.InvalidTypeError, ("bitwise_not",)),
    Case("bitwise_left_shift-float", lambda c: c.ops.bitwise_left_shift(c.i, c.x), E.InvalidTypeError, ("bitwise_left_shift",)),
    Case("bitwise_or-float-number", lambda c: c.ops.bitwise_or(c.i, 1.5), E.InvalidTypeError, ("bitwise_or",)),
    Case("bitwise_xor-float-scalar", lambda c: c.ops.bitwise_xor(c.i, c.s), E.InvalidTypeError, ("bitwise_xor",)),
    Case("cast-complex", lambda c: c.ops.cast(c.x, D.ComplexFloat), E.UnsupportedError, ("not supported yet",)),
    Case("full-complex", lambda c: c.ops.full([2], 1.0, D.ComplexDouble), E.UnsupportedError, ("not supported yet",)),
    # shapes that do not fit
    Case("add-rank-mismatch", lambda c: c.ops.add(c.x, c.b), E.InvalidArgumentError, ("add",)),
    Case("sum-dim-out-of-range", lambda c: c.ops.sum(c.x, dims=[2]), E.OutOfRangeError, ("sum", "dims", "2")),
    Case("sum-dim-negative-out-of-range", lambda c: c.ops.sum(c.x, dims=[-3]), E.OutOfRangeError, ("sum", "-3")),
    Case("prod-dim-out-of-range", lambda c: c.ops.prod(c.x, dims=[7]), E.OutOfRangeError, ("prod", "7")),
    Case("max-dim-out-of-range", lambda c: c.ops.max(c.x, dims=[5]), E.OutOfRangeError, ("max", "5")),
    Case("min-dim-out-of-range", lambda c: c.ops.min(c.x, dims=[0, 4]), E.OutOfRangeError, ("min", "4")),
    Case("var-dim-out-of-range", lambda c: c.ops.var(c.x, dims=[3]), E.OutOfRangeError, ("var", "3")),
    Case("var_mean-dim-out-of-range", lambda c: c.ops.var_mean(c.x, dims=[-5]), E.OutOfRangeError, ("var_mean", "-5")),
    Case("sum-duplicate-dims", lambda c: c.ops.sum(c.x, dims=[0, 0]), E.InvalidArgumentError, ("sum", "dims")),
    Case("sum-duplicate-dims-negative", lambda c: c.ops.sum(c.x, dims=[1, -1]), E.InvalidArgumentError, ("sum", "dims")),
    Case("var_mean-duplicate-dims", lambda c: c.ops.var_mean(c.x, [1, 1]), E.InvalidArgumentError, ("var_mean",)),
    Case("sum-dims-item-str", lambda c: c.ops.sum(c.x, dims=[0, "a"]), TypeError, ("item 1",)),
    Case("sum-dims-item-float", lambda c: c.ops.sum(c.x, dims=[0.0]), TypeError, ("item 0",)),
    Case("sum-dims-overflow", lambda c: c.ops.sum(c.x, dims=[2**64]), OverflowError, ("dims",)),
    Case("reshape-element-count", lambda c: c.ops.reshape(c.f23, [4, 2]), E.InvalidArgumentError, ("reshape",)),
    Case("reshape-negative-size", lambda c: c.ops.reshape(c.f23, [-6]), E.InvalidArgumentError, ("reshape", "new_shape")),
    Case("reshape-item-none", lambda c: c.ops.reshape(c.f23, [6, None]), TypeError, ("item 1",)),
    Case("permute-duplicate", lambda c: c.ops.permute(c.x, [0, 0]), E.InvalidArgumentError, ("permute", "dims")),
    Case("permute-too-short", lambda c: c.ops.permute(c.x, [0]), E.InvalidArgumentError, ("permute", "dims")),
    Case("permute-out-of-range", lambda c: c.ops.permute(c.x, [0, 2]), (E.InvalidArgumentError, E.OutOfRangeError), ("permute",)),
    Case("squeeze-non-broadcast", lambda c: c.ops.squeeze(c.f23, [0]), E.InvalidArgumentError, ("squeeze",)),
    Case("squeeze-out-of-range", lambda c: c.ops.squeeze(c.one, [2]), E.OutOfRangeError, ("squeeze",)),
    Case(
        "broadcast_in_dim-dim-out-of-range",
        lambda c: c.ops.broadcast_in_dim(c.b, shape=[2, 3], broadcast_dims=[5]),
        (E.InvalidArgumentError, E.OutOfRangeError),
        ("broadcast_in_dim",),
    ),
    Case(
        "broadcast_in_dim-dims-count",
        lambda c: c.ops.broadcast_in_dim(c.b, shape=[2, 3], broadcast_dims=[0, 1]),
        E.InvalidArgumentError,
        ("broadcast_in_dim", "broadcast_dims"),
    ),
    Case(
        "broadcast_in_dim-lower-rank",
        lambda c: c.ops.broadcast_in_dim(c.x, shape=[3], broadcast_dims=[0]),
        E.InvalidArgumentError,
        ("broadcast_in_dim",),
    ),
    Case(
        "broadcast_in_dim-shape-item",
        lambda c: c.ops.broadcast_in_dim(c.b, shape=[2, "a"], broadcast_dims=[1]),
        TypeError,
        ("item 1",),
    ),
    Case("broadcast-flag-count", lambda c: c.ops.broadcast(c.b, [True, True]), E.InvalidArgumentError, ("broadcast",)),
    Case("expand-non-broadcast-axis", lambda c: c.ops.expand(c.f23, [4, 3]), E.InvalidArgumentError, ("expand",)),
    Case("expand-rank", lambda c: c.ops.expand(c.x, [2]), E.InvalidArgumentError, ("expand",)),
    Case("full-negative-size", lambda c: c.ops.full([2, -5], 1.0, D.Float), E.InvalidArgumentError, ("full", "shape")),
    # definitions
    Case("define_tensor-shape-minus-two", lambda c: c.fd.define_tensor(shape=[-2]), E.InvalidArgumentError, ("define_tensor", "shape", "-2")),
    Case("define_tensor-shape-item-str", lambda c: c.fd.define_tensor(shape=[1, 2, "x"]), TypeError, ("item 2",)),
    Case("define_tensor-shape-item-float", lambda c: c.fd.define_tensor(shape=[2.0]), TypeError, ("item 0",)),
    Case("define_tensor-shape-overflow", lambda c: c.fd.define_tensor(shape=[-1, 2**63]), OverflowError, ("shape",)),
    Case("define_tensor-shape-not-iterable", lambda c: c.fd.define_tensor(shape=5), TypeError, ("shape",)),
    Case(
        "define_tensor-generator-bad-item",
        lambda c: c.fd.define_tensor(shape=(v for v in [1, 2.5])),
        TypeError,
        ("item 1",),
    ),
    Case("define_tensor-rank-9", lambda c: c.fd.define_tensor(shape=[-1] * 9), (E.UnsupportedError, E.InvalidArgumentError), ("define_tensor",)),
    Case("define_tensor-dtype-str", lambda c: c.fd.define_tensor(shape=[-1], dtype="float"), TypeError, ("dtype",)),
    Case("define_tensor-contiguity-count", lambda c: c.fd.define_tensor(shape=[-1, -1], contiguity=[True]), E.InvalidArgumentError, ("contiguity",)),
    Case("define_tensor-contiguity-type", lambda c: c.fd.define_tensor(shape=[-1], contiguity=3.5), TypeError, ("contiguity",)),
    Case(
        "define_tensor-stride_order-duplicate",
        lambda c: c.fd.define_tensor(shape=[-1, -1], stride_order=[0, 0]),
        E.InvalidArgumentError,
        ("stride_order",),
    ),
    Case(
        "define_tensor-stride_order-count",
        lambda c: c.fd.define_tensor(shape=[-1, -1], stride_order=[0]),
        E.InvalidArgumentError,
        ("stride_order",),
    ),
    Case("define_tensor-strides-count", lambda c: c.fd.define_tensor(sizes=[2, 3], strides=[1]), E.InvalidArgumentError, ("strides",)),
    Case("define_tensor-unknown-keyword", lambda c: c.fd.define_tensor(shape=[-1], bogus=1), TypeError, ("bogus",)),
    Case("define_tensor-ComplexFloat", lambda c: c.fd.define_tensor(shape=[-1], dtype=D.ComplexFloat), E.UnsupportedError, ("not supported yet",)),
    Case("define_tensor-ComplexDouble", lambda c: c.fd.define_tensor(shape=[-1], dtype=D.ComplexDouble), E.UnsupportedError, ("not supported yet",)),
    Case("define_tensor-Float8_e4m3fn", lambda c: c.fd.define_tensor(shape=[-1], dtype=D.Float8_e4m3fn), E.UnsupportedError, ("not supported yet",)),
    Case("define_tensor-Float8_e5m2", lambda c: c.fd.define_tensor(shape=[-1], dtype=D.Float8_e5m2), E.UnsupportedError, ("not supported yet",)),
    Case("define_scalar-symbolic-complex", lambda c: c.fd.define_scalar(dtype=D.ComplexDouble), E.UnsupportedError, ("not supported yet",)),
    Case("define_scalar-value-str", lambda c: c.fd.define_scalar("a", dtype=D.Double), TypeError, ("value",)),
    Case("define_scalar-overflow", lambda c: c.fd.define_scalar(2**64, dtype=D.Int), OverflowError, ("value",)),
    Case("define_scalar-dtype-str", lambda c: c.fd.define_scalar(0.5, dtype="Double"), TypeError, ("dtype",)),
    # inputs and outputs
    Case("add_output-alias-not-an-input", lambda c: c.fd.add_output(c.e, c.e), E.InvalidArgumentError, ("add_output", "alias_input")),
    Case("fusion-add_output-alias-a-constant", lambda c: c.fd.fusion.add_output(c.e, c.s), E.InvalidArgumentError, ("add_output", "alias_input")),
    Case("add_output-constant", lambda c: c.fd.add_output(c.s), E.InvalidArgumentError, ("add_output",)),
    Case("add_output-str", lambda c: c.fd.add_output("x"), TypeError, ("add_output",)),
    Case("add_output-other-fusion", lambda c: c.fd.add_output(c.other), E.InvalidArgumentError, ("different fusion",)),
    Case("add_input-computed", lambda c: c.fd.fusion.add_input(c.e), E.InvalidArgumentError, ("add_input",)),
    Case("add_input-twice", lambda c: c.fd.fusion.add_input(c.x), E.InvalidArgumentError, ("add_input",)),
    # introspection
    Case("axis-out-of-range", lambda c: c.x.axis(2), E.OutOfRangeError, ("axis", "2")),
    Case("axis-negative-out-of-range", lambda c: c.x.axis(-3), E.OutOfRangeError, ("axis", "-3")),
    Case("axis-str", lambda c: c.x.axis("0"), TypeError, ()),
    Case("expr-input-out-of-range", lambda c: c.e.definition().input(1), E.OutOfRangeError, ("input",)),
    Case("expr-output-out-of-range", lambda c: c.e.definition().output(1), E.OutOfRangeError, ("output",)),
]


def _snapshot(f):
    return (
        [repr(e) for e in f.exprs()],
        [repr(v) for v in f.inputs()],
        [repr(v) for v in f.outputs()],
    )


@pytest.mark.parametrize("case", IN_FUSION, ids=[c.id for c in IN_FUSION])
def test_error_in_fusion(case, other):
    with cfuser.FusionDefinition() as fd:
        c = make_ctx(fd, other)
        before = _snapshot(fd.fusion)
        with pytest.raises(Exception) as ei:
            case.call(c)
        check_exception(ei.value, case.exc, case.frags)
        assert _snapshot(fd.fusion) == before, "a failed call changed the fusion"
        # the definition goes on as if nothing had happened
        fd.add_output(fd.ops.add(c.x, c.y))
    assert len(fd.fusion.outputs()) == 2
    assert "T0_g_float" in fd.fusion.print_math()


# --- calls outside any fusion ---------------------------------------------------------------

FREE = [
    Case("define_tensor-no-fusion", lambda _: cfuser.define_tensor(shape=[-1], dtype=D.Float), E.Error, ("no active fusion",)),
    Case("define_scalar-no-fusion", lambda _: cfuser.define_scalar(1.0, dtype=D.Double), E.Error, ("no active fusion",)),
    Case("FusionExecutorCache-not-fusion", lambda _: cfuser.FusionExecutorCache("x"), TypeError, ("fusion",)),
    Case("FusionGuard-not-fusion", lambda _: cfuser.FusionGuard(42), TypeError, ("fusion",)),
    Case("FusionExecutorCache-no-args", lambda _: cfuser.FusionExecutorCache(), TypeError, ("fusion",)),
]


@pytest.mark.parametrize("case", FREE, ids=[c.id for c in FREE])
def test_error_outside_fusion(case):
    with pytest.raises(Exception) as ei:
        case.call(None)
    check_exception(ei.value, case.exc, case.frags)


def test_no_active_fusion_after_definition_closed():
    with cfuser.FusionDefinition() as fd:
        fd.add_output(fd.ops.neg(fd.define_tensor(shape=[-1], dtype=D.Float)))
    with pytest.raises(cfuser.Error, match="no active fusion"):
        cfuser.define_tensor(shape=[-1], dtype=D.Float)


# --- execute -----------------------------------------------------------------------------------


def fd_add(shape_x=(-1,), shape_y=(-1,), dtype=D.Float):
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=list(shape_x), dtype=dtype)
        y = fd.define_tensor(shape=list(shape_y), dtype=dtype)
        fd.add_output(fd.ops.add(x, y))
    return fd


def fd_scalar(dtype):
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=D.Double)
        s = fd.define_scalar(dtype=dtype)
        fd.add_output(fd.ops.mul(x, s))
    return fd


def fd_empty():
    with cfuser.FusionDefinition() as fd:
        pass
    return fd


def fd_reshape():
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=D.Float)
        fd.add_output(fd.ops.reshape(x, [5]))
    return fd


def fd_symbolic_size(op):
    with cfuser.FusionDefinition() as fd:
        n = fd.define_scalar(dtype=D.Int)
        out = fd.ops.full([n, 2], 1.0, D.Float) if op == "full" else fd.ops.iota(n)
        fd.add_output(out)
    return fd


def fd_to_bfloat16():
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=D.Float)
        fd.add_output(fd.ops.cast(x, D.BFloat16))
    return fd


class RaisingProducer:
    def __dlpack__(self, **kwargs):
        raise KeyError("producer failed")

    def __dlpack_device__(self):
        return (1, 0)


class ExecCase(NamedTuple):
    id: str
    build: Callable[[], Any]
    bad: Callable[[], list]
    good: Any  # inputs that work afterwards, or None
    exc: Any
    frags: tuple = ()


f32 = lambda *s: np.ones(s, np.float32)  # noqa: E731
f64 = lambda *s: np.ones(s, np.float64)  # noqa: E731

EXEC = [
    ExecCase("empty-fusion", fd_empty, lambda: [], None, E.Error, ("Fusion is empty",)),
    ExecCase("too-few-inputs", fd_add, lambda: [f32(3)], [f32(3), f32(3)], E.InvalidArgumentError, ("execute",)),
    ExecCase("too-many-inputs", fd_add, lambda: [f32(3)] * 3, [f32(3), f32(3)], E.InvalidArgumentError, ("execute",)),
    ExecCase("wrong-dtype-double", fd_add, lambda: [f64(3), f32(3)], [f32(3), f32(3)], E.InvalidTypeError, ("execute", "float")),
    ExecCase("wrong-dtype-int", fd_add, lambda: [f32(3), np.ones(3, np.int64)], [f32(3), f32(3)], E.InvalidTypeError, ("execute",)),
    ExecCase("wrong-rank", fd_add, lambda: [f32(3, 1), f32(3)], [f32(3), f32(3)], E.InvalidArgumentError, ("execute",)),
    ExecCase("fixed-size-mismatch", lambda: fd_add((2, 3), (2, 3)), lambda: [f32(2, 4), f32(2, 4)], [f32(2, 3), f32(2, 3)], E.InvalidArgumentError, ("execute",)),
    ExecCase("broadcast-axis-not-one", lambda: fd_add((1, -1), (-1, -1)), lambda: [f32(3, 4), f32(3, 4)], [f32(1, 4), f32(3, 4)], E.InvalidArgumentError, ("execute",)),
    ExecCase("non-broadcastable-shapes", fd_add, lambda: [f32(3), f32(4)], [f32(4), f32(4)], E.InvalidArgumentError, ("execute",)),
    ExecCase("non-broadcastable-2d", lambda: fd_add((-1, -1), (-1, -1)), lambda: [f32(2, 3), f32(3, 2)], [f32(2, 3), f32(2, 3)], E.InvalidArgumentError, ("execute",)),
    ExecCase("string-for-tensor", fd_add, lambda: ["abc", f32(3)], [f32(3), f32(3)], TypeError, ("execute",)),
    ExecCase("list-for-tensor", fd_add, lambda: [[1.0, 2.0], f32(2)], [f32(2), f32(2)], TypeError, ("execute",)),
    ExecCase("number-for-tensor", fd_add, lambda: [1.5, f32(2)], [f32(2), f32(2)], TypeError, ("execute",)),
    ExecCase("none-for-tensor", fd_add, lambda: [f32(2), None], [f32(2), f32(2)], TypeError, ("execute",)),
    ExecCase("tensor-for-scalar", lambda: fd_scalar(D.Double), lambda: [f64(2), f64(2)], [f64(2), 2.0], TypeError, ("execute",)),
    ExecCase("str-for-scalar", lambda: fd_scalar(D.Double), lambda: [f64(2), "2.0"], [f64(2), 2.0], TypeError, ("execute",)),
    ExecCase("float-for-int-scalar", lambda: fd_scalar(D.Int), lambda: [f64(2), 2.5], [f64(2), 2], TypeError, ("execute",)),
    ExecCase("int-scalar-overflow", lambda: fd_scalar(D.Int), lambda: [f64(2), 2**70], [f64(2), 2], OverflowError, ()),
    ExecCase("reshape-count-at-runtime", fd_reshape, lambda: [f32(2, 3)], [f32(1, 5)], E.InvalidArgumentError, ("reshape",)),
    ExecCase("big-endian-input", fd_add, lambda: [np.ones(3, ">f4"), f32(3)], [f32(3), f32(3)], (TypeError, ValueError), ()),
    ExecCase("bfloat16-output-from-numpy", fd_to_bfloat16, lambda: [f32(3)], [torch.ones(3)], E.Error, ("bfloat16", "torch")),
    ExecCase("negative-symbolic-size-full", lambda: fd_symbolic_size("full"), lambda: [-3], [3], E.InvalidArgumentError, ("execute", "-3")),
    ExecCase("negative-symbolic-size-iota", lambda: fd_symbolic_size("iota"), lambda: [-3], [3], E.InvalidArgumentError, ("execute", "-3")),
    ExecCase("complex-input", fd_add, lambda: [np.ones(3, np.complex64), f32(3)], [f32(3), f32(3)], TypeError, ("execute",)),
]


@pytest.mark.parametrize("case", EXEC, ids=[c.id for c in EXEC])
def test_error_execute(case):
    fd = case.build()
    before = _snapshot(fd.fusion)
    fec = cfuser.FusionExecutorCache(fd.fusion)
    for runner in (fd.execute, fec.execute):
        with pytest.raises(Exception) as ei:
            runner(case.bad())
        check_exception(ei.value, case.exc, case.frags)
    assert _snapshot(fd.fusion) == before
    if case.good is not None:
        outs = fec.execute(case.good)
        assert len(outs) == len(fd.fusion.outputs())
        outs = fd.execute(case.good)
        assert len(outs) == len(fd.fusion.outputs())


def test_execute_inputs_not_iterable():
    fd = fd_add()
    for bad in (None, 5, f32(3)[0]):
        with pytest.raises(TypeError) as ei:
            fd.execute(bad)
        assert "inputs" in str(ei.value) or "execute" in str(ei.value)


def test_execute_bad_option_types():
    fd = fd_add()
    fec = cfuser.FusionExecutorCache(fd.fusion)
    with pytest.raises(TypeError, match="_enable_options"):
        fec.execute([f32(2), f32(2)], _enable_options=5)
    with pytest.raises(TypeError, match="device"):
        fec.execute([f32(2), f32(2)], device=[1])


def test_dlpack_producer_exception_is_chained():
    fd = fd_add()
    with pytest.raises(cfuser.Error) as ei:
        fd.execute([RaisingProducer(), f32(2)])
    e = ei.value
    assert isinstance(e.__cause__, KeyError), repr(e.__cause__)
    assert "producer failed" in str(e.__cause__)
    assert "execute" in str(e)
    assert isinstance(e, (TypeError, ValueError))


def test_dlpack_producer_returning_garbage():
    class Garbage:
        def __dlpack__(self, **kwargs):
            return "not a capsule"

        def __dlpack_device__(self):
            return (1, 0)

    fd = fd_add()
    with pytest.raises((TypeError, ValueError)) as ei:
        fd.execute([Garbage(), f32(2)])
    assert isinstance(ei.value, cfuser.Error)


# --- sizes that overflow -----------------------------------------------------------------------


def _full_huge():
    with cfuser.FusionDefinition() as fd:
        fd.add_output(fd.ops.full([2**40, 2**40], 1.0, D.Float))
    return fd.execute([])


def _expand_huge():
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[1, 1, 1], dtype=D.Float)
        fd.add_output(fd.ops.expand(x, [2**31, 2**31, 4]))
    return fd.execute([f32(1, 1, 1)])


def _symbolic_huge():
    with cfuser.FusionDefinition() as fd:
        n = fd.define_scalar(dtype=D.Int)
        fd.add_output(fd.ops.full([n, n, 8], 0.0, D.Double))
    return fd.execute([2**31])


@pytest.mark.parametrize("fn", [_full_huge, _expand_huge, _symbolic_huge], ids=["full", "expand", "symbolic"])
def test_size_overflow(fn):
    with pytest.raises(cfuser.SizeOverflowError) as ei:
        fn()
    check_exception(ei.value, cfuser.SizeOverflowError, ())


def test_table_size():
    assert len(IN_FUSION) + len(FREE) + len(EXEC) >= 60


@pytest.mark.parametrize(
    "device,exc,frag",
    [
        ("cuda:0", cfuser.DeviceError, "cuda"),
        (0, cfuser.DeviceError, "cuda"),
        ("tpu", cfuser.InvalidArgumentError, "device"),
        ("cuda:x", cfuser.InvalidArgumentError, "device"),
        ("cuda:", cfuser.InvalidArgumentError, "device"),
        ("cuda:1x", cfuser.InvalidArgumentError, "device"),
        ("cuda:-1", cfuser.InvalidArgumentError, "device"),
        ("cuda:99999999999999999999", (cfuser.InvalidArgumentError, OverflowError), "device"),
        (-2, cfuser.InvalidArgumentError, "device"),
        (2**70, OverflowError, "device"),
    ],
)
def test_execute_device_mismatch(device, exc, frag):
    """CPU inputs with a CUDA device requested, or a device string that names
    no device: a clean error naming the device."""
    fd = fd_add()
    fec = cfuser.FusionExecutorCache(fd.fusion)
    with pytest.raises(Exception) as ei:
        fec.execute([f32(2), f32(2)], device=device)
    check_exception(ei.value, exc, ("execute", frag))
    np.testing.assert_array_equal(fec.execute([f32(2), f32(2)], device="cpu")[0], np.full(2, 2.0, np.float32))


# --- messages found unclear by an adversarial run -------------------------------------------


@pytest.mark.parametrize("make", [
    lambda: range(10**12),        # its length is known: nothing is allocated for it
    lambda: itertools.count(),    # endless: read no further than one past the limit
    lambda: [1] * 9,
], ids=["huge_range", "endless_iterator", "nine_entries"])
def test_too_long_size_list_names_the_argument_and_allocates_nothing(make):
    with cfuser.FusionDefinition() as fd:
        with pytest.raises(cfuser.InvalidArgumentError,
                           match=r"define_tensor\(\) argument 'shape' has more than 8 entries; at most 8 dims"):
            fd.define_tensor(shape=make())
        x = fd.define_tensor(shape=[-1, -1])
        with pytest.raises(cfuser.InvalidArgumentError, match=r"sum\(\) argument 'dims' has more than 8 entries"):
            fd.ops.sum(x, dims=make())
        for call, name in ((lambda v: fd.ops.reshape(x, v), "reshape(): argument 'new_shape'"),
                           (lambda v: fd.ops.broadcast_in_dim(x, v, [0, 1]), "broadcast_in_dim(): argument 'shape'"),
                           (lambda v: fd.ops.full(v, 1.0, dtype=cfuser.DataType.Float), "full(): argument 'shape'"),
                           (lambda v: fd.ops.slice(x, v, [1, 1]), "slice(): argument 'start_indices'"),
                           (lambda v: fd.ops.pad(x, v), "pad(): argument 'pad_widths'")):
            with pytest.raises(cfuser.InvalidArgumentError, match=re.escape(name) + " has (more than|9 entries)"):
                call(make())


def test_axis_index_beyond_c_long_is_an_index_error():
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1])
        for i in (2**70, -(2**70)):
            with pytest.raises(cfuser.Error) as ei:
                x.axis(i)
            check_exception(ei.value, IndexError, ("axis", "out of range", str(i)))


def test_correction_beyond_int64_names_the_argument():
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1])
        with pytest.raises(OverflowError, match=r"var\(\) argument 'correction'"):
            fd.ops.var(x, dims=[0], correction=2**63)


def test_dict_input_names_its_type():
    fd = fd_add()
    with pytest.raises(cfuser.Error, match="got 'dict'"):
        fd.execute([{}, f32(2)])


def test_objects_of_another_module_instance_are_named_as_such():
    import importlib.util

    spec = importlib.util.find_spec("cfuser._C")
    other = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(other)
    f2 = other.Fusion()
    with pytest.raises(TypeError, match="another instance of the cfuser._C module"):
        cfuser.FusionGuard(f2)
    with pytest.raises(TypeError, match="another instance of the cfuser._C module"):
        cfuser.FusionExecutorCache(f2)
    with other.FusionGuard(f2):
        t2 = other.define_tensor(shape=[-1])
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1])
        with pytest.raises(TypeError, match="another instance"):
            fd.ops.add(x, t2)
        with pytest.raises(TypeError) as ei:  # our own type of the wrong kind: no such hint
            fd.ops.add(x, fd.fusion)
        assert "another instance" not in str(ei.value)


def _cuda_capsule(n=4):
    """A DLPack capsule for a float32 tensor on cuda:0 (host memory behind it,
    never touched: cfuser must refuse before any device work)."""
    import ctypes

    class DLDevice(ctypes.Structure):
        _fields_ = [("device_type", ctypes.c_int), ("device_id", ctypes.c_int)]

    class DLDataType(ctypes.Structure):
        _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]

    class DLTensor(ctypes.Structure):
        _fields_ = [("data", ctypes.c_void_p), ("device", DLDevice), ("ndim", ctypes.c_int),
                    ("dtype", DLDataType), ("shape", ctypes.POINTER(ctypes.c_int64)),
                    ("strides", ctypes.POINTER(ctypes.c_int64)), ("byte_offset", ctypes.c_uint64)]

    class DLManagedTensor(ctypes.Structure):
        pass

    Deleter = ctypes.CFUNCTYPE(None, ctypes.POINTER(DLManagedTensor))
    DLManagedTensor._fields_ = [("dl_tensor", DLTensor), ("manager_ctx", ctypes.c_void_p), ("deleter", Deleter)]
    buf = (ctypes.c_float * n)()
    shape = (ctypes.c_int64 * 1)(n)
    keep = [buf, shape]
    deleter = Deleter(lambda p: keep.clear())
    m = DLManagedTensor()
    m.dl_tensor = DLTensor(ctypes.cast(buf, ctypes.c_void_p), DLDevice(2, 0), 1, DLDataType(2, 32, 1),
                           shape, None, 0)
    m.deleter = deleter
    keep.extend([m, deleter])
    new = ctypes.pythonapi.PyCapsule_New
    new.restype = ctypes.py_object
    new.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
    return new(ctypes.addressof(m), b"dltensor", None), keep


def test_cuda_input_without_a_usable_cuda_says_so():
    capsule, keep = _cuda_capsule()

    class CudaTensor:
        def __dlpack__(self, **kwargs):
            return capsule

        def __dlpack_device__(self):
            return (2, 0)

    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=D.Float)
        fd.add_output(fd.ops.add(x, 1.0))
    try:
        import torch

        if torch.cuda.is_available():
            pytest.skip("this machine can run CUDA work: the case is for machines that cannot")
    except ImportError:
        pass
    with pytest.raises(cfuser.Error) as ei:
        fd.execute([CudaTensor()])
    check_exception(ei.value, cfuser.DeviceError, ("cuda",))
    assert not isinstance(ei.value, MemoryError), ei.value
