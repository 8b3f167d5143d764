"""Reductions over several non-adjacent axes and outer axes, in both memory
layouts: batch statistics of NCHW and NHWC images (over N, H, W), group and
instance statistics, column reductions of tall matrices, softmax over dim 0,
against numpy (float64) for every float dtype, odd sizes and strided inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import FLOATS, INTS, assert_close, cfuser, dt, random_array, to_input

TOL = {"Float": (1e-4, 1e-4), "Double": (1e-10, 1e-10), "Half": (4e-3, 4e-3), "BFloat16": (3e-2, 3e-2)}

# (shape, dims): batchnorm-style [0, 2, 3] of NCHW and [0, 1, 2] of NHWC,
# instance norm [2, 3], group norm [2, 3, 4] of (N, G, C/G, H, W), tall
# column reductions; odd sizes and runs shorter and longer than 64.
CASES = [
    ((7, 33, 5, 9), [0, 2, 3]),
    ((3, 5, 16, 17), [0, 2, 3]),
    ((2, 3, 1, 129), [0, 2, 3]),
    ((7, 5, 9, 33), [0, 1, 2]),
    ((4, 17, 9, 8), [2, 3]),
    ((3, 4, 5, 7, 9), [2, 3, 4]),
    ((1025, 33), [0]),
    ((1, 1, 1, 1), [0, 2, 3]),
]


def np_ref(op, a, dims):
    a64 = np.asarray(a, dtype=np.float64)
    ax = tuple(dims)
    if op == "var":
        return a64.var(axis=ax)
    if op == "mean":
        return a64.mean(axis=ax)
    return {"sum": np.sum, "max": np.max, "min": np.min}[op](a64, axis=ax)


def check(out, ref, dtype, n):
    rtol, atol = TOL[dtype]
    if dtype in ("Float", "Half", "BFloat16"):
        atol *= max(1.0, np.sqrt(n))
    assert_close(out, ref, dtype, rtol=rtol, atol=atol)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape,dims", CASES)
@pytest.mark.parametrize("op", ["sum", "max", "min"])
def test_multi_axis_reduction(op, dtype, shape, dims, rng):
    a = random_array(rng, shape, dtype)
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1] * len(shape), dtype=dt(dtype))
        fd.add_output(getattr(fd.ops, op)(x, dims=dims, keepdim=False))
    (out,) = fd.execute([to_input(a, dtype)])
    n = int(np.prod([shape[d] for d in dims]))
    check(out, np_ref(op, a, dims), dtype, n)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape,dims", CASES)
def test_multi_axis_var_mean(dtype, shape, dims, rng):
    a = random_array(rng, shape, dtype)
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1] * len(shape), dtype=dt(dtype))
        var, mean = fd.ops.var_mean(x, dims=dims, correction=0, keepdim=False)
        fd.add_output(var)
        fd.add_output(mean)
    var_o, mean_o = fd.execute([to_input(a, dtype)])
    n = int(np.prod([shape[d] for d in dims]))
    check(mean_o, np_ref("mean", a, dims), dtype, 1)
    check(var_o, np_ref("var", a, dims), dtype, 1)
    assert n > 0


@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
def test_channels_last_strides_reduce_like_contiguous(layout, rng):
    """An NCHW tensor stored channels-last (torch's memory format) reduced
    over N, H, W gives what the contiguous one does."""
    a = rng.standard_normal((6, 32, 7, 9)).astype(np.float32)
    t = torch.from_numpy(a)
    if layout == "nhwc":
        t = t.to(memory_format=torch.channels_last)
    with cfuser.FusionDefinition() as fd:
        x = fd.from_pytorch(t)
        var, mean = fd.ops.var_mean(x, dims=[0, 2, 3], correction=1, keepdim=False)
        fd.add_output(fd.ops.sum(x, dims=[0, 2, 3], keepdim=False))
        fd.add_output(var)
        fd.add_output(mean)
    s, var_o, mean_o = fd.execute([t])
    np.testing.assert_allclose(s.numpy(), a.astype(np.float64).sum(axis=(0, 2, 3)), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(var_o.numpy(), a.astype(np.float64).var(axis=(0, 2, 3), ddof=1), rtol=1e-4)
    np.testing.assert_allclose(mean_o.numpy(), a.astype(np.float64).mean(axis=(0, 2, 3)), rtol=1e-4, atol=1e-6)


def test_strided_planes(rng):
    """Every other image of a batch (a stride between runs that is not the
    runs' own extent)."""
    base = rng.standard_normal((10, 8, 9, 70)).astype(np.float32)
    a = base[::2]
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1] * 4, dtype=dt("Float"))
        fd.add_output(fd.ops.sum(x, dims=[0, 2, 3], keepdim=True))
    (out,) = fd.execute([a])
    np.testing.assert_allclose(out, a.astype(np.float64).sum(axis=(0, 2, 3), keepdims=True), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("dtype", INTS)
def test_integer_multi_axis_sum(dtype, rng):
    a = random_array(rng, (5, 6, 9, 13), dtype, -100, 100)
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1] * 4, dtype=dt(dtype))
        fd.add_output(fd.ops.sum(x, dims=[0, 2, 3], keepdim=False))
    (out,) = fd.execute([to_input(a, dtype)])
    np.testing.assert_array_equal(np.asarray(out), a.astype(np.int64).sum(axis=(0, 2, 3)))


@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (1025, 33), (33, 1025)])
@pytest.mark.parametrize("dtype", FLOATS)
def test_softmax_dim0(dtype, shape, rng):
    a = random_array(rng, shape, dtype)
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=dt(dtype))
        xf = fd.ops.cast(x, dtype=dt("Float")) if dtype != "Double" else x
        m = fd.ops.max(xf, dims=[0], keepdim=False)
        e = fd.ops.exp(fd.ops.sub(xf, fd.ops.broadcast_in_dim(m, shape=xf.shape(), broadcast_dims=[1])))
        s = fd.ops.sum(e, dims=[0], keepdim=False)
        y = fd.ops.div(e, fd.ops.broadcast_in_dim(s, shape=xf.shape(), broadcast_dims=[1]))
        fd.add_output(fd.ops.cast(y, dtype=dt(dtype)) if dtype != "Double" else y)
    (out,) = fd.execute([to_input(a, dtype)])
    a64 = np.asarray(a, dtype=np.float64)
    e = np.exp(a64 - a64.max(axis=0, keepdims=True))
    check(out, e / e.sum(axis=0, keepdims=True), dtype, 1)


@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("dtype", ["Float", "Double"])
def test_tall_column_max_min_nan_and_parts(op, dtype, rng):
    """Column max/min of tall matrices (rows split into parts, combined in
    order): NaN anywhere propagates, infinities and signed zeros compare as
    torch does (a zero of either sign equals zero)."""
    a = random_array(rng, (1030, 37), dtype)
    a[700, 3] = np.nan
    a[5, 4] = np.inf
    a[1029, 5] = -np.inf
    a[:, 6] = 0.0
    a[900, 6] = -0.0
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=dt(dtype))
        fd.add_output(getattr(fd.ops, op)(x, dims=[0], keepdim=False))
    (out,) = fd.execute([a])
    ref = (torch.amax if op == "max" else torch.amin)(torch.from_numpy(a), dim=0).numpy()
    np.testing.assert_array_equal(np.asarray(out), ref)
