"""The code of the last execution: fd.last_cuda_code() (nvFuser's name and
signature) and fd.last_cpu_code(). CUDA code generation needs no GPU, so the
CUDA text comes on a CPU-only machine too (for a default sm_90 device)."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import cfuser

DataType = cfuser.DataType
FusionDefinition = cfuser.FusionDefinition


def _fusion():
    with FusionDefinition() as fd:
        t0 = fd.define_tensor(shape=[-1, -1], dtype=DataType.Float)
        t1 = fd.ops.sin(fd.ops.mul(t0, 2.0))
        fd.add_output(t1)
        fd.add_output(fd.ops.sum(t1, dims=[1]))
    return fd


def _has_cuda_backend():
    fd = _fusion()
    fd.execute([np.ones((2, 3), np.float32)])
    try:
        fd.last_cuda_code()
    except cfuser.UnsupportedError:
        return False
    return True


needs_backend = pytest.mark.skipif(not _has_cuda_backend(), reason="this build has no CUDA backend")


@needs_backend
@pytest.mark.parametrize("shape", [(1, 1), (7, 33), (4, 1025)])
def test_last_cuda_code_without_a_gpu(shape):
    fd = _fusion()
    fd.execute([np.ones(shape, np.float32)])
    code = fd.last_cuda_code()
    assert "__global__" in code and "sin" in code
    full = fd.last_cuda_code(intrinsic_code=True)
    assert len(full) > len(code) and full.endswith(code)
    assert fd.last_cuda_code(override_user_schedule=True) == code


@needs_backend
def test_last_cuda_code_follows_the_last_inputs():
    fd = _fusion()
    fd.execute([np.ones((4, 8), np.float32)])
    contiguous = fd.last_cuda_code()
    fd.execute([np.ones((8, 4), np.float32).T])
    assert fd.last_cuda_code() != contiguous  # other strides: other kernels
    fd.execute([np.ones((4, 8), np.float32)])
    assert fd.last_cuda_code() == contiguous


def test_last_cpu_code_lists_the_program():
    fd = _fusion()
    fd.execute([np.ones((3, 5), np.float32)])
    text = fd.last_cpu_code()
    assert text.startswith("program:") and "instructions:" in text
    for op in ("mul", "sin", "sum"):
        assert f"= {op}(" in text, text


def test_no_code_before_the_first_execute():
    fd = _fusion()
    with pytest.raises(cfuser.InvalidArgumentError, match="call execute"):
        fd.last_cuda_code()
    with pytest.raises(cfuser.InvalidArgumentError, match="call execute"):
        fd.last_cpu_code()


@pytest.mark.parametrize("kwargs, match", [
    ({"intrinsic_code": 1}, "intrinsic_code.*bool"),
    ({"override_user_schedule": "yes"}, "override_user_schedule.*bool"),
    ({"bogus": True}, "unexpected keyword argument 'bogus'"),
])
def test_last_cuda_code_checks_its_arguments(kwargs, match):
    fd = _fusion()
    fd.execute([np.ones((2, 2), np.float32)])
    with pytest.raises(TypeError, match=match):
        fd.last_cuda_code(**kwargs)


def test_last_source_rejects_an_unknown_kind():
    fd = _fusion()
    fd.execute([np.ones((2, 2), np.float32)])
    with pytest.raises(cfuser.InvalidArgumentError, match="'cuda' or 'program'"):
        fd.fec._last_source("ptx")
    with pytest.raises(TypeError, match="kind"):
        fd.fec._last_source(3)


@needs_backend
def test_fec_get_cuda_kernel_generates_without_running():
    fd = _fusion()
    x = np.ones((7, 9), np.float32)
    code = fd.fec.get_cuda_kernel([x])
    assert "__global__" in code
    assert fd.fec.get_cuda_kernel((x,), intrinsic_code=True).endswith(code)
    fd.execute([x])
    assert fd.last_cuda_code() == code
    with pytest.raises(cfuser.InvalidArgumentError, match="device"):
        fd.fec.get_cuda_kernel([x], device=-1)
    with pytest.raises(TypeError, match="inputs"):
        fd.fec.get_cuda_kernel(x)
    with pytest.raises(cfuser.Error, match="inputs"):
        fd.fec.get_cuda_kernel([x, x])
