"""FusionDefinition: nvfuser_direct's context manager for building a fusion."""
from __future__ import annotations

from types import TracebackType
from typing import Any, List, Optional, Sequence, Type

from cfuser import _C
from cfuser import ops as _ops
from cfuser._layout import tensor_layout
from cfuser._printer import fusion_to_python
from cfuser._validate import check_outputs, cpu_reference

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
        # define_vector was called: execute flattens list/tuple inputs into scalars
        self._has_vectors = False

    @property
    def fusion(self) -> _C.Fusion:
        """The Fusion being defined."""
        return self._fusion

    @property
    def fec(self) -> _C.FusionExecutorCache:
        """The FusionExecutorCache that :meth:`execute` runs (made on first use;
        it shares the fusion, so nodes added later are compiled on the next run)."""
        if self._fec is None:
            self._fec = _C.FusionExecutorCache(self._fusion)
        return self._fec

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

    def from_pytorch(self, tensor: Any, static_sizes: bool = False) -> _C.TensorView:
        """Define a tensor input shaped like ``tensor`` (a torch tensor).

        Sizes are symbolic (-1; size-1 axes broadcast) unless ``static_sizes``;
        dtype, contiguity and stride order are read from the tensor. A 0-d CPU
        tensor is defined with ``is_cpu=True``; CPU tensors of any rank run,
        since cfuser runs fusions on the CPU as well as on CUDA.
        """
        from cfuser.pytorch_utils import torch_dtype_to_nvfuser_dtype

        try:
            sizes = [int(d) for d in tensor.size()]
            strides = [int(d) for d in tensor.stride()]
            torch_dtype = tensor.dtype
            on_cpu = tensor.device.type == "cpu"
        except AttributeError:
            raise TypeError(
                f"from_pytorch() argument 'tensor' must be a torch.Tensor, not '{type(tensor).__name__}'"
            ) from None
        shape, contiguity, stride_order = tensor_layout(sizes, strides, static_sizes)
        return self.define_tensor(
            shape=shape,
            contiguity=contiguity,
            dtype=torch_dtype_to_nvfuser_dtype(torch_dtype),
            is_cpu=on_cpu and not sizes,
            stride_order=stride_order,
        )

    def define_scalar(self, value: Any = None, dtype: Optional[_C.DataType] = None) -> _C.Scalar:
        """Define a scalar: a constant, or a symbolic input when value is None."""
        if _active_fusion() is not self._fusion:
            with _C.FusionGuard(self._fusion):
                return _define_scalar(value, dtype)
        return _define_scalar(value, dtype)

    def define_vector(self, size: int, dtype: _C.DataType = _C.DataType.Int) -> List[_C.Scalar]:
        """``size`` symbolic scalar inputs given at execute time as one list or
        tuple of numbers (nvFuser's vector input, e.g. a reshape target)."""
        if isinstance(size, bool) or not isinstance(size, int):
            raise TypeError(f"define_vector() argument 'size' must be int, not '{type(size).__name__}'")
        if size < 0:
            raise _C.InvalidArgumentError(f"define_vector(): 'size' must be >= 0, got {size}")
        vector = [self.define_scalar(None, dtype) for _ in range(size)]
        self._has_vectors = True
        return vector

    def add_input(self, val: _C.Val) -> None:
        """Mark a value as an input of the fusion."""
        self._fusion.add_input(val)

    def add_output(self, val: _C.Val, alias_input: Optional[_C.TensorView] = None) -> None:
        """Mark a tensor as an output of the fusion.

        With ``alias_input`` (an input tensor of the fusion, of ``val``'s dtype
        and shape), ``val`` is written into that input at the end of every
        execute, an in-place update as nvFuser's; it is not returned unless
        also added without ``alias_input``, and then, as an output that is an
        input, the input object itself is returned.
        """
        if alias_input is None:
            self._fusion.add_output(val)
        else:
            self._fusion.add_output(val, alias_input)

    def execute(
        self,
        inputs: Sequence[Any],
        *,
        device: Any = None,
        _enable_options: Sequence[str] = (),
        _disable_options: Sequence[str] = (),
        stream: Any = None,
        profile: bool = False,
    ) -> List[Any]:
        """Run the fusion on ``inputs`` and return its outputs (a list).

        ``device`` is None (the inputs' device), an int (CUDA device index),
        ``'cpu'``, ``'cuda'``, ``'cuda:k'`` or a ``torch.device``.
        ``profile=True`` is not supported (cfuser has no profiler yet).

        Tiers: on a CUDA device the first execute of a new fusion (or input
        signature) runs quick kernels (compiled without unrolling, in about a
        third less time) while a background thread compiles the full ones and
        swaps them in, usually a few hundred milliseconds later; the results
        are the same, the speed is not. Benchmarks should call
        :meth:`wait_for_kernels` after the first execute and time afterwards;
        :meth:`kernels_final` says whether that point is reached.
        ``CFUSER_CUDA_TIERED=0`` compiles the full kernels before the first
        call returns. On the CPU there is one tier.
        """
        fec = self._fec
        if fec is None:
            fec = self.fec
        if profile is not False:
            _check_profile(profile)
        if device is not None and not isinstance(device, (int, str)):
            device = _device_arg(device)
        if self._has_vectors and isinstance(inputs, (list, tuple)):
            inputs = [x for v in inputs for x in (v if isinstance(v, (list, tuple)) else (v,))]
        if _enable_options or _disable_options:
            return fec.execute(inputs, device=device, _enable_options=list(_enable_options),
                               _disable_options=list(_disable_options), stream=stream)
        # the common call, kept short: execute's per-call cost is benchmarked
        return fec.execute(inputs, device=device, stream=stream)

    def kernels_final(self) -> bool:
        """True when no full CUDA kernels are still compiling in the background
        (this fusion's included), so calls run the final kernels; always True
        on the CPU. See :meth:`execute` on tiers."""
        return self.fec.kernels_final()

    def wait_for_kernels(self, timeout: Optional[float] = None) -> bool:
        """Wait until the full CUDA kernels of every fusion executed so far are
        in; at most ``timeout`` seconds when given. True when they are (at
        once on the CPU), False on time-out."""
        return self.fec.wait_for_kernels(timeout)

    def validate(
        self,
        inputs: Sequence[Any],
        reference_outputs: Optional[Sequence[Any]] = None,
        *,
        atol: Optional[float] = None,
        rtol: Optional[float] = None,
        device: Any = None,
    ) -> None:
        """Run the fusion and check its outputs against references.

        With no ``reference_outputs`` they are computed by a fresh executor of
        the same fusion on CPU copies of the inputs (cfuser's CPU engine: for
        CUDA inputs a backend independent of the generated CUDA code). Each
        output is compared with tolerances for its dtype (or ``atol``/``rtol``);
        an AssertionError names the first output that differs and by how much.
        """
        if reference_outputs is None:
            # before execute, which may write into inputs (alias_input)
            reference_outputs = cpu_reference(self._fusion, inputs)
        outputs = self.execute(inputs, device=device)
        check_outputs(outputs, reference_outputs, atol=atol, rtol=rtol)

    def last_cuda_code(self, intrinsic_code: bool = False, **kwargs: Any) -> str:
        """The CUDA C of the kernels for the last :meth:`execute`'s inputs.

        Generated for their shapes and strides; on a machine without a GPU
        (CPU inputs) for a default sm_90 device, since code generation needs
        no GPU. ``intrinsic_code=True`` includes the prelude (types and
        helpers) every module starts with. ``override_user_schedule`` is
        accepted for compatibility (cfuser has no user schedules). A build
        without the CUDA backend raises UnsupportedError; before the first
        execute, InvalidArgumentError.
        """
        _check_code_kwargs("last_cuda_code", intrinsic_code, kwargs)
        return self.fec._last_source("cuda", intrinsic_code)

    def last_cpu_code(self) -> str:
        """The program the CPU engine runs for the last :meth:`execute`'s inputs
        (its slots and instructions: the engine's loops are compiled into
        libcfuser, so nothing else is generated per fusion)."""
        return self.fec._last_source("program")

    def print_math(self) -> str:
        """The fusion in nvFuser's textual form."""
        return self._fusion.print_math()

    def __repr__(self) -> str:
        """The fusion as nvFuser's Python definition (``def nvfuser_fusion(fd : ...``);
        exec it and call ``nvfuser_fusion`` on a fresh FusionDefinition to rebuild
        a structurally equal fusion."""
        return fusion_to_python(self._fusion)

    __str__ = __repr__


def _check_code_kwargs(fname: str, intrinsic_code: Any, kwargs: Any) -> None:
    if not isinstance(intrinsic_code, bool):
        raise TypeError(f"{fname}() argument 'intrinsic_code' must be bool, not '{type(intrinsic_code).__name__}'")
    override = kwargs.pop("override_user_schedule", False)
    if not isinstance(override, bool):
        raise TypeError(f"{fname}() argument 'override_user_schedule' must be bool, not '{type(override).__name__}'")
    if kwargs:
        raise TypeError(f"{fname}() got an unexpected keyword argument '{next(iter(kwargs))}'")


def _check_profile(profile: Any) -> None:
    if not isinstance(profile, bool):
        raise TypeError(f"execute() argument 'profile' must be bool, not '{type(profile).__name__}'")
    if profile:
        raise _C.UnsupportedError("execute(): profile=True is not supported by cfuser")


def _device_arg(device: Any) -> Any:
    """execute()'s device as the C side takes it: a torch.device (or any object
    with ``type`` and ``index``) becomes 'cpu', 'cuda' or 'cuda:k'."""
    if device is None or isinstance(device, (int, str)):
        return device
    kind = getattr(device, "type", None)
    if kind == "cpu":
        return "cpu"
    if isinstance(kind, str):
        index = getattr(device, "index", None)
        return kind if index is None else f"{kind}:{index}"
    raise TypeError(
        "execute() argument 'device' must be None, an int, a str or a torch.device, "
        f"not '{type(device).__name__}'"
    )
