"""The one shape every figure takes in a run's JSON.

kind:
  deterministic  same build, same number (bytes, instruction counts): gated
                 against the baseline with a fixed relative tolerance;
  ratio          a noisy figure divided by its in-run reference (twin, memcpy,
                 bare python); gated only when worse by >= tolerance AND a
                 Mann-Whitney U test over the samples says the shift is real;
  info           reported and charted, never gated (absolute times, RSS).
"""
from __future__ import annotations

import statistics

DETERMINISTIC_TOLERANCE = 0.05
RATIO_TOLERANCE = 0.10


def metric(value, unit: str, kind: str = "info", better: str = "lower", *,
           samples=None, reference: str | None = None, target: dict | None = None,
           tolerance: float | None = None, note: str | None = None) -> dict:
    if kind not in ("deterministic", "ratio", "info"):
        raise ValueError(f"metric: kind must be deterministic, ratio or info, not {kind!r}")
    if better not in ("lower", "higher"):
        raise ValueError(f"metric: better must be 'lower' or 'higher', not {better!r}")
    m = {"value": value, "unit": unit, "kind": kind, "better": better}
    if samples is not None:
        m["samples"] = [float(s) for s in samples]
    if reference:
        m["reference"] = reference
    if target:
        m["target"] = target
    if tolerance is None and kind != "info":
        tolerance = DETERMINISTIC_TOLERANCE if kind == "deterministic" else RATIO_TOLERANCE
    if tolerance is not None:
        m["tolerance"] = tolerance
    if note:
        m["note"] = note
    return m


def target(op: str, value: float, text: str) -> dict:
    """A goal from the issues, shown in the report (red when unmet)."""
    if op not in ("<=", ">="):
        raise ValueError(f"target: op must be '<=' or '>=', not {op!r}")
    return {"op": op, "value": value, "text": text}


def target_met(m: dict) -> bool | None:
    t = m.get("target")
    if not t or m.get("value") is None:
        return None
    return m["value"] <= t["value"] if t["op"] == "<=" else m["value"] >= t["value"]


def median(xs):
    return statistics.median(xs) if xs else None
