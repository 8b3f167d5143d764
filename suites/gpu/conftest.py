"""The CUDA suites skip where torch or a CUDA device is missing (a CPU
machine). On the GPU machine ci/gpu.sh sets CFUSER_REQUIRE_CUDA=1: there a
missing torch or device is a broken setup, and the session fails at once
instead of reporting every test as skipped."""
import os

import pytest


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("CFUSER_REQUIRE_CUDA") != "1":
        return
    try:
        import torch
    except ImportError as e:
        raise pytest.UsageError(f"CFUSER_REQUIRE_CUDA=1 but torch does not import: {e}") from e
    if not torch.cuda.is_available():
        raise pytest.UsageError("CFUSER_REQUIRE_CUDA=1 but torch sees no CUDA device")
