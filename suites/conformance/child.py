"""The child process of the conformance kit: import the target, run the
named checks in order, and print one line per event on stdout:

    @@start ID                 before a check (a crash after it is that check's)
    @@result {json}            its status and evidence
    @@loaded {json}            the target imported (version, file)

Run by kit.py; by hand: python3 suites/conformance/child.py --target cfuser ID...
"""
from __future__ import annotations

import argparse
import faulthandler
import json
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import checks  # noqa: E402
import checks_process  # noqa: E402,F401  (registers its rows)
from target import Target  # noqa: E402


def emit(tag, payload):
    sys.stdout.write(f"@@{tag} {payload if isinstance(payload, str) else json.dumps(payload)}\n")
    sys.stdout.flush()


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--target", required=True)
    p.add_argument("--device", default="cpu")
    p.add_argument("--inputs", default="numpy")
    p.add_argument("ids", nargs="+")
    a = p.parse_args(argv)
    faulthandler.enable()
    by_id = {c.id: c for c in checks.CHECKS}
    try:
        t = Target(a.target, a.device, a.inputs)
    except BaseException as e:  # the report says why the target did not load
        emit("loaded", {"ok": False, "error": "".join(traceback.format_exception_only(type(e), e)).strip()})
        return 3
    emit("loaded", {"ok": True, "version": str(getattr(t.m, "__version__", "") or ""),
                    "file": str(getattr(t.m, "__file__", "") or "")})
    for cid in a.ids:
        c = by_id[cid]
        emit("start", cid)
        t0 = time.perf_counter()
        try:
            status, evidence = c.fn(t)
        except Exception as e:
            status, evidence = "fail", checks.short(e, 300)
        emit("result", {"id": cid, "status": status, "evidence": evidence,
                        "seconds": round(time.perf_counter() - t0, 3)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
