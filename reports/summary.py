"""The last screen of `make report`: what failed and why, in a few lines.

    python3 -m reports.summary [--run reports/out/latest.json] [--ab reports/out/ab.json]
                               [--suites reports/out/suites.json] [--baseline FILE]

The run fails on a failing suite, a deterministic metric (bytes,
instruction counts) worse than the recorded baseline, or a regression of
the A/B run (perf/ab.py) on this host. Timings against the recorded
baseline are another host's figures and targets are per host: both are
shown, neither fails the run. Exit status 1 when the run failed, 2 when an
input is missing or bad.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import compare as C
from .schema import RunFileError

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "reports" / "out"


def _pct(x: float) -> str:
    return f"{x * 100:+.1f}%"


def host_line(run: dict) -> str:
    m, h = run.get("machine") or {}, run.get("host") or {}
    parts = [f"{run.get('machine_class', '?')} ({m.get('cpu_model', '?')}, {m.get('logical_cpus', '?')} cpus"]
    caches = [c for c in h.get("caches", []) if c.get("type") != "Instruction" and c.get("level", 0) >= 2]
    if caches:
        parts.append(", ".join(f"L{c['level']} {c['size_bytes'] >> 10} KiB" for c in caches))
    if h.get("memcpy_gbps_64MiB"):
        parts.append(f"memcpy {h['memcpy_gbps_64MiB']} GB/s")
    if h.get("engine"):
        parts.append(f"engine threads {h['engine']['threads']}")
    return "host: " + "; ".join(parts) + ")"


def summarize(run: dict | None, ab: dict | None, suites: dict | None,
              baseline: dict | None) -> tuple[list[str], list[str]]:
    """(lines to print, reasons the run failed)."""
    lines, failed = [], []
    if run:
        lines.append(host_line(run))
        for r in (run.get("host") or {}).get("state", {}).get("reasons", []):
            lines.append(f"  host busy during the benchmarks: {r}")
    if ab is None:
        lines.append("A/B: not run")
    else:
        head = (f"A/B: base {ab['base']['short']} against head {ab['head']['short']}"
                f"{' + changes' if ab['head'].get('dirty') else ''}, {ab['method']['pairs']} pairs"
                f"{' in %d rounds' % ab['method']['rounds'] if ab['method'].get('rounds') else ''}")
        reg = [b for b in ab["benchmarks"] if b["status"] == "regression"]
        sus = [b for b in ab["benchmarks"] if b["status"] == "suspect"]
        err = [b for b in ab["benchmarks"] if b["status"] == "error"]
        lines.append(f"{head}: " + (f"{len(reg)} REGRESSION(S)" if reg else "no regression"))
        for b in reg + sus:
            lines.append(f"  {b['bench']}: {_pct(b['effect'])} slower "
                         f"[{_pct(b['ci'][0])}, {_pct(b['ci'][1])}], p={b['p_worse']:.2g}"
                         + ("  (suspect: the host was busy, not failed)" if b in sus else ""))
        for r in ab.get("host", {}).get("state", {}).get("reasons", []):
            lines.append(f"  host busy during the A/B run: {r}")
        for b in err:
            lines.append(f"  {b['bench']}: not compared: {b['error']}")
        if reg:
            failed.append(f"{len(reg)} A/B regression(s)")
    if run is not None:
        if baseline is not None:
            rows = C.compare(baseline, run, ("deterministic",))
            bad = C.regressions(rows)
            lines.append(f"deterministic gates (sizes, instruction counts) against the baseline "
                         f"{baseline['commit']['short']}: "
                         + (f"{len(bad)} REGRESSION(S)" if bad else f"{len(rows)} metrics, no regression"))
            for r in bad:
                lines.append(f"  {r['metric']}: {C.fmt(r['baseline'])} -> {C.fmt(r['now'])} "
                             f"{r['unit']} ({C.fmt_change(r['change'])})")
            if bad:
                failed.append(f"{len(bad)} deterministic regression(s)")
        else:
            lines.append("deterministic gates: no recorded baseline for this machine class")
        tg = C.targets(run)
        unmet = [t for t in tg if not t["met"]]
        lines.append(f"targets on this host: {len(tg) - len(unmet)} of {len(tg)} met"
                     + (" (shown, not failed)" if unmet else ""))
        for t in unmet:
            lines.append(f"  not met: {t['text']}: {C.fmt(t['now'])} {t['unit']} "
                         f"(goal {t['op']} {C.fmt(t['target'])})")
    for name, s in (suites or {}).items():
        lines.append(f"suite {name}: {s['status']}  {s.get('detail', '')}".rstrip())
        if s["status"] not in ("pass", "skipped"):
            failed.append(f"suite {name} {s['status']}")
    return lines, failed


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m reports.summary", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", default=str(OUT / "latest.json"))
    p.add_argument("--ab", default=str(OUT / "ab.json"))
    p.add_argument("--suites", default=str(OUT / "suites.json"))
    p.add_argument("--baseline", help="default: reports/baselines/<machine class>.json")
    args = p.parse_args(argv)
    try:
        run = C.load(args.run) if Path(args.run).exists() else None
        bpath = Path(args.baseline) if args.baseline else (C.baseline_path(run) if run else None)
        baseline = C.load(bpath) if bpath and bpath.exists() else None
        ab = json.loads(Path(args.ab).read_text()) if Path(args.ab).exists() else None
        suites = json.loads(Path(args.suites).read_text()) if Path(args.suites).exists() else None
    except (RunFileError, ValueError, OSError) as e:
        print(f"summary: {e}", file=sys.stderr)
        return 2
    lines, failed = summarize(run, ab, suites, baseline)
    print("================ summary ================")
    print("\n".join(lines))
    print("dashboard: reports/site/index.html")
    if failed:
        print("report: FAILED (" + "; ".join(failed) + ")")
        return 1
    print("report: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
