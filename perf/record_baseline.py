"""Record a run as its machine class's baseline.

    python3 -m perf.record_baseline [RUN.json] [--replace] [--reason TEXT]

Without RUN.json it uses reports/out/latest.json (run `make perf` first).
An existing baseline is never overwritten silently: --replace is required,
and the comparison with the old baseline is printed so the commit that
carries the new file can say what moved and why (--reason is stored in it).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from reports import compare as C

from . import env
from .run import write_json


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m perf.record_baseline", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", nargs="?", default=str(env.REPO / "reports" / "out" / "latest.json"))
    p.add_argument("--replace", action="store_true", help="overwrite an existing baseline")
    p.add_argument("--reason", default="", help="why this baseline is (re-)recorded")
    p.add_argument("--dir", default=str(C.BASELINES), help="baselines directory")
    args = p.parse_args(argv)
    run = C.load(args.run)
    if run.get("errors"):
        print("record_baseline: the run has errors; fix them before recording:", file=sys.stderr)
        for e in run["errors"]:
            print(f"  {e['what']}: {e['error']}", file=sys.stderr)
        return 1
    if run["commit"].get("dirty"):
        print("record_baseline: note: the run was taken from a tree with uncommitted changes",
              file=sys.stderr)
    dest = Path(args.dir) / f"{run['machine_class']}.json"
    if dest.exists():
        old = C.load(dest)
        rows = C.compare(old, run)
        print(C.render(old, run, rows, C.targets(run)))
        if not args.replace:
            print(f"\nrecord_baseline: {dest} exists; pass --replace to overwrite it "
                  "(the table above is what would change)", file=sys.stderr)
            return 1
    doc = dict(run)
    doc["baseline"] = {"recorded": env.now_iso(), "from": str(Path(args.run).name),
                       "reason": args.reason}
    write_json(dest, doc)
    n = sum(1 for m in run["metrics"].values() if m["kind"] != "info")
    print(f"record_baseline: wrote {dest} ({len(run['metrics'])} metrics, {n} gated); "
          f"commit it: git add {dest.relative_to(env.REPO) if dest.is_relative_to(env.REPO) else dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
