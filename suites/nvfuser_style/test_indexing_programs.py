"""The indexing programs of nvFuser's direct tests (index_select, gather,
take_along_axis, scatter, embedding_fwd), written the same way and run with
``import cfuser as nvfuser_direct``; references from eager torch."""
from __future__ import annotations

import pytest
import torch

from cfuser import DataType, FusionDefinition

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"  # as the conftest chooses


@pytest.mark.parametrize("dim", [0, 1])
def test_index_select(nvfuser_direct_test, dim):
    inputs = [
        torch.randn(8, 16, device=DEVICE),
        torch.randn(8, 16, device=DEVICE),
        torch.randint(0, 8, (6,), device=DEVICE).to(dtype=torch.long),
    ]

    def fusion_func(fd: FusionDefinition):
        t0 = fd.from_pytorch(inputs[0])
        t1 = fd.from_pytorch(inputs[1])
        t2 = fd.from_pytorch(inputs[2])
        t3 = fd.ops.add(t0, t1)
        t4 = fd.ops.index_select(t3, t2, dim)
        fd.add_output(t4)

    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    nvfuser_direct_test.assertEqual(torch.index_select(inputs[0] + inputs[1], dim, inputs[2]), nvf_out[0])


@pytest.mark.parametrize("dim", [0, 1])
def test_index_select_scalar_indices(nvfuser_direct_test, dim):
    inputs = [torch.randn(8, 16, device=DEVICE), torch.tensor(2, device=DEVICE).to(dtype=torch.long)]

    def fusion_func(fd: FusionDefinition):
        t0 = fd.from_pytorch(inputs[0])
        t1 = fd.from_pytorch(inputs[1])
        fd.add_output(fd.ops.index_select(t0, t1, dim))

    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    nvfuser_direct_test.assertEqual(torch.index_select(inputs[0], dim, inputs[1]), nvf_out[0])


@pytest.mark.parametrize("op", ["gather", "take_along_axis"])
@pytest.mark.parametrize("dim", [0, 1])
def test_gather_and_take_along_axis(nvfuser_direct_test, op, dim):
    shape = (4, 4) if op == "gather" else (8, 16)
    inputs = [
        torch.randn(8, 16, device=DEVICE),
        torch.randn(8, 16, device=DEVICE),
        torch.randint(0, 8, shape, device=DEVICE).to(dtype=torch.long),
    ]

    def fusion_func(fd: FusionDefinition):
        t0 = fd.from_pytorch(inputs[0])
        t1 = fd.from_pytorch(inputs[1])
        t2 = fd.from_pytorch(inputs[2])
        t3 = fd.ops.add(t0, t1)
        fd.add_output(getattr(fd.ops, op)(t3, t2, dim))

    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    nvfuser_direct_test.assertEqual(torch.gather(inputs[0] + inputs[1], dim, inputs[2]), nvf_out[0])


def test_scatter_output_intermediate(nvfuser_direct_test):
    x = torch.randn(128, 1024, device=DEVICE)
    _, ind = torch.topk(x, k=64, dim=0)
    src = torch.randn(64, 1024, device=DEVICE)
    inputs = [x, ind, src]

    def fusion_func(fd: FusionDefinition):
        T0 = fd.define_tensor(shape=[-1, -1], contiguity=[True, True], dtype=DataType.Float, is_cpu=False)
        T1 = fd.define_tensor(shape=[-1, -1], contiguity=[True, True], dtype=DataType.Int, is_cpu=False)
        T2 = fd.define_tensor(shape=[-1, -1], contiguity=[True, True], dtype=DataType.Float, is_cpu=False)
        T3 = fd.ops.scatter(T0, T1, T2, 0)
        fd.add_output(fd.ops.sigmoid(T3))

    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    nvfuser_direct_test.assertEqual(torch.sigmoid(torch.scatter(x, 0, ind, src)), nvf_out[0])


def test_scatter_scalar_src(nvfuser_direct_test):
    x = torch.randn(128, 1024, device=DEVICE)
    _, ind = torch.topk(x, k=64, dim=0)
    inputs = [x, ind, 1.5]

    def fusion_func(fd: FusionDefinition):
        T0 = fd.define_tensor(shape=[-1, -1], contiguity=[True, True], dtype=DataType.Float, is_cpu=False)
        T1 = fd.define_tensor(shape=[-1, -1], contiguity=[True, True], dtype=DataType.Int, is_cpu=False)
        S2 = fd.define_scalar(None, dtype=DataType.Double)
        fd.add_output(fd.ops.scatter(T0, T1, S2, 0))

    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    nvfuser_direct_test.assertEqual(torch.scatter(x, 0, ind, 1.5), nvf_out[0])


@pytest.mark.parametrize("padding_idx", [None, -2])
@pytest.mark.parametrize("max_norm", [None, 1e-5])
@pytest.mark.parametrize("norm_type", [None, 1.0])
def test_embedding(nvfuser_direct_test, padding_idx, max_norm, norm_type):
    N, S = 10, 3
    ids = torch.randint(N, (S,), dtype=torch.int64, device=DEVICE)
    weight = torch.randn(N, S, dtype=torch.bfloat16, device=DEVICE)
    options = [padding_idx, max_norm, norm_type]
    dtypes = [DataType.Int, DataType.Float, DataType.Float]
    inputs = [ids, weight] + [v for v in options if v is not None]

    def fusion_func(fd: FusionDefinition):
        i = fd.define_tensor(shape=[-1], contiguity=[True], dtype=DataType.Int, is_cpu=False)
        w = fd.define_tensor(shape=[-1, -1], contiguity=[True, True], dtype=DataType.BFloat16, is_cpu=False)
        opt = [fd.define_scalar(None, dtype=t) if v is not None else None for v, t in zip(options, dtypes)]
        fd.add_output(fd.ops.embedding_fwd(i, w, *opt))

    nvf_out, _ = nvfuser_direct_test.exec_nvfuser(fusion_func, inputs)
    ref = torch.nn.functional.embedding(
        ids, weight.clone(), padding_idx=padding_idx, max_norm=max_norm,
        norm_type=2.0 if norm_type is None else norm_type)
    torch.testing.assert_close(nvf_out[0], ref, rtol=2e-2, atol=1e-7)
