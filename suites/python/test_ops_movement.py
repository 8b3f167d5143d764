"""slice, pad, cat and select (nvFuser's names and arguments) against torch on
the CPU: every dtype, odd sizes (1, 7, 2^k +- 1), strided and broadcast
inputs, symbolic bounds, fused with pointwise work before and after, and
the bad inputs that raise cfuser errors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from conftest import SUPPORTED, TORCH_DTYPE, cfuser, dt
from conftest import torch_random as rand

SIZES = [1, 7, 31, 33]


def run(build, inputs, dtypes=None):
    """Define with build(fd, *tensors) (tensors of the inputs' ranks and dtypes)."""
    with cfuser.FusionDefinition() as fd:
        ts = []
        for i, x in enumerate(inputs):
            if isinstance(x, torch.Tensor):
                d = dtypes[i] if dtypes else {v: k for k, v in TORCH_DTYPE.items()}[x.dtype]
                ts.append(fd.define_tensor(shape=[-1] * x.dim(), dtype=dt(d)))
            else:
                ts.append(fd.define_scalar(dtype=cfuser.DataType.Int))
        outs = build(fd, *ts)
        for o in outs if isinstance(outs, (list, tuple)) else [outs]:
            fd.add_output(o)
    return fd.execute(inputs)


def same(got, want):
    assert got.shape == want.shape, (got.shape, want.shape)
    assert got.dtype == want.dtype
    if want.dtype.is_floating_point:
        torch.testing.assert_close(got, want, rtol=1e-2 if want.dtype in (torch.half, torch.bfloat16) else 1e-5,
                                   atol=1e-5, equal_nan=True)
    else:
        assert torch.equal(got, want)


# --- each op, each dtype ------------------------------------------------------------------


@pytest.mark.parametrize("dtype", SUPPORTED)
@pytest.mark.parametrize("n", SIZES)
def test_slice_every_dtype(dtype, n):
    x = rand((n, 5), dtype)
    (out,) = run(lambda fd, a: fd.ops.slice(a, [n // 3, 1], [n, 4]), [x])
    same(out, x[n // 3:, 1:4])


@pytest.mark.parametrize("dtype", SUPPORTED)
@pytest.mark.parametrize("n", SIZES)
def test_pad_every_dtype(dtype, n):
    x = rand((3, n), dtype)
    value = True if dtype == "Bool" else (3 if dtype in ("Int", "Int32") else 2.5)
    (out,) = run(lambda fd, a: fd.ops.pad(a, [2, 1, 0, 1], value), [x])
    same(out, F.pad(x, [2, 1, 0, 1], value=value))


@pytest.mark.parametrize("dtype", SUPPORTED)
def test_pad_default_value_is_zero(dtype):
    x = rand((4, 7), dtype)
    (out,) = run(lambda fd, a: fd.ops.pad(a, [1, 3]), [x])
    same(out, F.pad(x, [1, 3]) if dtype != "Bool" else F.pad(x.to(torch.uint8), [1, 3]).bool())


@pytest.mark.parametrize("dtype", SUPPORTED)
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat_every_dtype(dtype, dim):
    a, b = rand((7, 5), dtype, 1), rand((7, 5), dtype, 2)
    (out,) = run(lambda fd, x, y: fd.ops.cat([x, y], dim=dim), [a, b])
    same(out, torch.cat([a, b], dim))


@pytest.mark.parametrize("dtype", SUPPORTED)
@pytest.mark.parametrize("index", [0, 3, -1])
def test_select_every_dtype(dtype, index):
    x = rand((6, 7), dtype)
    (out,) = run(lambda fd, a: fd.ops.select(a, index, dim=1), [x])
    same(out, x.select(1, index))


# --- semantics ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "start,end,step",
    [([0, 0], [7, 9], None), ([2, 1], [5, 8], [1, 3]), ([-3, -100], [100, -2], None), ([5, 4], [2, 9], None),
     ([0, 0], [7, 9], [2, 4]), ([6, 8], [7, 9], [5, 5])],
)
def test_slice_bounds_normalise_like_torch(start, end, step):
    x = rand((7, 9), "Float")
    (out,) = run(lambda fd, a: fd.ops.slice(a, start, end, step), [x])
    step = step or [1, 1]
    same(out, x[start[0]:end[0]:step[0], start[1]:end[1]:step[1]])


def test_slice_symbolic_bounds():
    x = rand((9, 17), "Float")

    def build(fd, a, s, e):
        return fd.ops.mul(fd.ops.slice(a, [s, 0], [e, a.size(1)], [1, 2]), 2.0)

    fd_out = run(build, [x, 2, 7])[0]
    same(fd_out, x[2:7, ::2] * 2)


def test_slice_symbolic_bounds_cached_with_new_values():
    x = rand((9, 5), "Float")
    with cfuser.FusionDefinition() as fd:
        a = fd.define_tensor(shape=[-1, -1], dtype=dt("Float"))
        s = fd.define_scalar(dtype=cfuser.DataType.Int)
        fd.add_output(fd.ops.neg(fd.ops.slice(a, [s, 0], [9, 5])))
    # one definition, new bounds (and so new offsets and sizes) each call
    for start in (1, 4, -3, 0):
        (out,) = fd.execute([x, start])
        same(out, -x[start:])


def test_slice_manual_normalization_uses_bounds_as_given_and_checks_them():
    x = rand((6, 4), "Float")
    with cfuser.FusionDefinition() as fd:
        a = fd.define_tensor(shape=[-1, -1], dtype=dt("Float"))
        s = fd.define_scalar(dtype=cfuser.DataType.Int)
        fd.add_output(fd.ops.slice(a, [s, 0], [6, 4], manual_normalization=True))
    same(fd.execute([x, 2])[0], x[2:])
    with pytest.raises(cfuser.Error, match="manual_normalization"):
        fd.execute([x, -1])


def test_pad_negative_widths_crop():
    x = rand((7, 9), "Double")
    (out,) = run(lambda fd, a: fd.ops.pad(a, [-2, 3, 1, -4], 1.5), [x])
    same(out, F.pad(x, [-2, 3, 1, -4], value=1.5))


def test_pad_symbolic_widths():
    x = rand((5, 8), "Float")
    (out,) = run(lambda fd, a, lo, hi: fd.ops.pad(a, [lo, hi]), [x, 3, -2])
    same(out, F.pad(x, [3, -2]))


def test_pad_widths_are_last_dim_first_and_partial():
    x = rand((2, 3, 4), "Float")
    (out,) = run(lambda fd, a: fd.ops.pad(a, [0, 1, 2, 0]), [x])
    same(out, F.pad(x, [0, 1, 2, 0]))


def test_pad_of_pad_and_slice_of_pad_fold():
    x = rand((7, 9), "Float")

    def build(fd, a):
        p = fd.ops.pad(fd.ops.pad(a, [1, 1], 0.0), [2, 0, 0, 3], 0.0)
        return fd.ops.add(fd.ops.slice(p, [1, 1], [9, 10], [2, 3]), 1.0)

    (out,) = run(build, [x])
    same(out, F.pad(F.pad(x, [1, 1]), [2, 0, 0, 3])[1:9:2, 1:10:3] + 1)


def test_pad_of_pad_with_different_fills():
    x = rand((5, 6), "Float")
    (out,) = run(lambda fd, a: fd.ops.pad(fd.ops.pad(a, [1, 1], 1.0), [2, 2], 2.0), [x])
    same(out, F.pad(F.pad(x, [1, 1], value=1.0), [2, 2], value=2.0))


@pytest.mark.parametrize("n", [1, 2, 3, 5, 9])
def test_cat_many_tensors_mixed_sizes(n):
    xs = [rand((3, 2 * k + 1, 4), "Float", k) for k in range(n)]
    (out,) = run(lambda fd, *ts: fd.ops.cat(list(ts), dim=1), xs)
    same(out, torch.cat(xs, 1))


def test_cat_of_pads_and_slices():
    x = rand((6, 8), "Float")

    def build(fd, a):
        lo = fd.ops.slice(a, [0, 0], [6, 4])
        hi = fd.ops.slice(a, [0, 4], [6, 8])
        return fd.ops.cat([fd.ops.neg(hi), fd.ops.pad(lo, [1, 0], -1.0), lo], dim=-1)

    (out,) = run(build, [x])
    same(out, torch.cat([-x[:, 4:], F.pad(x[:, :4], [1, 0], value=-1.0), x[:, :4]], -1))


def test_select_symbolic_index_and_out_of_range_at_run_time():
    x = rand((4, 5), "Float")
    with cfuser.FusionDefinition() as fd:
        a = fd.define_tensor(shape=[-1, -1], dtype=dt("Float"))
        i = fd.define_scalar(dtype=cfuser.DataType.Int)
        fd.add_output(fd.ops.exp(fd.ops.select(a, i, dim=0)))
    for idx in (0, 3, -4):
        same(fd.execute([x, idx])[0], x[idx].exp())
    for idx in (4, -5):
        with pytest.raises(IndexError, match="out of range"):
            fd.execute([x, idx])
        with pytest.raises(cfuser.Error):
            fd.execute([x, idx])


def test_select_of_1d_gives_0d():
    x = rand((7,), "Float")
    (out,) = run(lambda fd, a: fd.ops.select(a, 2, 0), [x])
    same(out, x[2])


# --- strided and broadcast inputs, fusion before and after ----------------------------------------


def test_strided_input():
    base = rand((9, 16), "Float")
    x = base[::2, 1::3]  # not contiguous
    assert not x.is_contiguous()
    (a, b, c) = run(lambda fd, t: [fd.ops.slice(t, [1, 0], [4, 5], [2, 2]), fd.ops.pad(t, [1, 1, 1, 0]),
                                   fd.ops.cat([t, t], 0)], [x])
    same(a, x[1:4:2, 0:5:2])
    same(b, F.pad(x, [1, 1, 1, 0]))
    same(c, torch.cat([x, x], 0))


def test_transposed_input():
    x = rand((7, 5), "Float").t()
    (out,) = run(lambda fd, t: fd.ops.add(fd.ops.pad(t, [2, -1]), 1.0), [x])
    same(out, F.pad(x, [2, -1]) + 1)


def test_broadcast_operands():
    x = rand((1, 5), "Float")
    y = rand((6, 1), "Float")

    with cfuser.FusionDefinition() as fd:
        a = fd.define_tensor(shape=[1, -1], dtype=dt("Float"))  # a broadcast dim
        b = fd.define_tensor(shape=[-1, 1], dtype=dt("Float"))
        pa = fd.ops.pad(a, [1, 2])  # (1, 8), read broadcast over 6 rows
        fd.add_output(fd.ops.mul(pa, fd.ops.expand(b, [6, 8])))
        fd.add_output(fd.ops.add(fd.ops.slice(b, [1, 0], [5, 1]), pa))
    o1, o2 = fd.execute([x, y])
    same(o1, F.pad(x, [1, 2]) * y.expand(6, 8))
    same(o2, y[1:5] + F.pad(x, [1, 2]))


def test_movement_of_a_broadcast():
    x = rand((5,), "Float")

    def build(fd, a):
        b = fd.ops.broadcast_in_dim(a, [3, 5], [1])
        return fd.ops.cat([b, fd.ops.slice(b, [0, 1], [3, 5])], dim=1)

    (out,) = run(build, [x])
    xb = x.expand(3, 5)
    same(out, torch.cat([xb, xb[:, 1:]], 1))


def test_pointwise_before_and_after():
    x = rand((8, 33), "Float")
    y = rand((8, 33), "Float", 3)

    def build(fd, a, b):
        e = fd.ops.exp(a)
        p = fd.ops.pad(e, [1, 0])
        s = fd.ops.slice(fd.ops.add(a, b), [0, 0], [8, 34 - 1], None)
        c = fd.ops.cat([fd.ops.mul(p, 2.0), fd.ops.sub(s, 1.0)], 1)
        return [fd.ops.tanh(c), fd.ops.sum(fd.ops.pad(a, [0, 1]), dims=[1])]

    o1, o2 = run(build, [x, y])
    p = F.pad(x.exp(), [1, 0])
    same(o1, torch.tanh(torch.cat([p * 2, (x + y)[:, :33] - 1], 1)))
    same(o2, F.pad(x, [0, 1]).sum(1))


def test_movement_after_reduction_and_permute():
    x = rand((6, 7), "Float")

    def build(fd, a):
        s = fd.ops.sum(a, dims=[1], keepdim=True)  # (6, 1)
        p = fd.ops.permute(fd.ops.pad(fd.ops.permute(a, [1, 0]), [0, 0, 1, 1]), [1, 0])  # (6, 9)
        return fd.ops.add(fd.ops.pad(s, [0, 8]), p)

    (out,) = run(build, [x])
    p = F.pad(x.t(), [0, 0, 1, 1]).t()
    same(out, F.pad(x.sum(1, keepdim=True), [0, 8]) + p)


def test_reshape_of_a_pad():
    x = rand((4, 5), "Float")
    (out,) = run(lambda fd, a: fd.ops.reshape(fd.ops.pad(a, [0, 1]), [24]), [x])
    same(out, F.pad(x, [0, 1]).reshape(24))


def test_rotary_embedding_written_with_slice_and_cat():
    b, s, h = 2, 9, 16
    x, cos, sin = rand((b, s, h), "Float"), rand((s, h), "Float", 1), rand((s, h), "Float", 2)

    def build(fd, xt, c, sn):
        x1 = fd.ops.slice(xt, [0, 0, 0], [b, s, h // 2])
        x2 = fd.ops.slice(xt, [0, 0, h // 2], [b, s, h])
        rot = fd.ops.cat([fd.ops.neg(x2), x1], dim=-1)
        cb = fd.ops.broadcast_in_dim(c, [b, s, h], [1, 2])
        sb = fd.ops.broadcast_in_dim(sn, [b, s, h], [1, 2])
        return fd.ops.add(fd.ops.mul(xt, cb), fd.ops.mul(rot, sb))

    (out,) = run(build, [x, cos, sin])
    rot = torch.cat([-x[..., h // 2:], x[..., :h // 2]], -1)
    same(out, x * cos + rot * sin)


@pytest.mark.parametrize("n", [3, 1023, 1025, 4097])
def test_large_sizes_cross_blocks(n):
    x = rand((3, n), "Float")
    (a, b) = run(lambda fd, t: [fd.ops.add(fd.ops.pad(t, [5, -2]), 1.0), fd.ops.cat([t, fd.ops.neg(t)], 0)], [x])
    same(a, F.pad(x, [5, -2]) + 1)
    same(b, torch.cat([x, -x], 0))


def test_outputs_cached_second_call():
    x = rand((5, 6), "Float")
    with cfuser.FusionDefinition() as fd:
        a = fd.define_tensor(shape=[-1, -1], dtype=dt("Float"))
        fd.add_output(fd.ops.cat([a, a], dim=0))
    for _ in range(3):
        same(fd.execute([x])[0], torch.cat([x, x], 0))
    y = rand((2, 6), "Float")
    same(fd.execute([y])[0], torch.cat([y, y], 0))


# --- bad input ----------------------------------------------------------------------------------


def _define(build, shapes=((4, 5),), dtypes=("Float",)):
    with cfuser.FusionDefinition() as fd:
        ts = [fd.define_tensor(shape=list(s), dtype=dt(d)) for s, d in zip(shapes, dtypes)]
        build(fd, *ts)


def test_cat_mismatched_sizes_off_the_dim():
    with pytest.raises(ValueError, match="sizes must match"):
        _define(lambda fd, a, b: fd.ops.cat([a, b], 1), shapes=((4, 5), (3, 5)), dtypes=("Float", "Float"))


def test_cat_mismatched_sizes_at_run_time():
    with cfuser.FusionDefinition() as fd:
        a = fd.define_tensor(shape=[-1, -1], dtype=dt("Float"))
        b = fd.define_tensor(shape=[-1, -1], dtype=dt("Float"))
        fd.add_output(fd.ops.cat([a, b], 1))
    with pytest.raises(cfuser.Error, match="sizes must match"):
        fd.execute([torch.zeros(4, 5), torch.zeros(3, 5)])


def test_cat_different_dtypes_refused_like_nvfuser():
    with pytest.raises(TypeError, match="different dtypes"):
        _define(lambda fd, a, b: fd.ops.cat([a, b], 0), shapes=((4, 5), (4, 5)), dtypes=("Float", "Half"))


@pytest.mark.parametrize("dim", [2, -3])
def test_cat_bad_dim(dim):
    with pytest.raises(IndexError, match="dim"):
        _define(lambda fd, a: fd.ops.cat([a, a], dim))


def test_cat_empty_and_not_tensors():
    with pytest.raises(ValueError, match="empty"):
        _define(lambda fd, a: fd.ops.cat([], 0))
    with pytest.raises(TypeError, match="TensorView"):
        _define(lambda fd, a: fd.ops.cat([a, 1.0], 0))
    with pytest.raises(cfuser.UnsupportedError, match="manual_padding"):
        _define(lambda fd, a: fd.ops.cat([a, a], 0, manual_padding=True))


def test_pad_negative_size():
    with pytest.raises(ValueError, match="negative"):
        _define(lambda fd, a: fd.ops.pad(a, [-3, -3]))
    with cfuser.FusionDefinition() as fd:
        a = fd.define_tensor(shape=[-1], dtype=dt("Float"))
        fd.add_output(fd.ops.pad(a, [-3, 0]))
    with pytest.raises(ValueError, match="negative"):
        fd.execute([torch.zeros(2)])


def test_pad_bad_widths():
    with pytest.raises(ValueError, match="pad_widths"):
        _define(lambda fd, a: fd.ops.pad(a, [1, 1, 1]))
    with pytest.raises(ValueError, match="pad_widths"):
        _define(lambda fd, a: fd.ops.pad(a, [1] * 6))
    with pytest.raises(TypeError, match="pad_widths"):
        _define(lambda fd, a: fd.ops.pad(a, [1.5, 1]))
    with pytest.raises(TypeError, match="value"):
        _define(lambda fd, a: fd.ops.pad(a, [1, 1], 0.5), dtypes=("Int",))


def test_slice_bad_arguments():
    with pytest.raises(ValueError, match="strides"):
        _define(lambda fd, a: fd.ops.slice(a, [0, 0], [1, 1], [1, 0]))
    with pytest.raises(ValueError, match="strides"):
        _define(lambda fd, a: fd.ops.slice(a, [0, 0], [1, 1], [-1, 1]))
    with pytest.raises(ValueError, match="start_indices"):
        _define(lambda fd, a: fd.ops.slice(a, [0], [1, 1]))
    with pytest.raises(ValueError, match="end_indices"):
        _define(lambda fd, a: fd.ops.slice(a, [0, 0], [1, 1, 1]))
    with pytest.raises(ValueError, match="strides"):
        _define(lambda fd, a: fd.ops.slice(a, [0, 0], [1, 1], [1]))
    with pytest.raises(TypeError, match="start_indices"):
        _define(lambda fd, a: fd.ops.slice(a, ["x", 0], [1, 1]))
    with pytest.raises(TypeError):
        _define(lambda fd, a: fd.ops.slice(1.0, [0, 0], [1, 1]))


def test_select_bad_arguments():
    with pytest.raises(IndexError, match="out of range"):
        _define(lambda fd, a: fd.ops.select(a, 4, 0))
    with pytest.raises(IndexError, match="dim"):
        _define(lambda fd, a: fd.ops.select(a, 0, 2))
    with pytest.raises(TypeError, match="index"):
        _define(lambda fd, a: fd.ops.select(a, 1.0, 0))
    with pytest.raises(TypeError, match="dim"):
        _define(lambda fd, a: fd.ops.select(a, 1, "0"))


def test_failed_op_leaves_the_fusion_unchanged():
    with cfuser.FusionDefinition() as fd:
        a = fd.define_tensor(shape=[4, 5], dtype=dt("Float"))
        before = fd.fusion.print_math()
        with pytest.raises(cfuser.Error):
            fd.ops.pad(a, [1, 1, -9, 0])
        with pytest.raises(cfuser.Error):
            fd.ops.slice(a, [0, 0], [1, 1], [1, 0])
        assert fd.fusion.print_math() == before
        fd.add_output(fd.ops.slice(a, [1, 1], [3, 3]))
    (out,) = fd.execute([torch.ones(4, 5)])
    same(out, torch.ones(2, 2))


# --- empty results and rounding ------------------------------------------------------------------


def test_zero_size_inputs_and_empty_results():
    x = rand((0, 5), "Float")
    y = rand((3, 0), "Float")
    z = rand((3, 4), "Float")
    with cfuser.FusionDefinition() as fd:
        a = fd.define_tensor(shape=[-1, -1], dtype=dt("Float"))
        b = fd.define_tensor(shape=[-1, -1], dtype=dt("Float"))
        c = fd.define_tensor(shape=[-1, -1], dtype=dt("Float"))
        fd.add_output(fd.ops.pad(a, [1, 1]))
        fd.add_output(fd.ops.cat([b, c, b], dim=1))
        fd.add_output(fd.ops.neg(fd.ops.slice(c, [2, 0], [1, 4])))  # end before start: empty
        fd.add_output(fd.ops.pad(b, [2, 0], 7.0))
    o1, o2, o3, o4 = fd.execute([x, y, z])
    same(o1, F.pad(x, [1, 1]))
    same(o2, torch.cat([y, z, y], 1))
    same(o3, -z[2:1])
    same(o4, F.pad(y, [2, 0], value=7.0))


@pytest.mark.parametrize("dtype", ["Half", "BFloat16"])
def test_pad_fill_rounds_to_the_dtype(dtype):
    x = rand((2, 3), dtype)
    (out,) = run(lambda fd, a: fd.ops.add(fd.ops.pad(a, [1, 1], 0.1), 0.0), [x])
    same(out, F.pad(x, [1, 1], value=0.1) + 0)
    assert out[0, 0].item() == torch.tensor(0.1, dtype=TORCH_DTYPE[dtype]).item()


def test_one_window_read_by_many_consumers_and_an_output():
    x = rand((4, 6), "Float")

    def build(fd, a):
        p = fd.ops.pad(a, [1, 1, 1, 1], -2.0)
        return [p, fd.ops.mul(p, p), fd.ops.sum(p, dims=[0]), fd.ops.reshape(p, [48])]

    o1, o2, o3, o4 = run(build, [x])
    p = F.pad(x, [1, 1, 1, 1], value=-2.0)
    same(o1, p)
    same(o2, p * p)
    same(o3, p.sum(0))
    same(o4, p.reshape(48))


def test_sizes_computed_by_movement_used_as_shapes_and_checked():
    x, y, v = rand((9, 5), "Float"), rand((9, 5), "Float", 1), rand((4,), "Float", 2)
    with cfuser.FusionDefinition() as fd:
        a = fd.define_tensor(shape=[-1, -1], dtype=dt("Float"))
        b = fd.define_tensor(shape=[-1, -1], dtype=dt("Float"))
        w = fd.define_tensor(shape=[-1], dtype=dt("Float"))
        s = fd.define_scalar(dtype=cfuser.DataType.Int)
        e = fd.define_scalar(dtype=cfuser.DataType.Int)
        sa = fd.ops.slice(a, [s, 0], [e, 5])
        fd.add_output(fd.ops.add(sa, fd.ops.slice(b, [s, 0], [e, 5])))
        fd.add_output(fd.ops.broadcast_in_dim(w, shape=[sa.size(0), 4], broadcast_dims=[1]))
        fd.add_output(fd.ops.sub(sa, fd.ops.slice(b, [0, 0], [s, 5])))
    o1, o2, o3 = fd.execute([x, y, v, 3, 6])
    same(o1, x[3:6] + y[3:6])
    same(o2, v.expand(3, 4))
    same(o3, x[3:6] - y[:3])
    with pytest.raises(ValueError, match="size"):  # 4 rows against 2
        fd.execute([x, y, v, 2, 6])


# --- random chains against torch ------------------------------------------------------------------


def _random_chain(seed):
    """A random program of slices, pads, cats, permutes, selects and pointwise
    ops over two 3-d inputs, built for cfuser and torch side by side."""
    import random

    rng = random.Random(seed)
    shape = [rng.choice([1, 2, 3, 5, 7, 33]) for _ in range(3)]
    xs = [rand(tuple(shape), "Float", seed * 7), rand(tuple(shape[::-1]), "Float", seed * 7 + 1).permute(2, 1, 0)]

    def program(ops, t0, t1):
        vals = [(t0, list(shape)), (t1, list(shape))]
        for _ in range(rng.randint(2, 6)):
            kind = rng.choice(["slice", "pad", "cat", "permute", "unary", "binary", "select"])
            t, sh = rng.choice(vals)
            r = len(sh)
            if kind == "slice" and r:
                st = [rng.randint(-n - 1, n) for n in sh]
                en = [rng.randint(-n - 1, n + 1) for n in sh]
                step = [rng.randint(1, 3) for _ in sh]
                vals.append(ops.slice(t, sh, st, en, step))
            elif kind == "pad" and r:
                k = rng.randint(1, r)
                w = []
                for d in range(k):
                    n = sh[r - 1 - d]
                    lo = rng.randint(-(n // 2), 3)
                    hi = rng.randint(-(n // 2), 3)  # torch crops each side within the input
                    w += [lo, hi]
                vals.append(ops.pad(t, sh, w, rng.choice([0.0, 1.5])))
            elif kind == "cat" and r:
                d = rng.randrange(r)
                same_ = [(u, s) for u, s in vals if len(s) == r and all(s[q] == sh[q] for q in range(r) if q != d)]
                parts = [rng.choice(same_) for _ in range(rng.randint(2, 4))]
                vals.append(ops.cat([p for p, _ in parts], [s for _, s in parts], d))
            elif kind == "permute" and r:
                perm = list(range(r))
                rng.shuffle(perm)
                vals.append(ops.permute(t, sh, perm))
            elif kind == "select" and r > 1 and sh[0] > 0:
                vals.append(ops.select(t, sh, rng.randrange(-sh[0], sh[0])))
            elif kind == "unary":
                vals.append(ops.unary(t, sh))
            else:
                u, s2 = rng.choice([(u, s) for u, s in vals if s == sh])
                vals.append(ops.binary(t, u, sh))
        return vals[-1][0], vals[rng.randrange(2, len(vals))][0] if len(vals) > 2 else vals[-1][0]

    return rng, xs, program


class _TorchOps:
    @staticmethod
    def _sl(n, s, e, k):
        return slice(*slice(s, e, k).indices(n))

    def slice(self, t, sh, st, en, step):
        out = t[tuple(self._sl(n, s, e, k) for n, s, e, k in zip(sh, st, en, step))]
        return out, list(out.shape)

    def pad(self, t, sh, w, v):
        out = F.pad(t, w, value=v)
        return out, list(out.shape)

    def cat(self, ts, shs, d):
        out = torch.cat(ts, d)
        return out, list(out.shape)

    def permute(self, t, sh, perm):
        out = t.permute(perm)
        return out, list(out.shape)

    def select(self, t, sh, i):
        out = t.select(0, i)
        return out, list(out.shape)

    def unary(self, t, sh):
        return torch.tanh(t) * 2.0, sh

    def binary(self, a, b, sh):
        return a * 0.5 + b, sh


class _CfOps:
    def __init__(self, fd):
        self.o = fd.ops

    def slice(self, t, sh, st, en, step):
        ref = _TorchOps._sl
        n = [len(range(*ref(m, s, e, k).indices(m))) for m, s, e, k in zip(sh, st, en, step)]
        return self.o.slice(t, st, en, step), n

    def pad(self, t, sh, w, v):
        n = list(sh)
        for k in range(len(w) // 2):
            n[len(sh) - 1 - k] += w[2 * k] + w[2 * k + 1]
        return self.o.pad(t, w, v), n

    def cat(self, ts, shs, d):
        n = list(shs[0])
        n[d] = sum(s[d] for s in shs)
        return self.o.cat(ts, d), n

    def permute(self, t, sh, perm):
        return self.o.permute(t, perm), [sh[p] for p in perm]

    def select(self, t, sh, i):
        return self.o.select(t, i, 0), sh[1:]

    def unary(self, t, sh):
        return self.o.mul(self.o.tanh(t), 2.0), sh

    def binary(self, a, b, sh):
        return self.o.add(self.o.mul(a, 0.5), b), sh


@pytest.mark.parametrize("seed", range(200))
def test_random_movement_chains_match_torch(seed):
    # the same seed builds the same program twice: once over torch, once over cfuser
    _, xs, prog_t = _random_chain(seed)
    want = prog_t(_TorchOps(), xs[0], xs[1])
    _, _, prog_c = _random_chain(seed)
    with cfuser.FusionDefinition() as fd:
        a = fd.define_tensor(shape=[-1] * 3, dtype=dt("Float"))
        b = fd.define_tensor(shape=[-1] * 3, dtype=dt("Float"))
        outs = prog_c(_CfOps(fd), a, b)
        fd.add_output(outs[0])
        if outs[1] is not outs[0]:
            fd.add_output(outs[1])
    want = want if outs[1] is not outs[0] else want[:1]
    got = fd.execute(xs)
    for g, w in zip(got, want):
        same(g, w.contiguous())


@pytest.mark.parametrize("which", ["slice", "pad", "pad_fill", "select"])
def test_bounds_computed_by_scalar_arithmetic_are_refused(which):
    x = rand((9, 5), "Float")
    with cfuser.FusionDefinition() as fd:
        a = fd.define_tensor(shape=[-1, -1], dtype=dt("Float"))
        s = fd.define_scalar(dtype=cfuser.DataType.Int)
        e = fd.ops.add(s, 3)
        out = {
            "slice": lambda: fd.ops.slice(a, [s, 0], [e, 5]),
            "pad": lambda: fd.ops.pad(a, [e, 0]),
            "pad_fill": lambda: fd.ops.pad(a, [1, 0], fd.ops.cast(e, cfuser.DataType.Double)),
            "select": lambda: fd.ops.select(a, e, 0),
        }[which]()
        fd.add_output(out)
    with pytest.raises(cfuser.UnsupportedError, match="scalar arithmetic"):
        fd.execute([x, 2])
