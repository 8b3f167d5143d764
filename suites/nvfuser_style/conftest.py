"""Fixtures for programs written in nvFuser's test style, run on cfuser.

Modelled on how nvFuser's tests/python/direct/conftest.py drives its tests:
a ``nvfuser_direct_test`` fixture whose ``exec_nvfuser(fusion_func, inputs)``
defines the fusion, runs it on a copy of the inputs, and checks it further:

* the captured definition runs again: ``repr(fd)`` is exec'd when it is a
  Python definition (``def nvfuser_fusion(fd ...``), otherwise the fusion
  function itself is replayed on a fresh FusionDefinition; the outputs, their
  shapes, dtypes and strides must be equal;
* an LRUCache compiles the fusion twice: the second compile, and a compile of
  the replayed (structurally equal) definition, are hits on the same cache.

Tensors live on CUDA when torch sees a device, on the CPU otherwise. At the
end a line says how many programs ran and passed. Run this directory in its
own pytest call (``pytest suites/nvfuser_style``): suites/python's files
import their own ``conftest`` by name.
"""
from __future__ import annotations

import os
import sys
from copy import deepcopy
from typing import Any, Callable, List, Optional, Tuple

import pytest
import torch

_BUILD = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "build", "python")
if os.path.isdir(os.path.join(_BUILD, "cfuser")) and _BUILD not in sys.path:
    sys.path.insert(0, _BUILD)

import cfuser as nvfuser_direct  # noqa: E402  the one-line alias this suite is about
from cfuser import FusionDefinition  # noqa: E402

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
if os.environ.get("CFUSER_REQUIRE_CUDA") == "1" and DEVICE != "cuda":
    # the GPU machine's run (ci/gpu.sh): CPU tensors there would be a broken setup
    raise pytest.UsageError("CFUSER_REQUIRE_CUDA=1 but torch sees no CUDA device")

_LRU = nvfuser_direct.LRUCache(max_fusions=64)


def _python_definition(fd: FusionDefinition) -> Optional[str]:
    text = repr(fd)
    return text if text.lstrip().startswith("def nvfuser_fusion") else None


def _replay(fusion_func: Callable[[FusionDefinition], None], fd: FusionDefinition) -> FusionDefinition:
    again = FusionDefinition()
    source = _python_definition(fd)
    with again:
        if source is not None:
            scope: dict = {"DataType": nvfuser_direct.DataType, "FusionDefinition": FusionDefinition}
            exec(source, scope)
            scope["nvfuser_fusion"](again)
        else:
            fusion_func(again)
    return again


def _same_outputs(a: List[Any], b: List[Any]) -> None:
    assert len(a) == len(b), (len(a), len(b))
    for i, (x, y) in enumerate(zip(a, b)):
        assert x.shape == y.shape and x.dtype == y.dtype, (i, x.shape, y.shape, x.dtype, y.dtype)
        assert x.stride() == y.stride(), (i, x.stride(), y.stride())
        torch.testing.assert_close(x, y, equal_nan=True, rtol=0, atol=0)


class NVFuserTest:
    """What nvFuser's tests call through the ``nvfuser_direct_test`` fixture."""

    def exec_nvfuser(
        self,
        fusion_func: Callable[[FusionDefinition], None],
        inputs: List[Any],
        *,
        expected_fd_str: Optional[str] = None,
        device: Any = None,
    ) -> Tuple[List[Any], FusionDefinition]:
        # outputs that alias inputs write them: each run gets a copy of the
        # inputs as they were
        captured, for_cache = deepcopy(inputs), deepcopy(inputs)
        with FusionDefinition() as fd:
            fusion_func(fd)
        torch.manual_seed(0)
        out = fd.execute(inputs, device=device)

        again = _replay(fusion_func, fd)
        torch.manual_seed(0)
        _same_outputs(out, again.execute(captured, device=device))

        fec = _LRU.cache_compile(fd.fusion)
        assert _LRU.cache_compile(fd.fusion) is fec, "a second compile of one fusion must hit"
        assert _LRU.cache_compile(again.fusion) is fec, "an equal definition must hit"
        # the cache takes vector inputs (define_vector) as their scalars
        flat = [x for v in for_cache for x in (v if isinstance(v, (list, tuple)) else (v,))]
        _same_outputs(out, fec.execute(flat, device=device))

        assert expected_fd_str is None or expected_fd_str in repr(fd)
        return out, fd

    def assertEqual(self, a: Any, b: Any) -> None:
        if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
            a, b = torch.as_tensor(a), torch.as_tensor(b)
            assert a.shape == b.shape, (a.shape, b.shape)
            if a.dtype.is_floating_point or b.dtype.is_floating_point:
                torch.testing.assert_close(a.double(), b.to(a.device).double(), rtol=1.6e-2 if torch.bfloat16 in
                                           (a.dtype, b.dtype) else 1e-3, atol=1e-3, equal_nan=True)
            else:
                assert torch.equal(a, b.to(a.device)), (a, b)
        else:
            assert a == b, (a, b)

    def assertTrue(self, value: Any) -> None:
        assert value


@pytest.fixture
def nvfuser_direct_test() -> NVFuserTest:
    return NVFuserTest()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    stats = terminalreporter.stats
    passed = len(stats.get("passed", []))
    failed = len(stats.get("failed", [])) + len(stats.get("error", []))
    xfailed = len(stats.get("xfailed", []))
    total = passed + failed + xfailed + len(stats.get("skipped", []))
    terminalreporter.write_line(
        f"nvfuser-style programs on cfuser ({DEVICE}): {passed} of {total} ran and matched torch"
        f" ({failed} failed, {xfailed} known gaps)"
    )
