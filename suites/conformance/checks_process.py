"""Checklist rows that look at the module from outside a running program:
its import time and size on disk, its lifecycle across interpreters (the
embedded runner's init/import/finalize rounds, a subinterpreter), and the
rows that need cfuser's C internals (failing allocator, refleak loop).

Each starts processes of its own; what they print is the evidence.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from checks import REPO, check

HERE = Path(__file__).resolve().parent


def _env(t=None):
    env = dict(os.environ)
    if t is not None:  # the embedded runner imports the package the child imported
        env["CFUSER_PYTHONPATH"] = str(Path(t.m.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p) + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _died(rc):
    if rc is not None and rc < 0:
        try:
            return signal.Signals(-rc).name
        except ValueError:
            return f"signal {-rc}"
    return None


def _tail(text, n=3):
    lines = [ln for ln in (text or "").strip().splitlines() if ln.strip()]
    return " | ".join(lines[-n:])[-300:]


# --- import time and size --------------------------------------------------------

@check("import.time", "import time (own modules; dependencies apart)", "size")
def import_time(t):
    """python -X importtime -c 'import M', best of 3: the cumulative time of
    M, and the part spent in M's own modules (torch and numpy apart)."""
    best = None
    for _ in range(3):
        r = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {t.name}"],
                           capture_output=True, text=True, env=_env(), timeout=120)
        if r.returncode != 0:
            return "fail", f"import failed: {_tail(r.stderr)}"
        own, total = 0, 0
        for line in r.stderr.splitlines():
            m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
            if not m:
                continue
            name = m.group(4)
            root = name.split(".")[0]
            if root == t.name.split(".")[0]:
                own += int(m.group(1))
            if name == t.name:
                total = int(m.group(2))
        if best is None or total < best[1]:
            best = (own, total)
    own, total = best
    return "info", f"{own / 1e3:.1f} ms in its own modules, {total / 1e3:.1f} ms with its dependencies (best of 3)"


@check("binary.size", "binary size (shared objects of the package)", "size")
def binary_size(t):
    """The shared objects of the distribution that installed the package
    (its RECORD: bundled libraries included), else those under the package's
    directory and a sibling NAME.libs."""
    top = t.name.split(".")[0]
    files, missing, source = [], 0, "the package directory"
    try:
        from importlib.metadata import distribution, packages_distributions
        for dname in packages_distributions().get(top, []):
            d = distribution(dname)
            for f in d.files or []:
                if ".so" in f.name:
                    p = Path(d.locate_file(f))
                    if p.is_file():
                        files.append(p)
                    else:
                        missing += 1
            source = f"the distribution {dname}"
    except Exception:  # no metadata: the directory below
        files = []
    if not files:
        pkg = Path(t.m.__file__).resolve().parent
        dirs = [pkg] + [d for d in pkg.parent.glob(pkg.name + ".libs") if d.is_dir()]
        files = [f for d in dirs for f in d.rglob("*") if f.is_file() and ".so" in f.name]
    files = sorted(set(files), key=lambda f: f.stat().st_size, reverse=True)
    total = sum(f.stat().st_size for f in files)
    parts = ", ".join(f"{f.name} {f.stat().st_size / 2**20:.1f} MiB" for f in files[:2])
    gone = f"; {missing} listed but not installed here" if missing else ""
    return "info", f"{total / 2**20:.1f} MiB in {len(files)} shared objects of {source} ({parts}){gone}"


# --- lifecycle ---------------------------------------------------------------------------

def _runner():
    path = os.environ.get("CFUSER_CONFORMANCE_HARNESS") or str(REPO / "build" / "harness" / "cfharness")
    return path if os.access(path, os.X_OK) else None


def _cycles(runner, n, code, t):
    r = subprocess.run([runner, "cycles", str(n), code], capture_output=True, text=True,
                       env=_env(t), timeout=1800)
    try:
        doc = json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        doc = None
    return r, doc


def _growth(doc):
    """Per-round growth after the first tenth of the rounds, as the runner
    fits it (cfh_cycles): blocks, refs (None without a debug interpreter),
    RSS KiB."""
    g = dict(doc["per_round"])
    if not any(v >= 0 for v in doc["refs"]):
        g["refs"] = None
    return g


CYCLE_BARS = {"blocks": 0.75, "refs": 0.75, "rss_kib": 4.0}  # one leaked object a round fails


@check("lifecycle.cycles", "lifecycle: initialise/import/finalise rounds (embedded runner)", "lifecycle",
       embedded=True, timeout=1800)
def lifecycle_cycles(t):
    runner = _runner()
    if runner is None:
        return "skip", "no embedded runner (build/harness/cfharness; CFUSER_CONFORMANCE_HARNESS)"
    n = int(os.environ.get("CFUSER_CONFORMANCE_CYCLES", "1000"))
    paths = [p for p in sys.path if p]
    code = textwrap.dedent(f"""\
        import sys
        sys.path[:0] = {paths!r}
        sys.path.insert(0, {str(HERE)!r})
        from target import Target
        t = Target({t.name!r}, {t.device!r}, {t.inputs!r})
        t.small()
        """)
    r, doc = _cycles(runner, n, code, t)
    if doc is None or doc["completed"] < n:
        died = _died(r.returncode)
        done = doc["completed"] if doc else "?"
        what = f"died with {died}" if died else f"stopped (exit {r.returncode})"
        return ("crash" if died else "fail"), f"{what} after {done} of {n} rounds: {_tail(r.stderr)}"
    g = _growth(doc)
    judged = [k for k in g if g[k] is not None and (k != "rss_kib" or n >= 200)]  # RSS: pages, noisy below
    over = {k: g[k] for k in judged if g[k] > CYCLE_BARS[k]}
    base_note = ""
    if over:  # judge against the same rounds without the module
        _, base = _cycles(runner, n, "import sys\n", t)
        if base is not None and base["completed"] == n:
            gb = _growth(base)
            over = {k: v - (gb[k] or 0) for k, v in over.items() if v - (gb[k] or 0) > CYCLE_BARS[k]}
            base_note = "; net of the same rounds without the module"
    fmt = ", ".join(f"{k} {v:+.2f}" for k, v in g.items() if v is not None)
    ev = (f"{n} rounds in {doc['seconds']:.0f} s; growth per round: {fmt}"
          f" (bars: blocks {CYCLE_BARS['blocks']}, refs {CYCLE_BARS['refs']}, RSS {CYCLE_BARS['rss_kib']} KiB"
          f"{'' if n >= 200 else ', RSS judged from 200 rounds'}){base_note}")
    return ("fail" if over else "pass"), ev


_SUBINTERP = textwrap.dedent("""\
    import sys
    try:
        import _interpreters as interp
    except ImportError:
        import _xxsubinterpreters as interp
    setup = "import sys; sys.path[:0] = {paths!r}; from target import Target; t = Target({name!r}, {device!r}, {inputs!r})\\n"
    run = setup + ("fd, *_ = t.small()\\n"
                   "outs = fd.execute([t.tensor(3, 4), t.tensor(3, 4)])\\n"
                   "assert len(outs) == 2 and tuple(outs[0].shape) == (3, 4), outs\\n")
    define = setup + "t.small()\\n"
    def create():  # the legacy kind: the main interpreter's lock, as modules without their own GIL need
        for args, kw in (((), {{"isolated": False}}), (("legacy",), {{}}), ((), {{}})):
            try:
                return interp.create(*args, **kw)
            except TypeError:
                continue
    a = create()
    interp.run_string(a, run)
    b = create()
    interp.run_string(b, define)
    sys.path[:0] = {paths!r}
    from target import Target
    Target({name!r}, {device!r}, {inputs!r}).small()
    interp.destroy(a)
    interp.destroy(b)
    print("subinterpreters: ok")
    """)


@check("lifecycle.subinterpreter", "lifecycle: import and run a fusion in a subinterpreter (shared lock)", "lifecycle",
       timeout=120)
def subinterpreter(t):
    paths = [str(HERE)] + [p for p in sys.path if p]
    code = _SUBINTERP.format(paths=paths, name=t.name, device=t.device, inputs=t.inputs)
    try:
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), timeout=90)
    except subprocess.TimeoutExpired as e:
        err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        return "fail", f"no result within 90 s (a hang): {_tail(err)}"
    died = _died(r.returncode)
    if died:
        return "crash", f"died with {died}: {_tail(r.stderr)}"
    if r.returncode != 0:
        return "fail", _tail(r.stderr, 2)
    return "pass", ("a fusion defined and executed in one subinterpreter, defined in a second and in the "
                    "main interpreter, both subinterpreters destroyed")


# --- rows that need cfuser's C internals -------------------------------------------------

def _internal(t, cmd_args, what):
    if t.name != "cfuser":
        return "skip", f"needs cfuser's C internals ({what})"
    runner = _runner()
    if runner is None:
        return "skip", "no embedded runner (build/harness/cfharness)"
    r = subprocess.run([runner, *cmd_args], capture_output=True, text=True, env=_env(t), timeout=900)
    died = _died(r.returncode)
    out = _tail(r.stdout + "\n" + r.stderr, 2)
    if died:
        return "crash", f"died with {died}: {out}"
    return ("pass" if r.returncode == 0 else "fail"), out


@check("internal.faultinj", "allocation failures: every failure point of a definition", "internal",
       internal=True, embedded=True, timeout=900)
def fault_injection(t):
    status, ev = _internal(t, ["sweep", "faultinj.py", "define_small_fusion"],
                           "the failing allocator through cfuser._C._testing")
    if status == "pass" and "SystemError" in ev:  # a binding bug: an error path without an exception
        return "fail", ev
    return status, ev


@check("internal.refleak", "reference and block leaks of definitions (refleak loop)", "internal",
       internal=True, embedded=True, timeout=900)
def refleak(t):
    return _internal(t, ["refleak", "lifetime.py", "definition_refleak_body", "3", "6"],
                     "the embedded refleak loop and a debug interpreter's reference counts")
