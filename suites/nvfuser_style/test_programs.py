"""Programs written the way nvFuser's direct tests are, run with
``import cfuser as nvfuser_direct``; references from eager torch."""
from __future__ import annotations

import pytest
import torch

import cfuser as nvfuser_direct
from cfuser import DataType, FusionDefinition

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"  # as the conftest chooses
torch_dtype_to_nvfuser_dtype = nvfuser_direct.pytorch_utils.torch_dtype_to_nvfuser_dtype


def test_basic(nvfuser_direct_test):
    inputs = [torch.ones(2, 4, 8, device=DEVICE), torch.ones(2, 4, 8, device=DEVICE)]

    def fusion_func(fd: FusionDefinition):
        t0 = fd.from_pytorch(inputs[0])
        t1 = fd.from_pytorch(inputs[1])
        c0 = fd.define_scalar(3.0)
        t2 = fd.ops.add(t0, t1)
        t3 = fd.ops.mul(t2, c0)
        t4 = fd.ops.sum(t3, [-1], False, DataType.Float)
        fd.add_output(t4)

    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    nvfuser_direct_test.assertEqual(torch.sum((inputs[0] + inputs[1]) * 3.0, dim=-1), nvf_out[0])


def test_basic_fp16(nvfuser_direct_test):
    inputs = [torch.ones(2, 4, 8, device=DEVICE, dtype=torch.float16)] * 2

    def fusion_func(fd: FusionDefinition):
        t0 = fd.from_pytorch(inputs[0])
        t1 = fd.from_pytorch(inputs[1])
        t3 = fd.ops.mul(fd.ops.add(t0, t1), fd.define_scalar(3.0))
        t4 = fd.ops.sum(t3, [-1], False, DataType.Float)
        fd.add_output(fd.ops.cast(t4, DataType.Half))

    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    nvfuser_direct_test.assertEqual(torch.sum((inputs[0] + inputs[1]) * 3.0, dim=-1), nvf_out[0])


def test_cast_scalar(nvfuser_direct_test):
    inputs = [torch.ones(2, 4, 8, device=DEVICE, dtype=torch.int32)] * 2

    def fusion_func(fd: FusionDefinition):
        t0 = fd.from_pytorch(inputs[0])
        t1 = fd.from_pytorch(inputs[1])
        c1 = fd.ops.cast(fd.define_scalar(3.0), DataType.Int32)
        t3 = fd.ops.mul(fd.ops.add(t0, t1), c1)
        fd.add_output(fd.ops.sum(t3, [-1], False, DataType.Int32))

    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    eager = torch.sum((inputs[0] + inputs[1]) * 3, dim=-1, dtype=torch.int32)
    nvfuser_direct_test.assertEqual(eager, nvf_out[0])


def test_cast_double_to_half(nvfuser_direct_test):
    inputs = [torch.randn(2, 4, device=DEVICE, dtype=torch.float64) for _ in range(2)]

    def fusion_func(fd: FusionDefinition):
        t0h = fd.ops.cast(fd.from_pytorch(inputs[0]), DataType.Half)
        t1h = fd.ops.cast(fd.from_pytorch(inputs[1]), DataType.Half)
        fd.add_output(fd.ops.cast(fd.ops.relu(fd.ops.add(t0h, t1h)), DataType.Half))

    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    nvfuser_direct_test.assertEqual(torch.relu(inputs[0].half() + inputs[1].half()), nvf_out[0])


def test_promote_to_double(nvfuser_direct_test):
    inputs = [torch.randn(2, 4, device=DEVICE, dtype=torch.float16),
              torch.randn(2, 4, device=DEVICE, dtype=torch.float64)]

    def fusion_func(fd: FusionDefinition):
        fd.add_output(fd.ops.relu(fd.ops.add(fd.from_pytorch(inputs[0]), fd.from_pytorch(inputs[1]))))

    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    nvfuser_direct_test.assertEqual(torch.relu(inputs[0] + inputs[1]), nvf_out[0])


def test_broadcast_in_dim(nvfuser_direct_test):
    inputs = [torch.randn(3, device=DEVICE), torch.randn(2, 3, 4, device=DEVICE)]

    def fusion_func(fd: FusionDefinition):
        t0 = fd.from_pytorch(inputs[0])
        t1 = fd.from_pytorch(inputs[1])
        t0_b = fd.ops.broadcast_in_dim(t0, shape=t1.shape(), broadcast_dims=[1])
        fd.add_output(fd.ops.add(t0_b, t1))

    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    nvfuser_direct_test.assertEqual(inputs[0][None, :, None] + inputs[1], nvf_out[0])


def test_broadcast_with_sizes_of_another_tensor(nvfuser_direct_test):
    inputs = [torch.randn(5, device=DEVICE), torch.randn(5, 7, device=DEVICE)]

    def fusion_func(fd: FusionDefinition):
        b = fd.from_pytorch(inputs[0])
        t = fd.from_pytorch(inputs[1])
        col = fd.ops.broadcast_in_dim(b, shape=[t.size(0), 1], broadcast_dims=[0])
        fd.add_output(fd.ops.mul(fd.ops.add(t, col), fd.ops.reciprocal(t.size(1))))

    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    nvfuser_direct_test.assertEqual((inputs[1] + inputs[0][:, None]) / 7, nvf_out[0])


def test_softmax(nvfuser_direct_test):
    inputs = [torch.randn(8, 33, device=DEVICE)]

    def fusion_func(fd: FusionDefinition):
        t0 = fd.from_pytorch(inputs[0])
        m = fd.ops.max(t0, dims=[1], keepdim=True)
        e = fd.ops.exp(fd.ops.sub(t0, m))
        s = fd.ops.sum(e, dims=[1], keepdim=True)
        fd.add_output(fd.ops.div(e, s))

    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    nvfuser_direct_test.assertEqual(torch.softmax(inputs[0], dim=1), nvf_out[0])


def test_layer_norm_like(nvfuser_direct_test):
    inputs = [torch.randn(4, 64, device=DEVICE), torch.randn(64, device=DEVICE), torch.randn(64, device=DEVICE)]

    def fusion_func(fd: FusionDefinition):
        x = fd.from_pytorch(inputs[0])
        w = fd.from_pytorch(inputs[1])
        b = fd.from_pytorch(inputs[2])
        var, mean = fd.ops.var_mean(x, dims=[1], correction=0, keepdim=False)
        shape = x.shape()
        mean_b = fd.ops.broadcast_in_dim(mean, shape=shape, broadcast_dims=[0])
        rstd = fd.ops.rsqrt(fd.ops.add(var, fd.define_scalar(1e-5)))
        rstd_b = fd.ops.broadcast_in_dim(rstd, shape=shape, broadcast_dims=[0])
        y = fd.ops.mul(fd.ops.sub(x, mean_b), rstd_b)
        y = fd.ops.add(fd.ops.mul(y, fd.ops.broadcast_in_dim(w, shape=shape, broadcast_dims=[1])),
                       fd.ops.broadcast_in_dim(b, shape=shape, broadcast_dims=[1]))
        fd.add_output(y)
        fd.add_output(mean)

    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    eager = torch.nn.functional.layer_norm(inputs[0], [64], inputs[1], inputs[2])
    nvfuser_direct_test.assertEqual(eager, nvf_out[0])
    nvfuser_direct_test.assertEqual(inputs[0].mean(1), nvf_out[1])


def test_gelu_tanh(nvfuser_direct_test):
    inputs = [torch.randn(16, 16, device=DEVICE, dtype=torch.bfloat16)]

    def fusion_func(fd: FusionDefinition):
        x = fd.ops.cast(fd.from_pytorch(inputs[0]), DataType.Float)
        inner = fd.ops.mul(fd.ops.add(x, fd.ops.mul(fd.ops.mul(fd.ops.mul(x, x), x), 0.044715)), 0.7978845608028654)
        y = fd.ops.mul(fd.ops.mul(x, 0.5), fd.ops.add(fd.ops.tanh(inner), 1.0))
        fd.add_output(fd.ops.cast(y, DataType.BFloat16))

    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    eager = torch.nn.functional.gelu(inputs[0].float(), approximate="tanh").bfloat16()
    nvfuser_direct_test.assertEqual(eager, nvf_out[0])


def test_where_and_comparisons(nvfuser_direct_test):
    inputs = [torch.randn(6, 5, device=DEVICE), torch.randn(6, 5, device=DEVICE)]

    def fusion_func(fd: FusionDefinition):
        a = fd.from_pytorch(inputs[0])
        b = fd.from_pytorch(inputs[1])
        fd.add_output(fd.ops.where(fd.ops.gt(a, b), a, b))
        fd.add_output(fd.ops.logical_and(fd.ops.ge(a, 0.0), fd.ops.lt(b, 0.0)))

    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    nvfuser_direct_test.assertEqual(torch.maximum(inputs[0], inputs[1]), nvf_out[0])
    nvfuser_direct_test.assertEqual((inputs[0] >= 0) & (inputs[1] < 0), nvf_out[1])


def test_symbolic_scalar_input(nvfuser_direct_test):
    inputs = [torch.randn(3, 4, device=DEVICE), 2.5]

    def fusion_func(fd: FusionDefinition):
        t0 = fd.from_pytorch(inputs[0])
        s = fd.define_scalar(dtype=DataType.Double)
        fd.add_output(fd.ops.mul(t0, s))

    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    nvfuser_direct_test.assertEqual(inputs[0] * 2.5, nvf_out[0])


def test_static_sizes(nvfuser_direct_test):
    inputs = [torch.randn(3, 4, device=DEVICE)]

    def fusion_func(fd: FusionDefinition):
        t0 = fd.from_pytorch(inputs[0], static_sizes=True)
        fd.add_output(fd.ops.sum(fd.ops.abs(t0), dims=[0, 1]))

    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    nvfuser_direct_test.assertEqual(inputs[0].abs().sum(), nvf_out[0])


def test_define_tensor_with_stride_order(nvfuser_direct_test):
    inputs = [torch.randn(4, 8, 6, device=DEVICE).permute(2, 0, 1)]

    def fusion_func(fd: FusionDefinition):
        t0 = fd.define_tensor(shape=[-1, -1, -1], contiguity=[True, True, True], dtype=DataType.Float,
                              is_cpu=False, stride_order=[0, 2, 1])
        fd.add_output(fd.ops.mul(t0, 2.0))

    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    nvfuser_direct_test.assertEqual(inputs[0] * 2.0, nvf_out[0])


def test_permute_and_reshape(nvfuser_direct_test):
    inputs = [torch.randn(2, 3, 4, device=DEVICE)]

    def fusion_func(fd: FusionDefinition):
        t0 = fd.from_pytorch(inputs[0])
        t1 = fd.ops.reshape(t0, [2, 12])
        t2 = fd.ops.permute(fd.ops.neg(t1), dims=[1, 0])
        fd.add_output(fd.ops.add(t2, 1.0))

    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    nvfuser_direct_test.assertEqual((-inputs[0].reshape(2, 12)).t() + 1.0, nvf_out[0])


def test_reshape_to_sizes_of_the_input(nvfuser_direct_test):
    inputs = [torch.randn(3, 5, device=DEVICE)]

    def fusion_func(fd: FusionDefinition):
        t0 = fd.from_pytorch(inputs[0])
        fd.add_output(fd.ops.reshape(t0, [t0.size(1), t0.size(0)]))

    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    nvfuser_direct_test.assertEqual(inputs[0].reshape(5, 3), nvf_out[0])


def test_dynamic_reshape_with_scalar_inputs(nvfuser_direct_test):
    inputs = [torch.rand(3, 4, device=DEVICE), 2, 2]

    def fusion_func(fd: FusionDefinition) -> None:
        x = fd.define_tensor([-1, -1], [True, True])
        d0 = x.size(0)
        d1 = fd.define_scalar(dtype=DataType.Int)
        d2 = fd.define_scalar(dtype=DataType.Int)
        fd.add_output(fd.ops.reshape(x, [d0, d1, d2]))

    ys, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    nvfuser_direct_test.assertEqual(ys[0].shape, torch.Size([3, 2, 2]))
    nvfuser_direct_test.assertEqual(inputs[0].flatten(), ys[0].flatten())


def test_integer_ops(nvfuser_direct_test):
    inputs = [torch.randint(-50, 50, (5, 6), device=DEVICE), torch.randint(1, 9, (5, 6), device=DEVICE)]

    def fusion_func(fd: FusionDefinition):
        a = fd.from_pytorch(inputs[0])
        b = fd.from_pytorch(inputs[1])
        fd.add_output(fd.ops.bitwise_and(a, b))
        fd.add_output(fd.ops.sum(fd.ops.mul(a, b), dims=[1]))

    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    nvfuser_direct_test.assertEqual(inputs[0] & inputs[1], nvf_out[0])
    nvfuser_direct_test.assertEqual((inputs[0] * inputs[1]).sum(1), nvf_out[1])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16, torch.float64])
def test_dtype_round_trip_through_pytorch_utils(nvfuser_direct_test, dtype):
    inputs = [torch.randn(4, 4, device=DEVICE).to(dtype)]

    def fusion_func(fd: FusionDefinition) -> None:
        t0 = fd.from_pytorch(inputs[0])
        t1 = fd.ops.cast(t0, dtype=DataType.Float)
        t2 = fd.ops.mul(fd.ops.sigmoid(t1), t1)
        fd.add_output(fd.ops.cast(t2, dtype=torch_dtype_to_nvfuser_dtype(dtype)))

    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    nvfuser_direct_test.assertEqual(torch.nn.functional.silu(inputs[0].float()).to(dtype), nvf_out[0])


def test_validate_and_execute_device(nvfuser_direct_test):
    inputs = [torch.randn(3, 3, device=DEVICE)]
    with FusionDefinition() as fd:
        t0 = fd.from_pytorch(inputs[0])
        fd.add_output(fd.ops.exp(t0))
    fd.validate(inputs)
    fd.validate(inputs, [torch.exp(inputs[0])])
    (out,) = fd.execute(inputs, device=torch.device(DEVICE))
    nvfuser_direct_test.assertEqual(torch.exp(inputs[0]), out)
    assert fd.fec.fusion() is fd.fusion


def test_cpu_scalar_tensor(nvfuser_direct_test):
    inputs = [torch.tensor(3.0, dtype=torch.float64)]

    def fusion_func(fd: FusionDefinition):
        s = fd.from_pytorch(inputs[0])
        fd.add_output(fd.ops.mul(s, s))

    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    nvfuser_direct_test.assertEqual(torch.tensor(9.0, dtype=torch.float64), nvf_out[0])


def test_version_and_device_properties():
    assert nvfuser_direct.version() >= "0.0.1"
    props = nvfuser_direct.pytorch_utils.DEVICE_PROPERTIES
    assert (props["gpu_sm_count"] is not None) == torch.cuda.is_available()


def test_output_strides_match_torch(nvfuser_direct_test):
    inputs = [torch.randn(4, 6, device=DEVICE), torch.randn(6, device=DEVICE)]

    def fusion_func(fd: FusionDefinition):
        t0 = fd.from_pytorch(inputs[0])
        t1 = fd.from_pytorch(inputs[1])
        fd.add_output(fd.ops.add(t0, fd.ops.broadcast_in_dim(t1, shape=t0.shape(), broadcast_dims=[1])))
        fd.add_output(fd.ops.sum(t0, dims=[0]))

    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    refs = [inputs[0] + inputs[1], inputs[0].sum(0)]
    for ref, out in zip(refs, nvf_out):
        nvfuser_direct_test.assertEqual(ref, out)
        assert ref.stride() == out.stride()


def test_permuted_output_strides_match_torch(nvfuser_direct_test):
    inputs = [torch.randn(4, 6, device=DEVICE)]

    def fusion_func(fd: FusionDefinition):
        fd.add_output(fd.ops.permute(fd.ops.neg(fd.from_pytorch(inputs[0])), dims=[1, 0]))

    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    ref = (-inputs[0]).permute(1, 0)
    nvfuser_direct_test.assertEqual(ref, nvf_out[0])
    assert ref.stride() == nvf_out[0].stride()


def test_execute_with_tuple_and_list(nvfuser_direct_test):
    tensor = torch.randn(2, 3, 4, device=DEVICE)
    new_shape = [6, 4]

    def fusion_func(fd: FusionDefinition):
        t0 = fd.from_pytorch(tensor)
        n_shape = fd.define_vector(2)
        fd.add_output(fd.ops.sum(fd.ops.reshape(t0, n_shape), dims=[0]))

    eager = torch.sum(tensor.reshape(new_shape), dim=0)
    for inputs in ([tensor, new_shape], [tensor, tuple(new_shape)]):
        nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
        nvfuser_direct_test.assertEqual(eager, nvf_out[0])
