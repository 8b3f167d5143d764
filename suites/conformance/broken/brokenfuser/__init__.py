"""brokenfuser: nvFuser's direct API over _brokenfuser, a deliberately wrong
binding (see _brokenfuser.c). The conformance kit's tests check that it fails
every row it should; nothing else imports it."""
from ._brokenfuser import (  # noqa: F401
    DataType, Expr, Fusion, FusionExecutorCache, IterDomain, Statement, TensorDomain, TensorView, Val,
    define_scalar, define_tensor, ops,
)
from . import _brokenfuser as _C


class FusionDefinition:
    def __init__(self):
        self.ops = _C.ops
        self._owner = None

    @property
    def fusion(self):
        return self._owner.fusion()  # a view that borrows the owner's memory

    def __enter__(self):
        self._owner = _C.FusionOwner()
        self._owner.activate()
        return self

    def __exit__(self, *exc):
        return None

    def define_tensor(self, *args, **kwargs):
        tv = _C.define_tensor(*args, **kwargs)
        self.fusion.add_input(tv)
        return tv

    def define_scalar(self, *args, **kwargs):
        return _C.define_scalar(*args, **kwargs)

    def add_output(self, *args, **kwargs):
        self.fusion.add_output(*args, **kwargs)

    def execute(self, inputs, **kwargs):
        if not hasattr(self, "fec"):
            self.fec = _C.FusionExecutorCache(self.fusion)
        return self.fec.execute(inputs)
