"""Helpers the cfuser snippet files share."""
import gc

import numpy as np

import cfuser
from cfuser import DataType, FusionDefinition


def small_fusion():
    """x[-1,-1] + broadcast(b[-1]) -> tanh -> * s; a sum over dim 1."""
    with FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], contiguity=True, dtype=DataType.Float)
        b = fd.define_tensor(shape=[-1], dtype=DataType.Float)
        s = fd.define_scalar(0.5, dtype=DataType.Double)
        bb = fd.ops.broadcast_in_dim(b, shape=x.shape(), broadcast_dims=[1])
        y = fd.ops.mul(fd.ops.tanh(fd.ops.add(x, bb)), s)
        fd.add_output(y)
        fd.add_output(fd.ops.sum(y, dims=[1], keepdim=False))
    return fd, x, b, s, y


def add_fusion(ndim=1, dtype=DataType.Float):
    with FusionDefinition() as fd:
        a = fd.define_tensor(shape=[-1] * ndim, contiguity=True, dtype=dtype)
        b = fd.define_tensor(shape=[-1] * ndim, contiguity=True, dtype=dtype)
        fd.add_output(fd.ops.add(a, b))
    return fd


def small_inputs(rows=3, cols=4):
    x = np.arange(rows * cols, dtype=np.float32).reshape(rows, cols) / 10
    b = np.arange(cols, dtype=np.float32) / 7
    return x, b


def reference(x, b):
    y = np.tanh(x + b[None, :]) * 0.5
    return y, y.sum(axis=1)


def check_small(outs, x, b):
    y, r = reference(x, b)
    assert len(outs) == 2, outs
    np.testing.assert_allclose(outs[0], y, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(outs[1], r, rtol=1e-5, atol=1e-5)


def collect():
    for _ in range(3):
        gc.collect()


__all__ = ["cfuser", "np", "DataType", "FusionDefinition", "small_fusion", "add_fusion",
           "small_inputs", "reference", "check_small", "collect"]
