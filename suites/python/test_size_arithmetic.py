"""Sizes computed by scalar arithmetic (fd.ops.mul(t.size(0), 2) and the
like) as shape arguments of reshape, broadcast_in_dim, expand and full,
bound at run time from the inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import cfuser

DataType = cfuser.DataType
FusionDefinition = cfuser.FusionDefinition


@pytest.mark.parametrize("rows, cols", [(1, 1), (2, 3), (7, 5), (17, 1)])
def test_reshape_to_a_product_of_sizes(rows, cols):
    x = np.arange(rows * cols, dtype=np.float32).reshape(rows, cols)
    with FusionDefinition() as fd:
        t = fd.define_tensor(shape=[-1, -1], dtype=DataType.Float)
        fd.add_output(fd.ops.reshape(t, [fd.ops.mul(t.size(0), t.size(1))]))
    (out,) = fd.execute([x])
    np.testing.assert_array_equal(out, x.reshape(-1))


def test_full_with_computed_sizes_and_scalar_inputs():
    with FusionDefinition() as fd:
        t = fd.define_tensor(shape=[-1, -1], dtype=DataType.Float)
        k = fd.define_scalar(None, dtype=DataType.Int)
        rows = fd.ops.add(fd.ops.mul(t.size(0), 2), k)
        cols = fd.ops.div(t.size(1), 2)
        fd.add_output(fd.ops.full([rows, cols, fd.ops.sub(k, 1)], 1.5, dtype=DataType.Float))
    for shape, kv in [((3, 4), 1), ((1, 9), 3), ((5, 2), 2)]:
        (out,) = fd.execute([np.zeros(shape, np.float32), kv])
        assert out.shape == (shape[0] * 2 + kv, shape[1] // 2, kv - 1)
        assert (out == 1.5).all()


def test_broadcast_in_dim_and_expand_to_computed_sizes():
    x = torch.randn(4)
    with FusionDefinition() as fd:
        t = fd.from_pytorch(x)
        n = fd.ops.mul(t.size(0), 3)
        b = fd.ops.broadcast_in_dim(t, shape=[n, t.size(0)], broadcast_dims=[1])
        e = fd.ops.expand(fd.ops.broadcast(t, [True, False]), [fd.ops.maximum(t.size(0), 2), -1])
        fd.add_output(fd.ops.add(b, 1.0))
        fd.add_output(fd.ops.mul(e, 1.0))
    b, e = fd.execute([x])
    torch.testing.assert_close(b, x.expand(12, 4) + 1.0)
    torch.testing.assert_close(e, x.expand(4, 4) * 1.0)


@pytest.mark.parametrize("op, ref", [
    ("sub", lambda a, b: a - b), ("div", lambda a, b: int(a / b)), ("mod", lambda a, b: a % b),
    ("remainder", lambda a, b: a % b), ("minimum", min), ("maximum", max),
])
def test_integer_arithmetic_of_sizes(op, ref):
    with FusionDefinition() as fd:
        t = fd.define_tensor(shape=[-1, -1], dtype=DataType.Float)
        fd.add_output(fd.ops.full([getattr(fd.ops, op)(t.size(0), t.size(1))], 0.0, dtype=DataType.Float))
    for a, b in [(9, 4), (12, 5), (7, 7)]:
        (out,) = fd.execute([np.zeros((a, b), np.float32)])
        assert out.shape == (ref(a, b),)


def test_a_negative_computed_size_raises():
    with FusionDefinition() as fd:
        t = fd.define_tensor(shape=[-1], dtype=DataType.Float)
        fd.add_output(fd.ops.full([fd.ops.sub(t.size(0), 5)], 0.0, dtype=DataType.Float))
    assert fd.execute([np.zeros(7, np.float32)])[0].shape == (2,)
    with pytest.raises(cfuser.InvalidArgumentError, match="scalar arithmetic is -2; sizes must be >= 0"):
        fd.execute([np.zeros(3, np.float32)])


def test_a_float_computed_size_is_refused_clearly():
    with FusionDefinition() as fd:
        t = fd.define_tensor(shape=[-1], dtype=DataType.Float)
        n = fd.ops.cast(fd.ops.mul(fd.ops.cast(t.size(0), DataType.Double), 1.5), DataType.Int)
        fd.add_output(fd.ops.full([n], 0.0, dtype=DataType.Float))
    with pytest.raises(cfuser.UnsupportedError, match="scalar arithmetic"):
        fd.execute([np.zeros(4, np.float32)])


def test_computed_sizes_round_trip_through_repr():
    with FusionDefinition() as fd:
        t = fd.define_tensor(shape=[-1, -1], dtype=DataType.Float)
        fd.add_output(fd.ops.reshape(t, [fd.ops.mul(t.size(0), t.size(1))]))
    text = repr(fd)
    assert "fd.ops.mul(c0, c1)" in text
    scope = {"DataType": DataType, "FusionDefinition": FusionDefinition}
    exec(text, scope)
    again = FusionDefinition()
    with again:
        scope["nvfuser_fusion"](again)
    assert again.fusion.structurally_equal(fd.fusion)
    x = np.ones((3, 2), np.float32)
    np.testing.assert_array_equal(again.execute([x])[0], fd.execute([x])[0])
