"""The indexing ops: index_select, gather, take_along_axis, scatter and
embedding_fwd, against torch on the CPU.

Every op on every value dtype with Int and Int32 indices, on odd sizes
(1, 7, 2^k +- 1), strided and broadcast inputs, fused with pointwise work
before and after; then the errors: index values out of range (negative
ones too, as torch), float and bool index tensors, mismatched ranks and
shapes, dims out of range."""

from __future__ import annotations

import pytest
import torch

from conftest import SUPPORTED, TORCH_DTYPE, cfuser, dt
from conftest import torch_random as values

IDX = {"Int": torch.int64, "Int32": torch.int32}
SIZES = [1, 7, 31, 33]


def positions(shape, hi, itype, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, hi, shape, generator=g, dtype=IDX[itype])


def run(build, inputs):
    with cfuser.FusionDefinition() as fd:
        ins = [fd.from_pytorch(t) if isinstance(t, torch.Tensor) else t for t in inputs]
        outs = build(fd, *ins)
        for o in outs if isinstance(outs, (list, tuple)) else [outs]:
            fd.add_output(o)
    return fd.execute(list(inputs))


def same(out, ref):
    assert out.dtype == ref.dtype and out.shape == ref.shape, (out.dtype, ref.dtype, out.shape, ref.shape)
    assert torch.equal(out, ref)


# --- each op, every dtype, both index dtypes, odd sizes ----------------------------


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("itype", sorted(IDX))
@pytest.mark.parametrize("dtype", SUPPORTED)
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_index_select(dtype, itype, n, dim):
    x = values((n, 5), dtype)
    i = positions((n + 2,), x.shape[dim], itype)
    (out,) = run(lambda fd, a, b: fd.ops.index_select(a, b, dim), [x, i])
    same(out, torch.index_select(x, dim, i.long()))


@pytest.mark.parametrize("dim", [0, 1])
def test_index_select_0d_index_keeps_the_dim(dim):
    x = values((4, 6), "Float")
    i = torch.tensor(2)
    (out,) = run(lambda fd, a, b: fd.ops.index_select(a, b, dim), [x, i])
    same(out, torch.index_select(x, dim, i))


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("itype", sorted(IDX))
@pytest.mark.parametrize("dtype", SUPPORTED)
@pytest.mark.parametrize("dim", [0, 1])
def test_gather(dtype, itype, n, dim):
    x = values((n + 1, 9), dtype)
    i = positions((n, 4), x.shape[dim], itype)  # no larger than x off dim
    (out,) = run(lambda fd, a, b: fd.ops.gather(a, b, dim), [x, i])
    same(out, torch.gather(x, dim, i.long()))


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("itype", sorted(IDX))
@pytest.mark.parametrize("dtype", SUPPORTED)
@pytest.mark.parametrize("dim", [0, 1, -2])
def test_take_along_axis(dtype, itype, n, dim):
    x = values((n, 7), dtype)
    ishape = (3, 7) if dim in (0, -2) else (n, 3)
    i = positions(ishape, x.shape[dim], itype)
    (out,) = run(lambda fd, a, b: fd.ops.take_along_axis(a, b, dim), [x, i])
    same(out, torch.take_along_dim(x, i.long(), dim))


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("itype", sorted(IDX))
@pytest.mark.parametrize("dtype", SUPPORTED)
@pytest.mark.parametrize("dim", [0, 1])
def test_scatter(dtype, itype, n, dim):
    x = values((n, 6), dtype)
    src = values((n, 6), dtype, seed=7)
    # distinct positions along dim: torch leaves the winner of a repeat open
    perm = torch.argsort(torch.rand(x.shape, generator=torch.Generator().manual_seed(3)), dim=dim)
    i = perm.narrow(dim, 0, max(1, x.shape[dim] // 2)).to(IDX[itype])
    (out,) = run(lambda fd, a, b, c: fd.ops.scatter(a, b, c, dim), [x, i, src])
    same(out, torch.scatter(x, dim, i.long(), src))


@pytest.mark.parametrize("dtype", SUPPORTED)
def test_scatter_scalar_src(dtype):
    x = values((9, 4), dtype)
    i = torch.argsort(torch.rand(9, 4, generator=torch.Generator().manual_seed(5)), dim=0)[:3]
    value = True if dtype == "Bool" else (3 if dtype in ("Int", "Int32") else 1.5)
    (out,) = run(lambda fd, a, b: fd.ops.scatter(a, b, value, 0), [x, i])
    same(out, torch.scatter(x, 0, i, value))


def test_scatter_symbolic_scalar_src():
    x = values((6, 5), "Float")
    i = torch.argsort(torch.rand(6, 5, generator=torch.Generator().manual_seed(2)), dim=1)[:, :2]
    with cfuser.FusionDefinition() as fd:
        a, b = fd.from_pytorch(x), fd.from_pytorch(i)
        s = fd.define_scalar(None, dtype=cfuser.DataType.Double)
        fd.add_output(fd.ops.scatter(a, b, s, 1))
    same(fd.execute([x, i, -2.5])[0], torch.scatter(x, 1, i, -2.5))


@pytest.mark.parametrize("shape", [(1,), (7,), (3, 5), (2, 3, 4)])
@pytest.mark.parametrize("itype", sorted(IDX))
@pytest.mark.parametrize("dtype", SUPPORTED)
def test_embedding_fwd(dtype, itype, shape):
    w = values((33, 17), dtype)
    i = positions(shape, 33, itype)
    (out,) = run(lambda fd, a, b: fd.ops.embedding_fwd(a, b), [i, w])
    same(out, w[i.long()])


@pytest.mark.parametrize("padding_idx", [0, -2])
def test_embedding_fwd_options_leave_the_forward_result(padding_idx):
    w = values((10, 3), "BFloat16")
    i = positions((3,), 10, "Int")
    (out,) = run(
        lambda fd, a, b: fd.ops.embedding_fwd(a, b, padding_idx, None, 2.0, True, True), [i, w]
    )
    same(out, torch.nn.functional.embedding(i, w, padding_idx=padding_idx, scale_grad_by_freq=True, sparse=True))


@pytest.mark.parametrize("norm_type", [None, 1.0, 2.0, 3.0, float("inf")])
@pytest.mark.parametrize("dtype", ["Float", "Double", "BFloat16"])
def test_embedding_fwd_max_norm(dtype, norm_type):
    w = values((20, 33), dtype) * 2
    i = positions((4, 7), 20, "Int32")
    (out,) = run(lambda fd, a, b: fd.ops.embedding_fwd(a, b, None, 1.5, norm_type), [i, w])
    ref = torch.nn.functional.embedding(i.long(), w.clone(), max_norm=1.5, norm_type=2.0 if norm_type is None else norm_type)
    tol = 2e-2 if dtype == "BFloat16" else 1e-5
    torch.testing.assert_close(out, ref, rtol=tol, atol=tol)
    assert float(out.double().norm(p=2.0 if norm_type is None else norm_type, dim=-1).max()) <= 1.5 * (1 + tol)


def test_embedding_fwd_max_norm_symbolic_scalars():
    """nvFuser's own test passes max_norm and norm_type as Scalars."""
    w = values((10, 3), "BFloat16")
    i = positions((3,), 10, "Int")
    with cfuser.FusionDefinition() as fd:
        a, b = fd.from_pytorch(i), fd.from_pytorch(w)
        mn = fd.define_scalar(None, dtype=cfuser.DataType.Float)
        nt = fd.define_scalar(None, dtype=cfuser.DataType.Float)
        fd.add_output(fd.ops.embedding_fwd(a, b, None, mn, nt))
    out = fd.execute([i, w, 1e-5, 1.0])[0]
    ref = torch.nn.functional.embedding(i, w.clone(), max_norm=1e-5, norm_type=1.0)
    torch.testing.assert_close(out, ref, rtol=2e-2, atol=1e-7)


def test_embedding_fwd_max_norm_needs_float_rows():
    with cfuser.FusionDefinition() as fd:
        i = fd.define_tensor(shape=[-1], dtype=dt("Int"))
        w = fd.define_tensor(shape=[-1, -1], dtype=dt("Int32"))
        with pytest.raises(TypeError, match="floating-point"):
            fd.ops.embedding_fwd(i, w, max_norm=1.0)


def test_embedding_fwd_scalar_options():
    w = values((10, 3), "Float")
    i = positions((4,), 10, "Int")
    with cfuser.FusionDefinition() as fd:
        a, b = fd.from_pytorch(i), fd.from_pytorch(w)
        pad = fd.define_scalar(None, dtype=cfuser.DataType.Int)
        sgf = fd.define_scalar(None, dtype=cfuser.DataType.Bool)
        fd.add_output(fd.ops.embedding_fwd(a, b, padding_idx=pad, scale_grad_by_freq=sgf))
    same(fd.execute([i, w, 1, False])[0], torch.nn.functional.embedding(i, w, padding_idx=1))


# --- strided and broadcast inputs ------------------------------------------------


@pytest.mark.parametrize("dim", [0, 1])
def test_index_select_strided_source_and_index(dim):
    x = values((12, 10), "Float").t()[::2]  # (5, 12), no stride 1
    i = positions((14,), x.shape[dim], "Int")[::2]
    (out,) = run(lambda fd, a, b: fd.ops.index_select(a, b, dim), [x, i])
    same(out, torch.index_select(x, dim, i))


@pytest.mark.parametrize("dim", [0, 1])
def test_gather_strided(dim):
    x = values((9, 13), "Half").t()  # (13, 9)
    i = positions((5, 12), 9, "Int32").t()[:, ::2]  # (12, 3) strided
    i = i.clamp(max=x.shape[dim] - 1)
    (out,) = run(lambda fd, a, b: fd.ops.gather(a, b, dim), [x, i])
    same(out, torch.gather(x, dim, i.long()))


def test_index_select_of_an_expanded_source():
    x = values((1, 7), "Double").expand(5, 7)  # stride 0 along dim 0
    i = positions((4,), 7, "Int")
    (out,) = run(lambda fd, a, b: fd.ops.index_select(a, b, 1), [x, i])
    same(out, torch.index_select(x, 1, i))


def test_take_along_axis_broadcasts_the_index():
    x = values((6, 5), "Float")
    i = positions((3, 1), 6, "Int")  # size-1 dim 1: a broadcast dim
    (out,) = run(lambda fd, a, b: fd.ops.take_along_axis(a, b, 0), [x, i])
    same(out, torch.take_along_dim(x, i, 0))


def test_take_along_axis_broadcasts_the_source():
    x = values((1, 5), "Float")  # size-1 dim 0: a broadcast dim
    i = positions((4, 3), 5, "Int32")
    (out,) = run(lambda fd, a, b: fd.ops.take_along_axis(a, b, 1), [x, i])
    same(out, torch.take_along_dim(x, i.long(), 1))


def test_scatter_into_an_expanded_input():
    x = values((1, 6), "Float").expand(5, 6)  # stride 0 along dim 0
    i = torch.argsort(torch.rand(5, 6, generator=torch.Generator().manual_seed(4)), dim=0)[:2]
    (out,) = run(lambda fd, a, b: fd.ops.scatter(a, b, 9.0, 0), [x, i])
    same(out, torch.scatter(x.contiguous(), 0, i, 9.0))


def test_scatter_strided_inputs():
    x = values((8, 10), "Float").t()  # (10, 8)
    src = values((16, 4), "Float")[::2]  # (8, 4), strided
    i = torch.argsort(torch.rand(10, 4, generator=torch.Generator().manual_seed(9)), dim=0)[:5]
    (out,) = run(lambda fd, a, b, c: fd.ops.scatter(a, b, c, 0), [x, i, src])
    same(out, torch.scatter(x, 0, i, src))


# --- fused with pointwise work -----------------------------------------------------


@pytest.mark.parametrize("n", [1, 7, 1025, 4097])
@pytest.mark.parametrize("dim", [0, 1])
def test_index_select_fused_before_and_after(n, dim):
    x, y = values((n, 33), "Float"), values((n, 33), "Float", seed=2)
    i = positions((n + 3,), (n, 33)[dim], "Int")

    def build(fd, a, b, c):
        t = fd.ops.mul(fd.ops.add(a, b), 0.5)
        return fd.ops.exp(fd.ops.index_select(t, c, dim))

    (out,) = run(build, [x, y, i])
    torch.testing.assert_close(out, torch.exp(torch.index_select((x + y) * 0.5, dim, i)))


def test_gather_source_that_is_also_an_output():
    x = values((64, 40), "Float")
    i = positions((64, 40), 64, "Int")

    def build(fd, a, b):
        t = fd.ops.neg(a)
        return t, fd.ops.add(fd.ops.gather(t, b, 0), a)

    t, out = run(build, [x, i])
    same(t, -x)
    torch.testing.assert_close(out, torch.gather(-x, 0, i) + x)


def test_index_computed_in_the_fusion():
    x = values((10, 6), "Float")
    j = values((10, 6), "Int")

    def build(fd, a, b):
        return fd.ops.relu(fd.ops.take_along_axis(a, fd.ops.remainder(b, 10), 0))

    (out,) = run(build, [x, j])
    same(out, torch.relu(torch.take_along_dim(x, torch.remainder(j, 10), 0)))


def test_embedding_then_pointwise_and_a_reduction():
    w = values((50, 64), "BFloat16")
    i = positions((8, 13), 50, "Int32")

    def build(fd, a, b):
        e = fd.ops.cast(fd.ops.embedding_fwd(a, b), dtype=cfuser.DataType.Float)
        return fd.ops.sum(fd.ops.mul(e, e), dims=[-1])

    (out,) = run(build, [i, w])
    e = w[i.long()].float()
    torch.testing.assert_close(out, (e * e).sum(-1))


@pytest.mark.parametrize("cols", [7, 1025, 3000])
def test_softmax_of_gathered_rows(cols):
    """The gather inside a row segment whose later phases read its value."""
    x = values((50, cols), "Float")
    i = positions((9,), 50, "Int32")

    def build(fd, a, b):
        g = fd.ops.index_select(a, b, 0)
        m = fd.ops.max(g, dims=[1], keepdim=True)
        e = fd.ops.exp(fd.ops.sub(g, m))
        return fd.ops.div(e, fd.ops.sum(e, dims=[1], keepdim=True))

    (out,) = run(build, [x, i])
    torch.testing.assert_close(out, torch.softmax(x[i.long()], dim=1))


def test_scatter_between_pointwise_ops():
    x = values((33, 8), "Float")
    src = values((33, 8), "Float", seed=4)
    i = torch.argsort(torch.rand(33, 8, generator=torch.Generator().manual_seed(1)), dim=0)[:17]

    def build(fd, a, b, c):
        return fd.ops.sigmoid(fd.ops.scatter(fd.ops.add(a, 1.0), b, fd.ops.mul(c, 2.0), 0))

    (out,) = run(build, [x, i, src])
    torch.testing.assert_close(out, torch.sigmoid(torch.scatter(x + 1.0, 0, i, src * 2.0)))


def test_large_fused_gather_on_many_threads():
    x = values((4096, 129), "Float")
    i = positions((4096, 129), 4096, "Int")
    (out,) = run(lambda fd, a, b: fd.ops.add(fd.ops.take_along_axis(a, b, 0), 1.0), [x, i])
    same(out, torch.take_along_dim(x, i, 0) + 1.0)


# --- index values out of range ----------------------------------------------------


def _bad(i, pos, value):
    i = i.clone()
    i.view(-1)[pos] = value
    return i


@pytest.mark.parametrize("itype", sorted(IDX))
@pytest.mark.parametrize("value", [-1, 8, 2**30, -(2**31)])
@pytest.mark.parametrize("op", ["index_select", "gather", "take_along_axis", "embedding_fwd", "scatter"])
def test_index_out_of_range_is_an_index_error(op, value, itype):
    x = values((8, 8), "Float")
    if op == "index_select":
        i, build = positions((5,), 8, itype), lambda fd, a, b: fd.ops.index_select(a, b, 0)
    elif op == "embedding_fwd":
        i, build = positions((5,), 8, itype), lambda fd, a, b: fd.ops.embedding_fwd(b, a)
    elif op == "scatter":
        i, build = positions((2, 8), 8, itype), lambda fd, a, b: fd.ops.scatter(a, b, 0.0, 0)
    else:
        i, build = positions((8, 8), 8, itype), lambda fd, a, b: getattr(fd.ops, op)(a, b, 0)
    bad = _bad(i, 3, value)
    with cfuser.FusionDefinition() as fd:
        a, b = fd.from_pytorch(x), fd.from_pytorch(i)
        fd.add_output(build(fd, a, b))
    with pytest.raises(cfuser.Error) as e:
        fd.execute([x, bad])
    assert isinstance(e.value, IndexError)
    assert str(value) in str(e.value) and "out of bounds" in str(e.value)
    # torch agrees that it is an error
    with pytest.raises((IndexError, RuntimeError)):
        if op == "embedding_fwd":
            torch.nn.functional.embedding(bad.long(), x)
        elif op == "index_select":
            torch.index_select(x, 0, bad)
        elif op == "scatter":
            torch.scatter(x, 0, bad.long(), 0.0)
        else:
            torch.gather(x, 0, bad.long())
    # the cached plan still runs good indices
    assert fd.execute([x, i])[0] is not None


def test_out_of_range_in_a_large_parallel_fusion_and_int32():
    x = values((2048, 64), "Float")
    i = positions((2048, 64), 2048, "Int32")
    bad = _bad(i, 2048 * 64 - 1, 2048)
    with cfuser.FusionDefinition() as fd:
        a, b = fd.from_pytorch(x), fd.from_pytorch(i)
        fd.add_output(fd.ops.exp(fd.ops.take_along_axis(fd.ops.neg(a), b, 0)))
    with pytest.raises(IndexError, match="2048 is out of bounds for dim 0 with size 2048"):
        fd.execute([x, bad])
    torch.testing.assert_close(fd.execute([x, i])[0], torch.exp(torch.take_along_dim(-x, i.long(), 0)))


def test_empty_source_dim_rejects_every_index():
    x = torch.zeros(0, 3)
    i = torch.zeros(2, dtype=torch.int64)
    with pytest.raises(IndexError, match="out of bounds"):
        run(lambda fd, a, b: fd.ops.index_select(a, b, 0), [x, i])


def test_empty_index_gives_an_empty_result():
    x = values((4, 3), "Float")
    i = torch.zeros(0, dtype=torch.int64)
    (out,) = run(lambda fd, a, b: fd.ops.index_select(a, b, 0), [x, i])
    same(out, torch.index_select(x, 0, i))


# --- definition errors ------------------------------------------------------------


def _define(*shapes_dtypes):
    fd = cfuser.FusionDefinition()
    fd.__enter__()
    return fd, [fd.define_tensor(shape=[-1] * r, dtype=dt(d)) for r, d in shapes_dtypes]


@pytest.mark.parametrize("itype", ["Float", "Double", "Half", "Bool"])
@pytest.mark.parametrize("op", ["index_select", "gather", "take_along_axis", "scatter", "embedding_fwd"])
def test_non_integer_index_is_a_type_error(op, itype):
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=dt("Float"))
        i = fd.define_tensor(shape=[-1] if op == "index_select" else [-1, -1], dtype=dt(itype))
        with pytest.raises(cfuser.Error, match="Int or Int32") as e:
            if op == "scatter":
                fd.ops.scatter(x, i, x, 0)
            elif op == "embedding_fwd":
                fd.ops.embedding_fwd(i, x)
            else:
                getattr(fd.ops, op)(x, i, 0)
        assert isinstance(e.value, TypeError)


@pytest.mark.parametrize("dim", [2, -3, 100])
@pytest.mark.parametrize("op", ["index_select", "gather", "take_along_axis", "scatter"])
def test_dim_out_of_range_is_an_index_error(op, dim):
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=dt("Float"))
        i = fd.define_tensor(shape=[-1] if op == "index_select" else [-1, -1], dtype=dt("Int"))
        with pytest.raises(cfuser.Error, match="dim") as e:
            if op == "scatter":
                fd.ops.scatter(x, i, x, dim)
            else:
                getattr(fd.ops, op)(x, i, dim)
        assert isinstance(e.value, IndexError)


@pytest.mark.parametrize("op", ["gather", "take_along_axis", "scatter"])
def test_mismatched_ranks_are_value_errors(op):
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=dt("Float"))
        i = fd.define_tensor(shape=[-1, -1, -1], dtype=dt("Int"))
        with pytest.raises(ValueError, match="same number of dims"):
            if op == "scatter":
                fd.ops.scatter(x, i, x, 0)
            else:
                getattr(fd.ops, op)(x, i, 0)


def test_index_select_wants_a_1d_index():
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=dt("Float"))
        i = fd.define_tensor(shape=[-1, -1], dtype=dt("Int"))
        with pytest.raises(ValueError, match="1-D or 0-D"):
            fd.ops.index_select(x, i, 0)


def test_0d_source_is_an_index_error():
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[], dtype=dt("Float"))
        i = fd.define_tensor(shape=[-1], dtype=dt("Int"))
        with pytest.raises(IndexError, match="0-D"):
            fd.ops.index_select(x, i, 0)


def test_static_shape_mismatches_are_value_errors():
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[4, 3], dtype=dt("Float"))
        i = fd.define_tensor(shape=[2, 5], dtype=dt("Int"))
        with pytest.raises(ValueError, match="larger than arg's"):
            fd.ops.gather(x, i, 0)
        with pytest.raises(ValueError, match="must match"):
            fd.ops.take_along_axis(x, i, 0)
        with pytest.raises(ValueError, match="larger than arg's"):
            fd.ops.scatter(x, i, x, 0)


@pytest.mark.parametrize(
    "op,xs,ishape,dim",
    [
        ("gather", (4, 3), (2, 5), 0),  # index longer than the source off dim
        ("take_along_axis", (4, 3), (2, 5), 0),  # sizes off dim differ
        ("scatter", (4, 3), (2, 5), 0),
    ],
)
def test_run_time_shape_mismatches_are_value_errors(op, xs, ishape, dim):
    x = values(xs, "Float")
    i = torch.zeros(ishape, dtype=torch.int64)
    with cfuser.FusionDefinition() as fd:
        a = fd.define_tensor(shape=[-1, -1], dtype=dt("Float"))
        b = fd.define_tensor(shape=[-1, -1], dtype=dt("Int"))
        fd.add_output(fd.ops.scatter(a, b, 1.0, dim) if op == "scatter" else getattr(fd.ops, op)(a, b, dim))
    with pytest.raises(ValueError, match="size"):
        fd.execute([x, i])


def test_scatter_src_shorter_than_the_index_is_a_value_error():
    x, src = values((4, 3), "Float"), values((1, 3), "Float")
    i = torch.zeros((2, 3), dtype=torch.int64)
    with cfuser.FusionDefinition() as fd:
        a, b = fd.define_tensor(shape=[-1, -1], dtype=dt("Float")), fd.define_tensor(shape=[-1, -1], dtype=dt("Int"))
        c = fd.define_tensor(shape=[-1, -1], dtype=dt("Float"))
        fd.add_output(fd.ops.scatter(a, b, c, 0))
    with pytest.raises(ValueError, match="larger than src"):
        fd.execute([x, i, src])


def test_scatter_src_dtype_must_match():
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=dt("Float"))
        y = fd.define_tensor(shape=[-1, -1], dtype=dt("Double"))
        i = fd.define_tensor(shape=[-1, -1], dtype=dt("Int"))
        with pytest.raises(TypeError, match="must match"):
            fd.ops.scatter(x, i, y, 0)


def test_embedding_fwd_argument_errors():
    with cfuser.FusionDefinition() as fd:
        i = fd.define_tensor(shape=[-1], dtype=dt("Int"))
        w3 = fd.define_tensor(shape=[-1, -1, -1], dtype=dt("Float"))
        w = fd.define_tensor(shape=[5, 4], dtype=dt("Float"))
        with pytest.raises(ValueError, match="2-D"):
            fd.ops.embedding_fwd(i, w3)
        with pytest.raises(TypeError, match="max_norm"):
            fd.ops.embedding_fwd(i, w, max_norm=True)
        with pytest.raises(IndexError, match="padding_idx"):
            fd.ops.embedding_fwd(i, w, padding_idx=5)
        with pytest.raises(TypeError, match="padding_idx"):
            fd.ops.embedding_fwd(i, w, padding_idx=1.5)
        with pytest.raises(TypeError, match="sparse"):
            fd.ops.embedding_fwd(i, w, sparse="yes")


def test_python_misuse_is_a_type_error():
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=dt("Float"))
        i = fd.define_tensor(shape=[-1], dtype=dt("Int"))
        s = fd.define_scalar(None, dtype=dt("Int"))
        with pytest.raises(TypeError, match="'dim' must be int"):
            fd.ops.index_select(x, i, 0.5)
        with pytest.raises(TypeError, match="'dim' must be int"):
            fd.ops.index_select(x, i, True)
        with pytest.raises(TypeError, match="'index'"):
            fd.ops.index_select(x, s, 0)
        with pytest.raises(TypeError, match="'arg'"):
            fd.ops.gather(3, i, 0)
        with pytest.raises(TypeError):
            fd.ops.index_select(x, i)
        # a failed call leaves the fusion as it was
        n = len(fd.fusion.print_math())
        with pytest.raises(TypeError):
            fd.ops.scatter(x, i, "src", 0)
        assert len(fd.fusion.print_math()) == n


def test_keyword_arguments_and_print_math():
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=dt("Float"))
        i = fd.define_tensor(shape=[-1], dtype=dt("Int32"))
        fd.add_output(fd.ops.index_select(arg=x, index=i, dim=-1))
    text = fd.fusion.print_math()
    assert "index_select(" in text and "dim = 1" in text
