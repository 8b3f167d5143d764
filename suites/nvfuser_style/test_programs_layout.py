"""More programs in nvFuser's direct-test style: layouts and strides,
normalizations, casts, shape ops, printed definitions, size arithmetic.
Each runs through the conftest's exec_nvfuser (run, replay of repr(fd),
LRUCache twice, strides compared with the replay)."""
from __future__ import annotations

import pytest
import torch

import cfuser as nvfuser_direct
from cfuser import DataType, FusionDefinition

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


def test_channels_last_pointwise_keeps_the_layout(nvfuser_direct_test):
    inputs = [torch.randn(2, 3, 8, 5, device=DEVICE).to(memory_format=torch.channels_last)]

    def fusion_func(fd: FusionDefinition):
        t0 = fd.from_pytorch(inputs[0])
        fd.add_output(fd.ops.mul(fd.ops.relu(t0), 2.0))

    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    eager = torch.relu(inputs[0]) * 2.0
    nvfuser_direct_test.assertEqual(eager, nvf_out[0])
    assert eager.stride() == nvf_out[0].stride()


def test_define_tensor_with_contiguity_and_stride_order(nvfuser_direct_test):
    inputs = [torch.randn(6, 4, device=DEVICE).t(), torch.randn(4, 6, device=DEVICE)]

    def fusion_func(fd: FusionDefinition):
        t0 = fd.define_tensor(shape=[-1, -1], contiguity=[True, True], dtype=DataType.Float,
                              is_cpu=False, stride_order=[0, 1])
        t1 = fd.define_tensor(shape=[-1, -1], contiguity=[True, True], dtype=DataType.Float, is_cpu=False)
        fd.add_output(fd.ops.add(t0, t1))
        fd.add_output(fd.ops.sub(t1, t0))

    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    for out, ref in zip(nvf_out, [inputs[0] + inputs[1], inputs[1] - inputs[0]]):
        nvfuser_direct_test.assertEqual(ref, out)
        assert ref.stride() == out.stride()


def test_stride_order_op(nvfuser_direct_test):
    inputs = [torch.randn(3, 4, 5, device=DEVICE)]

    def fusion_func(fd: FusionDefinition):
        t0 = fd.from_pytorch(inputs[0])
        t1 = fd.ops.stride_order(fd.ops.exp(t0), [0, 1, 2])
        fd.add_output(t1)

    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    nvfuser_direct_test.assertEqual(inputs[0].exp(), nvf_out[0])
    assert nvf_out[0].stride() == (1, 3, 12)


def test_permute_split_heads(nvfuser_direct_test):
    batch, seq, heads, dim = 2, 5, 3, 4
    inputs = [torch.randn(batch, seq, heads * dim, device=DEVICE)]

    def fusion_func(fd: FusionDefinition):
        t0 = fd.from_pytorch(inputs[0])
        t1 = fd.ops.reshape(t0, [batch, seq, heads, dim])
        t2 = fd.ops.permute(t1, dims=[0, 2, 1, 3])
        fd.add_output(fd.ops.mul(t2, 0.5))

    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    eager = inputs[0].reshape(batch, seq, heads, dim).permute(0, 2, 1, 3) * 0.5
    nvfuser_direct_test.assertEqual(eager, nvf_out[0])


def test_permute_output_is_a_permuted_layout(nvfuser_direct_test):
    inputs = [torch.randn(3, 5, 7, device=DEVICE)]

    def fusion_func(fd: FusionDefinition):
        t0 = fd.from_pytorch(inputs[0])
        fd.add_output(fd.ops.permute(fd.ops.sigmoid(t0), dims=[2, 0, 1]))

    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    eager = torch.sigmoid(inputs[0]).permute(2, 0, 1)
    nvfuser_direct_test.assertEqual(eager, nvf_out[0])
    assert eager.stride() == nvf_out[0].stride()


def test_batch_norm_like_with_keepdim(nvfuser_direct_test):
    inputs = [torch.randn(8, 6, 5, device=DEVICE), torch.randn(6, device=DEVICE)]

    def fusion_func(fd: FusionDefinition):
        x = fd.from_pytorch(inputs[0])
        w = fd.from_pytorch(inputs[1])
        var, mean = fd.ops.var_mean(x, dims=[0, 2], correction=0, keepdim=True)
        y = fd.ops.mul(fd.ops.sub(x, mean), fd.ops.rsqrt(fd.ops.add(var, 1e-5)))
        fd.add_output(fd.ops.mul(y, fd.ops.broadcast_in_dim(w, shape=x.shape(), broadcast_dims=[1])))

    nvf_out, fd = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    eager = torch.nn.functional.batch_norm(inputs[0], None, None, inputs[1], None, training=True, eps=1e-5)
    nvfuser_direct_test.assertEqual(eager, nvf_out[0])
    assert "keepdim=True" in repr(fd)


def test_rms_norm_bf16(nvfuser_direct_test):
    inputs = [torch.randn(4, 32, device=DEVICE, dtype=torch.bfloat16),
              torch.randn(32, device=DEVICE, dtype=torch.bfloat16)]

    def fusion_func(fd: FusionDefinition):
        x = fd.ops.cast(fd.from_pytorch(inputs[0]), DataType.Float)
        w = fd.ops.cast(fd.from_pytorch(inputs[1]), DataType.Float)
        ms = fd.ops.sum(fd.ops.mul(x, x), dims=[1], keepdim=True)
        rms = fd.ops.rsqrt(fd.ops.add(fd.ops.div(ms, 32.0), 1e-6))
        y = fd.ops.mul(fd.ops.mul(x, rms), fd.ops.broadcast_in_dim(w, shape=x.shape(), broadcast_dims=[1]))
        fd.add_output(fd.ops.cast(y, DataType.BFloat16))

    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    x = inputs[0].float()
    eager = (x * torch.rsqrt((x * x).mean(1, keepdim=True) + 1e-6) * inputs[1].float()).bfloat16()
    nvfuser_direct_test.assertEqual(eager, nvf_out[0])


def test_half_softmax_with_scalar_constants(nvfuser_direct_test):
    inputs = [torch.randn(6, 40, device=DEVICE, dtype=torch.float16)]

    def fusion_func(fd: FusionDefinition):
        t0 = fd.from_pytorch(inputs[0])
        t1 = fd.ops.mul(t0, 0.125)  # a Half tensor meets a Python float
        m = fd.ops.max(t1, dims=[1], keepdim=True)
        e = fd.ops.exp(fd.ops.cast(fd.ops.sub(t1, m), DataType.Float))
        s = fd.ops.sum(e, dims=[1], keepdim=True)
        fd.add_output(fd.ops.cast(fd.ops.div(e, s), DataType.Half))

    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    eager = torch.softmax((inputs[0] * 0.125).float(), dim=1).half()
    nvfuser_direct_test.assertEqual(eager, nvf_out[0])


def test_reduction_dtype_argument(nvfuser_direct_test):
    inputs = [torch.randint(-5, 5, (7, 9), device=DEVICE, dtype=torch.int32)]

    def fusion_func(fd: FusionDefinition):
        t0 = fd.from_pytorch(inputs[0])
        fd.add_output(fd.ops.sum(t0, dims=[1]))  # int32 sums to int64, as torch
        fd.add_output(fd.ops.sum(t0, dims=[0], dtype=DataType.Float))
        fd.add_output(fd.ops.max(t0, dims=[0, 1]))

    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    nvfuser_direct_test.assertEqual(inputs[0].sum(1), nvf_out[0])
    nvfuser_direct_test.assertEqual(inputs[0].float().sum(0), nvf_out[1])
    nvfuser_direct_test.assertEqual(inputs[0].max(), nvf_out[2])
    assert nvf_out[0].dtype == torch.int64 and nvf_out[1].dtype == torch.float32


def test_expand_and_broadcast(nvfuser_direct_test):
    inputs = [torch.randn(1, 5, device=DEVICE), torch.randn(4, 5, device=DEVICE)]

    def fusion_func(fd: FusionDefinition):
        t0 = fd.from_pytorch(inputs[0])
        t1 = fd.from_pytorch(inputs[1])
        t2 = fd.ops.expand(t0, [4, -1])
        t3 = fd.ops.broadcast(fd.ops.sum(t1, dims=[1]), [False, True])
        fd.add_output(fd.ops.add(t2, t3))

    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    nvfuser_direct_test.assertEqual(inputs[0].expand(4, 5) + inputs[1].sum(1, keepdim=True), nvf_out[0])


def test_sizes_from_scalar_arithmetic(nvfuser_direct_test):
    inputs = [torch.randn(4, 6, device=DEVICE)]

    def fusion_func(fd: FusionDefinition):
        t0 = fd.from_pytorch(inputs[0])
        n = fd.ops.mul(t0.size(0), t0.size(1))
        half = fd.ops.div(n, 2)
        fd.add_output(fd.ops.reshape(t0, [half, 2]))
        fd.add_output(fd.ops.full([t0.size(0), fd.ops.add(t0.size(1), 1)], 0.5, dtype=DataType.Float))

    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    nvfuser_direct_test.assertEqual(inputs[0].reshape(12, 2), nvf_out[0])
    nvfuser_direct_test.assertEqual(torch.full((4, 7), 0.5), nvf_out[1])


def test_iota_and_where(nvfuser_direct_test):
    inputs = [torch.randn(9, device=DEVICE)]

    def fusion_func(fd: FusionDefinition):
        t0 = fd.from_pytorch(inputs[0])
        idx = fd.ops.iota(t0.size(0), 0, 1, dtype=DataType.Int)
        even = fd.ops.eq(fd.ops.remainder(idx, 2), 0)
        fd.add_output(fd.ops.where(even, t0, fd.ops.neg(t0)))

    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    sign = torch.where(torch.arange(9, device=DEVICE) % 2 == 0, 1.0, -1.0)
    nvfuser_direct_test.assertEqual(inputs[0] * sign, nvf_out[0])


def test_expected_definition_text(nvfuser_direct_test):
    inputs = [torch.ones(2, 4, 8, device=DEVICE), torch.ones(2, 4, 8, device=DEVICE)]

    def fusion_func(fd: FusionDefinition):
        t0 = fd.from_pytorch(inputs[0])
        t1 = fd.from_pytorch(inputs[1])
        t2 = fd.ops.add(t0, t1)
        t3 = fd.ops.mul(t2, 3.0)
        t4 = fd.ops.sum(t3, [-1], False, DataType.Float)
        fd.add_output(t4)

    fd_str = """def nvfuser_fusion(fd : FusionDefinition) -> None :
    tv0 = fd.define_tensor(shape=[-1, -1, -1], contiguity=[True, True, True], dtype=DataType.Float, is_cpu=False)
    tv1 = fd.define_tensor(shape=[-1, -1, -1], contiguity=[True, True, True], dtype=DataType.Float, is_cpu=False)
    tv2 = fd.ops.add(tv0, tv1)
    tv3 = fd.ops.mul(tv2, 3.00000)
    tv4 = fd.ops.sum(tv3, dims=[2], dtype=DataType.Float)
    fd.add_output(tv4)"""
    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs, expected_fd_str=fd_str)
    nvfuser_direct_test.assertEqual(torch.full((2, 4), 48.0), nvf_out[0])


def test_captured_definition_re_executes_on_new_shapes(nvfuser_direct_test):
    inputs = [torch.randn(3, 7, device=DEVICE)]

    def fusion_func(fd: FusionDefinition):
        t0 = fd.from_pytorch(inputs[0])
        fd.add_output(fd.ops.sum(fd.ops.tanh(t0), dims=[0]))

    _, fd = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    scope = {"DataType": DataType, "FusionDefinition": FusionDefinition}
    exec(repr(fd), scope)
    with FusionDefinition() as again:
        scope["nvfuser_fusion"](again)
    bigger = torch.randn(5, 11, device=DEVICE)
    nvfuser_direct_test.assertEqual(torch.tanh(bigger).sum(0), again.execute([bigger])[0])
    cache = nvfuser_direct.LRUCache(max_fusions=2)
    assert cache.cache_compile(again.fusion) is cache.cache_compile(fd.fusion)
    assert cache.num_fusions() == 1


def test_last_cuda_code_after_execute(nvfuser_direct_test):
    inputs = [torch.randn(33, device=DEVICE)]

    def fusion_func(fd: FusionDefinition):
        fd.add_output(fd.ops.cos(fd.from_pytorch(inputs[0])))

    _, fd = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    try:
        code = fd.last_cuda_code()
    except nvfuser_direct.UnsupportedError as e:  # a build without the CUDA backend says so
        assert "no CUDA backend" in str(e)
    else:
        assert "__global__" in code and "cos" in code


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_cast_round_trip_keeps_strides(nvfuser_direct_test, dtype):
    inputs = [torch.randn(5, 3, device=DEVICE, dtype=dtype).t()]

    def fusion_func(fd: FusionDefinition):
        t0 = fd.from_pytorch(inputs[0])
        t1 = fd.ops.cast(t0, DataType.Double)
        fd.add_output(fd.ops.cast(fd.ops.abs(t1), nvfuser_direct.pytorch_utils.torch_dtype_to_nvfuser_dtype(dtype)))

    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    eager = inputs[0].double().abs().to(dtype)
    nvfuser_direct_test.assertEqual(eager, nvf_out[0])
    assert eager.stride() == nvf_out[0].stride()
