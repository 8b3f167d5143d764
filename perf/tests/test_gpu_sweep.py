"""The GPU sweep's fusions (perf/gpu_sweep.py), run on the CPU at tiny
shapes through cfuser against the same torch references the sweep times, so
a definition error is caught without a GPU; and its table and plot."""
from __future__ import annotations

import io

import pytest

torch = pytest.importorskip("torch")
cfuser = pytest.importorskip("cfuser")

from perf import gpu_sweep  # noqa: E402


def _cases(dtype):
    return gpu_sweep.cases(torch, dtype=dtype, shapes_2d=[(5, 33), (1, 7)], shapes_4d=[(3, 64, 5, 7)])


def test_every_kind_and_layout_is_swept():
    kinds = {(c.op, c.layout) for c in _cases(torch.float32)}
    for op in ("sum", "softmax"):
        assert {(op, "dim0"), (op, "dim1")} <= kinds
    for op in ("layernorm", "rmsnorm", "softmax_bwd", "layernorm_bwd"):
        assert (op, "dim1") in kinds
    for op in ("batchnorm", "groupnorm", "instancenorm"):
        assert {(op, "nchw"), (op, "nhwc")} <= kinds
    quick = gpu_sweep.cases(torch, "quick")
    full = gpu_sweep.cases(torch, "full")
    assert len(full) > 3 * len(quick)
    assert any(c.shape == (16, 18432) for c in quick)
    assert all(c.nbytes > 0 for c in full)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["float32", "bfloat16"])
def test_definitions_match_torch_on_cpu(dtype):
    g = torch.Generator().manual_seed(3)
    tol = gpu_sweep._tol(dtype, torch)
    for case in _cases(dtype):
        ins = case.make(torch, "cpu", g)
        _, errs = gpu_sweep.check_case(torch, cfuser, case, ins)
        assert errs and max(errs) <= tol, (case.name, errs)


def test_channels_last_inputs_keep_their_layout():
    g = torch.Generator().manual_seed(5)
    bn = [c for c in _cases(torch.float32) if c.op == "batchnorm" and c.layout == "nhwc"][0]
    x = bn.make(torch, "cpu", g)[0]
    assert x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()


def test_table_and_plot(tmp_path):
    doc = {"size": "quick", "gpu": "test", "nvfuser": "nvFuser column left out: test", "rows": [
        {"case": "sum dim0 2x3 bfloat16", "op": "sum", "layout": "dim0", "shape": [2, 3],
         "cfuser_gbs": 10.0, "compile_gbs": 5.0, "eager_gbs": 4.0, "copy_gbs": 20.0, "cfuser_tier": "full"},
        {"case": "batchnorm nhwc 1x2x3x4 bfloat16", "op": "batchnorm", "layout": "nhwc",
         "shape": [1, 2, 3, 4], "cfuser_error": "boom", "compile_gbs": 5.0, "copy_gbs": 20.0}]}
    out = io.StringIO()
    gpu_sweep.print_table(doc, file=out)
    text = out.getvalue()
    assert "2.00" in text and "full" in text and "boom" in text and "left out" in text
    pytest.importorskip("matplotlib")
    gpu_sweep.plot(doc, tmp_path / "s.svg")
    assert (tmp_path / "s.svg").read_text().lstrip().startswith("<?xml")
