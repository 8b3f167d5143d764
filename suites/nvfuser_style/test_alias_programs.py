"""Programs in the style of nvFuser's direct tests that use outputs aliasing
inputs (``fd.add_output(out, alias_input)``) and CPU scalar tensors
(``is_cpu``), with ``import cfuser as nvfuser_direct``."""
from __future__ import annotations

import torch

from cfuser import DataType, FusionDefinition

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"  # as the conftest chooses


def test_alias_output_to_input(nvfuser_direct_test):
    in_tensors = [torch.ones(4, 4, device=DEVICE)]

    def fusion_func(fd: FusionDefinition):
        t0 = fd.from_pytorch(in_tensors[0])  # = 1.0
        one = fd.define_scalar(1.0)
        two = fd.define_scalar(2.0)
        t1 = fd.ops.add(t0, one)  # = 2.0
        t2 = fd.ops.add(t1, two)  # = 4.0
        fd.add_output(t1, alias_input=t0)
        fd.add_output(t2)

    out_tensors, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, in_tensors)
    nvfuser_direct_test.assertEqual(len(out_tensors), 1)
    nvfuser_direct_test.assertEqual(out_tensors[0], torch.full((4, 4), 4.0, device=DEVICE))
    nvfuser_direct_test.assertEqual(in_tensors[0], torch.full((4, 4), 2.0, device=DEVICE))


def test_returning_aliased_outputs(nvfuser_direct_test):
    inputs = [torch.randn((1, 2, 3, 4), dtype=torch.float32, device=DEVICE)]
    ref = torch.where(inputs[0] > 0, inputs[0], 0.0)

    def fusion_func(fd: FusionDefinition):
        T0 = fd.define_tensor(shape=[-1, -1, -1, -1], contiguity=[True, True, True, True],
                              dtype=DataType.Float, is_cpu=False, stride_order=[3, 2, 1, 0])
        S1 = fd.define_scalar(0.00000, dtype=DataType.Double)
        T2 = fd.ops.gt(T0, S1)
        S3 = fd.define_scalar(0.00000, dtype=DataType.Double)
        T4 = fd.ops.where(T2, T0, S3)
        fd.add_output(T4)
        fd.add_output(T4, T0)
        fd.add_output(T4)
        fd.add_output(T0)

    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    nvfuser_direct_test.assertEqual(len(nvf_out), 3)
    for out in nvf_out:
        nvfuser_direct_test.assertEqual(out.data_ptr(), inputs[0].data_ptr())
    nvfuser_direct_test.assertEqual(inputs[0], ref)


def test_running_stats_update(nvfuser_direct_test):
    # the in-place half of a training batchnorm: running_mean and running_var
    x = torch.randn(8, 4, 6, 6, device=DEVICE).to(memory_format=torch.channels_last)
    rm, rv = torch.zeros(4, device=DEVICE), torch.ones(4, device=DEVICE)
    inputs = [x, rm, rv]
    momentum, n = 0.1, 8 * 6 * 6

    def fusion_func(fd: FusionDefinition):
        tx = fd.from_pytorch(inputs[0])
        trm = fd.from_pytorch(inputs[1])
        trv = fd.from_pytorch(inputs[2])
        var, mean = fd.ops.var_mean(tx, [0, 2, 3], correction=0)
        unbiased = fd.ops.mul(var, n / (n - 1))
        fd.add_output(fd.ops.add(fd.ops.mul(trm, 1 - momentum), fd.ops.mul(mean, momentum)), trm)
        fd.add_output(fd.ops.add(fd.ops.mul(trv, 1 - momentum), fd.ops.mul(unbiased, momentum)), trv)
        b = fd.ops.broadcast_in_dim(mean, [8, 4, 6, 6], [1])
        fd.add_output(fd.ops.sub(tx, b))

    ref_rm, ref_rv = torch.zeros(4, device=DEVICE), torch.ones(4, device=DEVICE)
    ref = torch.nn.functional.batch_norm(x, ref_rm, ref_rv, training=True, momentum=momentum)
    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    nvfuser_direct_test.assertEqual(len(nvf_out), 1)
    nvfuser_direct_test.assertEqual(inputs[1], ref_rm)
    nvfuser_direct_test.assertEqual(inputs[2], ref_rv)
    nvfuser_direct_test.assertEqual(nvf_out[0], x - x.mean((0, 2, 3), keepdim=True))
    assert ref.shape == x.shape


def test_cpu_add(nvfuser_direct_test):
    inputs = [
        torch.tensor(2.0, device="cpu", dtype=torch.float),
        torch.randn(3, device=DEVICE, dtype=torch.float),
    ]

    def fusion_func(fd: FusionDefinition):
        t0 = fd.from_pytorch(inputs[0])
        s0 = fd.from_pytorch(inputs[1])
        t1 = fd.ops.add(t0, s0)
        fd.add_output(t1)

    nvf_out, fd = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    nvfuser_direct_test.assertEqual(nvf_out[0], inputs[0] + inputs[1].cpu())
    assert "is_cpu=True" in repr(fd)


def test_full_with_cpu_inputs(nvfuser_direct_test):
    inputs = [torch.tensor(2.0, device="cpu", dtype=torch.float)]

    def fusion_func(fd: FusionDefinition):
        tv0 = fd.from_pytorch(inputs[0])
        s0 = fd.define_scalar(3.0)
        tv1 = fd.ops.full(shape=[2, 2], fill_value=s0, dtype=DataType.Float)
        t2 = fd.ops.mul(tv0, tv1)  # CPU scalar * tensor on the run's device
        fd.add_output(t2)

    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs, device=DEVICE)
    assert nvf_out[0].device.type == DEVICE
    nvfuser_direct_test.assertEqual(nvf_out[0], torch.full((2, 2), 6.0))


def test_input_forwarding_device(nvfuser_direct_test):
    inputs = [torch.tensor(2.0, device="cpu", dtype=torch.float)]

    def fusion_func(fd: FusionDefinition):
        tv0 = fd.from_pytorch(inputs[0])
        fd.add_output(tv0)

    out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    assert out[0].is_cpu
