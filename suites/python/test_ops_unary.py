"""Unary ops: every op x dtype against a float64 reference (torch semantics)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import (
    FLOATS,
    INTS,
    SUPPORTED,
    assert_close,
    cfuser,
    dt,
    random_array,
    to_input,
)

F = torch.nn.functional

# op -> (reference on a float64 / integer torch tensor, float domain (lo, hi), category)
# categories: SAME (result has the input dtype), FLOAT (ints/bools -> Float),
# PRED (result Bool), INTBOOL (integer or bool inputs only).
UNARY = {
    "abs": (torch.abs, (-3, 3), "SAME"),
    "neg": (torch.neg, (-3, 3), "SAME"),
    "exp": (torch.exp, (-3, 3), "FLOAT"),
    "exp2": (torch.exp2, (-3, 3), "FLOAT"),
    "expm1": (torch.expm1, (-3, 3), "FLOAT"),
    "log": (torch.log, (0.05, 5), "FLOAT"),
    "log2": (torch.log2, (0.05, 5), "FLOAT"),
    "log10": (torch.log10, (0.05, 5), "FLOAT"),
    "log1p": (torch.log1p, (-0.9, 3), "FLOAT"),
    "sqrt": (torch.sqrt, (0, 5), "FLOAT"),
    "rsqrt": (torch.rsqrt, (0.1, 5), "FLOAT"),
    "reciprocal": (torch.reciprocal, (0.2, 3), "FLOAT"),
    "sin": (torch.sin, (-3, 3), "FLOAT"),
    "cos": (torch.cos, (-3, 3), "FLOAT"),
    "tan": (torch.tan, (-1.3, 1.3), "FLOAT"),
    "tanh": (torch.tanh, (-3, 3), "FLOAT"),
    "sinh": (torch.sinh, (-3, 3), "FLOAT"),
    "cosh": (torch.cosh, (-3, 3), "FLOAT"),
    "asin": (torch.asin, (-1, 1), "FLOAT"),
    "acos": (torch.acos, (-1, 1), "FLOAT"),
    "atan": (torch.atan, (-3, 3), "FLOAT"),
    "asinh": (torch.asinh, (-3, 3), "FLOAT"),
    "acosh": (torch.acosh, (1, 4), "FLOAT"),
    "atanh": (torch.atanh, (-0.95, 0.95), "FLOAT"),
    "sigmoid": (torch.sigmoid, (-3, 3), "FLOAT"),
    "relu": (torch.relu, (-3, 3), "SAME"),
    "silu": (F.silu, (-3, 3), "FLOAT"),
    "erf": (torch.erf, (-3, 3), "FLOAT"),
    "erfc": (torch.erfc, (-3, 3), "FLOAT"),
    "ceil": (torch.ceil, (-3, 3), "SAME"),
    "floor": (torch.floor, (-3, 3), "SAME"),
    "round": (torch.round, (-3, 3), "SAME"),
    "trunc": (torch.trunc, (-3, 3), "SAME"),
    "sign": (torch.sign, (-3, 3), "SAME"),
    "signbit": (torch.signbit, (-3, 3), "PRED"),
    "isfinite": (torch.isfinite, (-3, 3), "PRED"),
    "isinf": (torch.isinf, (-3, 3), "PRED"),
    "isnan": (torch.isnan, (-3, 3), "PRED"),
    "logical_not": (torch.logical_not, (-2, 2), "PRED"),
    "bitwise_not": (torch.bitwise_not, (-100, 100), "INTBOOL"),
    "frac": (torch.frac, (-3, 3), "FLOAT"),
}

# Ops whose integer form is the identity on integers in torch
# (ceil/floor/round/trunc) or defined on integers (abs, neg, relu, sign).
INT_SAME = {"abs", "neg", "relu", "ceil", "floor", "round", "trunc", "sign"}


def result_dtype(op, dtype):
    cat = UNARY[op][2]
    if cat == "PRED":
        return "Bool"
    if cat == "FLOAT" and dtype in INTS + ["Bool"]:
        return "Float"
    return dtype


def cases():
    for op, (_, _, cat) in UNARY.items():
        for dtype in SUPPORTED:
            if cat == "SAME" and dtype == "Bool":
                continue
            if cat == "SAME" and dtype in INTS and op not in INT_SAME:
                continue
            if cat == "INTBOOL" and dtype in FLOATS:
                continue
            yield op, dtype


def reference(op, a, dtype):
    """The op applied exactly: floats in float64, integers in their own
    type (wrapping), bools as bools."""
    fn = UNARY[op][0]
    cat = UNARY[op][2]
    if dtype in INTS and cat in ("SAME", "INTBOOL"):
        return fn(torch.from_numpy(np.ascontiguousarray(a))).numpy()
    if dtype == "Bool" and cat in ("INTBOOL", "PRED"):
        return fn(torch.from_numpy(np.ascontiguousarray(a))).numpy()
    return fn(torch.from_numpy(np.asarray(a, dtype=np.float64))).numpy()


def run_unary(op, dtype, a, framework="numpy"):
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1] * a.ndim, contiguity=True, dtype=dt(dtype))
        y = getattr(fd.ops, op)(x)
        fd.add_output(y)
    assert y.dtype() is dt(result_dtype(op, dtype)), (op, dtype, y.dtype())
    (out,) = fd.execute([to_input(a, dtype, framework)])
    return out


@pytest.mark.parametrize("op,dtype", list(cases()))
def test_unary(op, dtype, rng):
    lo, hi = UNARY[op][1]
    a = random_array(rng, (29, 7), dtype, lo, hi)
    out = run_unary(op, dtype, a)
    assert_close(out, reference(op, a, dtype), result_dtype(op, dtype))


@pytest.mark.parametrize("op", sorted(UNARY))
def test_unary_torch_in_torch_out(op, rng):
    dtype = "Int" if UNARY[op][2] == "INTBOOL" else "Float"
    lo, hi = UNARY[op][1]
    a = random_array(rng, (3, 50), dtype, lo, hi)
    out = run_unary(op, dtype, a, framework="torch")
    assert isinstance(out, torch.Tensor)
    assert_close(out, reference(op, a, dtype), result_dtype(op, dtype))


SPECIALS = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.25, -0.75])
# ops for which IEEE fixes the sign of a zero result (checked bit for bit)
SIGNED_ZERO = {
    "neg", "abs", "sqrt", "ceil", "floor", "trunc", "round", "sin", "tan", "tanh", "sinh",
    "asin", "atan", "asinh", "atanh", "expm1", "log1p", "erf",
}


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("op", [o for o in sorted(UNARY) if UNARY[o][2] != "INTBOOL" and o != "silu"])
def test_unary_special_values(op, dtype):
    a = SPECIALS.astype(np.float32)
    if op in ("sign", "signbit"):
        # torch's sign(nan) is 0 where IEEE would say nan, and the sign bit of
        # a NaN depends on how it was converted (torch makes bfloat16 NaN
        # negative): both left open
        a = a[1:]
    out = run_unary(op, dtype, a)
    ref = reference(op, a, dtype)
    rdt = result_dtype(op, dtype)
    assert_close(out, ref, rdt)
    if op in SIGNED_ZERO:
        got = np.asarray(out.float() if isinstance(out, torch.Tensor) else out, dtype=np.float64)
        zero = ref == 0
        np.testing.assert_array_equal(np.signbit(got[zero]), np.signbit(ref[zero]), err_msg=f"sign of zero for {op}")


def test_round_half_to_even():
    a = np.array([-3.5, -2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 4.5, 0.49999997], dtype=np.float32)
    out = run_unary("round", "Float", a)
    np.testing.assert_array_equal(out, np.array([-4, -2, -2, -0.0, 0, 2, 2, 4, 4, 0], dtype=np.float32))


@pytest.mark.parametrize("dtype", INTS)
@pytest.mark.parametrize("op,expect", [("abs", "min"), ("neg", "min"), ("bitwise_not", "max")])
def test_unary_int_min_wraps(op, expect, dtype):
    info = np.iinfo(np.int64 if dtype == "Int" else np.int32)
    a = np.array([info.min, info.max, -1, 0], dtype=info.dtype)
    out = run_unary(op, dtype, a)
    assert out.dtype == a.dtype
    assert out[0] == (info.min if expect == "min" else info.max)
    np.testing.assert_array_equal(out[1:], reference(op, a, dtype)[1:])


@pytest.mark.parametrize("dtype", FLOATS)
def test_bitwise_not_rejects_floats(dtype):
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=dt(dtype))
        n = len(fd.fusion.exprs())
        with pytest.raises(cfuser.InvalidTypeError, match="bitwise_not"):
            fd.ops.bitwise_not(x)
        assert len(fd.fusion.exprs()) == n
        fd.add_output(fd.ops.neg(x))


@pytest.mark.parametrize("op", ["exp", "neg", "isnan", "bitwise_not"])
def test_unary_on_scalar_val(op):
    """Unary ops take a Scalar Val too; the result is a Scalar usable in a
    tensor op."""
    dtype = "Int" if op == "bitwise_not" else "Double"
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=cfuser.DataType.Double)
        s = fd.define_scalar(dtype=dt(dtype))
        r = getattr(fd.ops, op)(s)
        assert isinstance(r, cfuser.ir.Scalar)
        fd.add_output(fd.ops.add(x, fd.ops.cast(r, cfuser.DataType.Double) if op == "isnan" else r))
    v = 3 if dtype == "Int" else 0.75
    (out,) = fd.execute([np.zeros(2), v])
    expect = {"exp": np.exp(0.75), "neg": -0.75, "isnan": 0.0, "bitwise_not": float(~3)}[op]
    np.testing.assert_allclose(out, [expect, expect], rtol=1e-12)


@pytest.mark.parametrize("dtype", ["Float", "Double", "Half"])
@pytest.mark.parametrize("op", [o for o in sorted(UNARY) if UNARY[o][2] != "INTBOOL"])
def test_unary_large(op, dtype, rng):
    """Long arrays take the vectorized, multithreaded path; a ragged length
    leaves a tail."""
    lo, hi = UNARY[op][1]
    a = random_array(rng, (70001,), dtype, lo, hi)
    out = run_unary(op, dtype, a)
    assert_close(out, reference(op, a, dtype), result_dtype(op, dtype))
