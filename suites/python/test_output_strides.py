"""Output layout: execute gives outputs the strides torch gives the same
computation (nvFuser's tests compare ``ref.stride() == out.stride()``), and
honours define_tensor's stride_order and the stride_order op."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import cfuser

DataType = cfuser.DataType
FusionDefinition = cfuser.FusionDefinition


def channels_last(*shape):
    return torch.randn(*shape).to(memory_format=torch.channels_last)


def run(build, inputs):
    with FusionDefinition() as fd:
        ts = [fd.from_pytorch(x) for x in inputs]
        outs = build(fd, *ts)
        for o in outs if isinstance(outs, (list, tuple)) else [outs]:
            fd.add_output(o)
    return fd.execute(inputs), fd


CASES = {
    "pointwise on channels-last": (
        lambda fd, t: fd.ops.relu(t), lambda x: torch.relu(x), lambda: [channels_last(2, 3, 5, 7)]),
    "binary on channels-last": (
        lambda fd, a, b: fd.ops.mul(a, b), lambda a, b: a * b, lambda: [channels_last(2, 3, 4, 5), channels_last(2, 3, 4, 5)]),
    "channels-last meets row major: the first decides": (
        lambda fd, a, b: fd.ops.add(a, b), lambda a, b: a + b, lambda: [channels_last(2, 3, 4, 5), torch.randn(2, 3, 4, 5)]),
    "row major meets channels-last: the first decides": (
        lambda fd, a, b: fd.ops.add(a, b), lambda a, b: a + b, lambda: [torch.randn(2, 3, 4, 5), channels_last(2, 3, 4, 5)]),
    "transposed input": (
        lambda fd, t: fd.ops.exp(t), lambda x: x.exp(), lambda: [torch.randn(7, 5).t()]),
    "permute": (
        lambda fd, t: fd.ops.permute(fd.ops.neg(t), dims=[1, 0]), lambda x: (-x).permute(1, 0), lambda: [torch.randn(4, 6)]),
    "permute of a transposed input": (
        lambda fd, t: fd.ops.permute(fd.ops.neg(t), dims=[1, 0]), lambda x: (-x).permute(1, 0), lambda: [torch.randn(6, 4).t()]),
    "3-d permute": (
        lambda fd, t: fd.ops.permute(fd.ops.sin(t), dims=[2, 0, 1]), lambda x: x.sin().permute(2, 0, 1), lambda: [torch.randn(3, 5, 7)]),
    "cast on channels-last": (
        lambda fd, t: fd.ops.cast(t, DataType.Half), lambda x: x.half(), lambda: [channels_last(2, 3, 4, 5)]),
    "set on a transposed input": (
        lambda fd, t: fd.ops.set(t), lambda x: x.clone(), lambda: [torch.randn(5, 3).t()]),
    "broadcast operand follows the full one": (
        lambda fd, a, b: fd.ops.add(a, fd.ops.broadcast_in_dim(b, shape=a.shape(), broadcast_dims=[1])),
        lambda a, b: a + b, lambda: [torch.randn(7, 4).t(), torch.randn(7)]),
    "reduction of channels-last": (
        lambda fd, t: fd.ops.sum(t, dims=[1]), lambda x: x.sum(1), lambda: [channels_last(2, 3, 5, 7)]),
    "reduction of a transposed input": (
        lambda fd, t: fd.ops.sum(t, dims=[2]), lambda x: x.sum(2), lambda: [torch.randn(5, 7, 3).permute(2, 0, 1)]),
    "var_mean of a permuted input": (
        lambda fd, t: fd.ops.var_mean(t, dims=[0]), lambda x: torch.var_mean(x, dim=0), lambda: [torch.randn(5, 7, 3).permute(2, 0, 1)]),
    "keepdim reduction of channels-last": (
        lambda fd, t: fd.ops.max(t, dims=[1], keepdim=True), lambda x: x.amax(1, keepdim=True), lambda: [channels_last(2, 3, 4, 5)]),
    "row major stays row major": (
        lambda fd, t: fd.ops.tanh(t), lambda x: x.tanh(), lambda: [torch.randn(3, 1, 5)]),
    "size-1 and odd sizes": (
        lambda fd, t: fd.ops.abs(t), lambda x: x.abs(), lambda: [channels_last(1, 7, 1, 9)]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_strides_match_torch(name):
    build, ref_fn, make = CASES[name]
    inputs = make()
    outs, _ = run(build, inputs)
    refs = ref_fn(*inputs)
    for out, ref in zip(outs, refs if isinstance(refs, tuple) else (refs,)):
        assert out.stride() == ref.stride(), (out.stride(), ref.stride())
        torch.testing.assert_close(out, ref)


def test_cached_runs_keep_the_layout():
    x = channels_last(2, 3, 4, 5)
    outs, fd = run(lambda fd, t: fd.ops.mul(t, 2.0), [x])
    again = fd.execute([channels_last(2, 3, 4, 5)])
    assert outs[0].stride() == again[0].stride() == x.stride()


@pytest.mark.parametrize("order", [[0, 1, 2], [2, 1, 0], [1, 0, 2], [0, 2, 1]])
def test_stride_order_op_lays_out_the_output(order):
    x = torch.randn(3, 5, 7)
    with FusionDefinition() as fd:
        t = fd.from_pytorch(x)
        fd.add_output(fd.ops.stride_order(fd.ops.add(t, 1.0), stride_order=order))
    (out,) = fd.execute([x])
    torch.testing.assert_close(out, x + 1.0)
    # stride_order[i] is the rank of dim i's stride, ndim - 1 the outermost
    ranks = sorted(range(3), key=lambda d: out.stride(d))
    assert [ranks.index(d) for d in range(3)] == order
    assert out.is_contiguous() == (order == [2, 1, 0])


def test_define_tensor_stride_order_is_the_outputs_layout_with_numpy():
    a = np.arange(12, dtype=np.float32).reshape(3, 4).T  # column major
    with FusionDefinition() as fd:
        t = fd.define_tensor(shape=[-1, -1], stride_order=[0, 1], dtype=DataType.Float)
        fd.add_output(fd.ops.add(t, 1.0))
        fd.add_output(fd.ops.set(t))  # a copy in the input's layout
        fd.add_output(t)  # an input as an output: the input itself, as nvFuser's
    out, copy, same = fd.execute([a])
    assert isinstance(out, np.ndarray) and out.strides == (a + 1).strides == a.strides
    np.testing.assert_array_equal(out, a + 1)
    assert copy.strides == a.strides and np.shares_memory(copy, a) is False
    np.testing.assert_array_equal(copy, a)
    assert same is a


def test_a_permuted_output_is_dense_and_writable():
    x = torch.randn(4, 6)
    outs, _ = run(lambda fd, t: fd.ops.permute(t, dims=[1, 0]), [x])
    out = outs[0]
    assert out.stride() == (1, 6) and out.untyped_storage().nbytes() == 24 * 4
    out[0, 0] = 123.0
    assert x[0, 0] != 123.0


@pytest.mark.parametrize("order, error, match", [
    ([0, 1], cfuser.InvalidArgumentError, "has 2 entries but the input has 3 dims"),
    ([0, 1, 1], cfuser.InvalidArgumentError, "not a permutation"),
    ([0, 1, 3], cfuser.OutOfRangeError, "out of range"),
    ([0, 1, -1], cfuser.OutOfRangeError, "out of range"),
])
def test_stride_order_op_rejects_bad_orders(order, error, match):
    with FusionDefinition() as fd:
        t = fd.define_tensor(shape=[-1, -1, -1])
        n = len(fd.fusion.vals())
        with pytest.raises(error, match=match):
            fd.ops.stride_order(t, order)
        assert len(fd.fusion.vals()) == n  # nothing was added


def test_stride_order_op_takes_a_tensor():
    with FusionDefinition() as fd:
        with pytest.raises(TypeError, match="stride_order"):
            fd.ops.stride_order(fd.define_scalar(1.0), [0])


def test_stride_order_round_trips_through_repr():
    with FusionDefinition() as fd:
        t = fd.define_tensor(shape=[-1, -1, -1], stride_order=[1, 2, 0])
        fd.add_output(fd.ops.stride_order(fd.ops.neg(t), stride_order=[0, 1, 2]))
    assert "fd.ops.stride_order(tv1, stride_order=[0, 1, 2])" in repr(fd)
