"""The conformance kit: the binding-layer checks against any module that
implements nvFuser's direct Python API, item by item.

    python3 suites/conformance/kit.py --target cfuser --target nvfuser_direct \\
        [--path DIR]... [--device auto|cpu|cuda] [--json reports/out/conformance.json]

Every check runs in a child process (child.py). The checks that use a node
after its owner died (keep-alive) run in a child of their own each; the
others share one, and when it dies the check it was running is reported as a
crash (with the signal and the last lines of faulthandler's report) and a
new child takes the rest. A target that cannot be imported gets every row
skipped with the import's error. Prints the table (rows x targets); writes
the JSON report (reports/schema.py's CONFORMANCE) with --json.

Exit status: 0 when the kit ran (whatever it found), 2 on bad arguments.
`--expect-pass TARGET` makes it 1 when TARGET fails or crashes a row.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

import checks  # noqa: E402
import checks_process  # noqa: E402,F401  (registers its rows)

STATUSES = ("pass", "fail", "crash", "skip", "info")


def _signal_name(rc):
    try:
        return signal.Signals(-rc).name
    except ValueError:
        return f"signal {-rc}"


class Child:
    """One child process running a list of checks; its stdout is read by a
    thread so that a hang is seen as a timeout, not a stuck kit."""

    def __init__(self, target, ids, opts):
        cmd = [sys.executable, str(HERE / "child.py"), "--target", target,
               "--device", opts.device, "--inputs", opts.inputs, *ids]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(opts.path + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        env["PYTHONFAULTHANDLER"] = "1"
        env["CFUSER_CONFORMANCE_CYCLES"] = str(opts.cycles.get(target, opts.cycles.get("*", 1000)))
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.lines: queue.Queue = queue.Queue()
        self.err: list[str] = []
        threading.Thread(target=self._read, args=(self.proc.stdout, True), daemon=True).start()
        threading.Thread(target=self._read, args=(self.proc.stderr, False), daemon=True).start()

    def _read(self, stream, is_out):
        for line in stream:
            if is_out:
                self.lines.put(line.rstrip("\n"))
            else:
                self.err.append(line.rstrip("\n"))
        if is_out:
            self.lines.put(None)

    def next_event(self, timeout):
        """(tag, payload), ("eof", None) when stdout closed, ("timeout", None)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout", None
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                return "timeout", None
            if line is None:
                return "eof", None
            if line.startswith("@@"):
                tag, _, payload = line[2:].partition(" ")
                return tag, payload

    def finish(self):
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def stderr_tail(self, n=4):
        """The fatal error line, the innermost Python frame of faulthandler's
        report, and the last lines otherwise."""
        lines = [ln.strip() for ln in self.err if ln.strip()]
        fatal = [i for i, ln in enumerate(lines) if ln.startswith("Fatal Python error")]
        if fatal:
            i = fatal[-1]
            frame = next((ln for ln in lines[i:] if ln.startswith("File ")), "")
            return f"{lines[i]} | {frame}"[:400]
        return " | ".join(lines[-n:])[-400:]


def run_batch(target, batch, opts, cells, info):
    """Run the checks of batch in children until each has a cell."""
    by_id = {c.id: c for c in batch}
    todo = [c.id for c in batch]
    while todo:
        child = Child(target, todo, opts)
        current = None
        while True:
            timeout = by_id[current].timeout if current else 600
            tag, payload = child.next_event(timeout)
            if tag == "loaded":
                doc = json.loads(payload)
                info.update(doc)
                if not doc["ok"]:
                    child.finish()
                    for cid in todo:
                        cells[cid] = {"status": "skip", "evidence": f"the target did not load: {doc['error'][-300:]}"}
                    return
            elif tag == "start":
                current = payload
            elif tag == "result":
                doc = json.loads(payload)
                cells[doc["id"]] = {k: doc[k] for k in ("status", "evidence", "seconds")}
                todo.remove(doc["id"])
                current = None
            elif tag == "timeout":
                child.kill()
                what = current or todo[0]
                cells[what] = {"status": "fail", "evidence": f"no result within {timeout:.0f} s (a hang); "
                                                            f"stderr: {child.stderr_tail()}"}
                todo.remove(what)
                break
            elif tag == "eof":
                rc = child.finish()
                if current is None and not todo:
                    break
                if "ok" not in info:  # died importing the target: no check ran
                    why = _signal_name(rc) if rc < 0 else f"exit {rc}"
                    info.update(ok=False, error=f"the import died ({why}): {child.stderr_tail()}")
                    for cid in todo:
                        cells[cid] = {"status": "crash" if rc < 0 else "fail", "evidence": info["error"][-400:]}
                    return
                what = current or todo[0]
                if rc < 0:
                    ev = f"the process died with {_signal_name(rc)}: {child.stderr_tail()}"
                    cells[what] = {"status": "crash", "evidence": ev, "signal": _signal_name(rc)}
                else:
                    cells[what] = {"status": "fail", "evidence": f"the process exited ({rc}) without a result: "
                                                                f"{child.stderr_tail()}"}
                todo.remove(what)
                break
        if not todo:
            child.finish()


def run_target(target, opts):
    cells, info = {}, {}
    if target in opts.unavailable:  # the caller knows why it cannot load (e.g. a setup step failed)
        info.update(ok=False, error=opts.unavailable[target])
    selected = [c for c in checks.CHECKS if not opts.only
                or any(c.id == o or c.id.startswith(o + ".") or c.group == o for o in opts.only)]
    shared, isolated = [], []
    for c in selected:
        if c.internal and target != "cfuser":
            cells[c.id] = {"status": "skip", "evidence": "needs cfuser's C internals (not part of the direct API)"}
        elif c.isolated:
            isolated.append(c)
        else:
            shared.append(c)
    if shared and info.get("ok") is False:
        for c in shared:
            cells[c.id] = {"status": "skip", "evidence": f"the target did not load: {info['error'][-300:]}"}
    elif shared:
        run_batch(target, shared, opts, cells, info)
    for c in isolated:
        if info.get("ok") is False:
            cells[c.id] = {"status": "skip", "evidence": f"the target did not load: {info['error'][-300:]}"}
            continue
        run_batch(target, [c], opts, cells, info)
    return cells, info


def build_report(targets, results, opts):
    items = []
    for c in checks.CHECKS:
        row = {"id": c.id, "title": c.title, "group": c.group, "cells": {}}
        for t in targets:
            cell = results[t][0].get(c.id)
            if cell is not None:
                row["cells"][t] = cell
        if row["cells"]:
            items.append(row)
    totals = {t: {s: sum(1 for it in items if it["cells"].get(t, {}).get("status") == s) for s in STATUSES}
              for t in targets}
    tinfo = []
    for t in targets:
        info = results[t][1]
        tinfo.append({"name": t, "loaded": bool(info.get("ok")), "version": info.get("version", ""),
                      "file": info.get("file", ""), "error": info.get("error")})
    host = {"machine": platform.node(), "python": platform.python_version(), "platform": platform.platform()}
    if "torch" in sys.modules:  # imported to choose the device
        torch = sys.modules["torch"]
        host["torch"] = torch.__version__
        if opts.device.startswith("cuda"):
            host["gpu"] = torch.cuda.get_device_name()
    return {"schema": "cfuser-conformance/1",
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "host": host,
            "device": opts.device, "inputs": opts.inputs, "targets": tinfo, "items": items, "totals": totals}


def table(report, width=58):
    names = [t["name"] for t in report["targets"]]
    lines = ["conformance: " + ", ".join(f"{t['name']} {t['version'] or ''}".strip() + ("" if t["loaded"] else " (did not load)")
                                         for t in report["targets"]),
             f"{'item':<52} " + " ".join(f"{n[:14]:<14}" for n in names)]
    for it in report["items"]:
        cells = [it["cells"].get(n, {}).get("status", "-").upper() if it["cells"].get(n, {}).get("status") in ("fail", "crash")
                 else it["cells"].get(n, {}).get("status", "-") for n in names]
        lines.append(f"{it['title'][:52]:<52} " + " ".join(f"{c:<14}" for c in cells))
    lines.append("")
    for n in names:
        lines.append(f"evidence, {n}:")
        for it in report["items"]:
            cell = it["cells"].get(n)
            if cell:
                lines.append(f"  {it['id']:<26} {cell['status']:<6} {cell['evidence'][:width * 3]}")
    for n in names:
        tot = report["totals"][n]
        lines.append(f"{n}: " + ", ".join(f"{tot[s]} {s}" for s in STATUSES))
    return "\n".join(lines)


def validate(report):
    sys.path.insert(0, str(REPO))
    from reports.schema import validate_conformance
    try:
        validate_conformance(report)
    except ImportError as e:  # jsonschema missing on this machine: the report stands unchecked
        return f"not validated here: {e}"
    return "valid"


def main(argv=None):
    p = argparse.ArgumentParser(prog="suites/conformance/kit.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--target", action="append", help="module to check (repeatable; default cfuser)")
    p.add_argument("--path", action="append", default=[],
                   help="directory put in front of the children's sys.path (repeatable)")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto (cuda when torch sees one)")
    p.add_argument("--inputs", default="auto", help="numpy or torch (auto: torch on cuda, numpy on cpu)")
    p.add_argument("--only", action="append", help="check ids or groups to run (repeatable)")
    p.add_argument("--cycles", action="append", default=[],
                   help="rounds of the lifecycle row: N, or TARGET=N (default 1000; env CFUSER_CONFORMANCE_CYCLES)")
    p.add_argument("--unavailable", action="append", default=[],
                   help="TARGET=REASON: report TARGET as not loaded, for REASON (a setup step failed)")
    p.add_argument("--json", help="write the report here")
    p.add_argument("--expect-pass", action="append", default=[], help="exit 1 when this target fails a row")
    opts = p.parse_args(argv)
    targets = opts.target or ["cfuser"]
    if opts.device == "auto":
        try:
            import torch
            opts.device = "cuda" if torch.cuda.is_available() else "cpu"
        except ImportError:
            opts.device = "cpu"
    if opts.inputs == "auto":
        opts.inputs = "torch" if opts.device.startswith("cuda") else "numpy"
    opts.path = [str(Path(x).resolve()) for x in opts.path]
    raw, opts.cycles = opts.cycles, {"*": int(os.environ.get("CFUSER_CONFORMANCE_CYCLES", "1000"))}
    for c in raw:
        name, _, n = c.rpartition("=")
        opts.cycles[name or "*"] = int(n)
    opts.unavailable = dict(u.split("=", 1) for u in opts.unavailable)
    targets += [u for u in opts.unavailable if u not in targets]
    results = {}
    for t in targets:
        t0 = time.monotonic()
        results[t] = run_target(t, opts)
        print(f"conformance: {t}: {time.monotonic() - t0:.0f} s", file=sys.stderr)
        report = build_report(list(results), results, opts)
        if opts.json:  # after each target: a run cut short keeps what it found
            Path(opts.json).parent.mkdir(parents=True, exist_ok=True)
            Path(opts.json).write_text(json.dumps(report, indent=1) + "\n")
    state = validate(report)
    print(table(report))
    if opts.json:
        print(f"conformance: wrote {opts.json} ({state})")
    bad = [t for t in opts.expect_pass if report["totals"].get(t, {}).get("fail", 0) + report["totals"].get(t, {}).get("crash", 0)]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
