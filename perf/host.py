"""What makes one host differ from another, recorded in every run: CPU model
and flags, cache sizes as the kernel reports them, frequency where readable,
the engine's thread count, the in-run memcpy bandwidth, and the host's state
(load average, steal time, other processes' CPU time) before and after.

A run that sees steal time or other work on its CPUs says so, and its noisy
figures are not called regressions (busy()).
"""
from __future__ import annotations

import os
import time
from pathlib import Path

STEAL_LIMIT = 0.02      # steal time above 2% of the CPUs' time
OTHERS_LIMIT = 0.10     # other processes using over 10% of the CPUs' time
SYS = Path("/sys/devices/system/cpu")


def _read(path) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def cpu_flags() -> list[str]:
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith(("flags", "Features")):
            return sorted(line.split(":", 1)[1].split())
    return []


def caches(sys_cpu: Path = SYS) -> list[dict]:
    """[{'level': 1, 'type': 'Data', 'size_bytes': 32768}, ...] of cpu0."""
    out = []
    for d in sorted((sys_cpu / "cpu0" / "cache").glob("index*")):
        size = _read(d / "size").strip()
        if not size:
            continue
        mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(size[-1], 1)
        num = size[:-1] if size[-1] in "KMG" else size
        try:
            out.append({"level": int(_read(d / "level").strip()), "type": _read(d / "type").strip(),
                        "size_bytes": int(num) * mult,
                        "shared_cpus": _read(d / "shared_cpu_list").strip()})
        except ValueError:
            continue
    return out


def frequency_mhz(sys_cpu: Path = SYS) -> float | None:
    khz = _read(sys_cpu / "cpu0" / "cpufreq" / "scaling_cur_freq").strip()
    if khz.isdigit():
        return int(khz) / 1000
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("cpu MHz"):
            try:
                return float(line.split(":", 1)[1])
            except ValueError:
                return None
    return None


def engine_threads() -> dict:
    """cfuser's CPU engine takes OpenMP's default: OMP_NUM_THREADS, else the
    CPUs this process may run on."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    env = os.environ.get("OMP_NUM_THREADS")
    try:
        n = int(env.split(",")[0]) if env else cpus
    except ValueError:
        n = cpus
    return {"threads": n, "source": "OMP_NUM_THREADS" if env else "affinity", "affinity_cpus": cpus}


def memcpy_gbps(nbytes: int = 64 << 20, repeats: int = 5) -> float | None:
    """Best-of copy bandwidth (read + write bytes) of a numpy copy."""
    try:
        import numpy as np
    except ImportError:
        return None
    src = np.ones(nbytes // 2, dtype=np.uint8)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    best = min(_time(lambda: np.copyto(dst, src)) for _ in range(repeats))
    return round(nbytes / best / 1e9, 2)


def _time(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def snapshot() -> dict:
    """The host's counters now: /proc/stat's CPU line (jiffies), the load
    averages, and the monotonic time."""
    fields = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
    cpu = {}
    for line in _read("/proc/stat").splitlines():
        if line.startswith("cpu "):
            vals = [int(v) for v in line.split()[1:9]]
            cpu = dict(zip(fields, vals + [0] * (8 - len(vals))))
            break
    load = _read("/proc/loadavg").split()
    return {"time": time.monotonic(), "cpu": cpu,
            "loadavg": [float(x) for x in load[:3]] if len(load) >= 3 else None}


def busy(before: dict, after: dict, own_cpu_seconds: float, ncpu: int | None = None) -> dict:
    """How busy the host was between two snapshots, apart from this run's
    own CPU time: steal share, other processes' share, and the reasons to
    distrust noisy figures (empty when none)."""
    ncpu = ncpu or os.cpu_count() or 1
    hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    b, a = before.get("cpu") or {}, after.get("cpu") or {}
    if not b or not a:
        return {"steal": None, "others": None, "reasons": [], "loadavg_before": before.get("loadavg"),
                "loadavg_after": after.get("loadavg")}
    d = {k: a[k] - b[k] for k in a}
    total = sum(d.values()) or 1
    used = total - d["idle"] - d["iowait"] - d["steal"]
    steal = d["steal"] / total
    others = max(0.0, (used - own_cpu_seconds * hz) / total)
    reasons = []
    if steal > STEAL_LIMIT:
        reasons.append(f"steal time {steal:.1%} of the CPUs (limit {STEAL_LIMIT:.0%})")
    if others > OTHERS_LIMIT:
        reasons.append(f"other processes used {others:.0%} of the CPUs (limit {OTHERS_LIMIT:.0%}); "
                       f"load average {before.get('loadavg', ['?'])[0]} before, "
                       f"{after.get('loadavg', ['?'])[0]} after, on {ncpu} CPUs")
    return {"steal": round(steal, 4), "others": round(others, 4), "reasons": reasons,
            "loadavg_before": before.get("loadavg"), "loadavg_after": after.get("loadavg")}


def describe() -> dict:
    return {"cpu_flags": cpu_flags(), "caches": caches(), "frequency_mhz": frequency_mhz(),
            "engine": engine_threads(), "memcpy_gbps_64MiB": memcpy_gbps()}
