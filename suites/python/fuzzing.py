"""Settings shared by the property-based suites (hypothesis).

Two budgets: `make check` runs a short, derandomized one (the same examples
on every run: a failure reproduces); `make sanitize` sets CFUSER_FUZZ=long
and runs many more, with fresh random seeds, under ASan. A run sets
CFUSER_FUZZ_EXAMPLES to override the example count.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_LONG = os.environ.get("CFUSER_FUZZ") == "long"
_INSTRUMENTED = bool(os.environ.get("CFUSER_SANITIZER"))


def examples(short: int, long: int) -> int:
    """How many examples a property runs in this mode."""
    if os.environ.get("CFUSER_FUZZ_EXAMPLES"):
        return int(os.environ["CFUSER_FUZZ_EXAMPLES"])
    n = long if _LONG else short
    return max(10, n // 4) if _INSTRUMENTED and not _LONG else n


def fuzz_settings(short: int, long: int, **kw) -> settings:
    return settings(
        max_examples=examples(short, long),
        derandomize=not _LONG,
        deadline=None,
        database=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
        **kw,
    )
