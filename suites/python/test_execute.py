"""Executing fusions: frameworks in and out, strides and broadcasting, edge
sizes, special values, integer semantics, symbolic scalars, the cache."""

from __future__ import annotations

import gc

import numpy as np
import pytest
import torch

from conftest import assert_close, cfuser, random_array

DataType = cfuser.DataType


def example_fd():
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], contiguity=True, dtype=DataType.Float)
        b = fd.define_tensor(shape=[-1], dtype=DataType.Float)
        s = fd.define_scalar(0.5, dtype=DataType.Double)
        bb = fd.ops.broadcast_in_dim(b, shape=x.shape(), broadcast_dims=[1])
        y = fd.ops.mul(fd.ops.tanh(fd.ops.add(x, bb)), s)
        fd.add_output(y)
        fd.add_output(fd.ops.sum(y, dims=[1], keepdim=False))
    return fd


def example_ref(x, b):
    y = np.tanh(x.astype(np.float64) + b.astype(np.float64)) * 0.5
    return y, y.sum(axis=1)


# --- frameworks -----------------------------------------------------------------------


def test_example_numpy(rng):
    x = random_array(rng, (37, 19), "Float")
    b = random_array(rng, (19,), "Float")
    outs = example_fd().execute([x, b])
    assert isinstance(outs, list) and len(outs) == 2
    y, r = outs
    assert isinstance(y, np.ndarray) and isinstance(r, np.ndarray)
    ry, rr = example_ref(x, b)
    assert_close(y, ry, "Float")
    assert_close(r, rr, "Float", atol=1e-5)


def test_example_torch(rng):
    x = random_array(rng, (8, 300), "Float")
    b = random_array(rng, (300,), "Float")
    y, r = example_fd().execute([torch.from_numpy(x), torch.from_numpy(b)])
    assert isinstance(y, torch.Tensor) and isinstance(r, torch.Tensor)
    assert y.device.type == "cpu"
    ry, rr = example_ref(x, b)
    assert_close(y, ry, "Float")
    assert_close(r, rr, "Float", atol=1e-4)


@pytest.mark.parametrize("which", [0, 1])
def test_mixed_frameworks_give_torch(which, rng):
    x = random_array(rng, (3, 4), "Float")
    b = random_array(rng, (4,), "Float")
    ins = [x, b]
    ins[which] = torch.from_numpy(ins[which])
    y, r = example_fd().execute(ins)
    assert isinstance(y, torch.Tensor) and isinstance(r, torch.Tensor)
    assert_close(y, example_ref(x, b)[0], "Float")


def test_other_dlpack_producer(rng):
    class Producer:
        def __init__(self, a):
            self.a = a

        def __dlpack__(self, **kwargs):
            return self.a.__dlpack__(**kwargs)

        def __dlpack_device__(self):
            return self.a.__dlpack_device__()

    a = random_array(rng, (10,), "Float")
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=DataType.Float)
        fd.add_output(fd.ops.exp(x))
    (out,) = fd.execute([Producer(a)])
    got = out if isinstance(out, np.ndarray) else np.from_dlpack(out)
    np.testing.assert_allclose(got, np.exp(a), rtol=1e-6)


def test_readonly_numpy_input(rng):
    a = random_array(rng, (16,), "Float")
    a.flags.writeable = False
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=DataType.Float)
        fd.add_output(fd.ops.neg(x))
    (out,) = fd.execute([a])
    np.testing.assert_array_equal(out, -a)


def test_outputs_are_fresh_writable_and_outlive_cache(rng):
    a = random_array(rng, (5, 5), "Float")
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=DataType.Float)
        fd.add_output(fd.ops.add(x, 1.0))
        fd.add_output(fd.ops.mul(x, 2.0))
    fec = cfuser.FusionExecutorCache(fd.fusion)
    o1, o2 = fec.execute([a])
    o1b, _ = fec.execute([a])
    assert not np.shares_memory(o1, a) and not np.shares_memory(o1, o2) and not np.shares_memory(o1, o1b)
    del fec, fd
    gc.collect()
    o1[0, 0] = 123.0
    assert o1b[0, 0] == a[0, 0] + 1.0
    np.testing.assert_allclose(o2, a * 2.0)
    assert o1.flags.writeable


def test_torch_output_owns_memory_after_everything_dropped(rng):
    a = random_array(rng, (1000,), "Float")
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=DataType.Float)
        fd.add_output(fd.ops.sqrt(fd.ops.abs(x)))
    outs = [fd.execute([torch.from_numpy(a)])[0] for _ in range(20)]
    del fd
    gc.collect()
    for o in outs:
        np.testing.assert_allclose(o.numpy(), np.sqrt(np.abs(a)), rtol=1e-6)
    outs[0] += 1.0  # writable, owned storage


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA build of torch and a GPU")
def test_torch_cuda_inputs_give_cuda_outputs(rng):
    x = random_array(rng, (8, 9), "Float")
    b = random_array(rng, (9,), "Float")
    y, r = example_fd().execute([torch.from_numpy(x).cuda(), torch.from_numpy(b).cuda()])
    assert y.device.type == "cuda" and r.device.type == "cuda"
    assert_close(y.cpu(), example_ref(x, b)[0], "Float")


# --- strides and broadcasting ---------------------------------------------------------------


def unary_fd(shape, contiguity=False, dtype=DataType.Float):
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=shape, contiguity=contiguity, dtype=dtype)
        fd.add_output(fd.ops.add(fd.ops.mul(x, 2.0), 1.0))
    return fd


@pytest.mark.parametrize(
    "view",
    [
        lambda a: a[::2, ::3],
        lambda a: a.T,
        lambda a: a[::-1, :],
        lambda a: a[:, ::-2],
        lambda a: a[1:, 2:7],
        lambda a: np.broadcast_to(a[:1], a.shape),
    ],
    ids=["step", "transpose", "reversed-rows", "reversed-cols-step", "offset", "stride0"],
)
def test_strided_numpy_inputs(view, rng):
    base = random_array(rng, (12, 10), "Float")
    v = view(base)
    (out,) = unary_fd([-1, -1]).execute([v])
    assert out.shape == v.shape
    np.testing.assert_allclose(out, v * 2 + 1, rtol=1e-6)


@pytest.mark.parametrize(
    "view",
    [lambda t: t.t(), lambda t: t[:, 1::2], lambda t: t[:1].expand(6, 8), lambda t: t.unsqueeze(0).expand(3, 6, 8)[1]],
    ids=["transpose", "step", "expand", "expand-select"],
)
def test_strided_torch_inputs(view, rng):
    t = torch.from_numpy(random_array(rng, (6, 8), "Float"))
    v = view(t)
    (out,) = unary_fd([-1, -1]).execute([v])
    assert isinstance(out, torch.Tensor) and tuple(out.shape) == tuple(v.shape)
    np.testing.assert_allclose(out.numpy(), v.numpy() * 2 + 1, rtol=1e-6)


def test_stride_order_definition(rng):
    a = random_array(rng, (4, 6), "Float")
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], contiguity=True, dtype=DataType.Float, stride_order=[0, 1])
        fd.add_output(fd.ops.neg(x))
    (out,) = fd.execute([np.asfortranarray(a)])
    np.testing.assert_array_equal(out, -a)


def test_sizes_strides_definition(rng):
    a = random_array(rng, (2, 3), "Float")
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(sizes=[2, 3], strides=[3, 1], dtype=DataType.Float)
        assert x.ndim == 2
        fd.add_output(fd.ops.exp(x))
    (out,) = fd.execute([a])
    np.testing.assert_allclose(out, np.exp(a), rtol=1e-6)


def test_sizes_strides_broadcast_axis(rng):
    a = random_array(rng, (1, 3), "Float")
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(sizes=[1, 3], strides=[3, 1], dtype=DataType.Float)
        assert x.axis(0).is_broadcast()
        fd.add_output(fd.ops.neg(x))
    (out,) = fd.execute([a])
    np.testing.assert_array_equal(out, -a)


def test_broadcast_axis_input(rng):
    x = random_array(rng, (4, 5), "Float")
    r = random_array(rng, (1, 5), "Float")
    c = random_array(rng, (4, 1), "Float")
    with cfuser.FusionDefinition() as fd:
        tx = fd.define_tensor(shape=[-1, -1], dtype=DataType.Float)
        tr = fd.define_tensor(shape=[1, -1], dtype=DataType.Float)
        tc = fd.define_tensor(shape=[-1, 1], dtype=DataType.Float)
        fd.add_output(fd.ops.add(fd.ops.mul(tx, tr), tc))
    (out,) = fd.execute([x, r, c])
    np.testing.assert_allclose(out, x * r + c, rtol=1e-6)


def test_fixed_sizes(rng):
    x = random_array(rng, (2, 3), "Double")
    with cfuser.FusionDefinition() as fd:
        t = fd.define_tensor(shape=[2, 3], dtype=DataType.Double)
        fd.add_output(fd.ops.sin(t))
    (out,) = fd.execute([x])
    np.testing.assert_allclose(out, np.sin(x), rtol=1e-13)


# --- edge sizes ------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(0,), (0, 5), (5, 0), (3, 0, 2)])
def test_size_zero(shape):
    a = np.zeros(shape, dtype=np.float32)
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1] * len(shape), dtype=DataType.Float)
        y = fd.ops.exp(x)
        fd.add_output(y)
        fd.add_output(fd.ops.sum(y, dims=[0]))
    e, s = fd.execute([a])
    assert e.shape == shape
    np.testing.assert_array_equal(s, np.zeros(shape[1:], np.float32))


@pytest.mark.parametrize("shape", [(1,), (1, 1), (1, 7), (7, 1), (1, 1, 1)])
def test_size_one_symbolic(shape, rng):
    a = random_array(rng, shape, "Float")
    (out,) = unary_fd([-1] * len(shape), contiguity=True).execute([a])
    np.testing.assert_allclose(out, a * 2 + 1, rtol=1e-6)


def test_rank_zero_tensor():
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[], dtype=DataType.Float)
        y = fd.define_tensor(shape=[], dtype=DataType.Float)
        assert x.ndim == 0
        fd.add_output(fd.ops.mul(x, 3.0))
        fd.add_output(fd.ops.sub(y, x))
    o0, o1 = fd.execute([np.array(2.0, np.float32), np.array(5.0, np.float32)])
    assert o0.shape == () and o0 == 6.0
    assert o1.shape == () and o1 == 3.0


@pytest.mark.parametrize("n", [1, 3, 7, 15, 17, 31, 33, 1023, 1025, 4097, 65537, 1 << 20])
def test_odd_lengths(n, rng):
    a = random_array(rng, (n,), "Float")
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=DataType.Float)
        fd.add_output(fd.ops.relu(fd.ops.add(fd.ops.mul(fd.ops.tanh(x), 0.5), x)))
        fd.add_output(fd.ops.sum(x, dims=[0]))
    y, s = fd.execute([a])
    x64 = a.astype(np.float64)
    np.testing.assert_allclose(y, np.maximum(np.tanh(x64) * 0.5 + x64, 0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(s, x64.sum(), rtol=1e-4, atol=1e-3)


# --- special values -------------------------------------------------------------------------


def binop(op, a, b, dtype=DataType.Float):
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=dtype)
        y = fd.define_tensor(shape=[-1], dtype=dtype)
        fd.add_output(getattr(fd.ops, op)(x, y))
    return fd.execute([a, b])[0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_division_by_zero(dtype):
    a = np.array([1.0, -1.0, 0.0, np.inf, np.nan], dtype)
    b = np.array([0.0, 0.0, 0.0, 0.0, 0.0], dtype)
    dt_ = DataType.Float if dtype == np.float32 else DataType.Double
    for op in ("div", "truediv"):
        out = binop(op, a, b, dt_)
        np.testing.assert_array_equal(out, np.array([np.inf, -np.inf, np.nan, np.inf, np.nan], dtype))
    out = binop("div", a, -b, dt_)
    np.testing.assert_array_equal(out[:2], np.array([-np.inf, np.inf], dtype))


@pytest.mark.parametrize("op", ["maximum", "minimum"])
def test_maximum_minimum_propagate_nan(op):
    a = np.array([np.nan, 1.0, np.nan, -np.inf], np.float32)
    b = np.array([1.0, np.nan, np.nan, np.inf], np.float32)
    out = binop(op, a, b)
    assert np.isnan(out[:3]).all()
    assert out[3] == (np.inf if op == "maximum" else -np.inf)


def test_negative_zero():
    a = np.array([-0.0, 0.0, -0.0, 1.0], np.float32)
    b = np.array([-0.0, -0.0, 0.0, -1.0], np.float32)
    s = binop("add", a, b)
    np.testing.assert_array_equal(np.signbit(s), [True, False, False, False])
    m = binop("mul", a, b)
    np.testing.assert_array_equal(np.signbit(m), [False, True, True, True])
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=DataType.Float)
        fd.add_output(fd.ops.neg(x))
        fd.add_output(fd.ops.mul(x, -1.0))
    n, m1 = fd.execute([np.array([0.0, -0.0], np.float32)])
    np.testing.assert_array_equal(np.signbit(n), [True, False])
    np.testing.assert_array_equal(np.signbit(m1), [True, False])


def test_inf_arithmetic():
    a = np.array([np.inf, -np.inf, np.inf, 1e38], np.float32)
    b = np.array([np.inf, np.inf, 0.0, 10.0], np.float32)
    np.testing.assert_array_equal(binop("add", a, b), np.array([np.inf, np.nan, np.inf, 1e38 + 10.0], np.float32))
    np.testing.assert_array_equal(binop("mul", a, b), np.array([np.inf, -np.inf, np.nan, np.inf], np.float32))


def test_nan_comparisons():
    a = np.array([np.nan, np.nan, 1.0], np.float32)
    b = np.array([np.nan, 1.0, np.nan], np.float32)
    for op, want in [
        ("eq", [False, False, False]),
        ("ne", [True, True, True]),
        ("lt", [False, False, False]),
        ("le", [False, False, False]),
        ("gt", [False, False, False]),
        ("ge", [False, False, False]),
    ]:
        out = binop(op, a, b)
        assert out.dtype == np.bool_
        np.testing.assert_array_equal(out, want, err_msg=op)


# --- integer semantics ------------------------------------------------------------------------


INT_TYPES = [(np.int32, DataType.Int32), (np.int64, DataType.Int)]


@pytest.mark.parametrize("npt,dtp", INT_TYPES)
def test_integer_overflow_wraps(npt, dtp):
    info = np.iinfo(npt)
    a = np.array([info.max, info.min, info.max, info.min // 2 - 1], npt)
    b = np.array([1, -1, 2, 2], npt)
    out_add = binop("add", a, b, dtp)
    out_sub = binop("sub", a, b, dtp)
    out_mul = binop("mul", a, b, dtp)
    bits = info.bits

    def wrap(v):
        v &= (1 << bits) - 1
        return v - (1 << bits) if v >= 1 << (bits - 1) else v

    A, B = [int(v) for v in a], [int(v) for v in b]
    np.testing.assert_array_equal(out_add, [wrap(x + y) for x, y in zip(A, B)])
    np.testing.assert_array_equal(out_sub, [wrap(x - y) for x, y in zip(A, B)])
    np.testing.assert_array_equal(out_mul, [wrap(x * y) for x, y in zip(A, B)])
    assert out_add.dtype == npt


@pytest.mark.parametrize("op", ["div", "mod", "remainder", "fmod"])
@pytest.mark.parametrize("npt,dtp", INT_TYPES)
def test_integer_division_by_zero_is_zero(op, npt, dtp):
    a = np.array([7, -7, 0, np.iinfo(npt).max, np.iinfo(npt).min], npt)
    b = np.zeros_like(a)
    out = binop(op, a, b, dtp)
    assert out.dtype == npt
    np.testing.assert_array_equal(out, np.zeros_like(a))


@pytest.mark.parametrize("npt,dtp", INT_TYPES)
def test_integer_min_divided_by_minus_one(npt, dtp):
    info = np.iinfo(npt)
    a = np.array([info.min, info.min], npt)
    b = np.array([-1, -1], npt)
    np.testing.assert_array_equal(binop("div", a, b, dtp), [info.min, info.min])
    for op in ("mod", "remainder", "fmod"):
        np.testing.assert_array_equal(binop(op, a, b, dtp), [0, 0], err_msg=op)


@pytest.mark.parametrize("npt,dtp", INT_TYPES)
def test_integer_division_signs(npt, dtp):
    a = np.array([7, -7, 7, -7, 6, -6], npt)
    b = np.array([2, 2, -2, -2, 3, -3], npt)
    np.testing.assert_array_equal(binop("div", a, b, dtp), [3, -3, -3, 3, 2, 2])
    np.testing.assert_array_equal(binop("mod", a, b, dtp), [1, -1, 1, -1, 0, 0])
    np.testing.assert_array_equal(binop("fmod", a, b, dtp), [1, -1, 1, -1, 0, 0])
    np.testing.assert_array_equal(binop("remainder", a, b, dtp), [1, 1, -1, -1, 0, 0])


def test_float_mod_and_remainder_signs():
    a = np.array([7.5, -7.5, 7.5, -7.5], np.float32)
    b = np.array([2.0, 2.0, -2.0, -2.0], np.float32)
    np.testing.assert_array_equal(binop("mod", a, b), [1.5, -1.5, 1.5, -1.5])
    np.testing.assert_array_equal(binop("fmod", a, b), [1.5, -1.5, 1.5, -1.5])
    np.testing.assert_array_equal(binop("remainder", a, b), [1.5, 0.5, -0.5, -1.5])


def test_integer_truediv_is_float():
    a = np.array([7, -7, 1, 0], np.int64)
    b = np.array([2, 2, 0, 0], np.int64)
    out = binop("truediv", a, b, DataType.Int)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [3.5, -3.5, np.inf, np.nan])


def test_int32_plus_int64_wraps_in_int64():
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=DataType.Int32)
        y = fd.define_tensor(shape=[-1], dtype=DataType.Int)
        fd.add_output(fd.ops.add(x, y))
    (out,) = fd.execute([np.array([2**31 - 1], np.int32), np.array([1], np.int64)])
    assert out.dtype == np.int64 and out[0] == 2**31


# --- multiple outputs, symbolic scalars ---------------------------------------------------------


def test_many_outputs_of_different_dtypes(rng):
    a = random_array(rng, (6, 4), "Float")
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=DataType.Float)
        e = fd.ops.exp(x)
        fd.add_output(e)
        fd.add_output(fd.ops.gt(x, 0.0))
        fd.add_output(fd.ops.cast(x, DataType.Int32))
        fd.add_output(fd.ops.sum(e, dims=[0]))
        fd.add_output(fd.ops.cast(x, DataType.Half))
    o = fd.execute([a])
    assert [x.dtype for x in o] == [np.float32, np.bool_, np.int32, np.float32, np.float16]
    np.testing.assert_allclose(o[0], np.exp(a), rtol=1e-6)
    np.testing.assert_array_equal(o[1], a > 0)
    np.testing.assert_array_equal(o[2], np.trunc(a).astype(np.int32))
    np.testing.assert_allclose(o[3], np.exp(a.astype(np.float64)).sum(axis=0), rtol=1e-5)
    np.testing.assert_array_equal(o[4], a.astype(np.float16))


def test_symbolic_scalars_in_input_order(rng):
    a = random_array(rng, (9,), "Float")
    b = random_array(rng, (9,), "Float")
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=DataType.Float)
        s = fd.define_scalar(dtype=DataType.Double)
        y = fd.define_tensor(shape=[-1], dtype=DataType.Float)
        k = fd.define_scalar(dtype=DataType.Int)
        fd.add_output(fd.ops.add(fd.ops.mul(x, s), fd.ops.mul(y, k)))
    fec = cfuser.FusionExecutorCache(fd.fusion)
    for sv, kv in [(2.5, 3), (-1.0, 0), (0.125, -2)]:
        (out,) = fec.execute([a, sv, b, kv])
        np.testing.assert_allclose(out, a.astype(np.float64) * sv + b.astype(np.float64) * kv, rtol=1e-5, atol=1e-6)
    assert fec.num_kernels() == 1


def test_symbolic_scalar_accepts_numpy_and_bool_scalars():
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=DataType.Int)
        k = fd.define_scalar(dtype=DataType.Int)
        d = fd.define_scalar(dtype=DataType.Double)
        p = fd.define_scalar(dtype=DataType.Bool)
        fd.add_output(fd.ops.where(p, fd.ops.add(x, k), fd.ops.cast(d, DataType.Int)))
    a = np.array([1, 2], np.int64)
    (o,) = fd.execute([a, np.int64(5), np.float64(1.5), True])
    np.testing.assert_array_equal(o, [6, 7])
    (o,) = fd.execute([a, 5, 9.0, False])
    np.testing.assert_array_equal(o, [9, 9])


def test_only_scalar_inputs():
    with cfuser.FusionDefinition() as fd:
        n = fd.define_scalar(dtype=DataType.Int)
        s = fd.define_scalar(dtype=DataType.Double)
        fd.add_output(fd.ops.mul(fd.ops.iota(n, dtype=DataType.Double), s))
    (o,) = fd.execute([4, 0.5])
    np.testing.assert_array_equal(o, [0.0, 0.5, 1.0, 1.5])


# --- FusionExecutorCache --------------------------------------------------------------------


def test_cache_counts_signatures(rng):
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], contiguity=False, dtype=DataType.Float)
        fd.add_output(fd.ops.neg(x))
    fec = cfuser.FusionExecutorCache(fd.fusion)
    assert fec.num_kernels() == 0
    seq = [
        (random_array(rng, (4, 5), "Float"), 1),
        (random_array(rng, (7, 3), "Float"), 1),  # other sizes: same plan
        (random_array(rng, (7, 3), "Float"), 1),
        (random_array(rng, (1, 5), "Float"), 2),  # a size-1 axis: new signature
        (random_array(rng, (1, 9), "Float"), 2),
        (random_array(rng, (5, 4), "Float").T, 3),  # not contiguous: new signature
        (random_array(rng, (8, 2), "Float").T, 3),
        (random_array(rng, (2, 2), "Float"), 3),
    ]
    for a, n in seq:
        (out,) = fec.execute([a])
        np.testing.assert_array_equal(out, -a)
        assert fec.num_kernels() == n, (a.shape, a.strides, fec.num_kernels())
    assert isinstance(fec.num_kernels(), int)


def test_cache_same_signature_across_frameworks_is_correct(rng):
    a = random_array(rng, (3, 3), "Float")
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=DataType.Float)
        fd.add_output(fd.ops.exp(x))
    fec = cfuser.FusionExecutorCache(fd.fusion)
    o1 = fec.execute([a])[0]
    o2 = fec.execute([torch.from_numpy(a)])[0]
    assert isinstance(o1, np.ndarray) and isinstance(o2, torch.Tensor)
    np.testing.assert_array_equal(o1, o2.numpy())


def test_fec_execute_keyword_forms(rng):
    a = random_array(rng, (4,), "Float")
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=DataType.Float)
        fd.add_output(fd.ops.neg(x))
    fec = cfuser.FusionExecutorCache(fd.fusion)
    for outs in (
        fec.execute(inputs=[a]),
        fec.execute([a], device=None),
        fec.execute([a], _enable_options=[], _disable_options=[]),
        fec.execute((a,)),
        fec.execute(v for v in [a]),
    ):
        np.testing.assert_array_equal(outs[0], -a)
    with pytest.raises(TypeError):
        fec.execute([a], None)  # device is keyword-only


def test_fd_execute_repeatedly(rng):
    fd = example_fd()
    for n in (3, 17, 1):
        x = random_array(rng, (n, 5), "Float")
        b = random_array(rng, (5,), "Float")
        y, r = fd.execute([x, b])
        assert_close(y, example_ref(x, b)[0], "Float")


def test_same_array_passed_twice(rng):
    a = random_array(rng, (20,), "Float")
    out = binop("sub", a, a)
    np.testing.assert_array_equal(out, np.zeros(20, np.float32))


def test_large_chain_multithreaded(rng):
    a = random_array(rng, (1 << 21,), "Float")
    b = random_array(rng, (1 << 21,), "Float")
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=DataType.Float)
        y = fd.define_tensor(shape=[-1], dtype=DataType.Float)
        t = fd.ops.tanh(fd.ops.add(fd.ops.mul(x, y), 1.0))
        fd.add_output(fd.ops.relu(fd.ops.add(fd.ops.mul(t, 0.5), x)))
    (out,) = fd.execute([a, b])
    x64, y64 = a.astype(np.float64), b.astype(np.float64)
    np.testing.assert_allclose(out, np.maximum(np.tanh(x64 * y64 + 1) * 0.5 + x64, 0), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("npt,dtp", INT_TYPES)
def test_shift_counts_at_or_beyond_width_match_torch(npt, dtp):
    bits = np.iinfo(npt).bits
    a = np.array([1, -8, 5, 3, -1, 7], npt)
    b = np.array([bits, bits, bits + 6, bits - 1, bits + 1, 0], npt)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    np.testing.assert_array_equal(binop("bitwise_left_shift", a, b, dtp), torch.bitwise_left_shift(ta, tb).numpy())
    np.testing.assert_array_equal(binop("bitwise_right_shift", a, b, dtp), torch.bitwise_right_shift(ta, tb).numpy())


def test_cache_notices_a_changed_fusion():
    fd = cfuser.FusionDefinition()
    with fd:
        x = fd.define_tensor(shape=[-1], dtype=DataType.Float)
        fd.add_output(fd.ops.neg(x))
    a = np.arange(3, dtype=np.float32)
    fec = cfuser.FusionExecutorCache(fd.fusion)
    assert len(fec.execute([a])) == 1
    with cfuser.FusionGuard(fd.fusion):
        fd.fusion.add_output(cfuser.ops.mul(x, 10.0))
    o = fec.execute([a])
    assert len(o) == 2
    np.testing.assert_array_equal(o[1], a * 10)
    with fd:
        y = fd.define_tensor(shape=[-1], dtype=DataType.Float)
        fd.add_output(fd.ops.add(x, y))
    for runner in (fec.execute, fd.execute):
        o = runner([a, a + 1])
        assert len(o) == 3
        np.testing.assert_array_equal(o[2], 2 * a + 1)


def test_input_as_output():
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=DataType.Float)
        fd.add_output(x)
        fd.add_output(fd.ops.neg(x))
    a = np.arange(4, dtype=np.float32)
    o0, o1 = fd.execute([a])
    np.testing.assert_array_equal(o0, a)
    np.testing.assert_array_equal(o1, -a)


def test_large_strided_with_broadcast_and_reshape(rng):
    c = rng.standard_normal((600, 500)).astype(np.float32)
    r = rng.standard_normal((1, 600)).astype(np.float32)
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], contiguity=False, dtype=DataType.Float)
        y = fd.define_tensor(shape=[1, -1], dtype=DataType.Float)
        s = fd.ops.add(x, y)
        fd.add_output(s)
        fd.add_output(fd.ops.reshape(fd.ops.permute(s, [1, 0]), [300_000]))
    o, flat = fd.execute([c.T, r])
    np.testing.assert_allclose(o, c.T + r, rtol=1e-6)
    np.testing.assert_array_equal(flat, (c.T + r).T.reshape(-1))
