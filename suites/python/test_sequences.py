"""Sequence conversion: shapes, dims and input lists given as any sequence or
iterable of integers; errors name the bad position; large conversions."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from conftest import UNDER_SANITIZER, cfuser

DataType = cfuser.DataType


class Idx:
    """An object that is an integer only through __index__."""

    def __init__(self, v):
        self.v = v

    def __index__(self):
        return self.v


SHAPES = {
    "list": lambda: [-1, 3],
    "tuple": lambda: (-1, 3),
    "range": lambda: range(-1, 4, 4),  # -1, 3
    "generator": lambda: (v for v in [-1, 3]),
    "iterator": lambda: iter([-1, 3]),
    "numpy-array": lambda: np.array([-1, 3]),
    "numpy-int32-array": lambda: np.array([-1, 3], dtype=np.int32),
    "numpy-scalars": lambda: [np.int64(-1), np.int16(3)],
    "torch.Size": lambda: torch.Size([-1, 3]),
    "__index__": lambda: [Idx(-1), Idx(3)],
}


@pytest.mark.parametrize("kind", sorted(SHAPES))
def test_define_tensor_shape_kinds(kind):
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=SHAPES[kind](), dtype=DataType.Float)
        fd.add_output(fd.ops.neg(x))
    assert x.ndim == 2
    assert x.shape()[0].value() is None and x.shape()[1].value() == 3
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    (out,) = fd.execute([a])
    np.testing.assert_array_equal(out, -a)


DIMS = {
    "list": lambda: [0, 2],
    "tuple": lambda: (0, 2),
    "range": lambda: range(0, 3, 2),
    "generator": lambda: (d for d in (0, 2)),
    "numpy-array": lambda: np.array([0, 2]),
    "torch.Size": lambda: torch.Size([0, 2]),
    "__index__": lambda: [Idx(0), Idx(-1)],
}


@pytest.mark.parametrize("kind", sorted(DIMS))
def test_dims_kinds(kind):
    a = np.arange(24, dtype=np.float64).reshape(2, 3, 4)
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1, -1], dtype=DataType.Double)
        fd.add_output(fd.ops.sum(x, dims=DIMS[kind]()))
    (s,) = fd.execute([a])
    np.testing.assert_array_equal(s, a.sum(axis=(0, 2)))


@pytest.mark.parametrize("kind", ["list", "tuple", "generator", "numpy-array", "torch.Size"])
def test_new_shape_kinds(kind):
    make = {
        "list": lambda: [3, 4],
        "tuple": lambda: (3, 4),
        "generator": lambda: (v for v in (3, 4)),
        "numpy-array": lambda: np.array([3, 4]),
        "torch.Size": lambda: torch.Size([3, 4]),
    }[kind]
    a = np.arange(12, dtype=np.float32)
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[12], dtype=DataType.Float)
        fd.add_output(fd.ops.reshape(x, make()))
    (o,) = fd.execute([a])
    np.testing.assert_array_equal(o, a.reshape(3, 4))


def test_broadcast_flags_from_numpy_bools():
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=DataType.Float)
        fd.add_output(fd.ops.broadcast(x, np.array([True, False])))
    (o,) = fd.execute([np.ones(3, np.float32)])
    assert o.shape == (1, 3)


@pytest.mark.parametrize("k", [0, 1, 3, 7])
def test_bad_item_names_position(k):
    shape = [2] * 8
    shape[k] = "x"
    with cfuser.FusionDefinition() as fd:
        with pytest.raises(TypeError) as ei:
            fd.define_tensor(shape=shape, dtype=DataType.Float)
        msg = str(ei.value)
        assert f"item {k}" in msg and "shape" in msg and "str" in msg, msg
        fd.add_output(fd.ops.neg(fd.define_tensor(shape=[-1], dtype=DataType.Float)))


@pytest.mark.parametrize("bad", [2**63, -(2**63) - 1, 2**100])
def test_item_overflow(bad):
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=DataType.Float)
        with pytest.raises(OverflowError) as ei:
            fd.ops.sum(x, dims=[0, bad])
        assert "item 1" in str(ei.value) or "dims" in str(ei.value)
        fd.add_output(fd.ops.neg(x))


def test_bool_items_are_integers_or_rejected_consistently():
    """bool is an int subclass; shape=[True] either means 1 or is a TypeError,
    never a crash."""
    with cfuser.FusionDefinition() as fd:
        try:
            x = fd.define_tensor(shape=[True, -1], dtype=DataType.Float)
        except TypeError:
            x = fd.define_tensor(shape=[1, -1], dtype=DataType.Float)
        assert x.axis(0).is_broadcast()
        fd.add_output(fd.ops.neg(x))


def test_ten_thousand_inputs():
    n = 10_000
    with cfuser.FusionDefinition() as fd:
        xs = [fd.define_tensor(shape=[-1], dtype=DataType.Float) for _ in range(n)]
        fd.add_output(fd.ops.add(fd.ops.mul(xs[0], 2.0), xs[-1]))
        fd.add_output(fd.ops.sub(xs[n // 2], xs[1]))
    assert len(fd.fusion.inputs()) == n
    arrays = [np.full(4, float(i), np.float32) for i in range(n)]
    fec = cfuser.FusionExecutorCache(fd.fusion)
    for inputs in (arrays, tuple(arrays), iter(arrays)):
        o1, o2 = fec.execute(inputs)
        np.testing.assert_array_equal(o1, np.full(4, 2.0 * 0 + (n - 1), np.float32))
        np.testing.assert_array_equal(o2, np.full(4, n // 2 - 1, np.float32))
    with pytest.raises(TypeError) as ei:
        fec.execute(arrays[:-1] + ["not a tensor"])
    assert str(n - 1) in str(ei.value)


def test_million_element_conversion(record_property):
    conv = cfuser._C._testing.as_int64_list
    # a million in the normal build; a tenth inside sanitizer runs, which are
    # some 20x slower and give each file a fixed deadline
    n = 100_000 if UNDER_SANITIZER else 1_000_000
    for make in (lambda: list(range(n)), lambda: range(n), lambda: np.arange(n), lambda: (i for i in range(n))):
        src = make()
        t0 = time.perf_counter()
        out = conv(src)
        dt = time.perf_counter() - t0
        assert len(out) == n and out[0] == 0 and out[-1] == n - 1 and out[n // 2] == n // 2
    per_elem_ns = dt / n * 1e9
    record_property("ns_per_element", per_elem_ns)
    print(f"sequence conversion: {per_elem_ns:.1f} ns/element (generator)")
    big = list(range(n))
    k = n * 3 // 4 + 7  # a position deep in the list
    big[k] = 1.5
    with pytest.raises(TypeError, match=f"item {k}"):
        conv(big)
    big[k] = 2**64
    with pytest.raises(OverflowError, match=str(k)):
        conv(big)
