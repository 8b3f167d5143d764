"""Instruction counts per call under `valgrind --tool=callgrind`: the
deterministic twin of overhead.py, and the CI gate (+5% over baseline).

One valgrind process per library keeps the runs independent; each yields a
dump per measured loop (see callgrind_driver.py). Per-call count =
(loop - empty loop) / N, or for per-element shapes (1024 items - 0 items) /
N / 1024. PYTHONHASHSEED is fixed so dict layouts, and so counts, repeat.
"""
from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from . import env
from . import shapes as S
from .metrics import metric

# Shapes counted: torch's import costs minutes under valgrind, so the torch
# variants are timed (overhead.py) but not counted.
COUNTED = tuple(n for n in S.SHAPE_NAMES if not n.endswith("torch"))


def parse_dump(path: str) -> tuple[str | None, int | None]:
    name = total = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("desc: Trigger: Client Request: "):
                name = line.split(": ", 2)[2].strip().split(": ", 1)[-1].strip()
            elif line.startswith("totals:") or line.startswith("summary:"):
                total = int(line.split()[1])
    return name, total


def run_lib(build: Path, lib: str, number: int, workdir: Path) -> dict[str, int]:
    out = workdir / f"cg.{lib}.out"
    cmd = ["valgrind", "--tool=callgrind", "--quiet", f"--callgrind-out-file={out}",
           "--dump-instr=no", "--dump-line=no", "--compress-pos=no",
           sys.executable, "-m", "perf.callgrind_driver", lib, ",".join(COUNTED), str(number)]
    res = subprocess.run(cmd, cwd=env.REPO, env=env.subprocess_env(build),
                         capture_output=True, text=True)
    if res.returncode != 0:
        tail = "\n".join(res.stderr.strip().splitlines()[-5:])
        raise RuntimeError(f"callgrind run for {lib} failed ({res.returncode}): {tail}")
    counts = {}
    for path in glob.glob(str(out) + ".*"):
        name, total = parse_dump(path)
        if name and total is not None:
            counts[name] = total
    return counts


def per_call(counts: dict[str, int], lib: str, number: int) -> dict[str, float]:
    empty = counts.get("empty")
    out = {}
    for name in COUNTED:
        main = counts.get(f"{lib}:{name}:main")
        if main is None or empty is None:
            continue
        base = counts.get(f"{lib}:{name}:base")
        if base is not None:   # per element: both loops have the same loop cost
            out[name] = (main - base) / number / S.PER_ELEM_LEN
        else:
            out[name] = (main - empty) / number
    return out


def run(build: Path, cfuser_ok: bool, twins_ok: bool, smoke: bool = False,
        progress=print) -> dict:
    result = {"metrics": {}, "skipped": []}
    if shutil.which("valgrind") is None:
        result["skipped"].append({"what": "instructions", "reason": "valgrind not installed"})
        return result
    if not glob.glob(str(env.perf_dir(build) / "_cgmark*.so")):
        result["skipped"].append({"what": "instructions",
                                  "reason": "_cgmark not built (configure with -DCFUSER_BUILD_PERF=ON)"})
        return result
    libs = [lib for lib in S.LIBS if (cfuser_ok if lib == "cfuser" else twins_ok)]
    if not cfuser_ok:
        result["skipped"].append({"what": "instructions.cfuser", "reason": "cfuser not importable"})
    number = 2000 if smoke else 5000
    per = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, lib in enumerate(libs):
            progress(f"instructions: callgrind {lib} ({i + 1}/{len(libs)}), {number} calls per shape")
            try:
                per[lib] = per_call(run_lib(build, lib, number, Path(tmp)), lib, number)
            except RuntimeError as e:
                result["skipped"].append({"what": f"instructions.{lib}", "reason": str(e)})
    m = result["metrics"]
    for lib, counts in per.items():
        for name, ir in counts.items():
            kind = "deterministic" if lib == "cfuser" else "info"
            m[f"instructions.{lib}.{name}"] = metric(round(ir, 1), "instructions", kind)
    for name in COUNTED:
        cf = per.get("cfuser", {}).get(name)
        for twin in ("nanobind", "pybind11"):
            ref = per.get(twin, {}).get(name)
            if cf is not None and ref:
                m[f"instructions.{name}.cfuser_over_{twin}"] = metric(
                    round(cf / ref, 3), "x", "info", reference=f"instructions.{twin}.{name}")
    return result
