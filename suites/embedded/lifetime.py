"""Lifetime/GC stress: every accessor's result outlives everything else."""
import sys
import threading
import weakref

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from cfcommon import *  # noqa: E402,F403
import _cfharness  # noqa: E402

N = 1000 * _cfharness.scale()

# Each accessor: (name, function from (fd, x, b, s, y) to a node/fusion).
ACCESSORS = [
    ("definition", lambda fd, x, b, s, y: y.definition()),
    ("uses", lambda fd, x, b, s, y: x.uses()),
    ("expr_input", lambda fd, x, b, s, y: y.definition().input(0)),
    ("expr_output", lambda fd, x, b, s, y: y.definition().output(0)),
    ("extent", lambda fd, x, b, s, y: x.axis(0).extent()),
    ("domain", lambda fd, x, b, s, y: x.domain()),
    ("logical_domain", lambda fd, x, b, s, y: x.logical_domain()),
    ("root_domain", lambda fd, x, b, s, y: y.root_domain()),
    ("allocation_domain", lambda fd, x, b, s, y: y.allocation_domain()),
    ("axis", lambda fd, x, b, s, y: y.axis(1)),
    ("inputs", lambda fd, x, b, s, y: fusion_of(fd).inputs()),
    ("outputs", lambda fd, x, b, s, y: fusion_of(fd).outputs()),
    ("vals", lambda fd, x, b, s, y: fusion_of(fd).vals()),
    ("exprs", lambda fd, x, b, s, y: fusion_of(fd).exprs()),
    ("fec_fusion", lambda fd, x, b, s, y: cfuser.FusionExecutorCache(fusion_of(fd)).fusion()),
]


def fusion_of(fd):
    f = fd.fusion
    return f() if callable(f) else f


def use(obj):
    """Touch a result hard: repr, and one more accessor down."""
    repr(obj)
    items = obj if isinstance(obj, (list, tuple)) else [obj]
    for it in items:
        repr(it)
        str(it)
        if isinstance(it, cfuser.ir.TensorView):
            it.shape()
            it.axis(0).extent()
        elif isinstance(it, cfuser.ir.Expr):
            it.output(0).definition()
        elif isinstance(it, cfuser.ir.IterDomain):
            repr(it.extent())
        elif isinstance(it, cfuser.Fusion):
            it.inputs()
            it.exprs()


def accessor_keepalive():
    for name, get in ACCESSORS:
        fd, x, b, s, y = small_fusion()
        r = get(fd, x, b, s, y)
        del fd, x, b, s, y
        collect()
        try:
            use(r)
        except Exception as e:
            raise AssertionError(f"{name}: result unusable after its owners died") from e
        del r
        collect()


def fusion_dies_with_last_wrapper():
    fd, x, b, s, y = small_fusion()
    f = fusion_of(fd)
    ref = weakref.ref(f)
    d = y.definition()
    del fd, x, b, s, y, f
    collect()
    assert ref() is not None, "fusion died while a node wrapper still refers to it"
    del d
    collect()
    assert ref() is None, "fusion kept alive after every wrapper died (a leak or a cycle not collected)"


def fec_fusion_keeps_cache_state():
    fd, *_ = small_fusion()
    fec = cfuser.FusionExecutorCache(fusion_of(fd))
    f = fec.fusion()
    del fd, fec
    collect()
    assert len(f.outputs()) == 2 and len(f.inputs()) == 2, (f.inputs(), f.outputs())


def wrapper_identity():
    fd, x, b, s, y = small_fusion()
    assert y.definition().output(0) is y, "one wrapper per node: definition().output(0) is not the tensor"
    assert fusion_of(fd).inputs()[0] is x


def cycles_through_wrappers():
    # A Python cycle that runs through wrappers (a list held by a closure
    # over a tensor) must be collected: the fusion dies.
    refs = []
    for _ in range(50):
        fd, x, b, s, y = small_fusion()
        box = [x, y.definition(), fusion_of(fd)]
        box.append(box)
        refs.append(weakref.ref(fusion_of(fd)))
        del fd, x, b, s, y, box
    collect()
    alive = sum(r() is not None for r in refs)
    assert alive == 0, f"{alive} of 50 fusions in collected cycles still alive"


def many_fusions_loop():
    x, b = small_inputs()
    for i in range(N):
        fd, xt, bt, s, y = small_fusion()
        if i % 50 == 0:
            check_small(fd.execute([x, b]), x, b)
        y.definition().input(0).uses()
    collect()


def many_fusions_threads():
    errors = []
    x, b = small_inputs()

    def work():
        try:
            for _ in range(N // 8):
                fd, *_ = small_fusion()
                check_small(fd.execute([x, b]), x, b)
        except BaseException as e:  # reported below
            errors.append(e)

    ts = [threading.Thread(target=work) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise errors[0]


def definition_refleak_body():
    """Define and introspect, no execute: only code built against the
    running interpreter, so a debug interpreter judges its references."""
    fd, xt, bt, s, y = small_fusion()
    for _, get in ACCESSORS:
        use(get(fd, xt, bt, s, y))
    repr(fd)
    fusion_of(fd).print_math()


def refleak_body():
    """One round for the C refleak loop: define, execute, introspect."""
    x, b = small_inputs()
    fd, xt, bt, s, y = small_fusion()
    check_small(fd.execute([x, b]), x, b)
    f = fusion_of(fd)
    fec = cfuser.FusionExecutorCache(f)
    check_small(fec.execute([x, b]), x, b)
    for _, get in ACCESSORS:
        use(get(fd, xt, bt, s, y))


# numpy inputs and outputs: release-built code a debug interpreter cannot count
refleak_body.foreign_refcounts = True
