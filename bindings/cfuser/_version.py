"""cfuser.version(): the version as a string that compares as a version."""
from __future__ import annotations

from typing import Any, Callable

from cfuser._C import __version__


def _parse(value: Any) -> Any:
    # packaging is imported on first comparison only: "import cfuser" stays light.
    from packaging.version import Version

    if isinstance(value, Version):
        return value
    if isinstance(value, str):
        return Version(value.split("+", 1)[0])
    if isinstance(value, tuple) and all(isinstance(p, int) for p in value):
        return Version(".".join(map(str, value)))
    raise TypeError(f"cannot compare a cfuser version with {type(value).__name__} {value!r}")


def _compare(op: str) -> Callable[["CfuserVersion", Any], bool]:
    def method(self: "CfuserVersion", other: Any) -> bool:
        try:
            theirs = _parse(other)
        except TypeError:
            return NotImplemented  # type: ignore[no-any-return]
        return bool(getattr(_parse(str(self)), op)(theirs))

    method.__name__ = op
    return method


class CfuserVersion(str):
    """A ``str`` that compares as a PEP 440 version with strings, tuples of
    ints and ``packaging.version.Version`` (``version() >= "0.1"``); a local
    part after ``+`` is ignored in comparisons, as nvFuser's version does."""

    __lt__ = _compare("__lt__")
    __le__ = _compare("__le__")
    __gt__ = _compare("__gt__")
    __ge__ = _compare("__ge__")
    __eq__ = _compare("__eq__")
    __ne__ = _compare("__ne__")
    __hash__ = str.__hash__


def version() -> CfuserVersion:
    """The cfuser version (nvfuser_direct.version() has the same shape)."""
    return CfuserVersion(__version__)
