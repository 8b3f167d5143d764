"""IR introspection, print_math, repr/str, wrapper identity and keep-alive."""

from __future__ import annotations

import gc
import re

import numpy as np
import pytest

from conftest import IR_NAME, SUPPORTED, cfuser, count_live, dt

DataType = cfuser.DataType
ir = cfuser.ir


def example():
    """The API's example fusion; returns (fd, dict of its values)."""
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], contiguity=True, dtype=DataType.Float)
        b = fd.define_tensor(shape=[-1], dtype=DataType.Float)
        s = fd.define_scalar(0.5, dtype=DataType.Double)
        bb = fd.ops.broadcast_in_dim(b, shape=x.shape(), broadcast_dims=[1])
        a = fd.ops.add(x, bb)
        t = fd.ops.tanh(a)
        y = fd.ops.mul(t, s)
        r = fd.ops.sum(y, dims=[1], keepdim=False)
        fd.add_output(y)
        fd.add_output(r)
    return fd, dict(x=x, b=b, s=s, bb=bb, a=a, t=t, y=y, r=r)


# --- fusion introspection --------------------------------------------------------


def test_fusion_inputs_outputs():
    fd, v = example()
    f = fd.fusion
    assert isinstance(f, cfuser.Fusion)
    ins, outs = f.inputs(), f.outputs()
    assert isinstance(ins, list) and isinstance(outs, list)
    assert len(ins) == 2 and ins[0] is v["x"] and ins[1] is v["b"]
    assert len(outs) == 2 and outs[0] is v["y"] and outs[1] is v["r"]


def test_fusion_vals_and_exprs():
    fd, v = example()
    f = fd.fusion
    vals, exprs = f.vals(), f.exprs()
    assert isinstance(vals, list) and isinstance(exprs, list)
    for name in ("x", "b", "s", "bb", "a", "t", "y", "r"):
        assert any(o is v[name] for o in vals), name
    assert all(isinstance(o, ir.Val) for o in vals)
    assert all(isinstance(e, ir.Expr) for e in exprs)
    names = [e.op_name() for e in exprs]
    for op in ("add", "tanh", "mul", "sum"):
        assert op in names, names
    # every expression's outputs are among the fusion's values
    for e in exprs:
        for o in e.outputs():
            assert any(o is w for w in vals)


def test_symbolic_scalar_is_input():
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=DataType.Float)
        n = fd.define_scalar(dtype=DataType.Int)
        c = fd.define_scalar(3, dtype=DataType.Int)
    ins = fd.fusion.inputs()
    assert len(ins) == 2 and ins[0] is x and ins[1] is n
    assert isinstance(n, ir.Scalar) and isinstance(c, ir.Scalar)
    assert n.value() is None
    assert c.value() == 3 and isinstance(c.value(), int)
    assert n.is_symbolic() and not c.is_symbolic()
    assert not n.is_tensor() and x.is_tensor()
    assert x.is_symbolic()
    assert n.dtype() is DataType.Int
    assert not any(c is i for i in ins)


@pytest.mark.parametrize(
    "value,dtype,expect",
    [(0.5, "Double", 0.5), (2, "Int", 2), (True, "Bool", True), (1.5, "Float", 1.5), (7, "Int32", 7), (2, "Double", 2.0)],
)
def test_scalar_value(value, dtype, expect):
    with cfuser.FusionDefinition() as fd:
        s = fd.define_scalar(value, dtype=dt(dtype))
    assert s.value() == expect
    assert type(s.value()) is type(expect)
    assert s.dtype() is dt(dtype)


def test_add_input_output_on_plain_fusion():
    f = cfuser.Fusion()
    assert f.inputs() == [] and f.outputs() == [] and f.exprs() == []
    with cfuser.FusionGuard(f):
        t = cfuser.define_tensor(shape=[-1], dtype=DataType.Float)
        u = cfuser.ops.neg(t)
        f.add_output(u)
    assert f.inputs()[0] is t
    assert f.outputs()[0] is u
    fec = cfuser.FusionExecutorCache(f)
    (out,) = fec.execute([np.arange(4, dtype=np.float32)])
    np.testing.assert_array_equal(out, -np.arange(4, dtype=np.float32))


def test_fusion_guard_is_context_manager_and_restores():
    f1, f2 = cfuser.Fusion(), cfuser.Fusion()
    with cfuser.FusionGuard(f1):
        a = cfuser.define_tensor(shape=[-1], dtype=DataType.Float)
        with cfuser.FusionGuard(f2):
            b = cfuser.define_tensor(shape=[-1], dtype=DataType.Float)
        c = cfuser.define_tensor(shape=[-1], dtype=DataType.Float)
    assert len(f1.inputs()) == 2 and f1.inputs()[0] is a and f1.inputs()[1] is c
    assert len(f2.inputs()) == 1 and f2.inputs()[0] is b
    with pytest.raises(cfuser.Error, match="no active fusion"):
        cfuser.define_tensor(shape=[-1], dtype=DataType.Float)


def test_module_level_define_inside_fusion_definition():
    with cfuser.FusionDefinition() as fd:
        x = cfuser.define_tensor(shape=[-1], dtype=DataType.Float)
        s = cfuser.define_scalar(2.0, dtype=DataType.Double)
        fd.add_output(cfuser.ops.mul(x, s))
    assert fd.fusion.inputs()[0] is x
    (out,) = fd.execute([np.array([1.0, 2.0], dtype=np.float32)])
    np.testing.assert_array_equal(out, np.array([2.0, 4.0], dtype=np.float32))


# --- values and expressions ---------------------------------------------------------


def test_definition_and_uses():
    fd, v = example()
    assert v["x"].definition() is None
    e = v["a"].definition()
    assert isinstance(e, ir.Expr)
    assert e.op_name() == "add"
    assert e.num_inputs() == 2 and e.num_outputs() == 1
    assert e.input(0) is v["x"] and e.input(1) is v["bb"]
    assert e.output(0) is v["a"]
    assert [i for i in e.inputs()] == [e.input(0), e.input(1)]
    assert e.outputs()[0] is v["a"]
    uses = v["x"].uses()
    assert isinstance(uses, list) and any(u is e for u in uses)
    assert v["y"].uses()[0].op_name() == "sum"
    assert v["r"].uses() == []


def test_uses_in_order():
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=DataType.Float)
        a = fd.ops.neg(x)
        b = fd.ops.exp(x)
        fd.add_output(a)
        fd.add_output(b)
    uses = x.uses()
    assert [u.op_name() for u in uses] == ["neg", "exp"]
    assert uses[0].output(0) is a and uses[1].output(0) is b


def test_identity_one_wrapper_per_node():
    fd, v = example()
    t = v["t"]
    assert t.definition().output(0) is t
    assert t.definition() is t.definition()
    assert v["x"].uses()[0].input(0) is v["x"]
    assert fd.fusion.inputs()[0] is v["x"]
    assert v["x"].axis(0) is v["x"].logical_domain()[0]
    assert v["x"].domain() is v["x"].domain()
    assert v["x"].axis(1).extent() is v["x"].shape()[1]


def test_var_mean_expr_has_two_outputs():
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=DataType.Float)
        var, mean = fd.ops.var_mean(x, dims=[1])
        fd.add_output(var)
        fd.add_output(mean)
    e = var.definition()
    assert e is mean.definition()
    assert e.op_name() == "var_mean"
    assert e.num_outputs() == 2 and e.output(0) is var and e.output(1) is mean


@pytest.mark.parametrize("idx", [2, -3, 100])
def test_axis_out_of_range(idx):
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=DataType.Float)
    with pytest.raises(cfuser.OutOfRangeError):
        x.axis(idx)
    with pytest.raises(IndexError):
        x.axis(idx)


def test_axis_negative():
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1, -1], dtype=DataType.Float)
    assert x.axis(-1) is x.axis(2)
    assert x.axis(-3) is x.axis(0)


def test_tensor_domains():
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, 1, 4], dtype=DataType.Float)
    dom = x.domain()
    assert isinstance(dom, ir.TensorDomain)
    assert dom.ndim == 3
    logical = x.logical_domain()
    assert isinstance(logical, list) and len(logical) == 3
    assert all(isinstance(d, ir.IterDomain) for d in logical)
    assert [a is b for a, b in zip(dom.logical(), logical)] == [True] * 3
    assert len(x.root_domain()) == 3 and len(x.allocation_domain()) == 3
    assert [d.is_broadcast() for d in logical] == [False, True, False]
    assert not any(d.is_reduction() for d in logical)
    ext = [d.extent() for d in logical]
    assert all(isinstance(e, ir.Scalar) for e in ext)
    assert ext[0].value() is None and ext[1].value() == 1 and ext[2].value() == 4
    assert all(e.dtype() is DataType.Int for e in ext)


def test_shape_returns_scalars():
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, 3], dtype=DataType.Float)
    shp = x.shape()
    assert isinstance(shp, list) and len(shp) == 2
    assert all(isinstance(s, ir.Scalar) for s in shp)
    assert shp[0].value() is None and shp[0].is_symbolic()
    assert shp[1].value() == 3


def test_ndim_excludes_reduction_axes():
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1, -1], dtype=DataType.Float)
        r = fd.ops.sum(x, dims=[1])
        k = fd.ops.sum(x, dims=[0, 2], keepdim=True)
        fd.add_output(r)
        fd.add_output(k)
    assert isinstance(x.ndim, int) and x.ndim == 3
    assert r.ndim == 2
    assert k.ndim == 3
    rlog = r.logical_domain()
    assert len(rlog) == 3
    assert [d.is_reduction() for d in rlog] == [False, True, False]


def test_broadcast_op_marks_broadcast_axis():
    with cfuser.FusionDefinition() as fd:
        b = fd.define_tensor(shape=[-1], dtype=DataType.Float)
        bb = fd.ops.broadcast(b, [True, False])
        fd.add_output(bb)
    assert bb.ndim == 2
    assert bb.axis(0).is_broadcast() and not bb.axis(1).is_broadcast()


# --- dtypes through ops -------------------------------------------------------------------


@pytest.mark.parametrize("name", SUPPORTED)
def test_dtype_of_defined_tensor(name):
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=dt(name))
    assert x.dtype() is dt(name)


# --- print_math ------------------------------------------------------------------------


def test_print_math_example():
    fd, v = example()
    text = fd.fusion.print_math()
    assert isinstance(text, str)
    assert "T0_g_float[iS0{i0}, iS1{i1}]" in text
    assert re.search(r"T1_g_float\[iS\d+\{i\d+\}\]", text), text
    assert "rS" in text, "the reduced axis is printed as a reduction"
    assert "tanh" in text
    assert text.index("T0_g_float") < text.index("tanh")


@pytest.mark.parametrize("name", SUPPORTED)
def test_print_math_dtype_names(name):
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=dt(name))
        fd.add_output(fd.ops.set(x))
    assert f"T0_g_{IR_NAME[name]}[iS0{{i0}}]" in fd.fusion.print_math()


def test_print_math_fixed_and_broadcast_axes():
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[1, 4], dtype=DataType.Float)
        fd.add_output(fd.ops.neg(x))
    assert str(x) == "T0_g_float[bS0{1}, iS1{4}]"
    assert "T0_g_float[bS0{1}, iS1{4}]" in fd.fusion.print_math()


def test_print_math_empty_fusion():
    assert isinstance(cfuser.Fusion().print_math(), str)


# --- repr / str ----------------------------------------------------------------------


def test_repr_tensorview():
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=DataType.Float)
    assert repr(x) == "<cfuser.TensorView T0_g_float[iS0{i0}]>"
    assert str(x) == "T0_g_float[iS0{i0}]"


def test_repr_reduction_tensor():
    fd, v = example()
    assert re.fullmatch(r"<cfuser\.TensorView T\d+_g_float\[iS\d+\{i0\}, rS\d+\{i1\}\]>", repr(v["r"])), repr(v["r"])


def test_repr_fusion():
    fd, v = example()
    assert repr(fd.fusion) == "<cfuser.Fusion with 2 inputs, 2 outputs>"
    assert repr(cfuser.Fusion()) == "<cfuser.Fusion with 0 inputs, 0 outputs>"
    assert str(fd.fusion) == fd.fusion.print_math() or "T0_g_float" in str(fd.fusion)


def test_repr_scalar():
    with cfuser.FusionDefinition() as fd:
        s = fd.define_scalar(0.5, dtype=DataType.Double)
        n = fd.define_scalar(dtype=DataType.Int)
    assert re.fullmatch(r"<cfuser\.Scalar d\d+ = 0\.5>", repr(s)), repr(s)
    assert "0.5" in str(s) and not str(s).startswith("<")
    assert re.fullmatch(r"<cfuser\.Scalar i\d+>", repr(n)), repr(n)
    assert str(n) in repr(n)


def test_repr_expr():
    fd, v = example()
    e = v["a"].definition()
    r = repr(e)
    assert r.startswith("<cfuser.Expr ") and r.endswith(">")
    assert "add" in r or "+" in r
    assert "T0" in str(e)
    assert str(e) in r


def test_repr_iterdomain_and_domain():
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=DataType.Float)
    assert repr(x.axis(0)) == "<cfuser.IterDomain iS0{i0}>"
    assert str(x.axis(1)) == "iS1{i1}"
    d = repr(x.domain())
    assert d.startswith("<cfuser.TensorDomain") and "iS0{i0}" in d and "iS1{i1}" in d


@pytest.mark.parametrize("n,text", [(0, "0 compiled kernels"), (1, "1 compiled kernel"), (2, "2 compiled kernels")])
def test_repr_executor_cache(n, text):
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=DataType.Float)
        fd.add_output(fd.ops.neg(x))
    fec = cfuser.FusionExecutorCache(fd.fusion)
    inputs = [np.ones(3, np.float32), np.ones(1, np.float32)]  # size 1 gives a second signature
    for a in inputs[:n]:
        fec.execute([a])
    assert fec.num_kernels() == n
    assert repr(fec) == f"<cfuser.FusionExecutorCache: {text}>"


def test_repr_half_built_fusion():
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=DataType.Float)
        y = fd.ops.exp(x)
        assert repr(fd.fusion) == "<cfuser.Fusion with 1 input, 0 outputs>" or repr(fd.fusion).startswith(
            "<cfuser.Fusion with 1 input"
        )
        assert "exp" in fd.fusion.print_math()
        assert repr(y).startswith("<cfuser.TensorView T1_")
        assert isinstance(repr(fd), str) and repr(fd)
        fd.add_output(y)


def test_repr_never_raises_for_every_type():
    fd, v = example()
    fec = cfuser.FusionExecutorCache(fd.fusion)
    objs = [fd, fd.fusion, fec, v["x"].domain(), v["x"].axis(0), v["a"].definition()] + list(v.values())
    objs.append(cfuser.FusionGuard(cfuser.Fusion()))
    for o in objs:
        r, s = repr(o), str(o)
        assert isinstance(r, str) and r and isinstance(s, str) and s


# --- keep-alive --------------------------------------------------------------------------


def _accessors():
    """name -> function(values dict, fd) returning a node (or list of nodes)
    reached from one accessor."""
    return {
        "definition": lambda v, fd: v["t"].definition(),
        "uses": lambda v, fd: v["x"].uses(),
        "expr.input": lambda v, fd: v["a"].definition().input(0),
        "expr.output": lambda v, fd: v["a"].definition().output(0),
        "expr.inputs": lambda v, fd: v["a"].definition().inputs(),
        "expr.outputs": lambda v, fd: v["a"].definition().outputs(),
        "extent": lambda v, fd: v["x"].axis(0).extent(),
        "domain": lambda v, fd: v["x"].domain(),
        "domain.logical": lambda v, fd: v["x"].domain().logical(),
        "logical_domain": lambda v, fd: v["x"].logical_domain(),
        "root_domain": lambda v, fd: v["x"].root_domain(),
        "allocation_domain": lambda v, fd: v["x"].allocation_domain(),
        "axis": lambda v, fd: v["y"].axis(-1),
        "shape": lambda v, fd: v["x"].shape(),
        "fusion.inputs": lambda v, fd: fd.fusion.inputs(),
        "fusion.outputs": lambda v, fd: fd.fusion.outputs(),
        "fusion.vals": lambda v, fd: fd.fusion.vals(),
        "fusion.exprs": lambda v, fd: fd.fusion.exprs(),
        "fd.fusion": lambda v, fd: fd.fusion,
        "fec.fusion": lambda v, fd: cfuser.FusionExecutorCache(fd.fusion).fusion(),
    }


def _use(node):
    """Exercise a node that may be the last thing alive from its fusion."""
    if isinstance(node, list):
        assert node, "accessor returned an empty list"
        for n in node:
            _use(n)
        return
    assert repr(node) and str(node)
    if isinstance(node, cfuser.Fusion):
        assert "T0_g_float" in node.print_math()
        assert len(node.inputs()) == 2
        return
    if isinstance(node, ir.Expr):
        for o in node.outputs():
            assert o.definition() is node
        _use(node.inputs())
    elif isinstance(node, ir.TensorView):
        assert node.ndim >= 1
        d = node.definition()
        if d is not None:
            assert repr(d)
        node.uses()
        [repr(a.extent()) for a in node.logical_domain()]
    elif isinstance(node, ir.Scalar):
        node.value()
        node.dtype()
    elif isinstance(node, ir.IterDomain):
        assert repr(node.extent())
        node.is_reduction()
    elif isinstance(node, ir.TensorDomain):
        assert node.ndim == len(node.logical())
        [repr(a) for a in node.logical()]
    else:
        raise AssertionError(f"unexpected node type {type(node)!r}")


@pytest.mark.parametrize("name", sorted(_accessors()))
def test_keep_alive(name):
    fn = _accessors()[name]

    def make():
        fd, v = example()
        return fn(v, fd)

    node = make()
    for _ in range(3):
        gc.collect()
    # fill freed memory with other objects so a dangling pointer shows
    junk = [example() for _ in range(3)]
    _use(node)
    del junk


def test_keep_alive_fec_fusion_after_del():
    fd, v = example()
    fusion = fd.fusion
    fec = cfuser.FusionExecutorCache(fusion)
    del fd, v, fusion
    gc.collect()
    text = fec.fusion().print_math()
    assert "T0_g_float[iS0{i0}, iS1{i1}]" in text
    x = np.ones((2, 3), np.float32)
    b = np.ones(3, np.float32)
    y, r = fec.execute([x, b])
    np.testing.assert_allclose(y, np.tanh(2.0) * 0.5 * np.ones((2, 3)), rtol=1e-6)


def test_fec_fusion_keeps_cache_result_usable():
    fd, v = example()
    f = cfuser.FusionExecutorCache(fd.fusion).fusion()
    del fd, v
    gc.collect()
    assert isinstance(f, cfuser.Fusion)
    assert len(f.outputs()) == 2


@pytest.mark.parametrize("kind", ["TensorView", "Scalar", "Expr", "IterDomain", "TensorDomain", "FusionExecutorCache"])
def test_wrapper_reference_to_fusion_is_gc_visible(kind):
    fd, v = example()
    fusion = fd.fusion
    obj = {
        "TensorView": v["x"],
        "Scalar": v["s"],
        "Expr": v["a"].definition(),
        "IterDomain": v["x"].axis(0),
        "TensorDomain": v["x"].domain(),
        "FusionExecutorCache": cfuser.FusionExecutorCache(fusion),
    }[kind]
    assert any(r is fusion for r in gc.get_referents(obj)), f"{kind} does not traverse its fusion"


def test_cycles_through_wrappers_are_collected():
    gc.collect()
    base = count_live(cfuser.Fusion)

    class Holder:
        pass

    for _ in range(300):
        fd, v = example()
        h = Holder()
        h.me = h
        h.nodes = [v["x"], v["t"].definition(), v["x"].axis(0), fd]
        del fd, v, h
    gc.collect()
    gc.collect()
    assert count_live(cfuser.Fusion) == base


def test_many_fusions_created_and_dropped():
    gc.collect()
    base = count_live(cfuser.Fusion)
    for i in range(2000):
        f = cfuser.Fusion()
        with cfuser.FusionGuard(f):
            x = cfuser.define_tensor(shape=[-1], dtype=DataType.Float)
            f.add_output(cfuser.ops.add(x, float(i)))
        del f, x
    gc.collect()
    assert count_live(cfuser.Fusion) == base


def test_exception_inside_definition_leaves_no_active_fusion():
    with pytest.raises(KeyError):
        with cfuser.FusionDefinition() as fd:
            fd.define_tensor(shape=[-1], dtype=DataType.Float)
            raise KeyError("inside")
    with pytest.raises(cfuser.Error, match="no active fusion"):
        cfuser.define_tensor(shape=[-1], dtype=DataType.Float)
    assert len(fd.fusion.inputs()) == 1


def test_nested_definitions_use_the_innermost():
    with cfuser.FusionDefinition() as outer:
        a = cfuser.define_tensor(shape=[-1], dtype=DataType.Float)
        with cfuser.FusionDefinition() as inner:
            b = cfuser.define_tensor(shape=[-1], dtype=DataType.Float)
            inner.add_output(cfuser.ops.neg(b))
        c = cfuser.define_tensor(shape=[-1], dtype=DataType.Float)
        outer.add_output(cfuser.ops.add(a, c))
    assert [v is w for v, w in zip(outer.fusion.inputs(), [a, c])] == [True, True]
    assert len(inner.fusion.inputs()) == 1 and inner.fusion.inputs()[0] is b
    one = np.ones(2, np.float32)
    np.testing.assert_array_equal(outer.execute([one, one])[0], 2 * one)
    np.testing.assert_array_equal(inner.execute([one])[0], -one)
