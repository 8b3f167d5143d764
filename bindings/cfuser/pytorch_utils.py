"""Helpers between torch and cfuser, as ``nvfuser_direct.pytorch_utils`` has them.

Importing this module imports torch (``import cfuser`` alone does not).
``DEVICE_PROPERTIES`` is a dict on every machine: without CUDA its
``cuda_available`` is False and every ``gpu_*`` field is None.
"""
from __future__ import annotations

import ctypes
import functools
import gc
from typing import Any, Callable, Dict, Optional, Type, TypeVar, Union

import torch

from cfuser._C import DataType

NumberTypeType = Union[Type[bool], Type[int], Type[float], Type[complex]]

_TORCH_TO_CFUSER: Dict[Any, DataType] = {
    torch.float64: DataType.Double,
    torch.float32: DataType.Float,
    torch.float16: DataType.Half,
    torch.bfloat16: DataType.BFloat16,
    torch.int64: DataType.Int,
    torch.int32: DataType.Int32,
    torch.bool: DataType.Bool,
    torch.complex64: DataType.ComplexFloat,
    torch.complex128: DataType.ComplexDouble,
    torch.float8_e4m3fn: DataType.Float8_e4m3fn,
    torch.float8_e5m2: DataType.Float8_e5m2,
    # Python number types map to the widest DataType of their kind.
    bool: DataType.Bool,
    int: DataType.Int,
    float: DataType.Double,
    complex: DataType.ComplexDouble,
}

# The inverse over torch dtypes only (Python types are not torch dtypes).
_CFUSER_TO_TORCH: Dict[DataType, torch.dtype] = {
    v: k for k, v in _TORCH_TO_CFUSER.items() if isinstance(k, torch.dtype)
}


def torch_dtype_to_nvfuser_dtype(dtype: Union[torch.dtype, NumberTypeType]) -> DataType:
    """The DataType of a torch dtype or of a Python number type (``float`` -> Double)."""
    try:
        return _TORCH_TO_CFUSER[dtype]
    except (KeyError, TypeError):
        raise TypeError(f"torch_dtype_to_nvfuser_dtype(): no DataType for {dtype!r}") from None


def nvfuser_dtype_to_torch_dtype(dtype: DataType) -> torch.dtype:
    """The torch dtype of a DataType (``DataType.Null`` has none)."""
    try:
        return _CFUSER_TO_TORCH[dtype]
    except (KeyError, TypeError):
        raise TypeError(f"nvfuser_dtype_to_torch_dtype(): no torch dtype for {dtype!r}") from None


def python_scalar_to_nvfuser_dtype(value: Union[bool, int, float, complex]) -> DataType:
    """The DataType cfuser gives a Python scalar (bool, int, float or complex)."""
    return torch_dtype_to_nvfuser_dtype(type(value))


_F = TypeVar("_F", bound=Callable[..., Any])


def retry_on_oom_or_skip_test(func: _F) -> _F:
    """Decorator for tests: on ``torch.OutOfMemoryError`` free memory and run once more;
    a second OOM skips the test (pytest is imported only then)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except torch.OutOfMemoryError:
            pass
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        try:
            return func(*args, **kwargs)
        except torch.OutOfMemoryError as e:
            import pytest

            pytest.skip(f"out of memory twice: {e}")

    return wrapper  # type: ignore[return-value]


_GPU_FIELDS = (
    "gpu_name",
    "gpu_compute_capability_major",
    "gpu_compute_capability_minor",
    "gpu_gmem_bytes",
    "gpu_sm_count",
    "gpu_max_threads_per_block",
    "gpu_smem_bytes_per_block",
    "gpu_regs_per_block",
    "gpu_clock_rate_khz",
    "gpu_l2_bytes",
    "gpu_mem_clock_khz",
    "gpu_mem_bus_width",
    "gpu_max_threads_per_sm",
    "gpu_peak_bandwidth_gbps",
)

# cuDeviceGetAttribute enum values (CUdevice_attribute in the CUDA driver API's cuda.h).
_CU_ATTRIBUTES = {
    "gpu_max_threads_per_block": 1,
    "gpu_smem_bytes_per_block": 8,
    "gpu_regs_per_block": 12,
    "gpu_clock_rate_khz": 13,
    "gpu_mem_clock_khz": 36,
    "gpu_mem_bus_width": 37,
    "gpu_l2_bytes": 38,
    "gpu_max_threads_per_sm": 39,
}


def _driver() -> Optional[ctypes.CDLL]:
    for name in ("libcuda.so.1", "libcuda.so"):
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    return None


def get_device_properties(device: Optional[int] = None) -> Dict[str, Any]:
    """Properties of a CUDA device (the current one by default), with nvFuser's keys.

    Without CUDA every ``gpu_*`` field is None and ``cuda_available`` is False.
    Fields the driver cannot report are None.
    """
    props: Dict[str, Any] = dict.fromkeys(_GPU_FIELDS)
    props["cuda_available"] = bool(torch.cuda.is_available())
    if not props["cuda_available"]:
        return props
    index = torch.cuda.current_device() if device is None else int(device)
    p = torch.cuda.get_device_properties(index)
    props.update(
        gpu_name=p.name,
        gpu_compute_capability_major=p.major,
        gpu_compute_capability_minor=p.minor,
        gpu_gmem_bytes=p.total_memory,
        gpu_sm_count=p.multi_processor_count,
    )
    cuda = _driver()
    if cuda is not None:
        handle = ctypes.c_int()
        if cuda.cuDeviceGet(ctypes.byref(handle), index) == 0:
            for key, attr in _CU_ATTRIBUTES.items():
                out = ctypes.c_int()
                if cuda.cuDeviceGetAttribute(ctypes.byref(out), attr, handle) == 0:
                    props[key] = out.value
    if props["gpu_mem_bus_width"] is not None and props["gpu_mem_clock_khz"] is not None:
        # Double data rate: two transfers per clock, bus width in bits -> GB/s.
        props["gpu_peak_bandwidth_gbps"] = 2 * props["gpu_mem_bus_width"] * props["gpu_mem_clock_khz"] / (1e6 * 8)
    return props


DEVICE_PROPERTIES: Dict[str, Any] = get_device_properties()

__all__ = [
    "DEVICE_PROPERTIES",
    "NumberTypeType",
    "get_device_properties",
    "nvfuser_dtype_to_torch_dtype",
    "python_scalar_to_nvfuser_dtype",
    "retry_on_oom_or_skip_test",
    "torch_dtype_to_nvfuser_dtype",
]
