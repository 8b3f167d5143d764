"""TensorView.size(i) and .shape(): symbolic extents usable as operands and shapes."""

from __future__ import annotations

import pytest
import torch

from conftest import cfuser

from cfuser import DataType, FusionDefinition


def test_size_is_the_extent_scalar():
    with FusionDefinition() as fd:
        t = fd.define_tensor(shape=[-1, 4, 1])
        assert t.size(0) is t.shape()[0] is t.axis(0).extent()
        assert t.size(-1) is t.shape()[2]
        assert t.size(0).value() is None and t.size(1).value() == 4 and t.size(2).value() == 1
        assert t.size(0).dtype() is DataType.Int


def test_size_skips_reduction_axes():
    with FusionDefinition() as fd:
        t = fd.define_tensor(shape=[-1, -1, -1])
        r = fd.ops.sum(t, dims=[1])
        assert r.ndim == 2
        assert r.size(1) is r.shape()[1]
        assert r.size(0).value() is None
        with pytest.raises(IndexError, match="2 dims"):
            r.size(2)


@pytest.mark.parametrize("bad,err", [(2, IndexError), (-3, IndexError), (10**30, IndexError),
                                     ("0", TypeError), (1.0, TypeError), (None, TypeError)])
def test_size_bad_index(bad, err):
    with FusionDefinition() as fd:
        t = fd.define_tensor(shape=[-1, -1])
        with pytest.raises(err, match="size"):
            t.size(bad)
        with pytest.raises(TypeError):
            t.size()


def test_size_in_arithmetic_is_bound_at_run_time():
    with FusionDefinition() as fd:
        t = fd.define_tensor(shape=[-1, -1])
        fd.add_output(fd.ops.mul(t, fd.ops.reciprocal(t.size(1))))
        fd.add_output(fd.ops.div(fd.ops.sum(t, dims=[1]), t.size(1)))
    for rows, cols in [(2, 3), (5, 8)]:
        x = torch.randn(rows, cols)
        scaled, mean = fd.execute([x])
        torch.testing.assert_close(scaled, x / cols)
        torch.testing.assert_close(mean, x.mean(dim=1))


def test_size_as_shape_argument():
    with FusionDefinition() as fd:
        t = fd.define_tensor(shape=[-1, -1])
        b = fd.define_tensor(shape=[-1])
        col = fd.ops.broadcast_in_dim(b, shape=[t.size(0), 1], broadcast_dims=[0])
        fd.add_output(fd.ops.add(t, col))
        fd.add_output(fd.ops.expand(col, shape=[t.size(0), t.size(1)]))
        fd.add_output(fd.ops.reshape(t, [t.size(1), t.size(-2)]))
        fd.add_output(fd.ops.full([t.size(0)], t.size(1), DataType.Float))
    for rows, cols in [(2, 3), (4, 1), (3, 5)]:
        x = torch.randn(rows, cols)
        b = torch.randn(rows)
        added, expanded, reshaped, full = fd.execute([x, b])
        torch.testing.assert_close(added, x + b[:, None])
        torch.testing.assert_close(expanded, b[:, None].expand(rows, cols))
        torch.testing.assert_close(reshaped, x.reshape(cols, rows))
        torch.testing.assert_close(full, torch.full((rows,), float(cols)))


def test_size_of_a_computed_tensor():
    with FusionDefinition() as fd:
        t = fd.define_tensor(shape=[-1, -1])
        tt = fd.ops.permute(t, dims=[1, 0])
        fd.add_output(fd.ops.mul(tt, tt.size(0)))
    x = torch.randn(2, 7)
    (out,) = fd.execute([x])
    torch.testing.assert_close(out, x.t() * 7)


def test_a_size_computed_by_arithmetic_binds_at_run_time():
    # more in test_size_arithmetic.py
    with FusionDefinition() as fd:
        t = fd.define_tensor(shape=[-1, -1])
        fd.add_output(fd.ops.reshape(t, [fd.ops.mul(t.size(0), t.size(1))]))
    x = torch.randn(2, 3)
    torch.testing.assert_close(fd.execute([x])[0], x.reshape(6))
