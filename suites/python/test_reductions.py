"""Reductions: sum/prod/max/min over dims and keepdim per dtype, the dtype
argument, var and var_mean with corrections, empty and size-1 axes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import FLOATS, INTS, assert_close, cfuser, dt, random_array, to_input

DataType = cfuser.DataType

DIMS = [([0], False), ([1], False), ([-1], True), ([0, 1], False), ([0, 1], True), ([1, 0], True)]


def result_dtype(op, dtype):
    """torch's default: sum/prod of integers and bools give Int."""
    if op in ("sum", "prod") and dtype in INTS + ["Bool"]:
        return "Int"
    return dtype


def np_reduce(op, a, dims, keepdim):
    axes = tuple(d % a.ndim for d in dims)
    fn = {"sum": np.sum, "prod": np.prod, "max": np.max, "min": np.min}[op]
    if op in ("sum", "prod") and a.dtype.kind in "iub":
        r = fn(a.astype(np.int64), axis=axes, keepdims=keepdim)
    else:
        r = fn(np.asarray(a, dtype=np.float64) if a.dtype.kind == "f" else a, axis=axes, keepdims=keepdim)
    return np.asarray(r)


def data_for(op, dtype, rng, shape=(6, 7)):
    if dtype == "Bool":
        return random_array(rng, shape, "Bool")
    if op == "prod":
        if dtype in INTS:
            return random_array(rng, shape, dtype, -3, 3)
        return random_array(rng, shape, dtype, 0.6, 1.4)
    return random_array(rng, shape, dtype, -3, 3)


def cases():
    for op in ("sum", "prod", "max", "min"):
        for dtype in FLOATS + INTS + (["Bool"] if op == "sum" else []):
            for dims, keep in DIMS:
                yield op, dtype, dims, keep


@pytest.mark.parametrize("op,dtype,dims,keepdim", list(cases()))
def test_reduction(op, dtype, dims, keepdim, rng):
    a = data_for(op, dtype, rng)
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=dt(dtype))
        r = getattr(fd.ops, op)(x, dims=dims, keepdim=keepdim)
        fd.add_output(r)
    rdt = result_dtype(op, dtype)
    assert r.dtype() is dt(rdt), (op, dtype, r.dtype())
    expected_ndim = 2 if keepdim else 2 - len(dims)
    assert r.ndim == expected_ndim
    (out,) = fd.execute([to_input(a, dtype)])
    ref = np_reduce(op, a, dims, keepdim)
    if op in ("sum", "prod") and dtype in FLOATS and dtype not in ("Double",):
        # accumulation in float32 over up to 42 terms
        assert_close(out, ref, rdt, rtol=max(1e-5, {"Float": 1e-5, "Half": 2e-3, "BFloat16": 2e-2}[dtype]), atol={"Float": 1e-5, "Half": 4e-3, "BFloat16": 4e-2}[dtype])
    else:
        assert_close(out, ref, rdt)


@pytest.mark.parametrize("op", ["sum", "prod", "max", "min"])
def test_reduction_torch(op, rng):
    a = data_for(op, "Float", rng, shape=(3, 4, 5))
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1, -1], dtype=DataType.Float)
        fd.add_output(getattr(fd.ops, op)(x, dims=[0, 2]))
    (out,) = fd.execute([torch.from_numpy(a)])
    assert isinstance(out, torch.Tensor)
    assert_close(out, np_reduce(op, a, [0, 2], False), "Float", atol=1e-5)


@pytest.mark.parametrize(
    "src,dtype",
    [("Int32", "Double"), ("Half", "Float"), ("Float", "Double"), ("Bool", "Int32"), ("Int", "Float"), ("BFloat16", "Float")],
)
def test_sum_dtype_argument(src, dtype, rng):
    a = random_array(rng, (5, 8), src, -3, 3)
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=dt(src))
        r = fd.ops.sum(x, dims=[1], dtype=dt(dtype))
        fd.add_output(r)
    assert r.dtype() is dt(dtype)
    (out,) = fd.execute([to_input(a, src)])
    assert_close(out, np.sum(np.asarray(a, dtype=np.float64), axis=1), dtype)


def test_reduction_three_dims(rng):
    a = random_array(rng, (3, 4, 5), "Double")
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1, -1], dtype=DataType.Double)
        fd.add_output(fd.ops.sum(x, dims=[1]))
        fd.add_output(fd.ops.max(x, dims=[0, 2], keepdim=True))
        fd.add_output(fd.ops.min(x, dims=[-3]))
    s, mx, mn = fd.execute([a])
    np.testing.assert_allclose(s, a.sum(axis=1), rtol=1e-12)
    np.testing.assert_array_equal(mx, a.max(axis=(0, 2), keepdims=True))
    np.testing.assert_array_equal(mn, a.min(axis=0))


def test_large_row_sum(rng):
    a = rng.standard_normal((64, 4099)).astype(np.float32)
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=DataType.Float)
        fd.add_output(fd.ops.sum(x, dims=[1]))
        fd.add_output(fd.ops.sum(x, dims=[0]))
    r, c = fd.execute([a])
    np.testing.assert_allclose(r, a.astype(np.float64).sum(axis=1), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(c, a.astype(np.float64).sum(axis=0), rtol=1e-4, atol=1e-4)


def test_softmax_pattern(rng):
    a = rng.standard_normal((33, 129)).astype(np.float32) * 4
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=DataType.Float)
        m = fd.ops.max(x, dims=[1], keepdim=True)
        e = fd.ops.exp(fd.ops.sub(x, m))
        s = fd.ops.sum(e, dims=[1], keepdim=True)
        fd.add_output(fd.ops.div(e, s))
    (out,) = fd.execute([a])
    ref = np.exp(a - a.max(axis=1, keepdims=True))
    ref /= ref.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-7)


def test_reduction_then_broadcast_in_dim(rng):
    a = random_array(rng, (5, 9), "Float")
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=DataType.Float)
        mean = fd.ops.div(fd.ops.sum(x, dims=[1]), x.shape()[1])
        fd.add_output(fd.ops.sub(x, fd.ops.broadcast_in_dim(mean, shape=x.shape(), broadcast_dims=[0])))
    (out,) = fd.execute([a])
    np.testing.assert_allclose(out, a - a.mean(axis=1, keepdims=True), rtol=1e-5, atol=1e-6)


# --- var / var_mean ---------------------------------------------------------------------


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("correction", [0, 1, 2])
@pytest.mark.parametrize("dims", [[0], [1], [0, 1]])
@pytest.mark.parametrize("dtype", FLOATS)
def test_var(dtype, dims, correction, keepdim, rng):
    a = random_array(rng, (7, 6), dtype)
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=dt(dtype))
        v = fd.ops.var(x, dims, correction=correction, keepdim=keepdim)
        fd.add_output(v)
    assert v.dtype() is dt(dtype)
    (out,) = fd.execute([to_input(a, dtype)])
    ref = np.var(np.asarray(a, dtype=np.float64), axis=tuple(dims), ddof=correction, keepdims=keepdim)
    assert_close(out, ref, dtype)


@pytest.mark.parametrize("correction", [0, 1])
@pytest.mark.parametrize("dtype", FLOATS)
def test_var_mean(dtype, correction, rng):
    a = random_array(rng, (4, 11), dtype)
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=dt(dtype))
        res = fd.ops.var_mean(x, [1], correction=correction)
        assert isinstance(res, tuple) and len(res) == 2
        v, m = res
        fd.add_output(v)
        fd.add_output(m)
    ov, om = fd.execute([to_input(a, dtype)])
    a64 = np.asarray(a, dtype=np.float64)
    assert_close(ov, np.var(a64, axis=1, ddof=correction), dtype)
    assert_close(om, np.mean(a64, axis=1), dtype, atol={"Float": 1e-6, "Double": 1e-12, "Half": 2e-3, "BFloat16": 2e-2}[dtype])


def test_var_correction_larger_than_count_matches_torch():
    a = np.array([[1.0, 2.0], [3.0, 5.0]], dtype=np.float32)
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=DataType.Float)
        fd.add_output(fd.ops.var(x, [1], correction=2))
        fd.add_output(fd.ops.var(x, [1], correction=3))
    o2, o3 = fd.execute([a])
    t = torch.from_numpy(a)
    np.testing.assert_array_equal(o2, torch.var(t, dim=1, correction=2).numpy())  # n - c == 0: inf
    np.testing.assert_array_equal(o3, torch.var(t, dim=1, correction=3).numpy())  # negative divisor


# --- edge sizes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "op,identity", [("sum", 0.0), ("prod", 1.0), ("max", -np.inf), ("min", np.inf)]
)
def test_reduce_empty_axis_gives_identity(op, identity):
    a = np.zeros((0, 4), dtype=np.float32)
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=DataType.Float)
        fd.add_output(getattr(fd.ops, op)(x, dims=[0]))
        fd.add_output(getattr(fd.ops, op)(x, dims=[1]))
    r0, r1 = fd.execute([a])
    np.testing.assert_array_equal(r0, np.full(4, identity, np.float32))
    assert r1.shape == (0,)


@pytest.mark.parametrize("op", ["max", "min"])
def test_int_max_min_of_empty_axis_is_limit(op):
    a = np.zeros((0, 3), dtype=np.int32)
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=DataType.Int32)
        fd.add_output(getattr(fd.ops, op)(x, dims=[0]))
    (r,) = fd.execute([a])
    info = np.iinfo(np.int32)
    np.testing.assert_array_equal(r, np.full(3, info.min if op == "max" else info.max, np.int32))


def test_reduce_size_one_axes(rng):
    a = random_array(rng, (1, 5), "Float")
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=DataType.Float)
        fd.add_output(fd.ops.sum(x, dims=[0]))
        fd.add_output(fd.ops.max(x, dims=[1]))
    s, m = fd.execute([a])
    np.testing.assert_array_equal(s, a[0])
    np.testing.assert_array_equal(m, a.max(axis=1))


def test_reduce_broadcast_axis():
    a = np.arange(5, dtype=np.float32).reshape(1, 5)
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[1, -1], dtype=DataType.Float)
        fd.add_output(fd.ops.sum(x, dims=[0]))
    (s,) = fd.execute([a])
    np.testing.assert_array_equal(s, a[0])


@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_propagate_nan(op):
    a = np.array([[1.0, np.nan, 3.0], [4.0, 5.0, 6.0]], dtype=np.float32)
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=DataType.Float)
        fd.add_output(getattr(fd.ops, op)(x, dims=[1]))
    (r,) = fd.execute([a])
    assert np.isnan(r[0])
    assert r[1] == (6.0 if op == "max" else 4.0)


def test_int_sum_wraps():
    big = np.iinfo(np.int64).max
    a = np.array([[big, 1], [5, 6]], dtype=np.int64)
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=DataType.Int)
        fd.add_output(fd.ops.sum(x, dims=[1]))
    (r,) = fd.execute([a])
    np.testing.assert_array_equal(r, np.array([np.iinfo(np.int64).min, 11], dtype=np.int64))


def test_int32_sum_accumulates_in_int64():
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=DataType.Int32)
        fd.add_output(fd.ops.sum(x, dims=[0]))
    (r,) = fd.execute([np.full(8, 2**30, np.int32)])
    assert r.dtype == np.int64 and r == 2**33


def test_var_is_numerically_stable(rng):
    """A large mean with unit spread: a one-pass sum of squares in float32
    would lose every digit of the variance."""
    a = (1e4 + rng.standard_normal((64, 5003))).astype(np.float32)
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=DataType.Float)
        fd.add_output(fd.ops.var(x, dims=[1]))
        fd.add_output(fd.ops.var(x, dims=[0], correction=0))
        v, m = fd.ops.var_mean(x, dims=[0, 1])
        fd.add_output(v)
        fd.add_output(m)
    rows, cols, v, m = fd.execute([a])
    a64 = a.astype(np.float64)
    np.testing.assert_allclose(rows, a64.var(axis=1, ddof=1), rtol=1e-4)
    np.testing.assert_allclose(cols, a64.var(axis=0, ddof=0), rtol=1e-4)
    np.testing.assert_allclose(v, a64.var(ddof=1), rtol=1e-4)
    np.testing.assert_allclose(m, a64.mean(), rtol=1e-6)


def test_reductions_of_strided_large_input(rng):
    c = rng.standard_normal((700, 900)).astype(np.float32)
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], contiguity=False, dtype=DataType.Float)
        fd.add_output(fd.ops.sum(x, dims=[0]))
        fd.add_output(fd.ops.max(x, dims=[1]))
        fd.add_output(fd.ops.sum(fd.ops.permute(x, [1, 0]), dims=[1]))
    s0, m1, sp = fd.execute([c.T])
    c64 = c.T.astype(np.float64)
    np.testing.assert_allclose(s0, c64.sum(axis=0), rtol=1e-4, atol=1e-3)
    np.testing.assert_array_equal(m1, c.T.max(axis=1))
    np.testing.assert_allclose(sp, c64.sum(axis=0), rtol=1e-4, atol=1e-3)
