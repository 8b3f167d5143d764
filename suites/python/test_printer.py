"""repr(fd): the fusion written back as nvFuser's Python definition.

Executing the text and calling nvfuser_fusion on a fresh FusionDefinition
must rebuild a structurally equal fusion, for every op of the registry
(its docstring example) in every dtype it accepts, and the text must read
the way nvFuser writes it."""

from __future__ import annotations

import inspect
import json
import math
import re

import numpy as np
import pytest

from conftest import cfuser

DataType = cfuser.DataType
FusionDefinition = cfuser.FusionDefinition
HEADER = "def nvfuser_fusion(fd : FusionDefinition) -> None :\n"

# Ops whose example the round trip cannot build in any dtype, with the reason.
# The test fails when one of these starts to work: take it off the list.
CANNOT_BUILD: dict[str, str] = {}

DTYPES = [d for d in DataType if d is not DataType.Null]


def rebuild(text: str) -> FusionDefinition:
    scope = {"DataType": DataType, "FusionDefinition": FusionDefinition}
    exec(text, scope)  # noqa: S102 - the printer's own output
    again = FusionDefinition()
    with again:
        scope["nvfuser_fusion"](again)
    return again


def assert_round_trip(fd: FusionDefinition) -> str:
    text = repr(fd)
    assert text.startswith(HEADER), text
    again = rebuild(text)
    assert fd.fusion.structurally_equal(again.fusion), f"{text}\n---\n{again!r}"
    assert fd.fusion.structural_hash() == again.fusion.structural_hash()
    assert repr(again) == text
    return text


def _example(op_name: str) -> str:
    doc = inspect.getdoc(getattr(cfuser.ops, op_name))
    return next(line[4:] for line in doc.splitlines() if line.startswith(">>> "))


def _build_example(op_name: str, dtype: DataType) -> FusionDefinition:
    with FusionDefinition() as fd:
        env = {
            "t0": fd.define_tensor(shape=[-1, -1], dtype=dtype),
            "t1": fd.define_tensor(shape=[-1, -1], contiguity=[False, True], dtype=dtype),
            "i0": fd.define_tensor(shape=[-1, -1], dtype=DataType.Int),
            "i1": fd.define_tensor(shape=[-1, 1], dtype=DataType.Int),
            "b0": fd.define_tensor(shape=[-1, -1], dtype=DataType.Bool, stride_order=[0, 1]),
            "fd": fd,
            "DataType": DataType,
        }
        result = eval(_example(op_name), {}, env)  # noqa: S307 - our own docstring
        for r in result if isinstance(result, (tuple, list)) else [result]:
            if isinstance(r, cfuser.ir.TensorView):
                fd.add_output(r)
    return fd


REGISTRY_OPS = sorted(json.loads(cfuser._C._op_print_specs))


@pytest.mark.parametrize("op", REGISTRY_OPS)
def test_every_registry_op_round_trips_in_every_dtype(op):
    built = []
    for dtype in DTYPES:
        try:
            fd = _build_example(op, dtype)
        except cfuser.Error:
            continue  # the op does not take this dtype (the ops' own tests check which)
        assert_round_trip(fd)
        built.append(dtype)
    if op in CANNOT_BUILD:
        assert not built, f"{op} builds now: take it off CANNOT_BUILD ({CANNOT_BUILD[op]})"
    else:
        assert built, f"no dtype builds {op}'s example; list it in CANNOT_BUILD with the reason"


def test_every_registry_op_has_a_print_source_for_every_argument():
    specs = json.loads(cfuser._C._op_print_specs)
    for op, rows in specs.items():
        assert [r[0] for r in rows] == list(inspect.signature(getattr(cfuser.ops, op)).parameters), op


def test_nvfusers_basic_text():
    """tests/python/direct/test_python_frontend.py::test_basic, with our names."""
    with FusionDefinition() as fd:
        t0 = fd.define_tensor(shape=[-1, -1, -1], contiguity=[True, True, True], dtype=DataType.Float)
        t1 = fd.define_tensor(shape=[-1, -1, -1], contiguity=[True, True, True], dtype=DataType.Float)
        c0 = fd.define_scalar(3.0)
        t2 = fd.ops.add(t0, t1)
        t3 = fd.ops.mul(t2, c0)
        t4 = fd.ops.sum(t3, [-1], False, DataType.Float)
        fd.add_output(t4)
    text = assert_round_trip(fd)
    name = re.search(r"^    (c\d+) = fd.define_scalar", text, re.M).group(1)
    assert text == HEADER + (
        "    tv0 = fd.define_tensor(shape=[-1, -1, -1], contiguity=[True, True, True], dtype=DataType.Float, is_cpu=False)\n"
        "    tv1 = fd.define_tensor(shape=[-1, -1, -1], contiguity=[True, True, True], dtype=DataType.Float, is_cpu=False)\n"
        f"    {name} = fd.define_scalar(3.00000, dtype=DataType.Double)\n"
        "    tv2 = fd.ops.add(tv0, tv1)\n"
        f"    tv3 = fd.ops.mul(tv2, {name})\n"
        "    tv4 = fd.ops.sum(tv3, dims=[2], dtype=DataType.Float)\n"
        "    fd.add_output(tv4)\n"
    )


def test_literals_stay_literals_and_defaults_are_left_out():
    with FusionDefinition() as fd:
        t0 = fd.define_tensor(shape=[-1, -1], dtype=DataType.Float)
        t1 = fd.ops.mul(t0, 3.0)
        t2 = fd.ops.broadcast_in_dim(t1, shape=[2, t0.size(0), t0.size(1)], broadcast_dims=[1, 2])
        t3 = fd.ops.max(t2, dims=[0])
        v = fd.ops.var(t3, dims=[1])
        fd.add_output(v)
    text = assert_round_trip(fd)
    assert "fd.ops.mul(tv0, 3.00000)" in text
    assert "shape=[2, c0, c1]" in text and "c0 = fd.ops.size(tv0, dim=0)" in text
    assert "keepdim" not in text and "correction" not in text
    assert "fd.ops.var(tv3, dims=[1])" in text


def test_keepdim_reductions_print_one_call():
    with FusionDefinition() as fd:
        t0 = fd.define_tensor(shape=[-1, -1], dtype=DataType.Float)
        m = fd.ops.max(t0, dims=[1], keepdim=True)
        var, mean = fd.ops.var_mean(t0, dims=[0], correction=0, keepdim=True)
        fd.add_output(fd.ops.sub(t0, m))
        fd.add_output(var)
        fd.add_output(mean)
    text = assert_round_trip(fd)
    assert "broadcast" not in text
    assert "= fd.ops.var_mean(tv0, dims=[0], correction=0, keepdim=True)" in text


def test_half_scalar_casts_belong_to_their_op():
    with FusionDefinition() as fd:
        t0 = fd.define_tensor(shape=[-1], dtype=DataType.Half)
        fd.add_output(fd.ops.mul(t0, 0.1))
        fd.add_output(fd.ops.add(t0, fd.ops.cast(fd.define_scalar(2.0), DataType.Half)))
    text = assert_round_trip(fd)
    assert "fd.ops.mul(tv0, 0.100000)" in text


def test_a_cast_to_the_same_type_before_a_reduction_stays():
    # sum(dtype=Float) of a Float tensor makes no cast: the user's cast is its own statement
    with FusionDefinition() as fd:
        t0 = fd.define_tensor(shape=[-1], dtype=DataType.Float)
        fd.add_output(fd.ops.sum(fd.ops.cast(t0, DataType.Float), dims=[0]))
        fd.add_output(fd.ops.sum(fd.ops.cast(t0, DataType.Double), dims=[0]))  # this one it makes
    text = assert_round_trip(fd)
    assert text.count("fd.ops.cast(") == 1 and "dtype=DataType.Double)" in text


def test_explicit_casts_and_non_default_scalar_dtypes_stay():
    with FusionDefinition() as fd:
        t0 = fd.define_tensor(shape=[-1], dtype=DataType.Float)
        s = fd.define_scalar(2.0, dtype=DataType.Float)
        fd.add_output(fd.ops.add(fd.ops.add(t0, s), s))  # used twice: a named scalar
        fd.add_output(fd.ops.cast(t0, DataType.BFloat16))
        fd.define_scalar(7)  # used by nothing: still made again
    text = assert_round_trip(fd)
    assert "fd.define_scalar(2.00000, dtype=DataType.Float)" in text
    assert "fd.ops.cast(tv0, dtype=DataType.BFloat16)" in text


def test_scalar_inputs_vectors_and_scalar_arithmetic():
    with FusionDefinition() as fd:
        t0 = fd.define_tensor(shape=[-1, -1, -1], dtype=DataType.Float)
        s = fd.define_scalar(None, dtype=DataType.Double)
        shape = fd.define_vector(2)
        n = fd.ops.mul(t0.size(0), 2)
        fd.add_output(fd.ops.reshape(fd.ops.mul(t0, s), shape))
        fd.add_output(fd.ops.full([n, 3], 0, dtype=DataType.Int))
    text = assert_round_trip(fd)
    assert "fd.define_scalar(None, dtype=DataType.Double)" in text
    assert "fd.define_vector(2, dtype=DataType.Int)" in text
    assert "= fd.ops.mul(c0, 2)" in text


def test_static_broadcast_strided_and_expanded_inputs():
    with FusionDefinition() as fd:
        t0 = fd.define_tensor(shape=[2, 1, 5], contiguity=[False, None, True], dtype=DataType.Int32,
                              stride_order=[1, 2, 0])
        t1 = fd.ops.expand(t0, [2, 7, -1])
        t2 = fd.ops.squeeze(fd.ops.broadcast(t1, [False, True, False, False]), dims=[1])
        fd.add_output(fd.ops.permute(t2, dims=[2, 0, 1]))
    text = assert_round_trip(fd)
    assert ("fd.define_tensor(shape=[2, 1, 5], contiguity=[False, None, True], dtype=DataType.Int32, "
            "is_cpu=False, stride_order=[1, 2, 0])") in text
    assert "shape=[2, 7, -1]" in text


def test_the_printed_definition_runs_and_gives_the_same_results():
    x = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    with FusionDefinition() as fd:
        t0 = fd.define_tensor(shape=[-1, -1], dtype=DataType.Float)
        fd.add_output(fd.ops.sum(fd.ops.exp(fd.ops.mul(t0, 1 / 3)), dims=[1]))
    again = rebuild(repr(fd))
    np.testing.assert_array_equal(fd.execute([x])[0], again.execute([x])[0])


def test_scan_init_and_sort_flags_round_trip():
    """A scan's init is an input of its node only when given; argsort's and
    topk's flags are its integer attributes: each prints where it was set."""
    x = ((np.arange(35, dtype=np.float32) * 7919) % 13).reshape(5, 7)
    with FusionDefinition() as fd:
        t0 = fd.define_tensor(shape=[-1, -1], dtype=DataType.Float)
        fd.add_output(fd.ops.cumsum(t0, dim=1))
        fd.add_output(fd.ops.cumprod(t0, dim=0, init=0.5))
        fd.add_output(fd.ops.argsort(t0, dim=1, descending=True, stable=True))
        values, indices = fd.ops.topk(t0, 3, dim=0, largest=False, sorted=True)
        fd.add_output(values)
        fd.add_output(indices)
    text = assert_round_trip(fd)
    assert "init=0.500000" in text and "descending=True" in text and "largest=False" in text, text
    again = rebuild(text)
    for a, b in zip(fd.execute([x]), again.execute([x])):
        np.testing.assert_array_equal(a, b)


def test_embedding_training_arguments_and_max_norm_round_trip():
    """embedding_fwd's training-only arguments do not change the forward
    result and are not kept in its node; max_norm is made of ops of its own,
    which print as such. Both rebuild the same fusion and the same values."""
    ids = np.array([2, 0, 2, 1], dtype=np.int64)
    weight = (np.arange(15, dtype=np.float32).reshape(5, 3) - 6) / 2
    with FusionDefinition() as fd:
        i0 = fd.define_tensor(shape=[-1], dtype=DataType.Int)
        w0 = fd.define_tensor(shape=[-1, -1], dtype=DataType.Float)
        fd.add_output(fd.ops.embedding_fwd(i0, w0, padding_idx=0, scale_grad_by_freq=True, sparse=False))
        fd.add_output(fd.ops.embedding_fwd(i0, w0, max_norm=1.5, norm_type=2.0))
    text = assert_round_trip(fd)
    assert "padding_idx" not in text and "max_norm" not in text, text
    again = rebuild(text)
    for a, b in zip(fd.execute([ids, weight]), again.execute([ids, weight])):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("value, text", [
    (3.0, "3.00000"), (0.5, "0.500000"), (1e-5, "1.00000e-05"), (-0.0, "-0.00000"),
    (1 / 3, repr(1 / 3)), (1e300, "1.00000e+300"), (123456789.0, "123456789.0"),
    (float("inf"), 'float("inf")'), (float("-inf"), 'float("-inf")'), (float("nan"), 'float("nan")'),
    (7, "7"), (-1, "-1"), (True, "True"), (False, "False"),
])
def test_numbers_read_back_exactly(value, text):
    from cfuser._printer import format_number

    assert format_number(value) == text
    back = eval(text, {})  # noqa: S307
    if isinstance(value, float) and math.isnan(value):
        assert math.isnan(back)
    else:
        assert back == value and type(back) is type(value)
        assert math.copysign(1, back) == math.copysign(1, value)


def test_an_op_without_a_print_source_raises(monkeypatch):
    from cfuser import _printer

    with FusionDefinition() as fd:
        t0 = fd.define_tensor(shape=[-1, -1], dtype=DataType.Float)
        fd.add_output(fd.ops.permute(t0, dims=[1, 0]))
    specs = dict(_printer.op_print_specs())
    specs["permute"] = [("arg", "operand", None, False, False), ("dims", "none", None, False, False)]
    monkeypatch.setattr(_printer, "_specs", specs)
    with pytest.raises(cfuser.UnsupportedError, match="permute.*'dims'.*print"):
        repr(fd)


def test_an_empty_fusion_prints_a_body():
    fd = FusionDefinition()
    assert repr(fd) == HEADER + "    pass\n"
    assert str(fd) == repr(fd)
    assert rebuild(repr(fd)).fusion.structurally_equal(fd.fusion)


def _opgen():
    import importlib.util
    import os
    import sys

    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = os.path.join(repo, "core", "ops", "opgen.py")
    if not os.path.isfile(path):
        pytest.skip("the op generator is not beside these tests; they run from the checkout")
    spec = importlib.util.spec_from_file_location("opgen", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("opgen", mod)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("print_field, message", [
    ('{shape = "extents"}', "print names 'shape', which is not an argument"),
    ('{dims = "somewhere"}', "print source 'somewhere' is not one of"),
])
def test_generator_rejects_bad_print_fields(tmp_path, print_field, message):
    opgen = _opgen()
    table = tmp_path / "ops.toml"
    table.write_text(f'[shape]\nfoo = {{doc = "d", sig = "arg: TensorView, dims: Sequence[int]", '
                     f'ret = "TensorView", print = {print_field}}}\n')
    with pytest.raises(opgen.TableError, match=message):
        opgen.load(str(table))


def test_generator_derives_print_sources_from_annotations(tmp_path):
    opgen = _opgen()
    table = tmp_path / "ops.toml"
    table.write_text('[shape]\nfoo = {doc = "d", sig = "arg: TensorView, shape: Sequence[int | Scalar], '
                     'dims: Sequence[int], flags: Sequence[bool], dim: int, n: int | Scalar = 1, '
                     'dtype: DataType | None = None, keepdim: bool = False, mode: str = \'x\'", ret = "TensorView", '
                     'print = {dims = "flag_dims"}}\n')
    spec = json.loads(opgen.gen_print_specs(opgen.load(str(table))))["foo"]
    assert [(a, s) for a, s, *_ in spec] == [
        ("arg", "operand"), ("shape", "extents"), ("dims", "flag_dims"), ("flags", "flags"), ("dim", "int"),
        ("n", "operand"), ("dtype", "dtype"), ("keepdim", "keepdim"), ("mode", "none")]
    assert [n for *_, n in spec] == [False, True, True, True, True, True, False, True, False]


def _random_programs():
    from hypothesis import given

    from fuzzing import fuzz_settings
    from test_fuzz_differential import TORCH, Builder, Program, Value, programs

    @fuzz_settings(short=60, long=400)
    @given(programs())
    def check(prog_draw):
        """The differential fuzzer's random fusions (ops, dtypes, broadcasts, reductions
        with and without keepdim, Python numbers, half scalars) print and rebuild equal."""
        shape, dtypes, bmasks, _layouts, steps, nout, _seed = prog_draw
        pool = []
        prog = Program(shape, tuple(bmasks))
        with FusionDefinition() as fd:
            for i, (dt, bm) in enumerate(zip(dtypes, bmasks)):
                x = fd.define_tensor(shape=[1 if b else -1 for b in bm], dtype=dt)
                pool.append(Value(x, lambda xs, i=i: xs[i], shape, TORCH[dt], "full"))
            b = Builder(fd, prog, pool)
            for what, k in steps:
                b.step(what, k)
            for j in range(min(nout, len(pool))):
                fd.add_output(pool[-1 - j].cf)
        assert_round_trip(fd)

    return check


test_random_fusions_round_trip = _random_programs()
