"""Entry points for the allocation-failure sweep: each is one binding call
on prepared arguments (the C sweep fails its n-th allocation)."""
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from cfcommon import *  # noqa: E402,F403
from lifetime import fusion_of  # noqa: E402

_fd, _x, _b, _s, _y = small_fusion()
_xn, _bn = small_inputs()
_fec = cfuser.FusionExecutorCache(fusion_of(_fd))
_fec.execute([_xn, _bn])
_ints = list(range(200))

# core's allocations join the sweep when the module offers the hook
_hook = getattr(cfuser._C._testing, "set_core_allocator", None)
CORE_HOOKED = _hook is not None
if _hook is not None:
    import _cfharness
    _hook(_cfharness.core_allocator())


def define_small_fusion():
    small_fusion()


def define_tensor_only():
    with FusionDefinition() as fd:
        fd.define_tensor(shape=[-1, -1, 1], contiguity=True, dtype=DataType.Float)


def op_add():
    with FusionDefinition() as fd:
        a = fd.define_tensor(shape=[-1], dtype=DataType.Float)
        fd.ops.add(a, a)


def execute_cached():
    _fec.execute([_xn, _bn])


def execute_new_fec():
    cfuser.FusionExecutorCache(fusion_of(_fd)).execute([_xn, _bn])


def fd_execute():
    _fd.execute([_xn, _bn])


def introspect():
    f = fusion_of(_fd)
    f.inputs(); f.outputs(); f.vals(); f.exprs()
    _y.definition().input(0).uses()
    _x.domain(); _x.logical_domain(); _y.root_domain(); _y.allocation_domain()
    _x.axis(1).extent()


def reprs():
    repr(fusion_of(_fd)); repr(_y); repr(_y.definition()); repr(_fec)
    fusion_of(_fd).print_math()


def convert_ints():
    cfuser._C._testing.as_int64_list(_ints)


def error_path():
    # The binding's own error path, called directly: going through the
    # Python-level fd.execute would also sweep CPython 3.11's frame unwinding,
    # which loses the in-flight exception (SystemError "error return without
    # exception set") when the frame object of a function unwinding with an
    # exception cannot be allocated; that happens with no cfuser code involved.
    try:
        _fec.execute([_xn])
    except ValueError:
        pass
