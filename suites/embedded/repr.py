"""repr/str of every public type: informative, never raising."""
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from cfcommon import *  # noqa: E402,F403
from lifetime import fusion_of  # noqa: E402


def check(obj, *fragments):
    for f in (repr, str):
        text = f(obj)
        assert isinstance(text, str) and text, (f, type(obj))
        assert "object at 0x" not in text, f"default repr for {type(obj).__name__}: {text}"
    for frag in fragments:
        assert frag in repr(obj), f"{frag!r} not in {repr(obj)!r}"


def every_node_type():
    fd, x, b, s, y = small_fusion()
    f = fusion_of(fd)
    check(x, "TensorView", "T0")
    check(s, "Scalar")
    check(y.definition(), "Expr") if "Expr" in repr(y.definition()) else check(y.definition())
    check(x.axis(0), "iS")
    check(x.axis(0).extent())
    check(x.domain())
    check(f, "Fusion", "2 inputs", "2 outputs")
    check(fd, "FusionDefinition")
    fec = cfuser.FusionExecutorCache(f)
    check(fec, "FusionExecutorCache")
    x_np, b_np = small_inputs()
    fec.execute([x_np, b_np])
    check(fec, "1 compiled")
    check(DataType.Float, "Float")
    check(cfuser.Error("boom"), "boom")


def node_of_gone_fusion():
    fd, x, b, s, y = small_fusion()
    d = y.definition()
    ax = y.axis(0)
    del fd, x, b, s, y
    collect()
    check(d)
    check(ax)
    check(d.output(0), "TensorView")


def half_built_fusion():
    with FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=DataType.Float)
        check(fd, "FusionDefinition")
        check(fusion_of(fd), "Fusion")
        check(x, "TensorView")
        y = fd.ops.neg(x)
        check(y.definition())
        fd.add_output(y)


def empty_fusion():
    with FusionDefinition() as fd:
        pass
    check(fd, "FusionDefinition")
    check(fusion_of(fd), "Fusion", "0 inputs", "0 outputs")
    check(cfuser.Fusion(), "Fusion")


def print_math_form():
    fd, x, *_ = small_fusion()
    text = fusion_of(fd).print_math()
    assert "T0_g_float[iS0{i0}, iS1{i1}]" in text, text
