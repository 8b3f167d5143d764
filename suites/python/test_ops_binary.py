"""Binary ops: every op x dtype against exact references, type promotion,
and Python numbers / Scalars as operands."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import (
    FLOATS,
    INTS,
    NP_DTYPE,
    SUPPORTED,
    assert_close,
    cfuser,
    dt,
    random_array,
    to_input,
)

ALL = SUPPORTED
NUM = FLOATS + INTS


def _wrap(v, dtype):
    bits = 64 if dtype == "Int" else 32
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >= 1 << (bits - 1) else v


def _tdiv(a, b):
    q = abs(a) // abs(b)
    return -q if (a < 0) != (b < 0) else q


def int_ref(op, a, b, dtype):
    """Exact integer semantics, element by element in Python integers."""

    def one(x, y):
        x, y = int(x), int(y)
        if op == "div":
            return 0 if y == 0 else _tdiv(x, y)
        if op in ("mod", "fmod"):
            return 0 if y == 0 else x - y * _tdiv(x, y)
        if op == "remainder":
            return 0 if y == 0 else x % y
        if op == "pow":
            return x**y
        if op == "bitwise_left_shift":
            return x << y
        if op == "bitwise_right_shift":
            return x >> y
        return {
            "add": x + y,
            "sub": x - y,
            "mul": x * y,
            "maximum": max(x, y),
            "minimum": min(x, y),
            "bitwise_and": x & y,
            "bitwise_or": x | y,
            "bitwise_xor": x ^ y,
        }[op]

    flat = [_wrap(one(x, y), dtype) for x, y in zip(a.ravel(), b.ravel())]
    return np.array(flat, dtype=NP_DTYPE[dtype]).reshape(a.shape)


T = torch
FLOAT_REF = {
    "add": T.add,
    "sub": T.sub,
    "mul": T.mul,
    "div": T.div,
    "truediv": T.div,
    "mod": T.fmod,
    "remainder": T.remainder,
    "fmod": T.fmod,
    "pow": T.pow,
    "atan2": T.atan2,
    "maximum": T.maximum,
    "minimum": T.minimum,
    "eq": T.eq,
    "ne": T.ne,
    "lt": T.lt,
    "le": T.le,
    "gt": T.gt,
    "ge": T.ge,
    "logical_and": T.logical_and,
    "logical_or": T.logical_or,
}
CATEGORY = {
    **{op: "SAME" for op in ["add", "sub", "mul", "div", "mod", "remainder", "fmod", "pow", "maximum", "minimum"]},
    "truediv": "FLOAT",
    "atan2": "FLOAT",
    **{op: "PRED" for op in ["eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or"]},
    **{op: "INTBOOL" for op in ["bitwise_and", "bitwise_or", "bitwise_xor"]},
    "bitwise_left_shift": "INTONLY",
    "bitwise_right_shift": "INTONLY",
}
BINARY = list(CATEGORY)


def dtypes_for(op):
    cat = CATEGORY[op]
    if cat in ("SAME",):
        return NUM
    if cat == "FLOAT":
        return NUM + ["Bool"] if op == "truediv" else NUM
    if cat == "PRED":
        return ALL
    if cat == "INTBOOL":
        return INTS + ["Bool"]
    return INTS


def result_dtype(op, dtype):
    cat = CATEGORY[op]
    if cat == "PRED":
        return "Bool"
    if cat == "FLOAT" and dtype not in FLOATS:
        return "Float"
    return dtype


def operands(op, dtype, rng, shape=(23, 9)):
    """Operands in op's domain: no float divisor near zero, non-negative
    integer exponents, shift counts within the width, some equal pairs."""
    if dtype == "Bool":
        return random_array(rng, shape, "Bool"), random_array(rng, shape, "Bool")
    if dtype in INTS:
        if op == "pow":
            return random_array(rng, shape, dtype, -4, 4), random_array(rng, shape, dtype, 0, 5)
        if op in ("bitwise_left_shift", "bitwise_right_shift"):
            return random_array(rng, shape, dtype, -1000, 1000), random_array(rng, shape, dtype, 0, 20)
        if op in ("eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or"):
            return random_array(rng, shape, dtype, -2, 2), random_array(rng, shape, dtype, -2, 2)
        a = random_array(rng, shape, dtype, -100, 100)
        b = random_array(rng, shape, dtype, -9, 9)  # includes zero divisors
        return a, b
    if op == "pow":
        return random_array(rng, shape, dtype, 0.5, 2), random_array(rng, shape, dtype, -2, 2)
    a = random_array(rng, shape, dtype, -3, 3)
    if op in ("div", "truediv", "mod", "remainder", "fmod"):
        mag = random_array(rng, shape, dtype, 0.5, 3)
        b = np.where(rng.random(shape) < 0.5, -mag, mag).astype(a.dtype)
    else:
        b = random_array(rng, shape, dtype, -3, 3)
    if op in ("eq", "ne", "lt", "le", "gt", "ge", "maximum", "minimum"):
        b = np.where(rng.random(shape) < 0.3, a, b).astype(a.dtype)
    if op in ("logical_and", "logical_or"):
        a = np.where(rng.random(shape) < 0.3, 0, a).astype(a.dtype)
        b = np.where(rng.random(shape) < 0.3, 0, b).astype(a.dtype)
    return a, b


def reference(op, a, b, dtype):
    if dtype in INTS and CATEGORY[op] not in ("PRED", "FLOAT"):
        return int_ref(op, a, b, dtype)
    if CATEGORY[op] in ("INTBOOL",) and dtype == "Bool":
        fn = {"bitwise_and": np.logical_and, "bitwise_or": np.logical_or, "bitwise_xor": np.logical_xor}[op]
        return fn(a, b)
    ta = torch.from_numpy(np.asarray(a, dtype=np.float64))
    tb = torch.from_numpy(np.asarray(b, dtype=np.float64))
    return FLOAT_REF[op](ta, tb).numpy()


def cases():
    for op in BINARY:
        for dtype in dtypes_for(op):
            yield op, dtype


def run_binary(op, lhs_dtype, rhs_dtype, a, b, framework="numpy"):
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1] * a.ndim, contiguity=True, dtype=dt(lhs_dtype))
        y = fd.define_tensor(shape=[-1] * b.ndim, contiguity=True, dtype=dt(rhs_dtype))
        z = getattr(fd.ops, op)(x, y)
        fd.add_output(z)
    outs = fd.execute([to_input(a, lhs_dtype, framework), to_input(b, rhs_dtype, framework)])
    return z, outs[0]


@pytest.mark.parametrize("op,dtype", list(cases()))
def test_binary(op, dtype, rng):
    a, b = operands(op, dtype, rng)
    z, out = run_binary(op, dtype, dtype, a, b)
    rdt = result_dtype(op, dtype)
    assert z.dtype() is dt(rdt)
    assert_close(out, reference(op, a, b, dtype), rdt)


@pytest.mark.parametrize("op", BINARY)
def test_binary_torch(op, rng):
    dtype = dtypes_for(op)[0]
    a, b = operands(op, dtype, rng, shape=(4, 33))
    _, out = run_binary(op, dtype, dtype, a, b, framework="torch")
    assert isinstance(out, torch.Tensor)
    assert_close(out, reference(op, a, b, dtype), result_dtype(op, dtype))


@pytest.mark.parametrize("op", ["bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift"])
@pytest.mark.parametrize("dtype", FLOATS)
def test_bitwise_rejects_floats(op, dtype):
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=dt(dtype))
        i = fd.define_tensor(shape=[-1], dtype=cfuser.DataType.Int)
        n = len(fd.fusion.exprs())
        with pytest.raises(cfuser.InvalidTypeError, match=op) as ei:
            getattr(fd.ops, op)(i, x)
        assert isinstance(ei.value, TypeError)
        assert len(fd.fusion.exprs()) == n
        fd.add_output(fd.ops.neg(x))


@pytest.mark.parametrize("op", ["bitwise_left_shift", "bitwise_right_shift"])
def test_shift_rejects_bool(op):
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=cfuser.DataType.Bool)
        with pytest.raises(cfuser.InvalidTypeError, match=op):
            getattr(fd.ops, op)(x, x)
        fd.add_output(fd.ops.logical_not(x))


# --- type promotion ----------------------------------------------------------------------

# (lhs, rhs, op, result): an operand is ("T", dtype) a tensor, ("S", dtype, v) a
# constant from define_scalar, or ("P", v) a Python number.
PROMOTION = [
    (("T", "Float"), ("S", "Double", 0.5), "mul", "Float"),
    (("T", "Float"), ("P", 0.5), "mul", "Float"),
    (("T", "Int"), ("P", 0.5), "add", "Float"),
    (("T", "Int32"), ("T", "Int"), "add", "Int"),
    (("T", "Int32"), ("P", 3), "add", "Int32"),
    (("T", "Half"), ("T", "BFloat16"), "add", "Float"),
    (("T", "Half"), ("T", "Float"), "add", "Float"),
    (("T", "Float"), ("T", "Double"), "add", "Double"),
    (("T", "Bool"), ("T", "Int32"), "add", "Int32"),
    (("T", "Bool"), ("P", 1), "add", "Int"),
    (("T", "Int"), ("P", True), "add", "Int"),
    (("T", "Half"), ("P", 0.5), "add", "Half"),
    (("T", "BFloat16"), ("P", 2), "mul", "BFloat16"),
    (("T", "Int32"), ("S", "Double", 0.5), "add", "Float"),
    (("T", "Float"), ("T", "Int"), "add", "Float"),
    (("T", "Int32"), ("T", "Int32"), "truediv", "Float"),
    (("T", "Int32"), ("T", "Int32"), "div", "Int32"),
    (("P", 2), ("T", "Int32"), "sub", "Int32"),
    (("P", 2.0), ("T", "Half"), "sub", "Half"),
    (("T", "Double"), ("P", 1), "add", "Double"),
    (("T", "Half"), ("S", "Int", 3), "add", "Half"),
    (("T", "Int32"), ("P", 1.5), "lt", "Bool"),
    (("T", "Int32"), ("P", True), "bitwise_and", "Int32"),
    (("T", "Bool"), ("P", 1), "bitwise_or", "Int"),
    (("T", "Int32"), ("T", "Int32"), "atan2", "Float"),
    (("T", "Half"), ("T", "Half"), "truediv", "Half"),
    (("T", "BFloat16"), ("T", "Float"), "maximum", "Float"),
    (("S", "Double", 2.0), ("T", "Float"), "pow", "Float"),
]


def _pid(case):
    def s(o):
        return o[1] if o[0] == "T" else (f"S{o[1]}" if o[0] == "S" else f"py{type(o[1]).__name__}")

    return f"{s(case[0])}-{case[2]}-{s(case[1])}"


def _make(fd, spec, rng, inputs, refs):
    if spec[0] == "T":
        dtype = spec[1]
        a = random_array(rng, (5, 6), dtype, 1, 4)
        inputs.append(to_input(a, dtype))
        refs.append(np.asarray(a, dtype=np.float64) if dtype != "Bool" else a.astype(np.float64))
        return fd.define_tensor(shape=[-1, -1], dtype=dt(spec[1]))
    if spec[0] == "S":
        refs.append(float(spec[2]))
        return fd.define_scalar(spec[2], dtype=dt(spec[1]))
    refs.append(float(spec[1]))
    return spec[1]


@pytest.mark.parametrize("case", PROMOTION, ids=[_pid(c) for c in PROMOTION])
def test_promotion(case, rng):
    lhs, rhs, op, want = case
    inputs, refs = [], []
    with cfuser.FusionDefinition() as fd:
        x = _make(fd, lhs, rng, inputs, refs)
        y = _make(fd, rhs, rng, inputs, refs)
        z = getattr(fd.ops, op)(x, y)
        assert isinstance(z, cfuser.ir.TensorView)
        assert z.dtype() is dt(want), f"{_pid(case)}: got {z.dtype()}"
        fd.add_output(z)
    (out,) = fd.execute(inputs)
    ra, rb = (np.asarray(r, dtype=np.float64) for r in refs)
    if op == "bitwise_and":
        ref = np.bitwise_and(ra.astype(np.int64), rb.astype(np.int64))
    elif op == "bitwise_or":
        ref = np.bitwise_or(ra.astype(np.int64), rb.astype(np.int64))
    elif op == "div" and want in INTS:
        ref = np.trunc(ra / rb)
    else:
        ref = FLOAT_REF[op](torch.from_numpy(np.broadcast_to(ra, (5, 6)).copy()), torch.from_numpy(np.broadcast_to(rb, (5, 6)).copy())).numpy()
    assert_close(out, np.broadcast_to(ref, (5, 6)), want)


# --- Python numbers and Scalars as operands ------------------------------------------------


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "fmod", "remainder", "lt", "eq"])
@pytest.mark.parametrize("dtype", ["Float", "Int"])
def test_python_number_operand(op, side, dtype, rng):
    number = 2 if dtype == "Int" else 1.5
    a = random_array(rng, (40,), dtype, 1, 5)
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=dt(dtype))
        z = getattr(fd.ops, op)(x, number) if side == "right" else getattr(fd.ops, op)(number, x)
        fd.add_output(z)
    (out,) = fd.execute([to_input(a, dtype)])
    full = np.full(a.shape, number, dtype=a.dtype)
    l, r = (a, full) if side == "right" else (full, a)
    rdt = result_dtype(op, dtype)
    assert_close(out, reference(op, l, r, dtype), rdt)


def test_scalar_arithmetic_stays_scalar():
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=cfuser.DataType.Float)
        s = fd.define_scalar(dtype=cfuser.DataType.Double)
        s2 = fd.ops.mul(s, 2.0)
        s3 = fd.ops.add(s2, s)
        assert isinstance(s2, cfuser.ir.Scalar) and isinstance(s3, cfuser.ir.Scalar)
        assert s3.dtype() is cfuser.DataType.Double
        fd.add_output(fd.ops.mul(x, s3))
    (out,) = fd.execute([np.array([1.0, -2.0], dtype=np.float32), 0.25])
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [0.75, -1.5], rtol=1e-6)


def test_same_tensor_both_operands(rng):
    a = random_array(rng, (17,), "Float")
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=cfuser.DataType.Float)
        fd.add_output(fd.ops.mul(x, x))
    (out,) = fd.execute([a])
    np.testing.assert_allclose(out, a * a, rtol=1e-6)


@pytest.mark.parametrize(
    "op,dtype", [(op, d) for op in BINARY for d in ("Float", "Double", "Int32", "Int") if d in dtypes_for(op)]
)
def test_binary_large(op, dtype, rng):
    """Long arrays take the vectorized, multithreaded path; a ragged length
    leaves a tail."""
    a, b = operands(op, dtype, rng, shape=(50003,))
    _, out = run_binary(op, dtype, dtype, a, b)
    assert_close(out, reference(op, a, b, dtype), result_dtype(op, dtype))
