"""Call overhead as wall time: timeit loops of each call shape for cfuser and
both twins, interleaved sample by sample so drift hits all three alike.

Reported per library in ns per call (info); gated only as cfuser's ratio to
the nanobind twin's time in the same run (ratio metrics). Targets from the
foundation issue: fd.ops.add <= 150 ns, cached execute <= 2 us.
"""
from __future__ import annotations

import gc
import statistics

from . import shapes as S
from .metrics import metric, target

TARGETS = {
    "add": target("<=", 150.0, "fd.ops.add <= 150 ns"),
    "execute_chain_1k": target("<=", 2000.0, "cached execute (1k elements) <= 2 us"),
}


def calibrate(shape: S.Shape, sample_s: float) -> int:
    number = 1
    while True:
        t = shape.seconds_per_call(number) * number * shape.divisor
        if t >= sample_s / 4 or number >= 1 << 22:
            break
        number *= 2
    return max(1, int(number * sample_s / max(t, 1e-9)))


def run(np, torch, cfuser_ok: bool, twins_ok: bool, smoke: bool = False,
        progress=print) -> dict:
    result = {"metrics": {}, "skipped": [], "shapes": S.DESCRIPTIONS}
    libs = [lib for lib in S.LIBS if (cfuser_ok if lib == "cfuser" else twins_ok)]
    if not cfuser_ok:
        result["skipped"].append({"what": "overhead.cfuser", "reason": "cfuser not importable"})
    if not twins_ok:
        result["skipped"].append({"what": "overhead.twins", "reason": "twins not built"})
    repeats = 5 if smoke else 15
    sample_s = 0.003 if smoke else 0.02
    built = {}
    for name in S.SHAPE_NAMES:
        for lib in libs:
            if not S.available(lib, name):
                continue
            if name.endswith("torch") and torch is None:
                continue
            try:
                built[(lib, name)] = S.build(lib, name, np, torch)
            except Exception as e:
                result["skipped"].append({"what": f"overhead.{lib}.{name}",
                                          "reason": f"{type(e).__name__}: {e}"})
    numbers = {k: calibrate(s, sample_s) for k, s in built.items()}
    samples = {k: [] for k in built}
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for r in range(repeats):
            progress(f"overhead: repeat {r + 1}/{repeats} ({len(built)} shapes)")
            for k, s in built.items():
                samples[k].append(s.seconds_per_call(numbers[k]) * 1e9)
    finally:
        if gc_was:
            gc.enable()
        for s in built.values():
            if s.teardown:
                s.teardown(s.ns)
    m = result["metrics"]
    for (lib, name), xs in samples.items():
        m[f"overhead.{lib}.{name}.ns"] = metric(
            statistics.median(xs), "ns", samples=xs,
            target=TARGETS.get(name) if lib == "cfuser" else None)
    for name in S.SHAPE_NAMES:
        cf = samples.get(("cfuser", name))
        for twin in ("nanobind", "pybind11"):
            ref = samples.get((twin, name))
            if not cf or not ref:
                continue
            ratios = [c / t for c, t in zip(cf, ref)]
            kind = "ratio" if twin == "nanobind" else "info"
            m[f"overhead.{name}.cfuser_over_{twin}"] = metric(
                statistics.median(ratios), "x", kind, samples=ratios,
                reference=f"overhead.{twin}.{name}.ns")
    return result
