"""Binary size: stripped size of the _C extension and of libcfuser, and the
size of each section (text, rodata, data, ...) as `size -A` reports it.

Sizes are deterministic for a given compiler and source, so they are gated
at +5% over the baseline. The twins' sizes are recorded beside them (info).
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from . import env
from .metrics import metric

# Sections worth a figure of their own; the rest are summed into "other".
SECTIONS = (".text", ".rodata", ".data", ".data.rel.ro", ".bss", ".eh_frame")
# The gated ones (the text/data/rodata); the small ones move by a few
# bytes per change, so a relative gate on them would only make noise.
GATED_SECTIONS = (".text", ".rodata", ".data")


def stripped_copy(path: Path, workdir: Path) -> Path:
    out = workdir / (path.name + ".stripped")
    subprocess.run(["strip", "--strip-all", "-o", str(out), str(path)], check=True,
                   capture_output=True)
    return out


def sections(path: Path) -> dict[str, int]:
    """Allocated sections from `size -A` (name -> bytes)."""
    res = subprocess.run(["size", "-A", str(path)], check=True, capture_output=True, text=True)
    out: dict[str, int] = {}
    for line in res.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0].startswith(".") and parts[1].isdigit():
            out[parts[0]] = int(parts[1])
    return out


def measure_file(label: str, path: Path, kind: str = "deterministic") -> dict:
    metrics = {}
    with tempfile.TemporaryDirectory() as tmp:
        s = stripped_copy(path, Path(tmp))
        metrics[f"size.{label}.stripped"] = metric(s.stat().st_size, "bytes", kind)
        secs = sections(s)
    other = 0
    for name, n in secs.items():
        if name in SECTIONS:
            gated = kind == "deterministic" and name in GATED_SECTIONS
            metrics[f"size.{label}{name}"] = metric(n, "bytes", "deterministic" if gated else "info")
        else:
            other += n
    metrics[f"size.{label}.other_sections"] = metric(other, "bytes", "info")
    return metrics


def run(build: Path, progress=print) -> dict:
    """Returns {"metrics": {...}, "skipped": [...], "files": {...}}."""
    result = {"metrics": {}, "skipped": [], "files": {}}
    if shutil.which("strip") is None or shutil.which("size") is None:
        result["skipped"].append({"what": "size", "reason": "binutils (strip, size) not installed"})
        return result
    targets = [("_C", env.extension_path(build), "deterministic"),
               ("libcfuser", env.library_path(build), "deterministic")]
    pdir = env.perf_dir(build)
    for label, pat in (("nanobind_twin", "_nb_twin*.so"), ("pybind11_twin", "_pb_twin*.so")):
        hits = sorted(pdir.glob(pat))
        targets.append((label, hits[0] if hits else None, "info"))
    for label, path, kind in targets:
        if path is None:
            result["skipped"].append({"what": f"size.{label}",
                                      "reason": f"no {label} binary under {build}"})
            continue
        progress(f"size: {label} ({path.name})")
        result["files"][label] = str(path)
        result["metrics"].update(measure_file(label, path, kind))
    return result
