"""FusionDefinition.validate's parts: an independent reference and the comparison."""
from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple

from cfuser import _C

# (rtol, atol) per dtype name, as torch.testing.assert_close uses by default;
# integer and bool outputs must match exactly.
_TOLERANCES = {
    "float64": (1e-7, 1e-7),
    "float32": (1.3e-6, 1e-5),
    "float16": (1e-3, 1e-5),
    "bfloat16": (1.6e-2, 1e-5),
}


def _cpu_copy(value: Any) -> Any:
    """A copy of a tensor on the CPU (torch and numpy; numbers pass): the
    reference run must not write into the caller's inputs
    (add_output(..., alias_input))."""
    if hasattr(value, "detach"):  # torch
        return value.detach().to("cpu", copy=True)
    if hasattr(value, "__array_interface__") and hasattr(value, "copy"):  # numpy
        return value.copy()
    return value


def cpu_reference(fusion: _C.Fusion, inputs: Sequence[Any]) -> List[Any]:
    """The fusion's outputs from a fresh executor, run by the CPU engine on
    CPU copies of the inputs (the inputs themselves are left as they are)."""
    return _C.FusionExecutorCache(fusion).execute([_cpu_copy(v) for v in inputs], device="cpu")


def _as_numpy(value: Any) -> Tuple[Any, str]:
    """(numpy array, dtype name) of a torch tensor, numpy array or number."""
    import numpy as np

    if hasattr(value, "detach"):  # torch
        name = str(value.dtype).replace("torch.", "")
        t = value.detach().cpu()
        if name == "bfloat16":
            t = t.float()
        return t.numpy(), name
    arr = np.asarray(value)
    return arr, arr.dtype.name


def check_outputs(
    outputs: Sequence[Any],
    references: Sequence[Any],
    *,
    atol: Optional[float] = None,
    rtol: Optional[float] = None,
) -> None:
    """Raise AssertionError naming the first output that differs from its reference."""
    import numpy as np

    if len(outputs) != len(references):
        raise AssertionError(f"validate(): the fusion has {len(outputs)} outputs but {len(references)} references were given")
    for i, (out, ref) in enumerate(zip(outputs, references)):
        got, name = _as_numpy(out)
        want, _ = _as_numpy(ref)
        if got.shape != want.shape:
            raise AssertionError(f"validate(): output {i} has shape {got.shape}, the reference {want.shape}")
        r, a = _TOLERANCES.get(name, (0.0, 0.0))
        r = r if rtol is None else rtol
        a = a if atol is None else atol
        if got.dtype.kind in "biu" and want.dtype.kind in "biu" and rtol is None and atol is None:
            bad = got != want
            err = np.where(bad, 1, 0)
        else:
            g = got.astype(np.float64)
            w = want.astype(np.float64)
            both_nan = np.isnan(g) & np.isnan(w)
            same_inf = np.isinf(g) & (g == w)
            with np.errstate(invalid="ignore"):  # inf - inf: judged by same_inf
                diff = np.abs(g - w)
            with np.errstate(invalid="ignore"):
                bad = ~(both_nan | same_inf | (diff <= a + r * np.abs(w)))
            err = np.nan_to_num(np.where(both_nan | same_inf, 0.0, diff), nan=np.inf)
        if np.any(bad):
            idx = np.unravel_index(int(np.argmax(np.where(bad, err, -1))), got.shape) if got.ndim else ()
            raise AssertionError(
                f"validate(): output {i} ({name}, shape {tuple(got.shape)}) differs from the reference: "
                f"{int(np.count_nonzero(bad))} of {got.size} elements beyond atol={a}, rtol={r}; "
                f"at index {tuple(int(k) for k in idx)} got {got[idx]!r}, expected {want[idx]!r}"
            )
