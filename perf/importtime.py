"""Import time: hyperfine of `python3 -I -c "import cfuser"` against the same
interpreter line without the import, in one hyperfine run, plus the split
that `-X importtime` gives per module.

-I ignores PYTHONPATH, so both command lines insert the build's python/
directory into sys.path themselves; the only difference between the two is
the import.
"""
from __future__ import annotations

import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from . import env
from .metrics import metric, target

IMPORT_TARGET_MS = 2.0


def command_lines(pydir: Path, module: str) -> tuple[str, str]:
    pre = f"import sys; sys.path.insert(0, {str(pydir)!r})"
    return (f"{pre}; import {module}", pre)


def hyperfine(python: str, with_import: str, bare: str, runs: int, warmup: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "hf.json"
        cmd = ["hyperfine", "-N", "--warmup", str(warmup), "--runs", str(runs),
               "--export-json", str(out), "--style", "none",
               "-n", "import", f"{python} -I -c {_quote(with_import)}",
               "-n", "bare", f"{python} -I -c {_quote(bare)}"]
        subprocess.run(cmd, check=True, capture_output=True, text=True)
        data = json.loads(out.read_text())
    return {r["command"]: r for r in data["results"]}


def _quote(s: str) -> str:
    # hyperfine -N splits the command line shell-style.
    return "'" + s.replace("'", "'\\''") + "'"


_IMPORTTIME = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)")


def importtime_split(python: str, with_import: str, bare: str, module: str,
                     repeats: int = 5) -> list[dict]:
    """Per-module self/cumulative µs for modules the import pulls in,
    best of `repeats` runs, top-level entries first."""
    def run(code: str) -> dict[str, tuple[int, int, int]]:
        res = subprocess.run([python, "-I", "-X", "importtime", "-c", code],
                             capture_output=True, text=True, check=True)
        mods = {}
        for line in res.stderr.splitlines():
            m = _IMPORTTIME.match(line)
            if m:
                depth = (len(m.group(3)) - 1) // 2
                mods[m.group(4)] = (int(m.group(1)), int(m.group(2)), depth)
        return mods

    base = run(bare)
    best: dict[str, list] = {}
    for _ in range(repeats):
        for name, (self_us, cum_us, depth) in run(with_import).items():
            if name in base:
                continue
            cur = best.get(name)
            if cur is None or cum_us < cur[1]:
                best[name] = [self_us, cum_us, depth]
    rows = [{"module": k, "self_us": v[0], "cumulative_us": v[1], "depth": v[2]}
            for k, v in best.items()]
    rows.sort(key=lambda r: (-r["cumulative_us"]))
    return rows


def heavy_imports(python: str, pydir: Path, module: str) -> dict:
    """Whether importing the module drags numpy or torch in (it must not)."""
    code = (f"import sys; sys.path.insert(0, {str(pydir)!r}); import {module}; "
            "print(','.join(m for m in ('numpy', 'torch') if m in sys.modules))")
    res = subprocess.run([python, "-I", "-c", code], capture_output=True, text=True, check=True)
    found = res.stdout.strip()
    return {"numpy": "numpy" in found, "torch": "torch" in found}


def run(build: Path, smoke: bool = False, module: str = "cfuser", pydir: Path | None = None,
        progress=print) -> dict:
    result = {"metrics": {}, "skipped": [], "importtime": []}
    pydir = pydir or env.python_dir(build)
    python = sys.executable
    if shutil.which("hyperfine") is None:
        result["skipped"].append({"what": "import", "reason": "hyperfine not installed"})
        return result
    with_import, bare = command_lines(pydir, module)
    probe = subprocess.run([python, "-I", "-c", with_import], capture_output=True, text=True)
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["?"])[-1]
        result["skipped"].append({"what": "import", "reason": f"{module} does not import: {last}"})
        return result
    runs = 10 if smoke else 30
    progress(f"import: hyperfine -N --warmup 3 --runs {runs}")
    hf = hyperfine(python, with_import, bare, runs=runs, warmup=3)
    t_imp = [t * 1e3 for t in hf["import"]["times"]]
    t_bare = [t * 1e3 for t in hf["bare"]["times"]]
    med_bare = statistics.median(t_bare)
    delta = statistics.mean(t_imp) - statistics.mean(t_bare)
    m = result["metrics"]
    m["import.with_module.ms"] = metric(statistics.mean(t_imp), "ms", samples=t_imp)
    m["import.bare_python.ms"] = metric(statistics.mean(t_bare), "ms", samples=t_bare)
    m["import.delta.ms"] = metric(
        delta, "ms", note="mean(import) - mean(bare) from one hyperfine run",
        target=target("<=", IMPORT_TARGET_MS, f"import cfuser <= {IMPORT_TARGET_MS:g} ms over bare python"))
    m["import.ratio_to_bare"] = metric(
        statistics.median(t_imp) / med_bare, "x", "ratio",
        samples=[t / med_bare for t in t_imp], reference="import.bare_python.ms")
    progress("import: -X importtime split")
    result["importtime"] = importtime_split(python, with_import, bare, module,
                                            repeats=3 if smoke else 5)
    heavy = heavy_imports(python, pydir, module)
    m["import.pulls_numpy"] = metric(int(heavy["numpy"]), "bool",
                                     target=target("<=", 0, "numpy not imported by import cfuser"))
    m["import.pulls_torch"] = metric(int(heavy["torch"]), "bool",
                                     target=target("<=", 0, "torch not imported by import cfuser"))
    return result
