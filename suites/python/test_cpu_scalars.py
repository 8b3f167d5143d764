"""0-dim tensors as nvFuser uses them: CPU scalar tensors (``is_cpu=True``,
``fd.from_pytorch(torch.tensor(2.0))``) meet tensors of any rank in
elementwise ops, promote as torch.result_type's middle tier (tensors with
dims, then 0-dim tensors, then Python numbers), and print and hash with
their ``is_cpu`` flag. On a CUDA run their value is copied to the device
(suites/gpu/test_cuda_python.py)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from conftest import cfuser

DataType = cfuser.DataType
FusionDefinition = cfuser.FusionDefinition

DTYPES = [torch.bool, torch.int32, torch.int64, torch.float16, torch.bfloat16, torch.float32, torch.float64]


def _value(dtype, shape):
    if dtype == torch.bool:
        return torch.rand(shape) > 0.5
    if not dtype.is_floating_point:
        return torch.randint(1, 5, shape, dtype=dtype)
    return (torch.rand(shape) + 0.5).to(dtype)


@pytest.mark.parametrize("td, sd", list(itertools.product(DTYPES, DTYPES)))
def test_a_zero_dim_tensor_promotes_as_torchs_middle_tier(td, sd):
    x, s = _value(td, (3, 4)), _value(sd, ())
    with FusionDefinition() as fd:
        a = fd.from_pytorch(x)
        b = fd.from_pytorch(s)
        fd.add_output(fd.ops.mul(a, b))
        fd.add_output(fd.ops.add(b, a))
        fd.add_output(fd.ops.mul(b, 2.5))  # a 0-dim tensor over a Python float
    outs = fd.execute([x, s])
    for out, ref in zip(outs, [x * s, s + x, s * 2.5]):
        assert out.dtype == ref.dtype, (out.dtype, ref.dtype)
        assert out.shape == ref.shape
        torch.testing.assert_close(out, ref, rtol=1e-2, atol=1e-2)


def test_a_zero_dim_tensor_in_ternary_ops_and_chains():
    x, lo, hi = torch.randn(2, 3, 5), torch.tensor(-0.5), torch.tensor(0.25)
    with FusionDefinition() as fd:
        t = fd.from_pytorch(x)
        a, b = fd.from_pytorch(lo), fd.from_pytorch(hi)
        fd.add_output(fd.ops.where(fd.ops.gt(t, b), a, t))
        fd.add_output(fd.ops.lerp(t, fd.ops.exp(t), a))
        fd.add_output(fd.ops.sum(fd.ops.mul(t, fd.ops.add(a, b)), [1]))
    o1, o2, o3 = fd.execute([x, lo, hi])
    torch.testing.assert_close(o1, torch.where(x > hi, lo, x))
    torch.testing.assert_close(o2, torch.lerp(x, x.exp(), lo))
    torch.testing.assert_close(o3, (x * (lo + hi)).sum(1))


def test_is_cpu_prints_and_round_trips():
    s, x = torch.tensor(2.0), torch.randn(3)
    with FusionDefinition() as fd:
        t0 = fd.from_pytorch(s)
        t1 = fd.from_pytorch(x)
        fd.add_output(fd.ops.add(t0, t1))
    text = repr(fd)
    assert "tv0 = fd.define_tensor(shape=[], contiguity=[], dtype=DataType.Float, is_cpu=True)" in text
    assert "tv1 = fd.define_tensor(shape=[-1], contiguity=[True], dtype=DataType.Float, is_cpu=False)" in text
    ns: dict = {}
    exec(text, {"DataType": DataType}, ns)
    with FusionDefinition() as fd2:
        ns["nvfuser_fusion"](fd2)
    assert fd2.fusion.structurally_equal(fd.fusion) and repr(fd2) == text
    torch.testing.assert_close(fd2.execute([s, x])[0], x + 2.0)


def test_is_cpu_is_part_of_the_structure():
    def build(is_cpu):
        with FusionDefinition() as fd:
            t = fd.define_tensor(shape=[], dtype=DataType.Float, is_cpu=is_cpu)
            fd.add_output(fd.ops.neg(t))
        return fd.fusion

    assert not build(True).structurally_equal(build(False))
    assert build(True).structural_hash() != build(False).structural_hash()
    assert build(True).structurally_equal(build(True))


@pytest.mark.parametrize("shape", [[-1], [1], [2, 3]])
def test_is_cpu_with_dims_is_refused_and_defines_nothing(shape):
    with FusionDefinition() as fd:
        before = len(fd.fusion.vals())
        with pytest.raises(cfuser.InvalidArgumentError, match="is_cpu=True is for 0-dim tensors"):
            fd.define_tensor(shape=shape, dtype=DataType.Float, is_cpu=True)
        assert len(fd.fusion.vals()) == before and len(fd.fusion.inputs()) == 0


def test_is_cpu_must_be_a_bool():
    with FusionDefinition() as fd:
        with pytest.raises(TypeError, match="'is_cpu' must be bool"):
            fd.define_tensor(shape=[], dtype=DataType.Float, is_cpu="yes")


def test_zero_dim_numpy_and_torch_inputs_run_with_any_rank():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    s = np.array(4.0, dtype=np.float32)
    with FusionDefinition() as fd:
        a = fd.define_tensor(shape=[-1, -1], dtype=DataType.Float)
        b = fd.define_tensor(shape=[], dtype=DataType.Float, is_cpu=True)
        fd.add_output(fd.ops.sub(a, b))
    np.testing.assert_array_equal(fd.execute([x, s])[0], x - 4.0)


def test_ranks_that_differ_without_a_zero_dim_tensor_still_say_so():
    with FusionDefinition() as fd:
        a = fd.define_tensor(shape=[-1, -1], dtype=DataType.Float)
        b = fd.define_tensor(shape=[-1], dtype=DataType.Float)
        with pytest.raises(cfuser.InvalidArgumentError, match="different ranks"):
            fd.ops.add(a, b)
