"""Outputs that alias inputs, as nvFuser's: ``fd.add_output(out, alias_input)``
writes ``out`` into the input at the end of every execute (an in-place
update such as batchnorm's running statistics) and hides it unless it is
also added without an alias; an output that aliases an input, or is one, is
that input object (nvFuser's tests compare ``data_ptr``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import cfuser

DataType = cfuser.DataType
FusionDefinition = cfuser.FusionDefinition


def test_the_aliased_output_is_written_into_the_input_and_hidden():
    # nvFuser's test_alias_output_to_input, on the CPU
    x = torch.ones(4, 4)
    with FusionDefinition() as fd:
        t0 = fd.from_pytorch(x)
        t1 = fd.ops.add(t0, fd.define_scalar(1.0))
        t2 = fd.ops.add(t1, fd.define_scalar(2.0))
        fd.add_output(t1, alias_input=t0)
        fd.add_output(t2)
    out = fd.execute([x])
    assert len(out) == 1
    torch.testing.assert_close(out[0], torch.full((4, 4), 4.0))
    torch.testing.assert_close(x, torch.full((4, 4), 2.0))
    # every execute writes again
    fd.execute([x])
    torch.testing.assert_close(x, torch.full((4, 4), 3.0))


def test_other_outputs_see_the_input_as_it_was():
    x = torch.arange(6.0).reshape(2, 3)
    before = x.clone()
    with FusionDefinition() as fd:
        t0 = fd.from_pytorch(x)
        fd.add_output(fd.ops.neg(t0), t0)
        fd.add_output(fd.ops.sum(t0, [1]))
    (s,) = fd.execute([x])
    torch.testing.assert_close(s, before.sum(1))
    torch.testing.assert_close(x, -before)


def test_running_statistics_update_in_place():
    # the pattern nvFuser's batchnorm uses: running_mean = (1-m)*rm + m*mean
    x = torch.randn(8, 3, 5, 5)
    rm = torch.zeros(3)
    momentum = 0.1
    with FusionDefinition() as fd:
        tx = fd.from_pytorch(x)
        trm = fd.from_pytorch(rm)
        mean = fd.ops.div(fd.ops.sum(tx, [0, 2, 3]), 8 * 5 * 5)
        new = fd.ops.add(fd.ops.mul(trm, 1 - momentum), fd.ops.mul(mean, momentum))
        fd.add_output(new, trm)
        fd.add_output(fd.ops.sub(tx, fd.ops.broadcast_in_dim(mean, [8, 3, 5, 5], [1])))
    (centred,) = fd.execute([x, rm])
    ref_mean = x.mean((0, 2, 3))
    torch.testing.assert_close(rm, momentum * ref_mean)
    torch.testing.assert_close(centred, x - ref_mean[None, :, None, None])


def test_a_visible_aliased_output_is_the_input_object():
    # nvFuser's test_returning_aliased_outputs: t4 returned twice, written
    # into t0, and t0 returned: three outputs, all of them the input
    x = torch.randn(1, 2, 3, 4)
    ref = torch.where(x > 0, x, 0.0)
    with FusionDefinition() as fd:
        t0 = fd.define_tensor(shape=[-1, -1, -1, -1], contiguity=[True] * 4, dtype=DataType.Float,
                              is_cpu=False, stride_order=[3, 2, 1, 0])
        t4 = fd.ops.where(fd.ops.gt(t0, 0.0), t0, 0.0)
        fd.add_output(t4)
        fd.add_output(t4, t0)
        fd.add_output(t4)
        fd.add_output(t0)
    out = fd.execute([x])
    assert len(out) == 3
    assert all(o is x for o in out)
    torch.testing.assert_close(x, ref)
    text = repr(fd)
    assert text.count("fd.add_output(tv2)") == 2 and "fd.add_output(tv2, tv0)" in text


def test_an_output_added_twice_is_returned_twice():
    x = torch.randn(6)
    with FusionDefinition() as fd:
        t0 = fd.from_pytorch(x)
        t1 = fd.ops.exp(t0)
        fd.add_output(t1)
        fd.add_output(t1)
    a, b = fd.execute([x])
    torch.testing.assert_close(a, x.exp())
    torch.testing.assert_close(b, x.exp())
    ns = {}
    exec(repr(fd), {"DataType": DataType}, ns)
    with FusionDefinition() as fd2:
        ns["nvfuser_fusion"](fd2)
    assert fd2.fusion.structurally_equal(fd.fusion)


def test_an_output_that_is_an_input_is_that_input():
    x = torch.randn(3, 4)
    y = np.arange(5, dtype=np.float32)
    with FusionDefinition() as fd:
        a = fd.from_pytorch(x)
        fd.add_output(a)
        fd.add_output(fd.ops.exp(a))
    out = fd.execute([x])
    assert out[0] is x
    torch.testing.assert_close(out[1], x.exp())
    with FusionDefinition() as fd:
        b = fd.define_tensor(shape=[-1], dtype=DataType.Float)
        fd.add_output(b)
    assert fd.execute([y])[0] is y


def test_made_visible_later_keeps_the_order_of_add_output_calls():
    x = torch.randn(5)
    with FusionDefinition() as fd:
        t0 = fd.from_pytorch(x)
        a = fd.ops.mul(t0, 2.0)
        b = fd.ops.add(t0, 1.0)
        fd.add_output(a, t0)
        fd.add_output(b)
        fd.add_output(a)
    before = x.clone()
    out = fd.execute([x])
    assert len(out) == 2
    torch.testing.assert_close(out[0], before + 1)
    assert out[1] is x
    torch.testing.assert_close(x, before * 2)


def test_numpy_inputs_are_written_too():
    x = np.arange(12, dtype=np.float64).reshape(3, 4)
    with FusionDefinition() as fd:
        t0 = fd.define_tensor(shape=[-1, -1], dtype=DataType.Double)
        fd.add_output(fd.ops.mul(t0, t0), t0)
    assert fd.execute([x]) == []
    np.testing.assert_array_equal(x, np.arange(12.0).reshape(3, 4) ** 2)


@pytest.mark.parametrize("view", ["transposed", "sliced", "channels_last"])
def test_strided_inputs_are_written_through_their_strides(view):
    base = torch.randn(4, 6, 5, 3)
    x = {"transposed": base[0, :, :, 0].t(), "sliced": base[:, ::2, 1:4, 1],
         "channels_last": base.contiguous(memory_format=torch.channels_last)}[view]
    before, base_before = x.clone(), base.clone()
    with FusionDefinition() as fd:
        t0 = fd.from_pytorch(x)
        fd.add_output(fd.ops.add(fd.ops.mul(t0, 3.0), 1.0), t0)
    fd.execute([x])
    torch.testing.assert_close(x, before * 3 + 1)
    if view != "channels_last":  # what is outside the view is untouched
        mask = torch.ones_like(base, dtype=torch.bool)
        {"transposed": lambda m: m[0, :, :, 0].fill_(False),
         "sliced": lambda m: m[:, ::2, 1:4, 1].fill_(False)}[view](mask)
        torch.testing.assert_close(base[mask], base_before[mask])


def test_validate_leaves_the_reference_run_off_the_inputs():
    x = torch.ones(3)
    with FusionDefinition() as fd:
        t0 = fd.from_pytorch(x)
        t1 = fd.ops.add(t0, 1.0)
        fd.add_output(t1, t0)
        fd.add_output(fd.ops.mul(t1, 2.0))
    fd.validate([x])
    # one write only: by execute, not by the reference run
    torch.testing.assert_close(x, torch.full((3,), 2.0))


def test_printed_definition_round_trips_with_aliases():
    x = torch.randn(2, 3)
    with FusionDefinition() as fd:
        t0 = fd.from_pytorch(x)
        t1 = fd.from_pytorch(x)
        a = fd.ops.add(t0, t1)
        b = fd.ops.mul(t0, t1)
        fd.add_output(a, t0)
        fd.add_output(b)
        fd.add_output(b, t1)
        fd.add_output(a)
    text = repr(fd)
    assert "fd.add_output(tv2, tv0)" in text and "fd.add_output(tv3, tv1)" in text
    ns = {}
    exec(text, {"DataType": DataType}, ns)
    with FusionDefinition() as fd2:
        ns["nvfuser_fusion"](fd2)
    assert fd2.fusion.structurally_equal(fd.fusion)
    assert repr(fd2) == text
    xs = [torch.randn(2, 3), torch.randn(2, 3)]
    ys = [v.clone() for v in xs]
    out1, out2 = fd.execute(xs), fd2.execute(ys)
    assert len(out1) == len(out2) == 2
    for u, v in zip(xs + out1, ys + out2):
        torch.testing.assert_close(u, v)
    assert "written into" in fd.fusion.print_math()


def test_an_alias_makes_a_different_fusion():
    def build(alias):
        with FusionDefinition() as fd:
            t0 = fd.define_tensor(shape=[-1], dtype=DataType.Float)
            t1 = fd.ops.neg(t0)
            fd.add_output(t1, t0) if alias else fd.add_output(t1)
        return fd.fusion

    a, b = build(True), build(False)
    assert not a.structurally_equal(b)
    assert a.structural_hash() != b.structural_hash()
    assert a.structurally_equal(build(True))
    cache = cfuser.LRUCache(4)
    cache.cache_compile(a)
    cache.cache_compile(b)
    assert cache.num_fusions() == 2


# --- misuse: clear errors, the fusion left as it was -----------------------------------


def _two_inputs():
    fd = FusionDefinition()
    fd.__enter__()
    a = fd.define_tensor(shape=[-1, -1], dtype=DataType.Float)
    b = fd.define_tensor(shape=[-1, 1], dtype=DataType.Float)
    return fd, a, b


@pytest.mark.parametrize("case, err, words", [
    ("intermediate", cfuser.InvalidArgumentError, "must be an input of the fusion"),
    ("dtype", cfuser.InvalidArgumentError, "dtype and the number of dims must agree"),
    ("rank", cfuser.InvalidArgumentError, "dtype and the number of dims must agree"),
    ("scalar", cfuser.InvalidArgumentError, "must be a TensorView, not a Scalar"),
    ("twice into one input", cfuser.InvalidArgumentError, "already written by another output"),
    ("one output into two", cfuser.InvalidArgumentError, "an output can alias one input only"),
    ("not a node", TypeError, "alias_input"),
])
def test_bad_aliases_raise_at_definition(case, err, words):
    fd, a, b = _two_inputs()
    try:
        c = fd.ops.add(a, b)
        s = fd.define_scalar(None, dtype=DataType.Float)
        if case == "twice into one input":
            fd.add_output(c, a)
            args = (fd.ops.neg(a), a)
        elif case == "one output into two":
            fd.add_output(c, a)
            args = (c, fd.define_tensor(shape=[-1, -1], dtype=DataType.Float))
        else:
            args = {"intermediate": (c, fd.ops.neg(a)), "dtype": (fd.ops.cast(c, DataType.Double), a),
                    "rank": (fd.ops.sum(c, [1]), a), "scalar": (c, s), "not a node": (c, torch.zeros(2))}[case]
        n_out = len(fd.fusion.outputs()) if hasattr(fd.fusion, "outputs") else None
        with pytest.raises(err, match=words):
            fd.add_output(*args)
        if n_out is not None:
            assert len(fd.fusion.outputs()) == n_out
    finally:
        fd.__exit__(None, None, None)


def test_an_alias_of_another_shape_raises_at_execute_and_writes_nothing():
    fd, a, b = _two_inputs()
    fd.add_output(fd.ops.add(a, b), b)  # [n, m] into [n, 1]
    fd.__exit__(None, None, None)
    x, y = torch.randn(3, 4), torch.randn(3, 1)
    y0 = y.clone()
    with pytest.raises(cfuser.InvalidArgumentError, match="shape differs from the input's"):
        fd.execute([x, y])
    torch.testing.assert_close(y, y0)
    # a shape that agrees runs
    fd.execute([torch.randn(3, 1), y])


def test_a_read_only_input_says_so():
    x = np.ones(4, dtype=np.float32)
    x.setflags(write=False)
    with FusionDefinition() as fd:
        t0 = fd.define_tensor(shape=[-1], dtype=DataType.Float)
        fd.add_output(fd.ops.neg(t0), t0)
    with pytest.raises(ValueError, match="read-only"):
        fd.execute([x])
    np.testing.assert_array_equal(x, np.ones(4, dtype=np.float32))


def test_add_output_signature_matches_nvfusers():
    import inspect

    for f in (FusionDefinition.add_output, cfuser.Fusion.add_output):
        params = list(inspect.signature(f).parameters)
        assert params[-2:] == ["val", "alias_input"], params
