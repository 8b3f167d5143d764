"""The ops of a fusion, with nvFuser's names (also reached as ``fd.ops``).

Each op is a C function of cfuser._C.ops; this module re-exports them so
that ``import cfuser.ops`` and ``from cfuser.ops import add`` work. Every
op's name, signature and docstring come from the op registry
(core/ops/ops.toml). The docstrings' examples use t0, t1 (Float), i0, i1
(Int) and b0 (Bool): 2-D TensorViews of an open FusionDefinition fd.
"""
from cfuser._C import ops as _c_ops

__all__ = [name for name in vars(_c_ops) if not name.startswith("_")]
globals().update({name: getattr(_c_ops, name) for name in __all__})
