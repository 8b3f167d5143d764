"""The tier switch is visible: FusionExecutorCache/FusionDefinition
kernels_final() and wait_for_kernels(timeout) (on the CPU there is one tier:
always final, no waiting), argument checking, and the docstrings that
document the quick tier."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from conftest import cfuser


def _fd():
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=cfuser.DataType.Float)
        fd.add_output(fd.ops.exp(x))
    return fd


def test_cpu_kernels_are_final_before_and_after_execute():
    fd = _fd()
    assert fd.kernels_final() is True
    fd.execute([np.ones(5, np.float32)])
    assert fd.kernels_final() is True
    assert fd.fec.kernels_final() is True


@pytest.mark.parametrize("timeout", [None, 0, 0.0, 1, 2.5])
def test_wait_for_kernels_returns_true_at_once_on_cpu(timeout):
    fd = _fd()
    fd.execute([np.ones(3, np.float32)])
    t0 = time.perf_counter()
    assert fd.wait_for_kernels(timeout) is True
    assert fd.fec.wait_for_kernels(timeout=timeout) is True
    assert time.perf_counter() - t0 < 1.0


def test_wait_for_kernels_from_threads():
    fd = _fd()
    fd.execute([np.ones(3, np.float32)])
    out = []
    ts = [threading.Thread(target=lambda: out.append(fd.fec.wait_for_kernels(0.5))) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert out == [True] * 4


@pytest.mark.parametrize("bad,exc", [(-1, ValueError), (float("nan"), ValueError), ("1", TypeError),
                                     ([1], TypeError)])
def test_wait_for_kernels_rejects_bad_timeouts(bad, exc):
    fec = _fd().fec
    with pytest.raises(exc, match="timeout"):
        fec.wait_for_kernels(bad)


def test_wait_for_kernels_argument_errors():
    fec = _fd().fec
    with pytest.raises(TypeError):
        fec.wait_for_kernels(1, 2)
    with pytest.raises(TypeError, match="unexpected keyword"):
        fec.wait_for_kernels(seconds=1)
    with pytest.raises(TypeError):
        fec.kernels_final(1)


def test_execute_docstrings_name_the_quick_tier():
    for doc in (cfuser.FusionExecutorCache.execute.__doc__, cfuser.FusionDefinition.execute.__doc__):
        assert "quick" in doc and "wait_for_kernels" in doc, doc
