"""Run cfuser's benchmarks and write one JSON document (machine, commit,
date, every metric).

    python3 -m perf.run [--smoke] [--device cpu|cuda] [--build DIR]
                        [--only size,import,overhead,instructions,throughput,memory]
                        [--out FILE] [--history reports/history]

Benchmarks that cannot run (no build yet, no GPU, a tool missing) are listed
under "skipped" with the reason; the rest still run.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from . import env, host

ALL = ("size", "import", "overhead", "instructions", "throughput", "memory")
SMOKE_GATES = ("size", "instructions")


def settle_threads(torch, budget_s: float = 15.0) -> float:
    """Wait until torch's thread pool answers at its steady speed.

    On shared virtual CPUs the first seconds after a pool starts can stall
    each parallel region for a scheduler period (ms instead of µs); timing
    then would measure the host, not the code. Returns the seconds spent."""
    x = torch.ones(64, 4096)
    t_start = time.perf_counter()
    fast = 0
    while fast < 300 and time.perf_counter() - t_start < budget_s:
        t0 = time.perf_counter()
        x.sum(1)
        fast = fast + 1 if time.perf_counter() - t0 < 1e-3 else 0
    return time.perf_counter() - t_start


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python3 -m perf.run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--smoke", action="store_true", help="fewer sizes, samples and calls")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--build", help="build directory (default: build-perf/ or build/)")
    p.add_argument("--only", help="comma-separated subset of: " + ",".join(ALL))
    p.add_argument("--fusions", help="comma-separated subset of the throughput fusions")
    p.add_argument("--refs", default="numpy,numexpr,torch,compile,memcpy",
                   help="throughput references (default: all)")
    p.add_argument("--out", help="write the run's JSON here (default: reports/out/latest.json)")
    p.add_argument("--history", help="also write a copy into this directory (one file per run)")
    p.add_argument("--suites", help="JSON file with the suites' pass/fail to include")
    p.add_argument("--quiet", action="store_true")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    only = args.only.split(",") if args.only else list(ALL)
    bad = [o for o in only if o not in ALL]
    if bad:
        print(f"perf.run: unknown benchmark(s) {bad}; choose from {ALL}", file=sys.stderr)
        return 2
    build = env.find_build(args.build)
    doc = env.describe_run(args.device, "smoke" if args.smoke else "full")
    doc["build"] = str(build)
    doc["environment"] = {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY",
                          "MKL_NUM_THREADS", "GOMP_SPINCOUNT") if k in os.environ}
    doc.update(metrics={}, skipped=[], errors=[], benchmarks={})
    if args.suites:
        doc["suites"] = json.loads(Path(args.suites).read_text())
    t_all = time.perf_counter()
    # what makes this host differ from others, and how busy it is
    doc["host"] = host.describe()
    before, cpu0 = host.snapshot(), _cpu_seconds()

    def progress(msg):
        if not args.quiet:
            print(f"[perf {time.perf_counter() - t_all:6.1f}s] {msg}", flush=True)

    cfuser, reason = env.try_import_cfuser(build)
    # The call shapes fail one by one (each with its reason) when only part of
    # the package is there, so they need only the extension to import.
    core_ok = cfuser is not None or env.extension_importable(build)
    twins_ok = bool(list(env.perf_dir(build).glob("_nb_twin*.so"))) and \
        bool(list(env.perf_dir(build).glob("_pb_twin*.so")))
    if cfuser is None:
        doc["skipped"].append({"what": "cfuser", "reason": reason})
    if not twins_ok:
        doc["skipped"].append({"what": "twins", "reason": f"twins not built under {env.perf_dir(build)}"})
    heavy = {"overhead", "throughput"} & set(only)
    np = torch = ne = None
    if heavy or "memory" in only:
        import numpy as np
        try:
            import torch
        except ImportError:
            doc["skipped"].append({"what": "torch", "reason": "torch not installed"})
        try:
            import numexpr as ne
        except ImportError:
            doc["skipped"].append({"what": "numexpr", "reason": "numexpr not installed"})
    if torch is not None and heavy:
        doc["thread_settle_s"] = round(settle_threads(torch), 2)

    for i, name in enumerate(only):
        progress(f"== {name} ({i + 1}/{len(only)})")
        t0 = time.perf_counter()
        try:
            part = _run_one(name, args, build, cfuser, reason, core_ok, twins_ok, np, torch, ne,
                            progress)
            status = "ok"
        except Exception as e:
            part = {"errors": [{"what": name, "error": f"{type(e).__name__}: {e}"}]}
            status = "error"
        doc["metrics"].update(part.get("metrics", {}))
        doc["skipped"].extend(part.get("skipped", []))
        doc["errors"].extend(part.get("errors", []))
        for extra in ("curves", "importtime", "shapes", "files", "compile_seconds"):
            if extra in part:
                doc.setdefault(extra, {} if extra != "importtime" else [])
                if isinstance(part[extra], dict):
                    doc[extra].update(part[extra])
                else:
                    doc[extra] = part[extra]
        doc["benchmarks"][name] = {"status": status, "seconds": round(time.perf_counter() - t0, 1)}
    doc["seconds"] = round(time.perf_counter() - t_all, 1)
    doc["host"]["state"] = host.busy(before, host.snapshot(), _cpu_seconds() - cpu0)
    for reason in doc["host"]["state"]["reasons"]:
        progress(f"host busy during the run: {reason} (timings are noisier than usual)")

    out = Path(args.out) if args.out else env.REPO / "reports" / "out" / "latest.json"
    write_json(out, doc)
    progress(f"wrote {out}")
    if args.history:
        h = Path(args.history) / history_name(doc)
        write_json(h, doc)
        progress(f"wrote {h}")
    for s in doc["skipped"]:
        progress(f"skipped {s['what']}: {s['reason']}")
    for e in doc["errors"]:
        progress(f"ERROR {e['what']}: {e['error']}")
    return 0


def _run_one(name, args, build, cfuser, reason, core_ok, twins_ok, np, torch, ne, progress):
    smoke = args.smoke
    if name == "size":
        from . import size
        return size.run(build, progress=progress)
    if name == "import":
        from . import importtime
        return importtime.run(build, smoke=smoke, progress=progress)
    if name == "overhead":
        from . import overhead
        if args.device == "cuda":
            return {"skipped": [{"what": "overhead", "reason": "CPU call shapes; see throughput"}]}
        return overhead.run(np, torch, core_ok, twins_ok, smoke=smoke, progress=progress)
    if name == "instructions":
        from . import instructions
        return instructions.run(build, core_ok, twins_ok, smoke=smoke, progress=progress)
    if name == "throughput":
        from . import throughput
        return throughput.run(np, torch, ne, cfuser, reason, device=args.device, smoke=smoke,
                              refs=tuple(args.refs.split(",")),
                              only=args.fusions.split(",") if args.fusions else None,
                              cache_dir=build / "inductor-cache", progress=progress)
    if name == "memory":
        from . import memory
        return memory.run(build, cfuser is not None, smoke=smoke, progress=progress)
    raise KeyError(name)


def _cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def history_name(doc) -> str:
    stamp = doc["date"].replace(":", "").replace("-", "").replace("+0000", "Z")
    return f"{stamp}-{doc['commit']['short'] or 'nocommit'}-{doc['machine_class']}-{doc['device']}.json"


def write_json(path: Path, doc) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n")
    os.replace(tmp, path)


if __name__ == "__main__":
    sys.exit(main())
