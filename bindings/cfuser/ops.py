"""The ops of a fusion, with nvFuser's names (also reached as ``fd.ops``).

Each op is a C function of cfuser._C.ops; this module re-exports them so
that ``import cfuser.ops`` and ``from cfuser.ops import add`` work.
"""
from cfuser._C import ops as _c_ops

__all__ = [name for name in vars(_c_ops) if not name.startswith("_")]
globals().update({name: getattr(_c_ops, name) for name in __all__})
