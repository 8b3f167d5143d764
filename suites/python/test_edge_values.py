"""Answers at the edges, checked against torch: reductions over empty
extents, expand of symbolic dims, math functions near the ends of their
range, and scalar inputs outside their declared type.

Each case gave a silent wrong answer in an adversarial run.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from conftest import cfuser

D = cfuser.DataType


def build(fn, *inputs):
    with cfuser.FusionDefinition() as fd:
        fn(fd)
    return fd.execute(list(inputs))


# --- reductions over empty extents -------------------------------------------
IDENTITY = {"sum": 0.0, "prod": 1.0, "max": -np.inf, "min": np.inf}


@pytest.mark.parametrize("op", sorted(IDENTITY))
@pytest.mark.parametrize("keepdim", [True, False])
def test_reduction_over_empty_extent_writes_its_identity_before_later_ops(op, keepdim):
    def fn(fd):
        x = fd.define_tensor(shape=[-1], dtype=D.Double)
        s = getattr(fd.ops, op)(x, dims=[0], keepdim=keepdim)
        fd.add_output(fd.ops.add(s, 1.0))

    out = build(fn, np.zeros(0))[0]
    assert out.shape == ((1,) if keepdim else ())
    np.testing.assert_array_equal(out, np.full(out.shape, IDENTITY[op] + 1.0))


def test_empty_reduction_does_not_leak_data_between_fusions():
    def other(fd):
        x = fd.define_tensor(shape=[-1], dtype=D.Double)
        fd.add_output(fd.ops.add(x, 0.0))

    for _ in range(3):
        build(other, np.array([41.0]))

        def fn(fd):
            x = fd.define_tensor(shape=[-1], dtype=D.Double)
            fd.add_output(fd.ops.add(fd.ops.sum(x, dims=[0], keepdim=True), 0.0))

        np.testing.assert_array_equal(build(fn, np.zeros(0))[0], [0.0])


@pytest.mark.parametrize("shape", [(0, 5), (5, 0), (3, 0, 4)])
def test_row_and_column_reductions_over_empty_dims_match_torch(shape):
    a = np.zeros(shape)
    for dims in ([0], [len(shape) - 1]):
        def fn(fd, dims=dims):
            x = fd.define_tensor(shape=[-1] * len(shape), dtype=D.Double)
            fd.add_output(fd.ops.mul(fd.ops.sum(x, dims=dims, keepdim=True), 2.0))

        ref = torch.from_numpy(a).sum(dim=dims, keepdim=True) * 2.0
        np.testing.assert_array_equal(build(fn, a)[0], ref.numpy())


# --- expand and broadcast_in_dim of symbolic dims ------------------------------
@pytest.mark.parametrize(
    "shape,target",
    [((1, 4), [3, -1]), ((1, 4), [3, 4]), ((2, 3), [2, 3]), ((2, 3), [-1, -1]), ((2, 1), [2, 5]), ((1, 1), [4, 6])],
)
def test_expand_of_symbolic_dims_matches_torch(shape, target):
    a = np.random.default_rng(0).standard_normal(shape)

    def fn(fd):
        x = fd.define_tensor(shape=[-1] * len(shape), dtype=D.Double)
        fd.add_output(fd.ops.add(fd.ops.expand(x, target), 0.5))

    ref = torch.from_numpy(a).expand(*target) + 0.5
    np.testing.assert_array_equal(build(fn, a)[0], ref.numpy())


@pytest.mark.parametrize("shape,target", [((2, 3), [7, -1]), ((2, 3), [1, 1]), ((2, 3), [2, 4])])
def test_impossible_expand_raises_like_torch(shape, target):
    a = np.ones(shape)
    with pytest.raises(RuntimeError):
        torch.from_numpy(a).expand(*target)

    def fn(fd):
        x = fd.define_tensor(shape=[-1] * len(shape), dtype=D.Double)
        fd.add_output(fd.ops.expand(x, target))

    with pytest.raises(cfuser.Error, match="only size-1 dims expand"):
        build(fn, a)


def test_expand_to_a_symbolic_scalar():
    def fn(fd):
        x = fd.define_tensor(shape=[-1, -1], dtype=D.Double)
        n = fd.define_scalar(dtype=D.Int)
        fd.add_output(fd.ops.expand(x, [n, -1]))

    assert build(fn, np.ones((1, 4)), 5)[0].shape == (5, 4)
    assert build(fn, np.ones((5, 4)), 5)[0].shape == (5, 4)
    with pytest.raises(cfuser.Error, match="only size-1 dims expand"):
        build(fn, np.ones((2, 4)), 5)


def test_broadcast_in_dim_checks_the_kept_dims():
    def fn(fd):
        x = fd.define_tensor(shape=[-1, -1], dtype=D.Double)
        fd.add_output(fd.ops.broadcast_in_dim(x, [5, 3, 4], [0, 1]))

    with pytest.raises(cfuser.Error, match="only size-1 dims expand"):
        build(fn, np.ones((2, 3)))
    out = build(fn, np.arange(3.0).reshape(1, 3))[0]
    np.testing.assert_array_equal(out, np.broadcast_to(np.arange(3.0).reshape(1, 3, 1), (5, 3, 4)))


# --- math near the ends of the range -------------------------------------------
EXTREME = {
    "float32": [1e20, -1e20, 3e38, 1.7e38, 88.0, 88.7, 89.0, -89.0, 1e10, 0.5, -103.0],
    "float64": [1e300, -1e300, 1.7e308, 709.0, 710.0, -710.0, 1e154, 0.5, -745.0],
}
FUNCS = ["asinh", "acosh", "log1p", "sinh", "cosh", "exp", "expm1", "tanh", "sigmoid", "atanh", "erfc"]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op", FUNCS)
def test_math_functions_finite_where_the_true_value_is(dtype, op):
    a = np.array(EXTREME[dtype], dtype=dtype)
    DT = D.Float if dtype == "float32" else D.Double

    def fn(fd):
        x = fd.define_tensor(shape=[-1], dtype=DT)
        fd.add_output(getattr(fd.ops, op)(x))

    got = build(fn, a)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # the reference in float64 from mpmath-free numpy, rounded to dtype
        x = a.astype(np.float64)
        ref = {
            "asinh": np.arcsinh, "acosh": np.arccosh, "log1p": np.log1p, "sinh": np.sinh, "cosh": np.cosh,
            "exp": np.exp, "expm1": np.expm1, "tanh": np.tanh, "atanh": np.arctanh,
            "sigmoid": lambda v: np.where(v < 0, np.exp(v) / (1 + np.exp(v)), 1 / (1 + np.exp(-v))),
            "erfc": lambda v: torch.special.erfc(torch.from_numpy(v)).numpy(),
        }[op](x)
        if dtype == "float64":
            # numpy's sinh/cosh overflow a little early; the C library is exact here
            import math

            ref = np.array([getattr(math, op)(v) if op in ("sinh", "cosh") and abs(v) < 711 else r
                            for v, r in zip(x, ref)])
        ref = ref.astype(dtype)
    finite = np.isfinite(ref)
    assert np.array_equal(np.isfinite(got), finite), (a[np.isfinite(got) != finite], got, ref)
    tiny = np.finfo(dtype).tiny
    np.testing.assert_allclose(got[finite], ref[finite], rtol=2e-6 if dtype == "float32" else 1e-13, atol=tiny * 4)
    assert np.array_equal(np.isnan(got), np.isnan(ref))


def test_int32_scalar_input_outside_its_range_raises():
    def fn(fd):
        x = fd.define_tensor(shape=[-1], dtype=D.Int)
        n = fd.define_scalar(dtype=D.Int32)
        fd.add_output(fd.ops.add(x, n))

    np.testing.assert_array_equal(build(fn, np.zeros(2, np.int64), 2**31 - 1)[0], [2**31 - 1] * 2)
    for bad in (2**40, 2**31, -(2**31) - 1):
        with pytest.raises(OverflowError, match="Int32"):
            build(fn, np.zeros(2, np.int64), bad)


# --- torch's lazily negated views ------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda: torch.tensor([1 + 2j, 3 - 4j, -5j], dtype=torch.complex64).conj().imag,
    lambda: torch._neg_view(torch.arange(6, dtype=torch.float32).reshape(2, 3)),
    lambda: torch._neg_view(torch.arange(6, dtype=torch.float32).reshape(2, 3)).t(),
], ids=["conj-imag", "neg-view", "neg-view-transposed"])
def test_negative_bit_tensors_are_read_negated(make):
    t = make()
    assert t.is_neg()
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1] * t.dim(), dtype=D.Float)
        fd.add_output(fd.ops.add(x, 0.5))
    out = fd.execute([t])[0]
    assert torch.equal(out, t.resolve_neg() + 0.5), (out, t)
