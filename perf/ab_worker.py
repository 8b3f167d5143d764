"""One side of an A/B run: a process that imports one build of cfuser and
times the benchmarks the coordinator (perf/ab.py) asks for, one request at a
time, so the two sides never run at once.

    python3 -m perf.ab_worker        (PYTHONPATH: the build's python/ first)

Requests and answers are JSON lines on stdin/stdout:
    {"op": "prepare", "bench": "softmax.1MiB"}  -> {"seconds": one call, "bytes": N}
    {"op": "sample", "bench": ..., "number": N} -> {"seconds": per call, mean of N}
    {"op": "rusage"}                            -> {"cpu_seconds": this process's CPU time}
    {"op": "quit"}
Any failure answers {"error": "..."}; the worker keeps serving.
"""
from __future__ import annotations

import json
import os
import sys
import time

from . import fusions as F


def parse_bench(name: str) -> tuple[F.Fusion, int]:
    """'softmax.1MiB' -> (the softmax fusion, 262144 float32 elements)."""
    fname, _, size = name.rpartition(".")
    if fname not in F.BY_NAME:
        raise ValueError(f"unknown fusion {fname!r} in {name!r}; choose from {sorted(F.BY_NAME)}")
    units = {"KiB": 1 << 10, "MiB": 1 << 20}
    for u, mult in units.items():
        if size.endswith(u) and size[:-len(u)].isdigit():
            return F.BY_NAME[fname], int(size[:-len(u)]) * mult // 4
    raise ValueError(f"bad size {size!r} in {name!r} (e.g. 4KiB, 1MiB)")


def bench_name(fname: str, elems: int) -> str:
    b = elems * 4
    return f"{fname}.{b >> 20}MiB" if b >= 1 << 20 else f"{fname}.{b >> 10}KiB"


class Worker:
    def __init__(self):
        import numpy as np
        import cfuser
        self.np, self.cfuser = np, cfuser
        self.calls = {}

    def prepare(self, bench: str) -> dict:
        f, elems = parse_bench(bench)
        rng = self.np.random.default_rng(1234)
        xs = [rng.standard_normal(s[1], dtype=self.np.float32) if len(s) == 2
              else rng.integers(0, s[2], s[1], dtype=self.np.int64) for s in f.inputs(elems)]
        with self.cfuser.FusionDefinition() as fd:
            f.define(fd, self.cfuser, self.cfuser.DataType.Float, F.matrix(elems)[1])
        call = lambda: fd.execute(xs)  # noqa: E731
        call()  # first touch, lazy compile
        t0 = time.perf_counter()
        call()
        self.calls[bench] = call
        return {"seconds": time.perf_counter() - t0, "bytes": F.bytes_moved(f, elems, 4)}

    def sample(self, bench: str, number: int) -> dict:
        call = self.calls[bench]
        t0 = time.perf_counter()
        for _ in range(number):
            call()
        return {"seconds": (time.perf_counter() - t0) / number}

    def handle(self, req: dict) -> dict:
        op = req.get("op")
        if op == "prepare":
            return self.prepare(req["bench"])
        if op == "sample":
            return self.sample(req["bench"], int(req["number"]))
        if op == "rusage":
            t = os.times()
            return {"cpu_seconds": t.user + t.system}
        raise ValueError(f"unknown op {op!r}")


def main() -> int:
    try:
        w = Worker()
        hello = {"ready": True, "cfuser": getattr(w.cfuser, "__file__", "?")}
    except Exception as e:  # reported to the coordinator, which names the build
        w, hello = None, {"error": f"cannot import cfuser: {type(e).__name__}: {e}"}
    print(json.dumps(hello), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        if req.get("op") == "quit":
            break
        try:
            if w is None:
                raise RuntimeError(hello["error"])
            ans = w.handle(req)
        except Exception as e:
            ans = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(ans), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
