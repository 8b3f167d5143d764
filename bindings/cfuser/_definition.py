"""FusionDefinition: nvfuser_direct's context manager for building a fusion."""
from __future__ import annotations

from types import TracebackType
from typing import Any, List, Optional, Sequence, Type

from cfuser import _C
from cfuser import ops as _ops

_define_tensor = _C.define_tensor
_define_scalar = _C.define_scalar
_active_fusion = _C.active_fusion


class FusionDefinition:
    """Build a fusion inside ``with FusionDefinition() as fd:``, then run it.

    ``fd.ops`` is the module :mod:`cfuser.ops`; ``fd.define_tensor`` and
    ``fd.define_scalar`` add inputs and constants; ``fd.add_output`` marks
    outputs; ``fd.execute(inputs)`` compiles once per input signature and runs.
    """

    ops = _ops

    def __init__(self) -> None:
        self._fusion = _C.Fusion()
        # One guard per open ``with fd:`` block, innermost last: blocks nest.
        self._guards: List[_C.FusionGuard] = []
        self._fec: Optional[_C.FusionExecutorCache] = None

    @property
    def fusion(self) -> _C.Fusion:
        """The Fusion being defined."""
        return self._fusion

    def __enter__(self) -> "FusionDefinition":
        guard = _C.FusionGuard(self._fusion)
        guard.__enter__()
        self._guards.append(guard)
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        if not self._guards:
            raise _C.InvalidArgumentError("FusionDefinition.__exit__(): not entered")
        # An exit out of order raises and leaves the block open.
        self._guards[-1].__exit__(exc_type, exc, tb)
        self._guards.pop()

    def define_tensor(
        self,
        shape: Optional[Sequence[int]] = None,
        contiguity: Any = None,
        dtype: _C.DataType = _C.DataType.Float,
        is_cpu: bool = False,
        stride_order: Optional[Sequence[int]] = None,
        sizes: Optional[Sequence[int]] = None,
        strides: Optional[Sequence[int]] = None,
    ) -> _C.TensorView:
        """Define a tensor input; see :func:`cfuser.define_tensor`."""
        kw = {"shape": shape, "contiguity": contiguity, "dtype": dtype, "is_cpu": is_cpu,
              "stride_order": stride_order, "sizes": sizes, "strides": strides}
        kw = {k: v for k, v in kw.items() if v is not None}
        if _active_fusion() is not self._fusion:
            with _C.FusionGuard(self._fusion):
                return _define_tensor(**kw)
        return _define_tensor(**kw)

    def define_scalar(self, value: Any = None, dtype: Optional[_C.DataType] = None) -> _C.Scalar:
        """Define a scalar: a constant, or a symbolic input when value is None."""
        if _active_fusion() is not self._fusion:
            with _C.FusionGuard(self._fusion):
                return _define_scalar(value, dtype)
        return _define_scalar(value, dtype)

    def add_input(self, val: _C.Val) -> None:
        """Mark a value as an input of the fusion."""
        self._fusion.add_input(val)

    def add_output(self, val: _C.Val) -> None:
        """Mark a tensor as an output of the fusion."""
        self._fusion.add_output(val)

    def execute(
        self,
        inputs: Sequence[Any],
        *,
        device: Any = None,
        _enable_options: Sequence[str] = (),
        _disable_options: Sequence[str] = (),
        stream: Any = None,
    ) -> List[Any]:
        """Run the fusion on ``inputs`` and return its outputs (a list)."""
        fec = self._fec
        if fec is None:
            fec = self._fec = _C.FusionExecutorCache(self._fusion)
        return fec.execute(
            inputs,
            device=device,
            _enable_options=list(_enable_options),
            _disable_options=list(_disable_options),
            stream=stream,
        )

    def print_math(self) -> str:
        """The fusion in nvFuser's textual form."""
        return self._fusion.print_math()

    def __repr__(self) -> str:
        f = self._fusion
        return f"<cfuser.FusionDefinition with {len(f.inputs())} inputs, {len(f.outputs())} outputs>"
