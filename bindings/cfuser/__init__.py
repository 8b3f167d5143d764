"""cfuser: a fusion compiler with nvFuser's direct Python API.

Define a fusion, then run it on torch or numpy tensors::

    import cfuser
    from cfuser import FusionDefinition, DataType

    with FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=DataType.Float)
        fd.add_output(fd.ops.tanh(x))
    (y,) = fd.execute([x_array])

Code written for ``nvfuser_direct`` runs with ``import cfuser as nvfuser_direct``
wherever the ops it uses are supported.
"""
from cfuser._C import (
    DataType,
    DeviceError,
    Error,
    ExecutionError,
    Fusion,
    FusionExecutorCache,
    FusionGuard,
    InvalidArgumentError,
    InvalidTypeError,
    OutOfMemoryError,
    OutOfRangeError,
    SizeOverflowError,
    UnsupportedError,
    __version__,
    define_scalar,
    define_tensor,
)
import sys as _sys

from cfuser import _C

# The C submodules are attributes of _C; registering them lets
# "import cfuser._C.ops" and importlib find them too.
_sys.modules.setdefault("cfuser._C.ops", _C.ops)
_sys.modules.setdefault("cfuser._C._testing", _C._testing)

from cfuser import _nvrtc, ir, ops, runtime  # noqa: E402
from cfuser._definition import FusionDefinition  # noqa: E402
from cfuser._lru import LRUCache  # noqa: E402
from cfuser._version import version  # noqa: E402


def __getattr__(name: str) -> object:
    # cfuser.pytorch_utils imports torch, so it is loaded on first use only.
    if name == "pytorch_utils":
        import importlib

        return importlib.import_module("cfuser.pytorch_utils")
    raise AttributeError(f"module 'cfuser' has no attribute {name!r}")

_nvrtc.register()  # the nvidia-cuda-nvrtc wheel's NVRTC, tried after a toolkit's

__all__ = [
    "DataType",
    "DeviceError",
    "Error",
    "ExecutionError",
    "Fusion",
    "FusionDefinition",
    "FusionExecutorCache",
    "FusionGuard",
    "InvalidArgumentError",
    "InvalidTypeError",
    "LRUCache",
    "OutOfMemoryError",
    "OutOfRangeError",
    "SizeOverflowError",
    "UnsupportedError",
    "__version__",
    "define_scalar",
    "define_tensor",
    "ir",
    "ops",
    "runtime",
    "version",
]
