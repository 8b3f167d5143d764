"""cfuser.pytorch_utils (nvfuser_direct.pytorch_utils) and cfuser.version()."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from conftest import cfuser, plain_python_only

from cfuser import DataType
from cfuser import pytorch_utils as pu

PAIRS = [
    (torch.float64, DataType.Double),
    (torch.float32, DataType.Float),
    (torch.float16, DataType.Half),
    (torch.bfloat16, DataType.BFloat16),
    (torch.int64, DataType.Int),
    (torch.int32, DataType.Int32),
    (torch.bool, DataType.Bool),
    (torch.complex64, DataType.ComplexFloat),
    (torch.complex128, DataType.ComplexDouble),
    (torch.float8_e4m3fn, DataType.Float8_e4m3fn),
    (torch.float8_e5m2, DataType.Float8_e5m2),
]


@pytest.mark.parametrize("tdt,cdt", PAIRS, ids=[str(p[0]) for p in PAIRS])
def test_dtype_maps_both_ways(tdt, cdt):
    assert pu.torch_dtype_to_nvfuser_dtype(tdt) is cdt
    assert pu.nvfuser_dtype_to_torch_dtype(cdt) is tdt


def test_every_datatype_but_null_has_a_torch_dtype():
    for d in DataType:
        if d is DataType.Null:
            with pytest.raises(TypeError, match="Null"):
                pu.nvfuser_dtype_to_torch_dtype(d)
        else:
            assert pu.torch_dtype_to_nvfuser_dtype(pu.nvfuser_dtype_to_torch_dtype(d)) is d


@pytest.mark.parametrize("value,expected", [(True, "Bool"), (3, "Int"), (2.5, "Double"), (1j, "ComplexDouble")])
def test_python_types_and_scalars(value, expected):
    assert pu.torch_dtype_to_nvfuser_dtype(type(value)) is DataType[expected]
    assert pu.python_scalar_to_nvfuser_dtype(value) is DataType[expected]


@pytest.mark.parametrize("bad", [torch.uint8, "float", None, str, torch.float32.__class__])
def test_unknown_dtype_is_a_type_error(bad):
    with pytest.raises(TypeError, match="torch_dtype_to_nvfuser_dtype"):
        pu.torch_dtype_to_nvfuser_dtype(bad)
    with pytest.raises(TypeError, match="nvfuser_dtype_to_torch_dtype"):
        pu.nvfuser_dtype_to_torch_dtype(bad)


def test_device_properties_say_whether_cuda_is_there():
    props = pu.DEVICE_PROPERTIES
    assert props["cuda_available"] is torch.cuda.is_available()
    for key in ("gpu_name", "gpu_sm_count", "gpu_gmem_bytes", "gpu_l2_bytes", "gpu_peak_bandwidth_gbps",
                "gpu_compute_capability_major", "gpu_max_threads_per_block", "gpu_smem_bytes_per_block"):
        assert key in props
        if not torch.cuda.is_available():
            assert props[key] is None
    assert pu.get_device_properties() == props


def test_retry_on_oom_retries_once_then_skips():
    calls = []

    @pu.retry_on_oom_or_skip_test
    def flaky(x):
        calls.append(x)
        if len(calls) == 1:
            raise torch.OutOfMemoryError("first")
        return x * 2

    assert flaky(21) == 42 and calls == [21, 21]
    assert flaky.__name__ == "flaky"

    @pu.retry_on_oom_or_skip_test
    def always():
        raise torch.OutOfMemoryError("always")

    with pytest.raises(pytest.skip.Exception, match="out of memory"):
        always()

    @pu.retry_on_oom_or_skip_test
    def other():
        raise ValueError("not memory")

    with pytest.raises(ValueError):
        other()


def test_reached_as_attribute_of_the_package():
    assert cfuser.pytorch_utils is pu


@plain_python_only
def test_import_cfuser_does_not_import_torch_or_pytorch_utils():
    code = (
        "import sys, cfuser\n"
        "v = cfuser.version()\n"
        "bad = [m for m in ('numpy', 'torch', 'cfuser.pytorch_utils', 'packaging') if m in sys.modules]\n"
        "assert not bad, bad\n"
        "assert v >= '0.0.1' and 'packaging' in sys.modules\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(cfuser.__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in [root, env.get("PYTHONPATH")] if p)
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr


def test_version_is_a_str_that_compares_as_a_version():
    from packaging.version import Version

    v = cfuser.version()
    assert isinstance(v, str) and v == cfuser.__version__
    major, minor = (int(p) for p in cfuser.__version__.split(".")[:2])
    assert v > f"{major}.{minor}.dev0"
    assert v < f"{major + 1}.0"
    assert v >= (major, minor) and v < (major, minor + 1)
    assert v == Version(cfuser.__version__)
    # "10.0" > "9.0" as versions, not as strings
    assert cfuser._version.CfuserVersion("10.0") > "9.0"
    assert cfuser._version.CfuserVersion("1.2+local") == "1.2"
    with pytest.raises(TypeError):
        v < 3.5  # noqa: B015
