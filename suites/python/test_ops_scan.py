"""Scans, sorts and welford: cumsum, cumprod, cummin, cummax, argsort, topk
and welford against torch on the CPU.

Every op on each dtype it supports, odd sizes (1, 7, 2^k +- 1), every dim,
strided and broadcast inputs, fused with pointwise ops before and after,
NaN (torch's order and propagation), integer wrap-around, and the bad
inputs that raise a cfuser.Error subclass."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import TORCH_DTYPE, cfuser, dt

FD = cfuser.FusionDefinition
ALL = ["Float", "Double", "Half", "BFloat16", "Int", "Int32", "Bool"]
FLOATS = ["Float", "Double", "Half", "BFloat16"]
# unit roundoff of each floating dtype
EPS = {"Float": 6e-8, "Double": 1.2e-16, "Half": 4.9e-4, "BFloat16": 3.9e-3}
SIZES = [1, 7, 31, 33, 1025]
SCANS = ["cumsum", "cumprod", "cummin", "cummax"]


def gen(seed):
    return torch.Generator().manual_seed(seed)


def make(dtype, shape, g, op=None):
    """Random data of dtype: products stay in range (magnitudes near 1)."""
    if dtype == "Bool":
        # mostly True, so that a running 'and' is not all False at once
        return torch.rand(shape, generator=g) < 0.9
    if dtype in ("Int", "Int32"):
        lo, hi = (-2, 3) if op == "cumprod" else (-50, 50)
        return torch.randint(lo, hi, shape, generator=g, dtype=TORCH_DTYPE[dtype])
    if op == "cumprod":
        x = torch.rand(shape, generator=g, dtype=torch.float64) * 0.4 + 0.8
        x = torch.where(torch.rand(shape, generator=g) < 0.5, -x, x)
    else:
        x = torch.randn(shape, generator=g, dtype=torch.float64)
    return x.to(TORCH_DTYPE[dtype])


def fusion(build, *inputs):
    """A fusion over inputs (from_pytorch) whose outputs build returns."""
    with FD() as fd:
        ts = [fd.from_pytorch(x) for x in inputs]
        outs = build(fd, *ts)
        for o in outs if isinstance(outs, (tuple, list)) else [outs]:
            fd.add_output(o)
    return fd


def run(build, *inputs):
    return fusion(build, *inputs).execute(list(inputs))


def scan_ref(op, x, dim, dtype):
    """torch's scan in float64 for floats; in the dtype (wrapping) for ints;
    Bool sums as or, multiplies as and (nvFuser keeps the dtype)."""
    if dtype in FLOATS:
        r = getattr(torch, op)(x.double(), dim)
        return r[0] if isinstance(r, tuple) else r
    if dtype == "Bool":
        r = getattr(torch, op)(x.long(), dim)
        r = r[0] if isinstance(r, tuple) else r
        return r != 0
    if op in ("cumsum", "cumprod"):
        return getattr(torch, op)(x, dim, dtype=x.dtype)
    return getattr(torch, op)(x, dim)[0]


def check_scan(op, out, x, dim, dtype):
    assert out.dtype == x.dtype
    ref = scan_ref(op, x, dim, dtype)
    if dtype not in FLOATS or op in ("cummin", "cummax"):
        assert torch.equal(out, ref.to(out.dtype)), (out, ref)
        return
    eps = EPS[dtype]
    if op == "cumsum":
        scale = torch.cumsum(x.double().abs(), dim)
        err = (out.double() - ref).abs()
        assert bool((err <= 4 * eps * scale + 2 * eps * ref.abs() + 1e-300).all()), (err.max(), op, dtype)
    else:
        n = x.shape[dim]
        err = (out.double() - ref).abs()
        tiny = {"Half": 6e-8, "BFloat16": 1e-38, "Float": 1e-44, "Double": 1e-300}[dtype]
        assert bool((err <= (n + 2) * 2 * eps * ref.abs() + tiny).all()), (err.max(), op, dtype)


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", ALL)
@pytest.mark.parametrize("op", SCANS)
def test_scan(op, dtype, n, dim):
    x = make(dtype, (2, n, 3), gen(n * 7 + dim), op)
    (out,) = run(lambda fd, t: getattr(fd.ops, op)(t, dim), x)
    check_scan(op, out, x, dim, dtype)


@pytest.mark.parametrize("op", SCANS)
@pytest.mark.parametrize("dim", [0, 1])
def test_scan_strided(op, dim):
    base = make("Float", (33, 70), gen(3), op)
    for x in (base[:, ::2], base.t(), base[1::3, 5:40]):
        (out,) = run(lambda fd, t: getattr(fd.ops, op)(t, dim), x)
        check_scan(op, out, x, dim, "Float")


@pytest.mark.parametrize("op", SCANS)
def test_scan_large_threads(op):
    """Rows and columns big enough for several threads (row and column
    schedules)."""
    x = make("Float", (257, 1025), gen(5), op)
    for dim in (0, 1):
        (out,) = run(lambda fd, t: getattr(fd.ops, op)(t, dim), x)
        check_scan(op, out, x, dim, "Float")


@pytest.mark.parametrize("op", SCANS)
def test_scan_broadcast_input(op):
    """A broadcast operand scanned along its expanded dim and its own dim."""
    v = make("Float", (7,), gen(11), op)
    for dim in (0, 1):
        def build(fd, t, dim=dim):
            b = fd.ops.broadcast_in_dim(t, shape=[5, 7], broadcast_dims=[1])
            return getattr(fd.ops, op)(b, dim)
        (out,) = run(build, v)
        check_scan(op, out, v.expand(5, 7), dim, "Float")


def test_scan_along_broadcast_dim_is_a_copy():
    """nvFuser: a scan along a broadcast dim (size 1 by definition) is set()."""
    x = make("Float", (4, 1), gen(2))
    with FD() as fd:
        t = fd.define_tensor(shape=[-1, 1], dtype=dt("Float"))
        y = fd.ops.cumsum(t, 1)
        fd.add_output(y)
    assert "cumsum" not in fd.fusion.print_math()
    (out,) = fd.execute([x])
    assert torch.equal(out, x)


@pytest.mark.parametrize("op", SCANS)
def test_scan_fused_with_pointwise(op):
    x = make("Float", (9, 33), gen(4), op)
    w = make("Float", (33,), gen(6), op)

    def build(fd, t, u):
        ub = fd.ops.broadcast_in_dim(u, shape=t.shape(), broadcast_dims=[1])
        a = fd.ops.mul(fd.ops.add(t, ub), 0.5)
        s = getattr(fd.ops, op)(a, 1)
        return fd.ops.sub(fd.ops.mul(s, 2.0), t), s

    out, s = run(build, x, w)
    a = (x + w) * 0.5
    check_scan(op, s, a, 1, "Float")
    ref = scan_ref(op, a, 1, "Float") * 2 - x.double()
    torch.testing.assert_close(out.double(), ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("op", ["cummax", "cummin"])
@pytest.mark.parametrize("dtype", FLOATS)
def test_scan_nan_propagates_like_torch(op, dtype):
    x = make(dtype, (4, 9), gen(8))
    x[0, 3] = float("nan")
    x[1, 0] = float("nan")
    x[2, 8] = float("nan")
    x[3, 2] = float("inf")
    x[3, 5] = float("-inf")
    (out,) = run(lambda fd, t: getattr(fd.ops, op)(t, 1), x)
    ref = getattr(torch, op)(x, 1)[0]
    assert torch.equal(out.isnan(), ref.isnan())
    assert torch.equal(out[~ref.isnan()], ref[~ref.isnan()])


def test_cumsum_nan_and_inf():
    x = torch.tensor([[1.0, float("inf"), -float("inf"), 2.0], [float("nan"), 1.0, 2.0, 3.0]])
    (out,) = run(lambda fd, t: fd.ops.cumsum(t, 1), x)
    ref = torch.cumsum(x, 1)
    assert torch.equal(out.isnan(), ref.isnan())
    assert torch.equal(out[~ref.isnan()], ref[~ref.isnan()])


def test_integer_scans_wrap_like_torch():
    big = torch.tensor([[2**62, 2**62, 2**62, -(2**63), 7]], dtype=torch.int64)
    (s,) = run(lambda fd, t: fd.ops.cumsum(t, 1), big)
    assert torch.equal(s, torch.cumsum(big, 1))
    p = torch.tensor([[3**30, 3**10, 12345, 99991, -77]], dtype=torch.int64)
    (q,) = run(lambda fd, t: fd.ops.cumprod(t, 1), p)
    assert torch.equal(q, torch.cumprod(p, 1))
    i32 = torch.tensor([[2**30, 2**30, 2**30, -5]], dtype=torch.int32)
    (s32,) = run(lambda fd, t: fd.ops.cumsum(t, 1), i32)
    assert s32.dtype == torch.int32
    assert torch.equal(s32, torch.cumsum(i32, 1, dtype=torch.int32))
    (p32,) = run(lambda fd, t: fd.ops.cumprod(t, 1), i32)
    assert torch.equal(p32, torch.cumprod(i32, 1, dtype=torch.int32))


@pytest.mark.parametrize("dtype", ["Float", "Int", "Int32"])
def test_scan_init(dtype):
    x = make(dtype, (3, 8), gen(9), "cumprod")
    (a, b, c, d) = run(lambda fd, t: (fd.ops.cumsum(t, 1, init=5), fd.ops.cumprod(t, 1, 2),
                                      fd.ops.cummax(t, dim=1, init=10), fd.ops.cummin(t, 1, init=-10)), x)
    w = x.double()
    torch.testing.assert_close(a.double(), torch.cumsum(w, 1) + 5, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(b.double(), torch.cumprod(w, 1) * 2, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(c.double(), torch.cummax(torch.clamp(w, min=10), 1)[0])
    torch.testing.assert_close(d.double(), torch.cummin(torch.clamp(w, max=-10), 1)[0])


def test_scan_init_symbolic_scalar():
    x = make("Double", (2, 5), gen(10))
    with FD() as fd:
        t = fd.from_pytorch(x)
        s = fd.define_scalar(dtype=dt("Double"))
        fd.add_output(fd.ops.cumsum(t, 0, init=s))
    for v in (0.0, 2.5):
        (out,) = fd.execute([x, v])
        torch.testing.assert_close(out, torch.cumsum(x, 0) + v)


def test_scan_zero_size():
    x = torch.zeros(0, 5)
    (a, b) = run(lambda fd, t: (fd.ops.cumsum(t, 0), fd.ops.cummax(t, 1)), x)
    assert a.shape == (0, 5) and b.shape == (0, 5)


# --- argsort ----------------------------------------------------------------


def sort_data(dtype, shape, g):
    """Data with ties (ints from a small range, floats rounded)."""
    if dtype == "Bool":
        return torch.rand(shape, generator=g) < 0.5
    if dtype in ("Int", "Int32"):
        return torch.randint(-5, 5, shape, generator=g, dtype=TORCH_DTYPE[dtype])
    return (torch.randn(shape, generator=g, dtype=torch.float64) * 4).round().to(TORCH_DTYPE[dtype]) / 4


def torch_key(x):
    return x.long() if x.dtype == torch.bool else x


def check_sorted_order(x, idx, dim, descending):
    """Tie-insensitive: idx is a permutation along dim and gathers x in order."""
    assert idx.dtype == torch.int64
    assert torch.equal(torch.sort(idx, dim).values,
                       torch.arange(x.shape[dim]).view([-1 if d == (dim % x.dim()) else 1 for d in range(x.dim())]).expand_as(idx))
    got = torch.gather(torch_key(x), dim, idx)
    want = torch.sort(torch_key(x), dim=dim, descending=descending, stable=True).values
    assert torch.equal(got.isnan(), want.isnan()) if got.is_floating_point() else True
    keep = ~want.isnan() if want.is_floating_point() else torch.ones_like(want, dtype=torch.bool)
    assert torch.equal(got[keep], want[keep])


@pytest.mark.parametrize("stable", [False, True])
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", ALL)
def test_argsort(dtype, n, dim, descending, stable):
    x = sort_data(dtype, (3, n), gen(n + 3 * dim))
    (idx,) = run(lambda fd, t: fd.ops.argsort(t, dim, descending=descending, stable=stable), x)
    if stable:
        ref = torch.argsort(torch_key(x), dim=dim, descending=descending, stable=True)
        assert torch.equal(idx, ref)
    else:
        check_sorted_order(x, idx, dim, descending)


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("dtype", FLOATS)
def test_argsort_nan_like_torch(dtype, descending):
    x = sort_data(dtype, (2, 33), gen(12))
    x[0, [1, 7, 20]] = float("nan")
    x[1, 0] = float("inf")
    x[1, 5] = float("-inf")
    x[1, 6] = float("nan")
    (idx,) = run(lambda fd, t: fd.ops.argsort(t, 1, descending=descending, stable=True), x)
    assert torch.equal(idx, torch.argsort(x, dim=1, descending=descending, stable=True))


def test_argsort_strided_and_fused():
    base = sort_data("Float", (20, 31), gen(13))
    x = base.t()[::2]

    def build(fd, t):
        return fd.ops.argsort(fd.ops.neg(fd.ops.mul(t, 3.0)), 0, stable=True)

    (idx,) = run(build, x)
    assert torch.equal(idx, torch.argsort(-(x * 3), dim=0, stable=True))
    # indices used downstream: an index tensor feeds pointwise work
    (out,) = run(lambda fd, t: fd.ops.add(fd.ops.argsort(t, 1, stable=True), 1), base)
    assert torch.equal(out, torch.argsort(base, dim=1, stable=True) + 1)


def test_argsort_zero_dim_and_empty():
    (z,) = run(lambda fd, t: fd.ops.argsort(t, 0), torch.tensor(3.5))
    assert z.dtype == torch.int64 and z.shape == () and int(z) == 0
    (e,) = run(lambda fd, t: fd.ops.argsort(t, 1), torch.zeros(0, 4))
    assert e.shape == (0, 4)


# --- topk -------------------------------------------------------------------


def check_topk(x, vals, idx, k, dim, largest):
    key = torch_key(x)
    ref = torch.topk(key, k, dim=dim, largest=largest, sorted=True)
    assert vals.dtype == x.dtype and idx.dtype == torch.int64
    torch.testing.assert_close(torch_key(vals), ref.values, equal_nan=True)
    # tie-insensitive: the indices point at those values, none twice
    torch.testing.assert_close(torch.gather(key, dim, idx), ref.values, equal_nan=True)
    if k:
        s = torch.sort(idx, dim).values
        assert bool((s.diff(dim=dim) > 0).all())


@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", ALL)
def test_topk(dtype, n, dim, largest):
    x = sort_data(dtype, (3, n), gen(n + 5 * dim))
    size = x.shape[dim]
    for k in sorted({0, 1, min(3, size), size}):
        vals, idx = run(lambda fd, t: fd.ops.topk(t, k, dim, largest=largest, sorted=True), x)
        check_topk(x, vals, idx, k, dim, largest)


@pytest.mark.parametrize("largest", [True, False])
def test_topk_nan_like_torch(largest):
    x = sort_data("Float", (2, 17), gen(14))
    x[0, [2, 9]] = float("nan")
    x[1, 4] = float("-inf")
    vals, idx = run(lambda fd, t: fd.ops.topk(t, 5, 1, largest), x)
    check_topk(x, vals, idx, 5, 1, largest)


def test_topk_symbolic_k_and_strided_input():
    base = sort_data("Double", (40, 30), gen(15))
    x = base[::3, ::2]
    with FD() as fd:
        t = fd.from_pytorch(x)
        k = fd.define_scalar(dtype=dt("Int"))
        v, i = fd.ops.topk(fd.ops.abs(t), k, dim=0)
        fd.add_output(fd.ops.mul(v, 2.0))
        fd.add_output(i)
    for kk in (0, 4, x.shape[0]):
        out_v, out_i = fd.execute([x, kk])
        check_topk(x.abs(), out_v / 2, out_i, kk, 0, True)
    with pytest.raises(cfuser.Error, match="k is 15"):
        fd.execute([x, 15])
    with pytest.raises(ValueError, match="k is -1"):
        fd.execute([x, -1])


def test_topk_zero_dim():
    v, i = run(lambda fd, t: fd.ops.topk(t, 1), torch.tensor(2.0))
    assert float(v) == 2.0 and int(i) == 0


# --- welford ----------------------------------------------------------------


@pytest.mark.parametrize("dims", [[0], [1], [-1], [0, 2], [0, 1, 2]])
@pytest.mark.parametrize("n", [1, 7, 33, 1025])
@pytest.mark.parametrize("dtype", ALL)
def test_welford(dtype, n, dims):
    x = make(dtype, (3, n, 5), gen(n))
    avg, var_sum, cnt = run(lambda fd, t: fd.ops.welford(t, dims), x)
    want_t = TORCH_DTYPE[dtype] if dtype in FLOATS else torch.float32
    assert avg.dtype == want_t and var_sum.dtype == want_t and cnt.dtype == torch.int64
    w = x.double()
    v, m = torch.var_mean(w, dims, correction=0)
    count = int(np.prod([x.shape[d] for d in dims]))
    assert torch.equal(cnt, torch.full(v.shape, count))
    tol = {"Half": 2e-3, "BFloat16": 1.6e-2}.get(dtype, 1e-5)
    torch.testing.assert_close(avg.double(), m, rtol=tol, atol=tol)
    torch.testing.assert_close(var_sum.double(), v * count, rtol=tol, atol=tol * count)


def test_welford_like_nvfuser():
    """nvFuser's test: var = var_sum / n, and mean, against torch.var_mean."""
    x = torch.randn(2, 2, dtype=torch.float32, generator=gen(1))

    def build(fd, t):
        mean, var_sum, n = fd.ops.welford(t, [-1])
        return fd.ops.div(var_sum, n), mean

    var, mean = run(build, x)
    rv, rm = torch.var_mean(x, [-1], correction=0)
    torch.testing.assert_close(var, rv)
    torch.testing.assert_close(mean, rm)


@pytest.mark.parametrize("shape,dims", [((1, 300001), [1]), ((3, 70001), [1]), ((70001, 3), [0]), ((64, 4096), [1])])
def test_welford_stable_large_mean(shape, dims):
    """A large mean and a small spread, where E[x^2] - E[x]^2 fails: against
    float64 numpy on the same float32 values (also the split over threads)."""
    g = np.random.default_rng(7)
    x = (1e4 + 1e-2 * g.standard_normal(shape)).astype(np.float32)
    avg, var_sum, n = run(lambda fd, t: fd.ops.welford(t, dims), torch.from_numpy(x))
    x64 = x.astype(np.float64)
    want = x64.var(axis=tuple(dims)) * np.prod([shape[d] for d in dims])
    got = var_sum.numpy().astype(np.float64)
    np.testing.assert_allclose(got, want, rtol=2e-3)
    np.testing.assert_allclose(avg.numpy(), x64.mean(axis=tuple(dims)), rtol=1e-7)
    # the naive formula in float32 is far off on this data
    naive = ((x * x).mean(axis=tuple(dims)) - x.mean(axis=tuple(dims)) ** 2) * np.prod([shape[d] for d in dims])
    assert np.max(np.abs(naive - want) / want) > 0.05


def test_welford_strided_broadcast_fused():
    base = make("Float", (30, 40), gen(21))
    x = base[::2, 1::3]
    b = make("Float", (x.shape[1],), gen(22))

    def build(fd, t, u):
        ub = fd.ops.broadcast_in_dim(u, shape=t.shape(), broadcast_dims=[1])
        avg, vs, n = fd.ops.welford(fd.ops.mul(fd.ops.add(t, ub), 2.0), [0])
        return fd.ops.sqrt(fd.ops.div(vs, n)), avg

    std, avg = run(build, x, b)
    v, m = torch.var_mean(((x + b) * 2).double(), [0], correction=0)
    torch.testing.assert_close(std.double(), v.sqrt(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(avg.double(), m, rtol=1e-5, atol=1e-6)


def test_welford_empty_reduction():
    avg, vs, n = run(lambda fd, t: fd.ops.welford(t, [1]), torch.zeros(3, 0))
    assert bool(avg.isnan().all()) and bool((vs == 0).all()) and bool((n == 0).all())


# --- bad input ----------------------------------------------------------------


def raises(exc, match, build, x=None):
    x = torch.zeros(3, 4) if x is None else x
    with pytest.raises(exc, match=match) as info:
        with FD() as fd:
            t = fd.from_pytorch(x)
            build(fd, t)
    assert isinstance(info.value, cfuser.Error) or exc is TypeError


@pytest.mark.parametrize("op", SCANS)
def test_scan_errors(op):
    raises(IndexError, "dim 2 is out of range", lambda fd, t: getattr(fd.ops, op)(t, 2))
    raises(IndexError, "dim -3 is out of range", lambda fd, t: getattr(fd.ops, op)(t, -3))
    raises(IndexError, "0-dim", lambda fd, t: getattr(fd.ops, op)(t, 0), torch.tensor(1.0))
    raises(TypeError, "init", lambda fd, t: getattr(fd.ops, op)(t, 0, init=1.5), torch.zeros(3, dtype=torch.int64))
    raises(TypeError, "dim", lambda fd, t: getattr(fd.ops, op)(t, 1.0))
    raises(TypeError, "init", lambda fd, t: getattr(fd.ops, op)(t, 0, init=t))


def test_sort_errors():
    raises(IndexError, "dim 5", lambda fd, t: fd.ops.argsort(t, 5))
    raises(IndexError, "dim 2", lambda fd, t: fd.ops.topk(t, 1, 2))
    raises(TypeError, "'k' must be an int", lambda fd, t: fd.ops.topk(t, 1.0))
    raises(TypeError, "DataType.Double", lambda fd, t: fd.ops.topk(t, fd.define_scalar(2.0)))
    raises(ValueError, "must be >= 0", lambda fd, t: fd.ops.topk(t, -1))
    raises(ValueError, "k must be 1", lambda fd, t: fd.ops.topk(t, 2), torch.tensor(1.0))
    with FD() as fd:
        t = fd.define_tensor(shape=[-1, 4], dtype=dt("Float"))
        with pytest.raises(ValueError, match="only 4 elements"):
            fd.ops.topk(t, 5)
        v, i = fd.ops.topk(t, 3, dim=0)
        fd.add_output(v)
    with pytest.raises(cfuser.Error, match="k is 3 but dim 0 has 2"):
        fd.execute([torch.zeros(2, 4)])


def test_welford_errors():
    raises(ValueError, "empty", lambda fd, t: fd.ops.welford(t, []))
    raises(ValueError, "0-dim", lambda fd, t: fd.ops.welford(t, [0]), torch.tensor(1.0))
    raises(IndexError, "dim 2", lambda fd, t: fd.ops.welford(t, [2]))
    raises(ValueError, "more than once", lambda fd, t: fd.ops.welford(t, [1, -1]))


def test_failed_op_leaves_fusion_unchanged():
    with FD() as fd:
        t = fd.define_tensor(shape=[-1, -1], dtype=dt("Int"))
        before = fd.fusion.print_math()
        with pytest.raises(TypeError):
            fd.ops.cumsum(t, 0, init=2.5)
        with pytest.raises(TypeError):
            fd.ops.topk(t, fd.define_scalar(1.5))
        assert "cumsum" not in fd.fusion.print_math() and "topk" not in fd.fusion.print_math()
        fd.add_output(fd.ops.cumsum(t, 0))
    assert before != fd.fusion.print_math()


def test_signatures_follow_nvfuser():
    import inspect

    assert list(inspect.signature(cfuser.ops.cumsum).parameters) == ["arg", "dim", "init"]
    assert list(inspect.signature(cfuser.ops.argsort).parameters) == ["arg", "dim", "descending", "stable"]
    sig = inspect.signature(cfuser.ops.topk)
    assert list(sig.parameters) == ["arg", "k", "dim", "largest", "sorted"]
    assert sig.parameters["dim"].default == -1 and sig.parameters["largest"].default is True
    assert list(inspect.signature(cfuser.ops.welford).parameters) == ["arg", "dims"]


def test_sorts_and_welford_of_broadcast_inputs():
    v = sort_data("Float", (7,), gen(30))

    def build(fd, t):
        b = fd.ops.broadcast_in_dim(t, shape=[4, 7], broadcast_dims=[1])
        vals, idx = fd.ops.topk(b, 3, 1)
        avg, vs, n = fd.ops.welford(b, [0])
        return fd.ops.argsort(b, 0, stable=True), fd.ops.argsort(b, 1, stable=True), vals, idx, avg, vs

    a0, a1, vals, idx, avg, vs = run(build, v)
    x = v.expand(4, 7)
    assert torch.equal(a0, torch.argsort(x, dim=0, stable=True))
    assert torch.equal(a1, torch.argsort(x, dim=1, stable=True))
    check_topk(x, vals, idx, 3, 1, True)
    torch.testing.assert_close(avg, v)
    torch.testing.assert_close(vs, torch.zeros(7))


def test_attributes_take_part_in_structural_identity():
    """Fusions that differ only in a scan's or sort's attributes are not
    equal (an LRU cache must not mix them up)."""
    def make_fd(build):
        with FD() as fd:
            t = fd.define_tensor(shape=[-1, -1], dtype=dt("Float"))
            fd.add_output(build(fd, t))
        return fd

    variants = [
        lambda fd, t: fd.ops.argsort(t, 1),
        lambda fd, t: fd.ops.argsort(t, 1, descending=True),
        lambda fd, t: fd.ops.argsort(t, 0),
        lambda fd, t: fd.ops.cumsum(t, 1),
        lambda fd, t: fd.ops.cumsum(t, 0),
        lambda fd, t: fd.ops.cummax(t, 1),
        lambda fd, t: fd.ops.topk(t, 2, 1)[0],
        lambda fd, t: fd.ops.topk(t, 2, 1, largest=False)[0],
    ]
    fusions = [make_fd(b).fusion for b in variants]
    for i, a in enumerate(fusions):
        for j, b in enumerate(fusions):
            assert a.structurally_equal(b) == (i == j), (i, j)
    again = make_fd(variants[1]).fusion
    assert again.structurally_equal(fusions[1]) and again.structural_hash() == fusions[1].structural_hash()


def test_print_math_shows_the_ops():
    with FD() as fd:
        t = fd.define_tensor(shape=[-1, -1], dtype=dt("Float"))
        fd.add_output(fd.ops.cumsum(t, 1))
        a, v, n = fd.ops.welford(t, [0])
        fd.add_output(n)
    text = fd.fusion.print_math()
    assert "cumsum(" in text and "welford(" in text and "dims = {0}" in text


@pytest.mark.parametrize("src,mid", [("BFloat16", "Float"), ("Half", "Float"), ("Half", "Double"), ("Float", "Double"),
                                     ("Int32", "Int"), ("Bool", "Int"), ("Bool", "Int32")])
@pytest.mark.parametrize("op", SCANS)
def test_scan_of_a_widening_cast(op, src, mid):
    """cast -> scan -> cast (the scan loads the narrow values itself and,
    for Float, stores the narrow result): the same values as each step
    apart, and as torch."""
    x = make(src, (5, 33), gen(40), op)

    def build(fd, t):
        s = getattr(fd.ops, op)(fd.ops.cast(t, dtype=dt(mid)), 1)
        return fd.ops.cast(s, dtype=dt(src)) if mid == "Float" else s

    (out,) = run(build, x)
    wide = x.to(TORCH_DTYPE[mid])
    ref = scan_ref(op, wide, 1, mid)
    if mid == "Float":
        assert out.dtype == x.dtype
        want = ref.to(torch.float32).to(x.dtype)
        torch.testing.assert_close(out.double(), want.double(), rtol=EPS[src] * 4, atol=EPS[src] * 4 * 33)
    else:
        assert out.dtype == TORCH_DTYPE[mid]
        check_scan(op, out, wide, 1, mid)


def test_casts_next_to_a_scan_with_other_uses_stay():
    """A cast whose value is also an output, or is read again, is not folded."""
    x = make("BFloat16", (4, 17), gen(41))

    def build(fd, t):
        f = fd.ops.cast(t, dtype=dt("Float"))
        s = fd.ops.cumsum(f, 1)
        d = fd.ops.cast(s, dtype=dt("BFloat16"))
        return f, s, d, fd.ops.add(fd.ops.cumsum(fd.ops.cast(t, dtype=dt("Float")), 0), 1.0)

    f, s, d, e = run(build, x)
    w = x.double()
    assert f.dtype == torch.float32 and s.dtype == torch.float32 and d.dtype == torch.bfloat16
    torch.testing.assert_close(s.double(), torch.cumsum(w, 1), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(d, s.to(torch.bfloat16))
    torch.testing.assert_close(e.double(), torch.cumsum(w, 0) + 1, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("seed", range(150))
def test_random_layouts(seed):
    """Random ranks (1-4), sizes, dims, dtypes and layouts (slices, permutes,
    expanded dims) through every op: the schedules (rows, columns, dense
    rows read in place) and view collapsing against torch."""
    g = np.random.default_rng(seed)
    nd = int(g.integers(1, 5))
    shape = [int(g.choice([1, 2, 3, 5, 7, 17, 33])) for _ in range(nd)]
    dtype = str(g.choice(ALL))
    op = str(g.choice(SCANS + ["argsort", "topk", "welford"]))
    base = make(dtype, [s * 2 for s in shape], gen(seed), op if op in SCANS else None)
    x = base[tuple(slice(0, 2 * s, 2) if g.random() < 0.5 else slice(s, 2 * s) for s in shape)]
    if nd > 1 and g.random() < 0.5:
        perm = [int(p) for p in g.permutation(nd)]
        x = x.permute(perm)
    if g.random() < 0.3:
        d = int(g.integers(0, nd))
        x = x.narrow(d, 0, 1).expand(*[x.shape[k] if k != d else 4 for k in range(nd)])
    dim = int(g.integers(-nd, nd))
    if op in SCANS:
        (out,) = run(lambda fd, t: getattr(fd.ops, op)(t, dim), x)
        check_scan(op, out, x, dim, dtype)
    elif op == "argsort":
        desc = bool(g.random() < 0.5)
        (idx,) = run(lambda fd, t: fd.ops.argsort(t, dim, descending=desc, stable=True), x)
        assert torch.equal(idx, torch.argsort(torch_key(x), dim=dim, descending=desc, stable=True))
    elif op == "topk":
        k = int(g.integers(0, x.shape[dim] + 1))
        largest = bool(g.random() < 0.5)
        vals, idx = run(lambda fd, t: fd.ops.topk(t, k, dim, largest=largest), x)
        check_topk(x, vals, idx, k, dim, largest)
    else:
        dims = sorted({int(d) for d in g.integers(0, nd, size=int(g.integers(1, nd + 1)))})
        avg, vs, n = run(lambda fd, t: fd.ops.welford(t, dims), x)
        v, m = torch.var_mean(x.double(), dims, correction=0)
        tol = {"Half": 2e-3, "BFloat16": 1.6e-2}.get(dtype, 1e-5)
        torch.testing.assert_close(avg.double(), m, rtol=tol, atol=tol, equal_nan=True)
        count = int(np.prod([x.shape[d] for d in dims]))
        torch.testing.assert_close(vs.double(), v * count, rtol=tol, atol=tol * max(count, 1), equal_nan=True)
