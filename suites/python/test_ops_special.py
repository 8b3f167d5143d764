"""The ops added through the op registry: gcd, nextafter,
logical_right_shift, erfinv, erfcinv, lgamma, isneginf, isposinf, isreal,
the shape queries size and shape, and segment_set.

Each against numpy/torch/scipy on every dtype it supports, on odd sizes
(1, 7, 2^k +- 1), on strided views and broadcast operands; the dtypes it
does not support raise cfuser.Error (a TypeError)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special
import torch

from conftest import FLOATS, INTS, NP_DTYPE, SUPPORTED, TORCH_DTYPE, assert_close, cfuser, dt, random_array, to_input

SIZES = [1, 7, 31, 33, 1023, 1025]


def _t64(a):
    return torch.from_numpy(np.asarray(a, dtype=np.float64))


# op -> (reference on float64 data, float domain, result rule)
UNARY = {
    "lgamma": (lambda a: torch.lgamma(_t64(a)).numpy(), (-4.5, 12), "float"),
    "erfinv": (lambda a: torch.erfinv(_t64(a)).numpy(), (-1, 1), "float"),
    "erfcinv": (lambda a: scipy.special.erfcinv(np.asarray(a, np.float64)), (0, 2), "float"),
    "isneginf": (lambda a: torch.isneginf(torch.from_numpy(np.asarray(a))).numpy(), (-3, 3), "pred"),
    "isposinf": (lambda a: torch.isposinf(torch.from_numpy(np.asarray(a))).numpy(), (-3, 3), "pred"),
    "isreal": (lambda a: torch.isreal(torch.from_numpy(np.asarray(a))).numpy(), (-3, 3), "pred"),
}


def unary_result(op, dtype):
    rule = UNARY[op][2]
    if rule == "pred":
        return "Bool"
    return "Float" if dtype in INTS + ["Bool"] else dtype


def unary_fusion(op, dtype, ndim):
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1] * ndim, contiguity=True, dtype=dt(dtype))
        y = getattr(fd.ops, op)(x)
        fd.add_output(y)
    assert y.dtype() is dt(unary_result(op, dtype))
    return fd


def with_specials(a, dtype):
    """a with infinities, NaN and signed zeros at its start (floats)."""
    if dtype not in FLOATS:
        return a
    sp = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 1.0, -1.0, 2.0], dtype=np.float32)
    k = min(len(sp), a.size)
    flat = a.reshape(-1).copy()
    flat[:k] = sp[:k].astype(flat.dtype)
    return flat.reshape(a.shape)


def unary_reference(op, a, dtype):
    a = np.ascontiguousarray(a)
    if dtype == "BFloat16" or dtype in FLOATS:
        return UNARY[op][0](np.asarray(a, np.float64))
    return UNARY[op][0](a.astype(np.float64) if UNARY[op][2] == "float" else a)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", SUPPORTED)
@pytest.mark.parametrize("op", sorted(UNARY))
def test_unary(op, dtype, n, rng):
    lo, hi = UNARY[op][1]
    a = with_specials(random_array(rng, (n,), dtype, lo, hi), dtype)
    (out,) = unary_fusion(op, dtype, 1).execute([to_input(a, dtype)])
    want = unary_reference(op, a, dtype)
    res = unary_result(op, dtype)
    # erfinv/erfcinv are steep near the ends of their domain: compare in the
    # result's storage precision, relative to the value
    assert_close(out, want, res, rtol={"Float": 2e-6, "Double": 1e-12}.get(res))


@pytest.mark.parametrize("op", sorted(UNARY))
@pytest.mark.parametrize("dtype", ["Float", "Double"])
def test_unary_strided(op, dtype, rng):
    lo, hi = UNARY[op][1]
    base = random_array(rng, (33, 17), dtype, lo, hi)
    for view in (base[::2, ::3], base.T, base[:, ::-1]):
        (out,) = unary_fusion(op, dtype, 2).execute([view])
        assert_close(out, unary_reference(op, view, dtype), unary_result(op, dtype), rtol=2e-6)


def test_erfinv_inverts_erf_near_the_ends():
    """Values near +-1 keep their digits (the tail runs on erfc)."""
    y = np.array([1 - 1e-15, -(1 - 1e-12), 1 - 2**-52, 1e-300, -1e-10, 0.9999999], dtype=np.float64)
    (out,) = unary_fusion("erfinv", "Double", 1).execute([y])
    np.testing.assert_allclose(out, scipy.special.erfinv(y), rtol=1e-13)
    c = np.array([1e-300, 1e-100, 2e-16, 1.9999999999, 1.0, 0.5, 1.5], dtype=np.float64)
    (out,) = unary_fusion("erfcinv", "Double", 1).execute([c])
    np.testing.assert_allclose(out, scipy.special.erfcinv(c), rtol=1e-13)


def test_erfinv_domain_ends():
    y = np.array([1.0, -1.0, 1.5, -2.0, np.nan], dtype=np.float32)
    (out,) = unary_fusion("erfinv", "Float", 1).execute([y])
    np.testing.assert_array_equal(out, [np.inf, -np.inf, np.nan, np.nan, np.nan])
    c = np.array([0.0, 2.0, -0.5, 2.5], dtype=np.float32)
    (out,) = unary_fusion("erfcinv", "Float", 1).execute([c])
    np.testing.assert_array_equal(out, [np.inf, -np.inf, np.nan, np.nan])


def test_lgamma_at_poles_and_negative_values():
    x = np.array([0.0, -1.0, -2.0, 1.0, 2.0, -0.5, -2.5, 1e-30, 171.5], dtype=np.float64)
    (out,) = unary_fusion("lgamma", "Double", 1).execute([x])
    np.testing.assert_allclose(out, torch.lgamma(torch.from_numpy(x)).numpy(), rtol=1e-13)


# --- binary ops ---------------------------------------------------------------------


def binary_fusion(op, dtype, lshape, rshape, rhs_scalar=None):
    with cfuser.FusionDefinition() as fd:
        a = fd.define_tensor(shape=list(lshape), contiguity=True, dtype=dt(dtype))
        if rhs_scalar is None:
            b = fd.define_tensor(shape=list(rshape), contiguity=True, dtype=dt(dtype))
        else:
            b = rhs_scalar
        y = getattr(fd.ops, op)(a, b)
        fd.add_output(y)
    assert y.dtype() is dt(dtype)
    return fd


def ref_gcd(a, b):
    return np.gcd(a, b)


def ref_lrshift(a, b, dtype):
    bits = 32 if dtype == "Int32" else 64
    u = a.astype(np.uint32 if bits == 32 else np.uint64)
    s = b.astype(np.int64)
    ok = (s >= 0) & (s < bits)
    shifted = np.right_shift(u, np.where(ok, s, 0).astype(u.dtype))
    return np.where(ok, shifted, 0).astype(u.dtype).view(NP_DTYPE[dtype])


def ref_nextafter(a, b, dtype):
    return np.nextafter(a.astype(NP_DTYPE[dtype]), b.astype(NP_DTYPE[dtype]))


def int_operands(rng, n, dtype, shift=False):
    info = np.iinfo(NP_DTYPE[dtype])
    a = rng.integers(info.min, info.max, size=n, dtype=NP_DTYPE[dtype], endpoint=True)
    edges = np.array([0, 1, -1, info.min, info.max, 12, -18], dtype=NP_DTYPE[dtype])
    k = min(n, len(edges))
    a[:k] = edges[:k]
    if shift:
        b = rng.integers(-4, 72, size=n).astype(NP_DTYPE[dtype])
    else:
        b = rng.integers(-60, 60, size=n).astype(NP_DTYPE[dtype])
        b[: min(n, 3)] = np.array([0, 0, 8], dtype=NP_DTYPE[dtype])[: min(n, 3)]
    return a, b


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", INTS)
def test_gcd(dtype, n, rng):
    a, b = int_operands(rng, n, dtype)
    (out,) = binary_fusion("gcd", dtype, [-1], [-1]).execute([a, b])
    assert_close(out, ref_gcd(a, b), dtype)
    # torch agrees, except at the minimum (its abs(min) stays negative;
    # ours and numpy's magnitude 2^(w-1) wraps only when it is the result)
    keep = a != np.iinfo(NP_DTYPE[dtype]).min
    want = torch.gcd(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    np.testing.assert_array_equal(out[keep], want[keep])


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", INTS)
def test_logical_right_shift(dtype, n, rng):
    a, b = int_operands(rng, n, dtype, shift=True)
    (out,) = binary_fusion("logical_right_shift", dtype, [-1], [-1]).execute([a, b])
    assert_close(out, ref_lrshift(a, b, dtype), dtype)


def test_logical_right_shift_as_nvfuser_tests_it():
    """nvFuser's expected values: -1, -2, -3 shifted by 3 fill with zeros;
    shifting by the dtype's width gives 0."""
    x = np.array([-1, -2, -3, 4, 5, 6, 7], dtype=np.int32)
    (out,) = binary_fusion("logical_right_shift", "Int32", [-1], None, rhs_scalar=3).execute([x])
    np.testing.assert_array_equal(out, [536870911, 536870911, 536870911, 0, 0, 0, 0])
    (out,) = binary_fusion("logical_right_shift", "Int32", [-1], None, rhs_scalar=32).execute([x])
    np.testing.assert_array_equal(out, np.zeros(7, np.int32))
    (out,) = binary_fusion("logical_right_shift", "Int", [-1], None, rhs_scalar=64).execute([x.astype(np.int64)])
    np.testing.assert_array_equal(out, np.zeros(7, np.int64))


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", ["Float", "Double"])
def test_nextafter(dtype, n, rng):
    a = with_specials(random_array(rng, (n,), dtype), dtype)
    b = random_array(rng, (n,), dtype)
    b[: min(n, 4)] = np.array([0.0, np.inf, -np.inf, 1.0])[: min(n, 4)]
    (out,) = binary_fusion("nextafter", dtype, [-1], [-1]).execute([a, b])
    np.testing.assert_array_equal(out, ref_nextafter(a, b, dtype))
    want = torch.nextafter(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    np.testing.assert_array_equal(out, want)


@pytest.mark.parametrize(
    "op,dtype",
    [("gcd", "Int"), ("gcd", "Int32"), ("logical_right_shift", "Int"), ("logical_right_shift", "Int32"),
     ("nextafter", "Float"), ("nextafter", "Double")],
)
def test_binary_broadcast_and_strided(op, dtype, rng):
    """rhs broadcast along rows; lhs a transposed view; odd extents."""
    if dtype in INTS:
        base, _ = int_operands(rng, 33 * 17, dtype)
        base = base.reshape(33, 17)
        _, row = int_operands(rng, 33, dtype, shift=op == "logical_right_shift")
    else:
        base = random_array(rng, (33, 17), dtype)
        row = random_array(rng, (33,), dtype)
    lhs = base.T  # (17, 33), strided
    rhs = row.reshape(1, 33)
    (out,) = binary_fusion(op, dtype, [-1, -1], [1, -1]).execute([lhs, rhs])
    full = np.broadcast_to(rhs, lhs.shape)
    ref = {"gcd": lambda: ref_gcd(lhs, full), "logical_right_shift": lambda: ref_lrshift(lhs, full, dtype),
           "nextafter": lambda: ref_nextafter(lhs, full, dtype)}[op]()
    np.testing.assert_array_equal(out, ref)


def test_nextafter_scalar_operand():
    x = np.array([1.0, 0.0, -1.0], dtype=np.float32)
    (out,) = binary_fusion("nextafter", "Float", [-1], None, rhs_scalar=2.0).execute([x])
    np.testing.assert_array_equal(out, np.nextafter(x, np.float32(2.0)))


@pytest.mark.parametrize(
    "op,dtype",
    [("gcd", d) for d in FLOATS + ["Bool"]]
    + [("logical_right_shift", d) for d in FLOATS + ["Bool"]]
    + [("nextafter", d) for d in ["Half", "BFloat16", "Int", "Int32", "Bool"]],
)
def test_binary_unsupported_dtypes(op, dtype):
    with cfuser.FusionDefinition() as fd:
        a = fd.define_tensor(shape=[-1], dtype=dt(dtype))
        with pytest.raises(cfuser.Error, match=op) as ei:
            getattr(fd.ops, op)(a, a)
        assert isinstance(ei.value, TypeError)


def test_torch_in_torch_out():
    x = torch.tensor([0.25, -0.5, 0.0], dtype=torch.float32)
    (out,) = unary_fusion("erfinv", "Float", 1).execute([x])
    assert isinstance(out, torch.Tensor) and out.dtype == TORCH_DTYPE["Float"]
    np.testing.assert_allclose(out.numpy(), torch.erfinv(x).numpy(), rtol=2e-6)


def test_fused_chain():
    """The new ops fuse with others in one definition: lgamma(erfinv(x)) > 0
    where x is finite."""
    x = np.linspace(-0.9, 0.9, 7, dtype=np.float32)
    with cfuser.FusionDefinition() as fd:
        t = fd.define_tensor(shape=[-1], dtype=dt("Float"))
        y = fd.ops.lgamma(fd.ops.erfinv(t))
        fd.add_output(fd.ops.logical_and(fd.ops.gt(y, 0.0), fd.ops.logical_not(fd.ops.isposinf(y))))
    (out,) = fd.execute([x])
    want = torch.lgamma(torch.erfinv(torch.from_numpy(x).double())).numpy()
    np.testing.assert_array_equal(out, (want > 0) & ~np.isposinf(want))


# --- size and shape -----------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1, 7), (7, 33), (31, 1)])
def test_size_and_shape_feed_ops(shape, rng):
    """fd.ops.size / fd.ops.shape give the symbolic extents: a mean over dim
    1 through reciprocal(size), a full() of the input's shape, a reshape to
    [size(1), size(0)]."""
    a = random_array(rng, shape, "Float")
    with cfuser.FusionDefinition() as fd:
        t = fd.define_tensor(shape=[-1, -1], dtype=dt("Float"))
        n1 = fd.ops.size(t, 1)
        assert fd.ops.size(t, -1) is n1
        mean = fd.ops.mul(fd.ops.sum(t, dims=[1]), fd.ops.reciprocal(n1))
        ones = fd.ops.full(shape=fd.ops.shape(t), fill_value=1.0, dtype=dt("Float"))
        flat = fd.ops.reshape(fd.ops.add(t, ones), new_shape=[n1, fd.ops.size(t, 0)])
        fd.add_output(mean)
        fd.add_output(flat)
    m, f = fd.execute([a])
    np.testing.assert_allclose(m, a.astype(np.float64).mean(axis=1), rtol=1e-5)
    np.testing.assert_allclose(f, (a + 1).reshape(shape[1], shape[0]), rtol=1e-6)


def test_shape_leaves_out_reduction_dims():
    with cfuser.FusionDefinition() as fd:
        t = fd.define_tensor(shape=[-1, -1, -1], dtype=dt("Float"))
        s = fd.ops.sum(t, dims=[1], keepdim=False)
        assert len(fd.ops.shape(t)) == 3
        assert len(fd.ops.shape(s)) == 2
        assert fd.ops.shape(s)[1] is fd.ops.size(s, 1)


def test_size_errors():
    with cfuser.FusionDefinition() as fd:
        t = fd.define_tensor(shape=[-1, -1], dtype=dt("Float"))
        with pytest.raises(IndexError, match="dim 2 is out of range"):
            fd.ops.size(t, 2)
        with pytest.raises(cfuser.Error, match="out of range"):
            fd.ops.size(t, -3)
        with pytest.raises(TypeError, match="'dim' must be int"):
            fd.ops.size(t, 1.0)
        with pytest.raises(TypeError, match="must be a TensorView"):
            fd.ops.size(fd.define_scalar(2, dtype=dt("Int")), 0)
        with pytest.raises(TypeError, match="must be a TensorView"):
            fd.ops.shape(3)


# --- segment_set ---------------------------------------------------------------------


@pytest.mark.parametrize("dtype", SUPPORTED)
def test_segment_set_is_a_copy_on_the_cpu(dtype, rng):
    a = random_array(rng, (7, 33), dtype, -3, 3)
    with cfuser.FusionDefinition() as fd:
        t = fd.define_tensor(shape=[-1, -1], dtype=dt(dtype))
        s = fd.ops.segment_set(t)
        fd.add_output(s)
        fd.add_output(fd.ops.segment_set(fd.ops.set(s)))
    assert s.dtype() is dt(dtype)
    assert "segment_set(" in fd.fusion.print_math()
    o1, o2 = fd.execute([to_input(a, dtype)])
    assert_close(o1, a, dtype)
    assert_close(o2, a, dtype)


def test_segment_set_between_pointwise_ops(rng):
    a = random_array(rng, (5, 9), "Float")
    with cfuser.FusionDefinition() as fd:
        t = fd.define_tensor(shape=[-1, -1], dtype=dt("Float"))
        fd.add_output(fd.ops.neg(fd.ops.segment_set(fd.ops.exp(t))))
    (out,) = fd.execute([a])
    np.testing.assert_allclose(out, -np.exp(a.astype(np.float64)), rtol=1e-6)


def test_segment_set_rejects_numbers():
    with cfuser.FusionDefinition() as fd:
        with pytest.raises(TypeError, match="segment_set"):
            fd.ops.segment_set(1.0)


# --- triu -----------------------------------------------------------------------------


@pytest.mark.parametrize("diagonal", [-40, -2, -1, 0, 1, 3, 40])
@pytest.mark.parametrize("shape", [(1, 1), (7, 33), (33, 7), (2, 5, 9)])
@pytest.mark.parametrize("dtype", SUPPORTED)
def test_triu(dtype, shape, diagonal, rng):
    a = random_array(rng, shape, dtype, -3, 3)
    with cfuser.FusionDefinition() as fd:
        t = fd.define_tensor(shape=[-1] * len(shape), dtype=dt(dtype))
        y = fd.ops.triu(t, diagonal)
        fd.add_output(y)
    assert y.dtype() is dt(dtype)
    (out,) = fd.execute([to_input(a, dtype)])
    want = torch.triu(torch.from_numpy(np.ascontiguousarray(a)), diagonal)
    assert_close(out, want.numpy(), dtype)


def test_triu_default_symbolic_diagonal_and_strided_input(rng):
    base = random_array(rng, (9, 12), "Float")
    view = base.T[::2]  # (6, 9), strided
    with cfuser.FusionDefinition() as fd:
        t = fd.define_tensor(shape=[-1, -1], dtype=dt("Float"))
        k = fd.define_scalar(dtype=dt("Int"))
        fd.add_output(fd.ops.triu(t))
        fd.add_output(fd.ops.triu(input=t, diagonal=k))
    for kv in (-3, 0, 2):
        o0, o1 = fd.execute([view, kv])
        np.testing.assert_array_equal(o0, np.triu(view))
        np.testing.assert_array_equal(o1, np.triu(view, kv))


def test_triu_errors():
    with cfuser.FusionDefinition() as fd:
        t = fd.define_tensor(shape=[-1], dtype=dt("Float"))
        m = fd.define_tensor(shape=[-1, -1], dtype=dt("Float"))
        with pytest.raises(cfuser.Error, match="at least 2 dims") as ei:
            fd.ops.triu(t)
        assert isinstance(ei.value, ValueError)
        with pytest.raises(TypeError, match="'diagonal' must be an int"):
            fd.ops.triu(m, 1.5)
        with pytest.raises(TypeError, match="'diagonal' must be an int"):
            fd.ops.triu(m, True)
        with pytest.raises(cfuser.Error, match="must be an integer"):
            fd.ops.triu(m, fd.define_scalar(1.0, dtype=dt("Double")))
        before = len(fd.fusion.print_math())
        with pytest.raises(cfuser.Error):
            fd.ops.triu(t, 0)
        assert len(fd.fusion.print_math()) == before  # rolled back
