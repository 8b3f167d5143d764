"""The op registry (core/ops/ops.toml) and what is generated from it: every
row has its Python entry with the registry's signature, its docstring
example runs, and the generator rejects rows it cannot honour."""

from __future__ import annotations

import importlib.util
import inspect
import os
import re
import sys

import numpy as np
import pytest

from conftest import cfuser, dt

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TABLE = os.path.join(REPO, "core", "ops", "ops.toml")
if not os.path.isfile(TABLE):
    # ci/wheel.sh runs copies of these files against the installed wheel, away
    # from the checkout; this file tests the build's generator against the package
    pytest.skip("the op table (core/ops/ops.toml) is not beside these tests; they run from the checkout",
                allow_module_level=True)


def _opgen():
    spec = importlib.util.spec_from_file_location("opgen", os.path.join(REPO, "core", "ops", "opgen.py"))
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("opgen", mod)  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


opgen = _opgen()
OPS = opgen.load(TABLE)
PY_OPS = [o for o in OPS if o.python]


def test_every_python_op_of_the_registry_is_in_cfuser_ops_and_no_other():
    runtime = {n for n in vars(cfuser.ops) if not n.startswith("_") and callable(getattr(cfuser.ops, n))}
    assert runtime == {o.name for o in PY_OPS}


def test_program_only_ops_have_no_python_entry():
    internal = [o.name for o in OPS if not o.python]
    assert internal and not any(hasattr(cfuser.ops, n) for n in internal)


@pytest.mark.parametrize("op", PY_OPS, ids=[o.name for o in PY_OPS])
def test_signature_is_the_registry_signature(op):
    sig = inspect.signature(getattr(cfuser.ops, op.name))
    assert list(sig.parameters) == [p.name for p in op.params]
    for p in op.params:
        param = sig.parameters[p.name]
        if p.default is None:
            assert param.default is inspect.Parameter.empty, (op.name, p.name)
        else:
            assert repr(param.default) == p.default, (op.name, p.name, param.default)
        want = inspect.Parameter.KEYWORD_ONLY if p.kwonly else inspect.Parameter.POSITIONAL_OR_KEYWORD
        assert param.kind is want


@pytest.mark.parametrize("op", PY_OPS, ids=[o.name for o in PY_OPS])
def test_docstring_sections(op):
    doc = inspect.getdoc(getattr(cfuser.ops, op.name))
    assert doc.splitlines()[0] == op.doc
    for section in ("Parameters", "Returns", "Examples"):
        assert re.search(rf"^{section}\n-{{5,}}$", doc, re.M), (op.name, section)
    for p in op.params:
        assert re.search(rf"^{re.escape(p.name)} : ", doc, re.M), (op.name, p.name)


def _example(op_name):
    doc = inspect.getdoc(getattr(cfuser.ops, op_name))
    lines = [ln[4:] for ln in doc.splitlines() if ln.startswith(">>> ")]
    assert len(lines) == 1, doc
    return lines[0]


@pytest.mark.parametrize("op", PY_OPS, ids=[o.name for o in PY_OPS])
def test_docstring_example_runs(op):
    """Examples use t0, t1 (Float, 4x3), i0, i1 (Int) and b0 (Bool)."""
    rng = np.random.default_rng(len(op.name))
    inputs = {
        "t0": ("Float", rng.uniform(0.1, 0.9, (4, 3)).astype(np.float32)),
        "t1": ("Float", rng.uniform(0.1, 0.9, (4, 3)).astype(np.float32)),
        "i0": ("Int", rng.integers(1, 50, (4, 3))),
        "i1": ("Int", rng.integers(0, 5, (4, 3))),
        "b0": ("Bool", rng.random((4, 3)) < 0.5),
    }
    with cfuser.FusionDefinition() as fd:
        env = {name: fd.define_tensor(shape=[-1, -1], dtype=dt(d)) for name, (d, _) in inputs.items()}
        env.update(fd=fd, DataType=cfuser.DataType)
        result = eval(_example(op.name), {}, env)  # noqa: S307 - our own docstring
        results = list(result) if isinstance(result, (tuple, list)) else [result]
        tensors = [r for r in results if isinstance(r, cfuser.ir.TensorView)]
        for r in tensors:
            fd.add_output(r)
    if not tensors:  # size, shape: Scalars of the fusion
        assert results and all(isinstance(r, cfuser.ir.Scalar) for r in results), results
        return
    outs = fd.execute([a for _, a in inputs.values()])
    assert len(outs) == len(tensors) and all(o is not None for o in outs)


def test_print_math_uses_the_registry_infix():
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=dt("Float"))
        fd.add_output(fd.ops.add(fd.ops.mul(x, x), fd.ops.nextafter(x, x)))
    text = fd.fusion.print_math()
    assert " * " in text and " + " in text and "nextafter(" in text


# --- the generator's checks ------------------------------------------------------------


def _load(tmp_path, text):
    p = tmp_path / "ops.toml"
    p.write_text(text)
    return opgen.load(str(p))


@pytest.mark.parametrize(
    "row,message",
    [
        ('[unary]\nfoo = {rule = "same", doc = "d", colour = "red"}\n', "unknown fields"),
        ('[unary]\nfoo = {rule = "sometimes", doc = "d"}\n', "rule"),
        ('[unary]\nfoo = {rule = "same"}\n', "no doc"),
        ('[unary]\nfoo = {rule = "same", doc = "d", args = ["a", "b"]}\n', "takes 1 args"),
        ('[shape]\nfoo = {doc = "d"}\n', "needs sig and ret"),
        ('[shape]\nfoo = {doc = "d", sig = "arg: TensorView,, x", ret = "TensorView"}\n', "bad signature"),
        ('[shape]\nfoo = {doc = "d", sig = "arg: TensorView", ret = "TensorView", cpu = "L(o[i] = 0)"}\n', "elementwise"),
        ('[unary]\nfoo = {rule = "same", doc = "d", flags = ["shiny"]}\n', "unknown flag"),
        ('[unary]\nfoo = {rule = "same", doc = "d"}\n[binary]\nfoo = {rule = "same", doc = "d"}\n', "listed twice"),
        ('[stuff]\nfoo = {doc = "d"}\n', "unknown sections"),
        ('[unary]\nfoo = {rule = "same", doc = "d", cuda = "f({x})"}\n', None),
    ],
)
def test_generator_rejects_bad_rows(tmp_path, row, message):
    if message is None:  # a bad CUDA placeholder is caught when the C is generated
        ops = _load(tmp_path, row)
        with pytest.raises(opgen.TableError, match="placeholder"):
            opgen.gen_cuda_inc(ops)
        return
    with pytest.raises(opgen.TableError, match=message):
        _load(tmp_path, row)


def test_loops_shared_by_ops_are_emitted_once():
    """ops with the same CPU loop share one case (ceil, floor, round and
    trunc on integers are all the identity)."""
    inc = opgen.gen_cpu_inc(OPS, "cpu_int")
    assert "case CF_OP_CEIL:\ncase CF_OP_FLOOR:\ncase CF_OP_ROUND:\ncase CF_OP_TRUNC: L(o[i] = a[i]) break;" in inc
    assert inc.count("L(o[i] = a[i]) break;") == 1


def test_a_new_row_reaches_every_output(tmp_path):
    """One row is enough: the opcode, the lookups, the kernels, the entry,
    the docstring and the stub all carry a new op."""
    ops = _load(
        tmp_path,
        '[unary]\ncube = {rule = "same", doc = "Elementwise x ** 3.", cpu = "L(o[i] = a[i] * a[i] * a[i])",'
        ' cuda = "({0}*{0}*{0})"}\n',
    )
    assert "X(cube, CUBE)" in opgen.gen_op_table_h(ops)
    assert '[CF_OP_CUBE] = "cube"' in opgen.gen_registry_c(ops)
    assert "case CF_OP_CUBE: L(o[i] = a[i] * a[i] * a[i]) break;" in opgen.gen_cpu_inc(ops, "cpu")
    cuda = opgen.gen_cuda_inc(ops)
    assert '"($0*$0*$0)\\0"' in cuda and "[CF_OP_CUBE] = {1, 1, 1}" in cuda
    defs = opgen.gen_ops_defs_inc(ops)
    assert "static PyObject *op_cube(" in defs and '"cube(x)\\n"' in defs
    assert "def cube(x: TensorView) -> TensorView: ..." in opgen.gen_stub(ops)
