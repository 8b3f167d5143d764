"""Misuse of the front end is an error, never silent: ops on a closed
definition, a bare tensor as the input list, strings where numbers belong."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import cfuser

from cfuser import DataType, FusionDefinition


def _closed():
    with FusionDefinition() as fd:
        t = fd.define_tensor(shape=[-1, -1])
        s = fd.define_scalar(dtype=DataType.Double)
        fd.add_output(fd.ops.neg(t))
    return fd, t, s


CLOSED_OPS = {
    "add": lambda fd, t, s: fd.ops.add(t, t),
    "mul_scalar": lambda fd, t, s: fd.ops.mul(t, s),
    "scalar_only": lambda fd, t, s: fd.ops.mul(s, 2.0),
    "neg": lambda fd, t, s: fd.ops.neg(t),
    "sum": lambda fd, t, s: fd.ops.sum(t, dims=[0]),
    "cast": lambda fd, t, s: fd.ops.cast(t, DataType.Double),
    "permute": lambda fd, t, s: fd.ops.permute(t, dims=[1, 0]),
    "broadcast_in_dim": lambda fd, t, s: fd.ops.broadcast_in_dim(t, shape=[2, 3, 4], broadcast_dims=[1, 2]),
    "reshape": lambda fd, t, s: fd.ops.reshape(t, [-1]),
    "size_operand": lambda fd, t, s: fd.ops.reciprocal(t.size(0)),
}


@pytest.mark.parametrize("name", sorted(CLOSED_OPS))
def test_op_on_a_closed_definition_raises_and_adds_nothing(name):
    fd, t, s = _closed()
    before = (len(fd.fusion.vals()), len(fd.fusion.exprs()))
    with pytest.raises(cfuser.Error, match="no active fusion"):
        CLOSED_OPS[name](fd, t, s)
    assert (len(fd.fusion.vals()), len(fd.fusion.exprs())) == before
    (out,) = fd.execute([torch.ones(2, 3), 1.0])
    assert torch.equal(out, -torch.ones(2, 3))


def test_reopening_the_definition_allows_ops_again():
    fd, t, _ = _closed()
    with fd:
        fd.add_output(fd.ops.add(t, t))
    out = fd.execute([torch.ones(2, 3), 1.0])
    assert len(out) == 2 and torch.equal(out[1], torch.full((2, 3), 2.0))


def test_op_on_a_closed_definition_inside_another_one_raises():
    fd, t, _ = _closed()
    with FusionDefinition() as other:
        with pytest.raises(cfuser.Error, match="different fusion"):
            other.ops.add(t, t)


@pytest.mark.parametrize("make", [lambda: torch.ones(1, 3), lambda: torch.ones(3), lambda: np.ones((1, 3), np.float32),
                                  lambda: torch.tensor(1.0)])
def test_a_bare_tensor_for_the_input_list_raises(make):
    with FusionDefinition() as fd:
        fd.add_output(fd.ops.neg(fd.define_tensor(shape=[-1])))
    with pytest.raises(TypeError, match=r"wrap a single tensor in a list"):
        fd.execute(make())


STRINGS = {
    "binary operand": (lambda fd, t: fd.ops.add(t, "1"), "argument 'rhs'"),
    "dims item": (lambda fd, t: fd.ops.sum(t, dims=["1"]), "argument 'dims': item 0"),
    "shape item": (lambda fd, t: fd.ops.broadcast_in_dim(t, shape=["a", 2, 3], broadcast_dims=[1, 2]),
                   "argument 'shape': item 0"),
    "scalar value": (lambda fd, t: fd.define_scalar("1.0"), "argument 'value'"),
    "correction": (lambda fd, t: fd.ops.var(t, dims=[1], correction="1"), "argument 'correction'"),
    "fill value": (lambda fd, t: fd.ops.full([2], "3", DataType.Float), "argument 'fill_value'"),
    "new shape": (lambda fd, t: fd.ops.reshape(t, "12"), "argument 'new_shape'"),
    "size index": (lambda fd, t: t.size("0"), "argument 'index'"),
    "static sizes": (lambda fd, t: fd.define_tensor(shape=["2"]), "argument 'shape': item 0"),
}


@pytest.mark.parametrize("name", sorted(STRINGS))
def test_a_string_where_a_number_belongs_says_so(name):
    build, where = STRINGS[name]
    with FusionDefinition() as fd:
        t = fd.define_tensor(shape=[-1, -1])
        with pytest.raises(TypeError) as info:
            build(fd, t)
    msg = str(info.value)
    assert where in msg and "'str'" in msg, msg


def test_a_string_among_execute_inputs_says_so():
    with FusionDefinition() as fd:
        t = fd.define_tensor(shape=[-1])
        s = fd.define_scalar(dtype=DataType.Double)
        fd.add_output(fd.ops.mul(t, s))
    with pytest.raises(TypeError, match=r"input 1.*'str'"):
        fd.execute([torch.ones(2), "2.0"])
