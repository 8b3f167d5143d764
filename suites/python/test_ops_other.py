"""Ternary ops, cast, set and the shape ops (broadcast_in_dim, broadcast,
expand, reshape, permute, squeeze, full, iota)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import (
    FLOATS,
    INTS,
    NP_DTYPE,
    SUPPORTED,
    TORCH_DTYPE,
    as_numpy,
    assert_close,
    cfuser,
    check_out_dtype,
    dt,
    random_array,
    to_input,
)

DataType = cfuser.DataType
NUM = FLOATS + INTS


def f64(a):
    return np.asarray(a, dtype=np.float64)


# --- ternary ops ---------------------------------------------------------------------


@pytest.mark.parametrize("dtype", NUM)
def test_where(dtype, rng):
    p = random_array(rng, (11, 6), "Bool")
    a = random_array(rng, (11, 6), dtype)
    b = random_array(rng, (11, 6), dtype)
    with cfuser.FusionDefinition() as fd:
        tp = fd.define_tensor(shape=[-1, -1], dtype=DataType.Bool)
        ta = fd.define_tensor(shape=[-1, -1], dtype=dt(dtype))
        tb = fd.define_tensor(shape=[-1, -1], dtype=dt(dtype))
        fd.add_output(fd.ops.where(tp, ta, tb))
    (out,) = fd.execute([p, to_input(a, dtype), to_input(b, dtype)])
    assert_close(out, np.where(p, f64(a), f64(b)), dtype)


@pytest.mark.parametrize("dtype", ["Float", "Int32"])
def test_where_with_python_numbers(dtype, rng):
    a = random_array(rng, (40,), dtype, -5, 5)
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=dt(dtype))
        pred = fd.ops.gt(x, 0)
        fd.add_output(fd.ops.where(pred, x, 0))
        fd.add_output(fd.ops.where(pred, 1, x))
    o1, o2 = fd.execute([to_input(a, dtype)])
    assert_close(o1, np.where(a > 0, a, 0), dtype)
    assert_close(o2, np.where(a > 0, 1, a), dtype)


@pytest.mark.parametrize("dtype", NUM)
def test_clamp(dtype, rng):
    a = random_array(rng, (13, 5), dtype, -5, 5)
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=dt(dtype))
        fd.add_output(fd.ops.clamp(x, -2, 3))
    (out,) = fd.execute([to_input(a, dtype)])
    assert_close(out, np.clip(f64(a), -2, 3), dtype)


def test_clamp_with_scalars(rng):
    a = random_array(rng, (50,), "Float", -5, 5)
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=DataType.Float)
        lo = fd.define_scalar(dtype=DataType.Double)
        hi = fd.define_scalar(1.25, dtype=DataType.Double)
        fd.add_output(fd.ops.clamp(x, lo, hi))
    (out,) = fd.execute([a, -0.5])
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, np.clip(a, -0.5, 1.25), rtol=1e-6)


@pytest.mark.parametrize("dtype", FLOATS + INTS)
def test_lerp(dtype, rng):
    s = random_array(rng, (9, 7), dtype)
    e = random_array(rng, (9, 7), dtype)
    w = random_array(rng, (9, 7), "Float" if dtype in INTS else dtype, 0, 1)
    wdt = "Float" if dtype in INTS else dtype
    with cfuser.FusionDefinition() as fd:
        ts = fd.define_tensor(shape=[-1, -1], dtype=dt(dtype))
        te = fd.define_tensor(shape=[-1, -1], dtype=dt(dtype))
        tw = fd.define_tensor(shape=[-1, -1], dtype=dt(wdt))
        r = fd.ops.lerp(ts, te, tw)
        fd.add_output(r)
    rdt = "Float" if dtype in INTS else dtype
    assert r.dtype() is dt(rdt)
    (out,) = fd.execute([to_input(s, dtype), to_input(e, dtype), to_input(w, wdt)])
    ref = f64(s) + f64(w) * (f64(e) - f64(s))
    assert_close(out, ref, rdt, atol=1e-5 if rdt == "Float" else None)


def test_lerp_python_weight(rng):
    s = random_array(rng, (30,), "Float")
    e = random_array(rng, (30,), "Float")
    with cfuser.FusionDefinition() as fd:
        ts = fd.define_tensor(shape=[-1], dtype=DataType.Float)
        te = fd.define_tensor(shape=[-1], dtype=DataType.Float)
        fd.add_output(fd.ops.lerp(ts, te, 0.25))
    (out,) = fd.execute([s, e])
    assert_close(out, f64(s) + 0.25 * (f64(e) - f64(s)), "Float", atol=1e-5)


@pytest.mark.parametrize("dtype", NUM)
def test_addcmul(dtype, rng):
    x = random_array(rng, (8, 9), dtype)
    t1 = random_array(rng, (8, 9), dtype)
    t2 = random_array(rng, (8, 9), dtype)
    value = 2 if dtype in INTS else 0.5
    with cfuser.FusionDefinition() as fd:
        a = fd.define_tensor(shape=[-1, -1], dtype=dt(dtype))
        b = fd.define_tensor(shape=[-1, -1], dtype=dt(dtype))
        c = fd.define_tensor(shape=[-1, -1], dtype=dt(dtype))
        fd.add_output(fd.ops.addcmul(a, b, c, value))
    (out,) = fd.execute([to_input(x, dtype), to_input(t1, dtype), to_input(t2, dtype)])
    assert_close(out, f64(x) + value * f64(t1) * f64(t2), dtype, atol=1e-5 if dtype == "Float" else None)


@pytest.mark.parametrize("dtype", NUM)
def test_threshold(dtype, rng):
    a = random_array(rng, (12, 4), dtype, -4, 4)
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=dt(dtype))
        fd.add_output(fd.ops.threshold(x, 1, -7))
    (out,) = fd.execute([to_input(a, dtype)])
    assert_close(out, np.where(f64(a) > 1, f64(a), -7), dtype)


def test_threshold_is_strict(rng):
    a = np.array([0.5, 1.0, 1.5], dtype=np.float32)
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=DataType.Float)
        fd.add_output(fd.ops.threshold(x, 1.0, 9.0))
    (out,) = fd.execute([a])
    np.testing.assert_array_equal(out, [9.0, 9.0, 1.5])


# --- cast and set ------------------------------------------------------------------------


def cast_source(rng, src, dst):
    """Values every destination represents without undefined behaviour:
    floats within the integer range, with fractions to check truncation."""
    if src == "Bool":
        return random_array(rng, (10, 7), "Bool")
    if src in INTS:
        a = random_array(rng, (10, 7), src, -300, 300)
        if src == "Int" and dst in ("Int32",):
            a[0, :3] = [2**40 + 5, -(2**33) - 1, 2**31]  # wrap on narrowing
        return a
    a = random_array(rng, (10, 7), src, -100, 100)
    a[0, :4] = [0.0, -0.0, 2.75, -2.75]
    return a


@pytest.mark.parametrize("dst", SUPPORTED)
@pytest.mark.parametrize("src", SUPPORTED)
def test_cast(src, dst, rng):
    a = cast_source(rng, src, dst)
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=dt(src))
        y = fd.ops.cast(x, dtype=dt(dst))
        fd.add_output(y)
    assert y.dtype() is dt(dst)
    # numpy has no bfloat16: a bfloat16 result needs a torch input
    (out,) = fd.execute([to_input(a, src, "torch" if dst == "BFloat16" else "numpy")])
    t = torch.from_numpy(np.ascontiguousarray(a)).to(TORCH_DTYPE[src]).to(TORCH_DTYPE[dst])
    if dst == "BFloat16":
        ref = t.float().numpy()
    else:
        ref = t.numpy()
    check_out_dtype(out, dst)
    np.testing.assert_array_equal(as_numpy(out), ref)


@pytest.mark.parametrize("dtype", SUPPORTED)
def test_set_copies(dtype, rng):
    a = random_array(rng, (6, 5), dtype)
    inp = to_input(a, dtype)
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=dt(dtype))
        fd.add_output(fd.ops.set(x))
    (out,) = fd.execute([inp])
    check_out_dtype(out, dtype)
    np.testing.assert_array_equal(as_numpy(out), as_numpy(inp))
    if isinstance(out, np.ndarray):
        assert not np.shares_memory(out, inp)
    else:
        assert out.data_ptr() != inp.data_ptr()


# --- shape ops ---------------------------------------------------------------------------


def test_broadcast_in_dim_inner(rng):
    x = random_array(rng, (4, 5), "Float")
    b = random_array(rng, (5,), "Float")
    with cfuser.FusionDefinition() as fd:
        tx = fd.define_tensor(shape=[-1, -1], dtype=DataType.Float)
        tb = fd.define_tensor(shape=[-1], dtype=DataType.Float)
        bb = fd.ops.broadcast_in_dim(tb, shape=tx.shape(), broadcast_dims=[1])
        assert bb.ndim == 2
        fd.add_output(fd.ops.add(tx, bb))
        fd.add_output(bb)
    o, ob = fd.execute([x, b])
    np.testing.assert_allclose(o, x + b[None, :], rtol=1e-6)
    np.testing.assert_array_equal(ob, np.broadcast_to(b, (4, 5)))


def test_broadcast_in_dim_outer_constant_shape(rng):
    b = random_array(rng, (3,), "Double")
    with cfuser.FusionDefinition() as fd:
        tb = fd.define_tensor(shape=[-1], dtype=DataType.Double)
        fd.add_output(fd.ops.broadcast_in_dim(tb, shape=[3, 4, 2], broadcast_dims=[0]))
    (out,) = fd.execute([b])
    np.testing.assert_array_equal(out, np.broadcast_to(b[:, None, None], (3, 4, 2)))


def test_broadcast_in_dim_expands_size_one_axis(rng):
    r = random_array(rng, (1, 6), "Float")
    with cfuser.FusionDefinition() as fd:
        t = fd.define_tensor(shape=[1, -1], dtype=DataType.Float)
        fd.add_output(fd.ops.broadcast_in_dim(t, shape=[5, 6], broadcast_dims=[0, 1]))
    (out,) = fd.execute([r])
    np.testing.assert_array_equal(out, np.broadcast_to(r, (5, 6)))


@pytest.mark.parametrize(
    "flags,np_index",
    [([True, False], (None, slice(None))), ([False, True], (slice(None), None)), ([True, False, True], (None, slice(None), None))],
)
def test_broadcast(flags, np_index, rng):
    b = random_array(rng, (7,), "Float")
    with cfuser.FusionDefinition() as fd:
        tb = fd.define_tensor(shape=[-1], dtype=DataType.Float)
        out = fd.ops.broadcast(tb, flags)
        assert out.ndim == len(flags)
        assert [out.axis(i).is_broadcast() for i in range(len(flags))] == flags
        fd.add_output(out)
    (o,) = fd.execute([b])
    np.testing.assert_array_equal(o, b[np_index])


def test_broadcast_then_add(rng):
    x = random_array(rng, (3, 7), "Float")
    b = random_array(rng, (3,), "Float")
    with cfuser.FusionDefinition() as fd:
        tx = fd.define_tensor(shape=[-1, -1], dtype=DataType.Float)
        tb = fd.define_tensor(shape=[-1], dtype=DataType.Float)
        fd.add_output(fd.ops.mul(tx, fd.ops.broadcast(tb, [False, True])))
    (o,) = fd.execute([x, b])
    np.testing.assert_allclose(o, x * b[:, None], rtol=1e-6)


@pytest.mark.parametrize("shape_kind", ["ints", "scalars"])
def test_expand(shape_kind, rng):
    r = random_array(rng, (1, 6), "Int32", -50, 50)
    x = random_array(rng, (4, 6), "Int32", -50, 50)
    with cfuser.FusionDefinition() as fd:
        t = fd.define_tensor(shape=[1, -1], dtype=DataType.Int32)
        tx = fd.define_tensor(shape=[-1, -1], dtype=DataType.Int32)
        shape = [4, 6] if shape_kind == "ints" else tx.shape()
        e = fd.ops.expand(t, shape)
        fd.add_output(fd.ops.add(e, tx))
        fd.add_output(e)
    o, oe = fd.execute([r, x])
    np.testing.assert_array_equal(o, r + x)
    np.testing.assert_array_equal(oe, np.broadcast_to(r, (4, 6)))


@pytest.mark.parametrize("new_shape", [[24], [2, 12], [2, 3, 4], [4, 6], [1, 24, 1], [3, 8]])
def test_reshape(new_shape, rng):
    a = random_array(rng, (4, 6), "Float")
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[4, 6], dtype=DataType.Float)
        y = fd.ops.reshape(x, new_shape)
        assert y.ndim == len(new_shape)
        fd.add_output(y)
    (o,) = fd.execute([a])
    np.testing.assert_array_equal(o, a.reshape(new_shape))


def test_reshape_symbolic_input(rng):
    a = random_array(rng, (4, 6), "Double")
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=DataType.Double)
        fd.add_output(fd.ops.reshape(fd.ops.exp(x), [3, 8]))
    (o,) = fd.execute([a])
    np.testing.assert_allclose(o, np.exp(a).reshape(3, 8), rtol=1e-12)


def test_reshape_of_transposed_input(rng):
    a = random_array(rng, (6, 4), "Float")
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], contiguity=False, dtype=DataType.Float)
        fd.add_output(fd.ops.reshape(x, [24]))
    (o,) = fd.execute([a.T])
    np.testing.assert_array_equal(o, a.T.reshape(24))


@pytest.mark.parametrize("dims", [[0, 1, 2], [2, 0, 1], [1, 2, 0], [2, 1, 0], [0, 2, 1]])
def test_permute(dims, rng):
    a = random_array(rng, (2, 3, 4), "Float")
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1, -1], dtype=DataType.Float)
        fd.add_output(fd.ops.permute(x, dims))
    (o,) = fd.execute([a])
    np.testing.assert_array_equal(o, np.transpose(a, dims))


def test_permute_then_pointwise(rng):
    a = random_array(rng, (5, 3), "Float")
    b = random_array(rng, (3, 5), "Float")
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=DataType.Float)
        y = fd.define_tensor(shape=[-1, -1], dtype=DataType.Float)
        fd.add_output(fd.ops.add(fd.ops.permute(x, [1, 0]), y))
    (o,) = fd.execute([a, b])
    np.testing.assert_allclose(o, a.T + b, rtol=1e-6)


@pytest.mark.parametrize("dims,shape", [([0], (1, 5)), ([1], (5, 1)), ([-1], (5, 1)), ([0, 2], (1, 5, 1))])
def test_squeeze(dims, shape, rng):
    a = random_array(rng, shape, "Float")
    spec = [1 if s == 1 else -1 for s in shape]
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=spec, dtype=DataType.Float)
        y = fd.ops.squeeze(x, dims)
        assert y.ndim == len(shape) - len(dims)
        fd.add_output(y)
    (o,) = fd.execute([a])
    np.testing.assert_array_equal(o, np.squeeze(a, axis=tuple(dims)))


@pytest.mark.parametrize(
    "dtype,fill",
    [("Float", 1.5), ("Double", -2.25), ("Int", 7), ("Int32", -3), ("Bool", True), ("Half", 0.5)],
)
def test_full(dtype, fill):
    with cfuser.FusionDefinition() as fd:
        y = fd.ops.full([2, 3], fill, dt(dtype))
        assert y.dtype() is dt(dtype)
        fd.add_output(y)
    (o,) = fd.execute([])
    check_out_dtype(o, dtype)
    np.testing.assert_array_equal(as_numpy(o), np.full((2, 3), fill))


def test_full_bfloat16_with_torch_input():
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=DataType.BFloat16)
        fd.add_output(fd.ops.add(x, fd.ops.full([3], 3.0, DataType.BFloat16)))
    (o,) = fd.execute([torch.ones(3, dtype=torch.bfloat16)])
    assert o.dtype == torch.bfloat16
    np.testing.assert_array_equal(o.float().numpy(), np.full(3, 4.0, np.float32))


def test_full_symbolic_shape_and_fill():
    with cfuser.FusionDefinition() as fd:
        n = fd.define_scalar(dtype=DataType.Int)
        v = fd.define_scalar(dtype=DataType.Double)
        fd.add_output(fd.ops.full([n, 2], v, DataType.Float))
    (o,) = fd.execute([4, 0.75])
    assert o.dtype == np.float32
    np.testing.assert_array_equal(o, np.full((4, 2), 0.75, np.float32))


@pytest.mark.parametrize(
    "kwargs,expect",
    [
        (dict(length=5), np.arange(5, dtype=np.int64)),
        (dict(length=4, start=2, step=3), np.array([2, 5, 8, 11], dtype=np.int64)),
        (dict(length=3, start=-1, step=-2), np.array([-1, -3, -5], dtype=np.int64)),
        (dict(length=4, start=0.5, step=0.25, dtype=DataType.Float), np.array([0.5, 0.75, 1.0, 1.25], dtype=np.float32)),
        (dict(length=3, dtype=DataType.Int32), np.arange(3, dtype=np.int32)),
        (dict(length=0), np.zeros(0, dtype=np.int64)),
    ],
)
def test_iota(kwargs, expect):
    with cfuser.FusionDefinition() as fd:
        y = fd.ops.iota(**kwargs)
        assert y.ndim == 1
        fd.add_output(y)
    (o,) = fd.execute([])
    assert o.dtype == expect.dtype
    np.testing.assert_array_equal(o, expect)


def test_iota_symbolic_length():
    with cfuser.FusionDefinition() as fd:
        n = fd.define_scalar(dtype=DataType.Int)
        fd.add_output(fd.ops.iota(n, dtype=DataType.Double))
    (o,) = fd.execute([6])
    np.testing.assert_array_equal(o, np.arange(6, dtype=np.float64))


def test_shape_ops_keep_dtype():
    for name in SUPPORTED:
        with cfuser.FusionDefinition() as fd:
            x = fd.define_tensor(shape=[1, 4], dtype=dt(name))
            outs = [
                fd.ops.permute(x, [1, 0]),
                fd.ops.reshape(x, [4]),
                fd.ops.squeeze(x, [0]),
                fd.ops.broadcast(x, [True, False, False]),
                fd.ops.expand(x, [3, 4]),
                fd.ops.set(x),
            ]
            for o in outs:
                assert o.dtype() is dt(name)
                fd.add_output(o)
        res = fd.execute([to_input(np.ones((1, 4), dtype=NP_DTYPE.get(name, np.float32)), name)])
        assert [tuple(r.shape) for r in res] == [(4, 1), (4,), (4,), (1, 1, 4), (3, 4), (1, 4)]
