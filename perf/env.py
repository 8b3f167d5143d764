"""Where a run happens: the machine, the commit, the date, and the build.

Every JSON document perf writes starts from describe_run(), so a figure can
always be traced to the hardware and source it came from.
"""
from __future__ import annotations

import datetime as _dt
import glob
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCHEMA = 1


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError:
        return ""


def cpu_model() -> str:
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def physical_cores() -> int:
    pairs = set()
    phys = core = None
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("physical id"):
            phys = line.split(":", 1)[1].strip()
        elif line.startswith("core id"):
            core = line.split(":", 1)[1].strip()
        elif not line.strip() and core is not None:
            pairs.add((phys, core))
            phys = core = None
    if core is not None:
        pairs.add((phys, core))
    return len(pairs) or (os.cpu_count() or 1)


def memory_bytes() -> int:
    m = re.search(r"MemTotal:\s+(\d+) kB", _read("/proc/meminfo"))
    return int(m.group(1)) * 1024 if m else 0


def os_name() -> str:
    m = re.search(r'^PRETTY_NAME="?([^"\n]*)', _read("/etc/os-release"), re.M)
    return f"{m.group(1) if m else platform.system()} (kernel {platform.release()})"


def _version(module: str) -> str | None:
    try:
        from importlib import metadata
        return metadata.version(module)
    except Exception:
        return None


def gpu_names() -> list[str]:
    """GPU models from nvidia-smi, without importing torch."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return []
    if out.returncode != 0:
        return []
    return [line.strip() for line in out.stdout.splitlines() if line.strip()]


def describe_machine() -> dict:
    return {
        "cpu_model": cpu_model(),
        "logical_cpus": os.cpu_count() or 1,
        "physical_cores": physical_cores(),
        "memory_bytes": memory_bytes(),
        "os": os_name(),
        "arch": platform.machine(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "numpy": _version("numpy"),
        "torch": _version("torch"),
        "numexpr": _version("numexpr"),
        "nanobind": _version("nanobind"),
        "pybind11": _version("pybind11"),
        "gpus": gpu_names(),
        "hostname": platform.node(),
    }


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def machine_class(machine: dict, device: str = "cpu") -> str:
    """A stable name for 'this kind of machine': baselines are kept per class.

    CFUSER_MACHINE_CLASS overrides it (e.g. to share one baseline between
    identical CI runners whose CPU strings differ in a stepping suffix)."""
    override = os.environ.get("CFUSER_MACHINE_CLASS")
    if override:
        return _slug(override)
    cpu = _slug(machine["cpu_model"].replace("(R)", "").replace("(TM)", ""))
    cores = machine["logical_cpus"]
    gib = round(machine["memory_bytes"] / 2**30)
    name = f"{cpu}-{cores}c-{gib}g"
    if device == "cuda" and machine.get("gpus"):
        name = f"{_slug(machine['gpus'][0])}-x{len(machine['gpus'])}-{name}"
    return name


def git_commit() -> dict:
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True,
                                  text=True, timeout=20).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return ""
    sha = git("rev-parse", "HEAD")
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    return {
        "sha": sha,
        "short": sha[:10],
        "dirty": dirty,
        "subject": git("log", "-1", "--format=%s"),
        "commit_date": git("log", "-1", "--format=%cI"),
        "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
    }


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def describe_run(device: str = "cpu", mode: str = "full") -> dict:
    machine = describe_machine()
    return {
        "schema": SCHEMA,
        "date": now_iso(),
        "commit": git_commit(),
        "machine": machine,
        "machine_class": machine_class(machine, device),
        "device": device,
        "mode": mode,
    }


# --- the build under test ---------------------------------------------------

def find_build(build: str | None) -> Path:
    """The build directory: --build, $CFUSER_BUILD, or the first of
    build-perf/ and build/ that holds an assembled python/cfuser package."""
    if build:
        return Path(build).resolve()
    if os.environ.get("CFUSER_BUILD"):
        return Path(os.environ["CFUSER_BUILD"]).resolve()
    for name in ("build-perf", "build"):
        cand = REPO / name
        if (cand / "python" / "cfuser").is_dir():
            return cand
    return REPO / "build-perf"


def python_dir(build: Path) -> Path:
    return build / "python"


def perf_dir(build: Path) -> Path:
    """Where perf/CMakeLists.txt puts the twins and _cgmark."""
    for cand in (build / "perf", REPO / "build-twins" / "perf"):
        if glob.glob(str(cand / "_nb_twin*.so")):
            return cand
    return build / "perf"


def extension_path(build: Path) -> Path | None:
    hits = sorted(glob.glob(str(python_dir(build) / "cfuser" / "_C*.so")))
    return Path(hits[0]) if hits else None


def library_path(build: Path) -> Path | None:
    """libcfuser.so (the real file, not the soname links)."""
    hits = [Path(p) for p in glob.glob(str(build / "**" / "libcfuser.so*"), recursive=True)]
    hits = [p for p in hits if p.is_file() and not p.is_symlink()]
    return sorted(hits)[0] if hits else None


def import_paths(build: Path) -> list[str]:
    return [str(python_dir(build)), str(perf_dir(build))]


def add_import_paths(build: Path) -> None:
    for p in reversed(import_paths(build)):
        if p not in sys.path:
            sys.path.insert(0, p)


def subprocess_env(build: Path) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(import_paths(build) + [str(REPO)] +
                                        ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["PYTHONHASHSEED"] = "0"
    return env


def try_import_cfuser(build: Path):
    """(module, None) or (None, reason)."""
    add_import_paths(build)
    try:
        import cfuser
    except Exception as e:  # the reason goes into the report
        return None, f"cfuser not importable from {python_dir(build)}: {type(e).__name__}: {e}"
    if not hasattr(cfuser, "FusionDefinition"):
        return None, (f"cfuser from {python_dir(build)} has no FusionDefinition "
                      f"(package incomplete: {getattr(cfuser, '__path__', '?')})")
    return cfuser, None


def extension_importable(build: Path) -> bool:
    """Whether cfuser._C imports (in a child, so a half-built package cannot
    leave a broken module in this process)."""
    code = "import cfuser._C"
    res = subprocess.run([sys.executable, "-c", code], env=subprocess_env(build),
                         capture_output=True, text=True)
    return res.returncode == 0
