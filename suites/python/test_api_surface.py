"""The public surface: names, submodules, enums, signatures and docstrings."""

from __future__ import annotations

import enum
import inspect
import os
import pydoc
import re
import subprocess
import sys

import pytest

from conftest import SUPPORTED, UNSUPPORTED, cfuser, plain_python_only

UNARY = (
    "abs neg exp exp2 expm1 log log2 log10 log1p sqrt rsqrt reciprocal sin cos tan tanh "
    "sinh cosh asin acos atan asinh acosh atanh sigmoid relu silu erf erfc ceil floor "
    "round trunc sign signbit isfinite isinf isnan logical_not bitwise_not frac"
).split()
BINARY = (
    "add sub mul div truediv mod remainder fmod pow atan2 maximum minimum eq ne lt le gt ge "
    "logical_and logical_or bitwise_and bitwise_or bitwise_xor bitwise_left_shift "
    "bitwise_right_shift"
).split()
# op -> its parameter names, in order (nvFuser's names)
OTHER = {
    "where": ["pred", "x", "y"],
    "clamp": ["x", "min", "max"],
    "lerp": ["start", "end", "weight"],
    "addcmul": ["x", "tensor1", "tensor2", "value"],
    "threshold": ["x", "threshold", "value"],
    "cast": ["arg", "dtype"],
    "set": ["arg"],
    "broadcast_in_dim": ["arg", "shape", "broadcast_dims"],
    "broadcast": ["arg", "is_broadcast_dim"],
    "expand": ["arg", "shape"],
    "reshape": ["arg", "new_shape"],
    "permute": ["arg", "dims"],
    "squeeze": ["arg", "dims"],
    "slice": ["arg", "start_indices", "end_indices", "strides", "manual_normalization"],
    "pad": ["arg", "pad_widths", "value"],
    "cat": ["tensors", "dim", "manual_padding"],
    "select": ["arg", "index", "dim"],
    "full": ["shape", "fill_value", "dtype"],
    "iota": ["length", "start", "step", "dtype"],
    "sum": ["arg", "dims", "keepdim", "dtype"],
    "prod": ["arg", "dims", "keepdim", "dtype"],
    "max": ["arg", "dims", "keepdim", "dtype"],
    "min": ["arg", "dims", "keepdim", "dtype"],
    "var": ["arg", "dims", "correction", "keepdim"],
    "var_mean": ["arg", "dims", "correction", "keepdim"],
}
ALL_OPS = {**{n: ["x"] for n in UNARY}, **{n: ["lhs", "rhs"] for n in BINARY}, **OTHER}
# parameters that have defaults, with the default
DEFAULTS = {
    "iota": {"start": None, "step": None},
    "slice": {"strides": None, "manual_normalization": False},
    "pad": {"value": None},
    "cat": {"dim": 0, "manual_padding": False},
    "sum": {"keepdim": False, "dtype": None},
    "prod": {"keepdim": False, "dtype": None},
    "max": {"keepdim": False, "dtype": None},
    "min": {"keepdim": False, "dtype": None},
    "var": {"correction": 1, "keepdim": False},
    "var_mean": {"correction": 1, "keepdim": False},
}

TOP_LEVEL = [
    "FusionDefinition",
    "Fusion",
    "FusionGuard",
    "FusionExecutorCache",
    "DataType",
    "define_tensor",
    "define_scalar",
    "ops",
    "ir",
    "runtime",
    "Error",
    "InvalidArgumentError",
    "InvalidTypeError",
    "OutOfRangeError",
    "OutOfMemoryError",
    "SizeOverflowError",
    "UnsupportedError",
    "DeviceError",
    "ExecutionError",
    "__version__",
]

ERRORS = {
    "Error": (RuntimeError,),
    "InvalidArgumentError": (ValueError,),
    "InvalidTypeError": (TypeError,),
    "OutOfRangeError": (IndexError,),
    "OutOfMemoryError": (MemoryError,),
    "SizeOverflowError": (OverflowError,),
    "UnsupportedError": (),
    "DeviceError": (),
    "ExecutionError": (),
}

IR_TYPES = ["Val", "TensorView", "Scalar", "Expr", "IterDomain", "TensorDomain"]
RUNTIME_TYPES = ["Fusion", "FusionExecutorCache", "FusionGuard"]


# --- names and submodules ------------------------------------------------------


@pytest.mark.parametrize("name", TOP_LEVEL)
def test_top_level_name(name):
    assert hasattr(cfuser, name), f"cfuser.{name} is missing"


def test_version():
    assert cfuser.__version__ == "0.1.0"


@pytest.mark.parametrize("sub", ["ir", "ops", "runtime"])
def test_submodule_importable(sub):
    import importlib
    import types

    mod = importlib.import_module(f"cfuser.{sub}")
    assert isinstance(mod, types.ModuleType)
    assert getattr(cfuser, sub) is mod


@pytest.mark.parametrize("name", IR_TYPES)
def test_ir_types(name):
    cls = getattr(cfuser.ir, name)
    assert isinstance(cls, type)


def test_ir_hierarchy():
    assert issubclass(cfuser.ir.TensorView, cfuser.ir.Val)
    assert issubclass(cfuser.ir.Scalar, cfuser.ir.Val)
    assert not issubclass(cfuser.ir.Expr, cfuser.ir.Val)


@pytest.mark.parametrize("name", RUNTIME_TYPES)
def test_runtime_reexported(name):
    assert getattr(cfuser.runtime, name) is getattr(cfuser, name)


@pytest.mark.parametrize("op", sorted(ALL_OPS))
def test_op_exists(op):
    assert callable(getattr(cfuser.ops, op))


def test_fd_ops_is_the_ops_module():
    with cfuser.FusionDefinition() as fd:
        assert fd.ops is cfuser.ops
        assert isinstance(fd.fusion, cfuser.Fusion)


@plain_python_only
def test_import_does_not_import_numpy_or_torch():
    code = (
        "import sys, cfuser\n"
        "bad = [m for m in ('numpy', 'torch') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in [_package_root(), env.get("PYTHONPATH")] if p)
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr


def _package_root():
    return os.path.dirname(os.path.dirname(os.path.abspath(cfuser.__file__)))


# --- errors -----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_error_hierarchy(name):
    cls = getattr(cfuser, name)
    assert issubclass(cls, Exception)
    assert issubclass(cls, RuntimeError)
    assert issubclass(cls, cfuser.Error)
    for base in ERRORS[name]:
        assert issubclass(cls, base), f"{name} should derive from {base.__name__}"


def test_error_classes_are_distinct():
    classes = [getattr(cfuser, n) for n in ERRORS]
    assert len(set(classes)) == len(classes)
    assert not issubclass(cfuser.UnsupportedError, ValueError)
    assert not issubclass(cfuser.InvalidArgumentError, TypeError)


# --- DataType -----------------------------------------------------------------------


def test_datatype_is_enum():
    assert issubclass(cfuser.DataType, enum.Enum)
    members = [m.name for m in cfuser.DataType]
    for name in SUPPORTED + UNSUPPORTED:
        assert name in members
    assert len(set(m.value for m in cfuser.DataType)) == len(members), "values must be distinct"


@pytest.mark.parametrize("name", SUPPORTED + UNSUPPORTED)
def test_datatype_member(name):
    DataType = cfuser.DataType
    m = getattr(DataType, name)
    assert isinstance(m, DataType)
    assert m.name == name
    assert DataType[name] is m
    assert DataType(m.value) is m
    assert re.fullmatch(rf"<DataType\.{name}: -?\d+>", repr(m)), repr(m)
    assert hash(m) == hash(DataType[name])
    assert {m: 1}[DataType[name]] == 1


def test_datatype_float_repr():
    assert repr(cfuser.DataType.Float) == "<DataType.Float: 1>"


def test_datatype_shared_with_ir():
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=cfuser.DataType.Half)
        assert x.dtype() is cfuser.DataType.Half


# --- signatures -----------------------------------------------------------------------


def test_add_signature_text():
    assert str(inspect.signature(cfuser.ops.add)) == "(lhs, rhs)"


@pytest.mark.parametrize("op", UNARY)
def test_unary_signature(op):
    assert str(inspect.signature(getattr(cfuser.ops, op))) == "(x)"


@pytest.mark.parametrize("op", BINARY)
def test_binary_signature(op):
    assert str(inspect.signature(getattr(cfuser.ops, op))) == "(lhs, rhs)"


@pytest.mark.parametrize("op", sorted(OTHER))
def test_other_signature(op):
    sig = inspect.signature(getattr(cfuser.ops, op))
    assert list(sig.parameters) == OTHER[op]
    for p in sig.parameters.values():
        assert p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD, f"{op}({p.name}) must be keyword-callable"
    for pname, default in DEFAULTS.get(op, {}).items():
        assert sig.parameters[pname].default == default, (op, pname)


def test_iota_default_dtype_is_int():
    # Text signatures can only hold literal defaults, so the C signature says
    # None and the docstring and behaviour say Int.
    sig = inspect.signature(cfuser.ops.iota)
    assert sig.parameters["dtype"].default is None
    assert "None means DataType.Int" in cfuser.ops.iota.__doc__
    with cfuser.FusionDefinition() as fd:
        t = fd.ops.iota(5)
    assert t.dtype() is cfuser.DataType.Int


def _public_callables():
    """(qualified name, object) for every public function and method."""
    import types

    seen = []
    for mname in ("cfuser", "cfuser.ops", "cfuser.ir", "cfuser.runtime"):
        mod = cfuser if mname == "cfuser" else getattr(cfuser, mname.split(".")[1], None)
        if mod is None:
            continue
        for name in sorted(dir(mod)):
            if name.startswith("_"):
                continue
            obj = getattr(mod, name)
            if isinstance(obj, type):
                if issubclass(obj, (BaseException, enum.Enum)):
                    continue
                for attr in sorted(dir(obj)):
                    if attr.startswith("_"):
                        continue
                    raw = inspect.getattr_static(obj, attr)
                    if isinstance(raw, (property, types.GetSetDescriptorType, types.MemberDescriptorType)):
                        continue
                    val = getattr(obj, attr)
                    if callable(val):
                        seen.append((f"{mname}.{name}.{attr}", val))
            elif callable(obj) and not inspect.ismodule(obj):
                seen.append((f"{mname}.{name}", obj))
    return seen


CALLABLES = _public_callables()


@pytest.mark.parametrize("qualname,obj", CALLABLES, ids=[q for q, _ in CALLABLES])
def test_signature_available(qualname, obj):
    sig = inspect.signature(obj)
    assert isinstance(sig, inspect.Signature)


def test_enough_callables_checked():
    names = {q for q, _ in CALLABLES}
    for q in [
        "cfuser.ops.add",
        "cfuser.ops.var_mean",
        "cfuser.define_tensor",
        "cfuser.define_scalar",
        "cfuser.ir.Val.definition",
        "cfuser.ir.TensorView.definition",
        "cfuser.ir.TensorView.axis",
        "cfuser.ir.Expr.input",
        "cfuser.ir.IterDomain.extent",
        "cfuser.runtime.Fusion.print_math",
        "cfuser.runtime.FusionExecutorCache.execute",
        "cfuser.FusionDefinition.define_tensor",
        "cfuser.FusionDefinition.execute",
    ]:
        assert q in names, q


@pytest.mark.parametrize("cls", ["Fusion", "FusionExecutorCache", "FusionGuard", "FusionDefinition"])
def test_constructor_signature(cls):
    sig = inspect.signature(getattr(cfuser, cls))
    params = [p for p in sig.parameters.values()]
    if cls == "Fusion":
        assert params == []
    elif cls in ("FusionExecutorCache", "FusionGuard"):
        assert params and params[0].name == "fusion"


@pytest.mark.parametrize(
    "qual,names",
    [
        ("FusionExecutorCache.execute", ["inputs", "device", "_enable_options", "_disable_options"]),
        ("FusionDefinition.define_tensor", ["shape", "contiguity", "dtype", "is_cpu", "stride_order"]),
        ("FusionDefinition.define_scalar", ["value", "dtype"]),
        ("FusionDefinition.add_output", []),
        ("FusionDefinition.execute", ["inputs"]),
        ("Fusion.add_output", []),
        ("Fusion.add_input", []),
        ("Fusion.print_math", []),
    ],
)
def test_method_signature_names(qual, names):
    cls, meth = qual.split(".")
    sig = inspect.signature(getattr(getattr(cfuser, cls), meth))
    params = [p for p in sig.parameters if p != "self"]
    for n in names:
        assert n in params, f"{qual} lacks parameter {n}: {sig}"


def test_execute_options_are_keyword_only():
    sig = inspect.signature(cfuser.FusionExecutorCache.execute)
    for n in ("device", "_enable_options", "_disable_options"):
        assert sig.parameters[n].kind is inspect.Parameter.KEYWORD_ONLY, (n, sig)
    assert sig.parameters["device"].default is None


@pytest.mark.parametrize("cls", ["FusionExecutorCache", "FusionDefinition"])
def test_execute_inputs_parameter_matches_behaviour(cls):
    """execute(inputs, *, ...): inputs may be passed by keyword, and the
    signature says so."""
    sig = inspect.signature(getattr(cfuser, cls).execute)
    assert sig.parameters["inputs"].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD, sig


@pytest.mark.parametrize("qualname,obj", CALLABLES, ids=[q for q, _ in CALLABLES])
def test_signature_is_not_generic(qualname, obj):
    params = list(inspect.signature(obj).parameters.values())
    kinds = {p.kind for p in params}
    assert not (
        kinds and kinds <= {inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD}
    ), f"{qualname} has a generic (*args, **kwargs) signature"


def test_define_tensor_alternative_form_parameters():
    sig = inspect.signature(cfuser.FusionDefinition.define_tensor)
    assert "sizes" in sig.parameters and "strides" in sig.parameters
    assert sig.parameters["is_cpu"].default is False
    assert sig.parameters["dtype"].default is cfuser.DataType.Float or "Float" in str(
        sig.parameters["dtype"].default
    )


def test_module_level_define_signatures():
    for fn, names in [(cfuser.define_tensor, ["shape", "dtype"]), (cfuser.define_scalar, ["value", "dtype"])]:
        params = inspect.signature(fn).parameters
        for n in names:
            assert n in params


# --- docstrings -----------------------------------------------------------------------


def _param_section(doc):
    m = re.search(r"Parameters\n\s*-{5,}\n(.*?)(\n\s*\n\s*Returns|\Z)", doc, re.S)
    return m.group(1) if m else ""


@pytest.mark.parametrize("op", sorted(ALL_OPS))
def test_op_docstring_numpy_style(op):
    fn = getattr(cfuser.ops, op)
    doc = inspect.getdoc(fn)
    assert doc, f"{op} has no docstring"
    assert re.search(r"^Parameters\n-{5,}$", doc, re.M), doc
    assert re.search(r"^Returns\n-{5,}$", doc, re.M), doc
    params = _param_section(doc)
    for name in ALL_OPS[op]:
        assert re.search(rf"^\s*{re.escape(name)}\s*:", params, re.M), f"{op}: parameter {name} not documented"
    # the summary line is text, not the signature
    assert not doc.splitlines()[0].startswith(op + "(")


def test_help_add_shows_signature_and_sections():
    text = pydoc.render_doc(cfuser.ops.add, renderer=pydoc.plaintext)
    assert "add(lhs, rhs)" in text
    assert "Parameters" in text and "Returns" in text
    assert "lhs" in text and "rhs" in text


@pytest.mark.parametrize("qualname,obj", CALLABLES, ids=[q for q, _ in CALLABLES])
def test_public_callable_has_docstring(qualname, obj):
    doc = inspect.getdoc(obj)
    assert doc and doc.strip(), f"{qualname} has no docstring"


@pytest.mark.parametrize("name", ["cfuser", "cfuser.ops", "cfuser.ir", "cfuser.runtime"])
def test_module_docstring(name):
    mod = sys.modules[name] if name in sys.modules else __import__(name, fromlist=["_"])
    assert mod.__doc__ and mod.__doc__.strip()


# --- keyword calls ----------------------------------------------------------------------


def test_every_binary_op_keyword_callable():
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=cfuser.DataType.Int)
        y = fd.define_tensor(shape=[-1], dtype=cfuser.DataType.Int)
        for op in BINARY:
            out = getattr(fd.ops, op)(lhs=x, rhs=y)
            assert isinstance(out, cfuser.ir.TensorView), op
            assert out.definition().op_name() == op


def test_every_unary_op_keyword_callable():
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=cfuser.DataType.Int)
        for op in UNARY:
            out = getattr(fd.ops, op)(x=x)
            assert isinstance(out, cfuser.ir.TensorView), op
            assert out.definition().op_name() == op


def test_other_ops_keyword_callable():
    D = cfuser.DataType
    with cfuser.FusionDefinition() as fd:
        o = fd.ops
        x = fd.define_tensor(shape=[-1, -1], dtype=D.Float)
        b = fd.define_tensor(shape=[-1], dtype=D.Float)
        one = fd.define_tensor(shape=[1, -1], dtype=D.Float)
        p = fd.define_tensor(shape=[-1, -1], dtype=D.Bool)
        fixed = fd.define_tensor(shape=[2, 3], dtype=D.Float)
        results = {
            "where": o.where(pred=p, x=x, y=x),
            "clamp": o.clamp(x=x, min=0.0, max=1.0),
            "lerp": o.lerp(start=x, end=x, weight=0.5),
            "addcmul": o.addcmul(x=x, tensor1=x, tensor2=x, value=2.0),
            "threshold": o.threshold(x=x, threshold=0.5, value=0.0),
            "cast": o.cast(arg=x, dtype=D.Double),
            "set": o.set(arg=x),
            "broadcast_in_dim": o.broadcast_in_dim(arg=b, shape=x.shape(), broadcast_dims=[1]),
            "broadcast": o.broadcast(arg=b, is_broadcast_dim=[True, False]),
            "expand": o.expand(arg=one, shape=x.shape()),
            "reshape": o.reshape(arg=fixed, new_shape=[6]),
            "permute": o.permute(arg=x, dims=[1, 0]),
            "squeeze": o.squeeze(arg=one, dims=[0]),
            "full": o.full(shape=[2, 3], fill_value=1.0, dtype=D.Float),
            "iota": o.iota(length=5, start=0, step=1, dtype=D.Int),
            "sum": o.sum(arg=x, dims=[0], keepdim=False, dtype=D.Double),
            "prod": o.prod(arg=x, dims=[0], keepdim=True),
            "max": o.max(arg=x, dims=[1]),
            "min": o.min(arg=x, dims=[1]),
            "var": o.var(arg=x, dims=[1], correction=0, keepdim=False),
        }
        vm = o.var_mean(arg=x, dims=[1], correction=1, keepdim=False)
        for name, tv in results.items():
            assert isinstance(tv, cfuser.ir.TensorView), name
        assert isinstance(vm, tuple) and len(vm) == 2
        assert all(isinstance(t, cfuser.ir.TensorView) for t in vm)
