"""Memory: peak RSS over a long run of cached executes, and RSS growth over
many calls after a warm-up (a leak of even a few bytes per call shows as
megabytes over 10^6 calls). Runs in a child process so the peak is this
benchmark's own, not the runner's.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from . import env
from .metrics import metric, target

CHILD = r"""
import json, resource, sys
import numpy as np
import cfuser
from perf import shapes as S

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()

calls = int(sys.argv[1])
out = {}
for name in ("execute_chain_1k", "add"):
    shape = S.build("cfuser", name, np)
    run = shape.timers[0].timeit
    batch = 10000
    run(batch)
    if shape.reset: shape.reset(shape.ns)
    before = rss()
    done = 0
    while done < calls:
        run(batch)
        if shape.reset: shape.reset(shape.ns)
        done += batch
    out[name] = {"calls": done, "rss_before": before, "rss_after": rss()}
    if shape.teardown: shape.teardown(shape.ns)
out["peak_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps(out))
"""


def run(build: Path, cfuser_ok: bool, smoke: bool = False, progress=print) -> dict:
    result = {"metrics": {}, "skipped": []}
    if not cfuser_ok:
        result["skipped"].append({"what": "memory", "reason": "cfuser not importable"})
        return result
    calls = 100_000 if smoke else 1_000_000
    progress(f"memory: {calls} cached executes and {calls} op definitions in a child process")
    res = subprocess.run([sys.executable, "-c", CHILD, str(calls)], cwd=env.REPO,
                         env=env.subprocess_env(build), capture_output=True, text=True)
    if res.returncode != 0:
        tail = "\n".join(res.stderr.strip().splitlines()[-3:])
        result["skipped"].append({"what": "memory", "reason": f"child failed: {tail}"})
        return result
    data = json.loads(res.stdout.strip().splitlines()[-1])
    m = result["metrics"]
    m["memory.peak_rss.bytes"] = metric(data["peak_rss"], "bytes")
    for name in ("execute_chain_1k", "add"):
        d = data[name]
        growth = d["rss_after"] - d["rss_before"]
        m[f"memory.{name}.rss_growth.bytes"] = metric(
            growth, "bytes", note=f"over {d['calls']} calls after a 10^4-call warm-up")
        m[f"memory.{name}.rss_growth_per_call.bytes"] = metric(
            growth / d["calls"], "bytes/call",
            target=target("<=", 1.0, "no growth: <= 1 byte per call"))
    return result
