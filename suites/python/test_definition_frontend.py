"""FusionDefinition's nvFuser surface: from_pytorch, fec, validate, execute(device=, profile=)."""

from __future__ import annotations

import pytest
import torch

from conftest import cfuser

from cfuser import DataType, FusionDefinition
from cfuser._layout import tensor_layout


def _define(x, static=False):
    with FusionDefinition() as fd:
        t = fd.from_pytorch(x, static_sizes=static)
        fd.add_output(fd.ops.add(t, t))
    return fd, t


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int32,
                                   torch.int64, torch.bool])
def test_from_pytorch_reads_dtype_and_runs(dtype):
    x = (torch.arange(12).reshape(3, 4) % 5).to(dtype)
    fd, t = _define(x)
    assert t.dtype() is cfuser.pytorch_utils.torch_dtype_to_nvfuser_dtype(dtype)
    (out,) = fd.execute([x])
    assert torch.equal(out, x + x)


def test_from_pytorch_symbolic_sizes_take_other_shapes():
    fd, t = _define(torch.ones(2, 3))
    assert [s.value() for s in t.shape()] == [None, None]
    (out,) = fd.execute([torch.ones(5, 7)])
    assert out.shape == (5, 7)


def test_from_pytorch_size_one_axes_broadcast():
    fd, t = _define(torch.ones(1, 3))
    assert [s.value() for s in t.shape()] == [1, None]
    assert t.axis(0).is_broadcast() and not t.axis(1).is_broadcast()


def test_from_pytorch_static_sizes_are_fixed():
    fd, t = _define(torch.ones(2, 3), static=True)
    assert [s.value() for s in t.shape()] == [2, 3]
    fd.execute([torch.ones(2, 3)])
    with pytest.raises(ValueError):
        fd.execute([torch.ones(2, 4)])


def test_from_pytorch_zero_dim_cpu_tensor_is_a_cpu_scalar():
    s = torch.tensor(2.5, dtype=torch.float64)
    with FusionDefinition() as fd:
        t = fd.from_pytorch(s)
        fd.add_output(fd.ops.mul(t, t))
    assert t.ndim == 0 and t.dtype() is DataType.Double
    (out,) = fd.execute([s])
    assert float(out) == 6.25


def test_from_pytorch_rejects_what_is_not_a_tensor():
    with FusionDefinition() as fd:
        with pytest.raises(TypeError, match="torch.Tensor"):
            fd.from_pytorch([1, 2, 3])
        with pytest.raises(TypeError, match="no DataType"):
            fd.from_pytorch(torch.ones(2, dtype=torch.uint8))


@pytest.mark.parametrize(
    "sizes,strides,shape,contig,order",
    [
        ([2, 3], [3, 1], [-1, -1], [True, True], None),
        ([2, 3], [1, 2], [-1, -1], [True, True], [0, 1]),  # transposed
        ([2, 3], [6, 2], [-1, -1], [True, False], None),  # every other column: the rows are dense over it
        ([1, 3], [3, 1], [1, -1], [None, True], None),
        ([4, 2, 3], [1, 12, 4], [-1, -1, -1], [True, True, True], [0, 2, 1]),
        ([], [], [], [], None),
    ],
)
def test_layout_from_sizes_and_strides(sizes, strides, shape, contig, order):
    assert tensor_layout(sizes, strides, False) == (shape, contig, order)
    assert tensor_layout(sizes, strides, True)[0] == sizes


def test_from_pytorch_of_a_permuted_tensor_runs():
    x = torch.randn(4, 2, 3).permute(1, 2, 0)
    fd, _ = _define(x)
    (out,) = fd.execute([x])
    torch.testing.assert_close(out, x + x)


def test_fec_is_the_cache_execute_uses():
    fd, _ = _define(torch.ones(2))
    fec = fd.fec
    assert isinstance(fec, cfuser.FusionExecutorCache)
    assert fec.fusion() is fd.fusion
    fd.execute([torch.ones(2)])
    assert fd.fec is fec and fec.num_kernels() == 1


@pytest.mark.parametrize("device", [None, "cpu", torch.device("cpu")])
def test_execute_device_forms(device):
    fd, _ = _define(torch.ones(3))
    (out,) = fd.execute([torch.ones(3)], device=device)
    assert out.device.type == "cpu" and torch.equal(out, torch.full((3,), 2.0))


def test_execute_device_cuda_without_cuda_inputs_is_refused():
    fd, _ = _define(torch.ones(3))
    with pytest.raises(cfuser.Error):
        fd.execute([torch.ones(3)], device=torch.device("cuda", 0))


@pytest.mark.parametrize("bad", [1.5, object(), [0]])
def test_execute_device_of_other_types_is_a_type_error(bad):
    fd, _ = _define(torch.ones(3))
    with pytest.raises(TypeError, match="device"):
        fd.execute([torch.ones(3)], device=bad)


def test_execute_profile():
    fd, _ = _define(torch.ones(3))
    assert len(fd.execute([torch.ones(3)], profile=False)) == 1
    with pytest.raises(cfuser.UnsupportedError, match="profile"):
        fd.execute([torch.ones(3)], profile=True)
    with pytest.raises(TypeError, match="profile"):
        fd.execute([torch.ones(3)], profile="yes")


def _softmaxish():
    with FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=DataType.Float)
        e = fd.ops.exp(x)
        s = fd.ops.sum(e, dims=[1])
        fd.add_output(fd.ops.div(e, fd.ops.broadcast_in_dim(s, shape=x.shape(), broadcast_dims=[0])))
        fd.add_output(fd.ops.gt(x, 0.0))
    return fd


def test_validate_against_given_references():
    fd = _softmaxish()
    x = torch.randn(4, 9)
    fd.validate([x], [torch.softmax(x, dim=1), x > 0])


def test_validate_without_references_runs_the_cpu_reference():
    fd = _softmaxish()
    fd.validate([torch.randn(4, 9)])


def test_validate_names_the_output_that_differs():
    fd = _softmaxish()
    x = torch.randn(4, 9)
    with pytest.raises(AssertionError, match=r"output 0 \(float32.*1 of 36 elements"):
        ref = torch.softmax(x, dim=1)
        ref[2, 3] += 0.01
        fd.validate([x], [ref, x > 0])
    with pytest.raises(AssertionError, match=r"output 1 \(bool"):
        fd.validate([x], [torch.softmax(x, dim=1), x >= 0.5])
    with pytest.raises(AssertionError, match="shape"):
        fd.validate([x], [torch.softmax(x, dim=1)[:2], x > 0])
    with pytest.raises(AssertionError, match="2 outputs but 1 references"):
        fd.validate([x], [x])


def test_validate_tolerances_can_be_widened():
    fd = _softmaxish()
    x = torch.randn(4, 9)
    ref = torch.softmax(x, dim=1) + 1e-3
    with pytest.raises(AssertionError):
        fd.validate([x], [ref, x > 0])
    fd.validate([x], [ref, x > 0], atol=1e-2, rtol=0.0)


def test_validate_nan_matches_nan():
    with FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=DataType.Float)
        fd.add_output(fd.ops.log(x))
    x = torch.tensor([-1.0, 0.0, 1.0])
    fd.validate([x], [torch.log(x)])
    with pytest.raises(AssertionError):
        fd.validate([x], [torch.zeros(3)])


def test_define_vector_takes_a_list_or_tuple_at_execute():
    with FusionDefinition() as fd:
        t = fd.define_tensor(shape=[-1, -1, -1])
        shape = fd.define_vector(2)
        assert len(shape) == 2 and all(s.dtype() is DataType.Int and s.value() is None for s in shape)
        fd.add_output(fd.ops.sum(fd.ops.reshape(t, shape), dims=[0]))
    x = torch.randn(2, 3, 4)
    for target in ([6, 4], (6, 4)):
        (out,) = fd.execute([x, target])
        torch.testing.assert_close(out, x.reshape(6, 4).sum(0))
    (out,) = fd.execute([x, [3, 8]])
    assert out.shape == (8,)


@pytest.mark.parametrize("bad,err", [(-1, ValueError), (1.0, TypeError), (True, TypeError)])
def test_define_vector_size_is_checked(bad, err):
    with FusionDefinition() as fd:
        with pytest.raises(err, match="size"):
            fd.define_vector(bad)
