"""Compare a run with its machine class's recorded baseline.

    python3 -m reports.compare [RUN.json] [--baseline FILE] [--kinds deterministic,ratio]
                               [--gate-ratios] [--strict] [--markdown]

Rules (metric kinds are described in perf/metrics.py):
  deterministic  regression when worse than the baseline by more than its
                 tolerance (bytes and instruction counts: 5%);
  ratio          the baseline's figures come from another host (or another
                 day of this one): the change is shown for history, status
                 "history", and never fails the run; change is judged by the
                 A/B run on one host (perf/ab.py). --gate-ratios restores the
                 old rule, for a baseline recorded on this very host: worse
                 by at least its tolerance (10%) AND a one-sided Mann-Whitney
                 U test with p < ALPHA is a regression, a large but
                 insignificant shift "noisy";
  info           shown, never failed.
Run and baseline files are validated against reports/schema.py when read.
Exit status: 0 no regression, 1 regression (or, with --strict, a gated
metric missing from the run), 2 usage error or a bad file.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from reports.schema import RunFileError, load_run  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
BASELINES = REPO / "reports" / "baselines"
ALPHA = 0.05
MIN_SAMPLES = 3


def load(path) -> dict:
    """A run or baseline, validated (RunFileError, a ValueError, when bad)."""
    return load_run(path)


def baseline_path(run: dict) -> Path:
    return BASELINES / f"{run['machine_class']}.json"


def _worse_change(base: float, now: float, better: str) -> float:
    """Relative change, positive when now is worse than base."""
    if base == 0:
        if now == base:
            return 0.0
        return math.inf if (now > base) == (better == "lower") else -math.inf
    change = (now - base) / abs(base)
    return change if better == "lower" else -change


def mann_whitney_p(base_samples, now_samples, better: str) -> float | None:
    """One-sided p-value that now's samples are worse than the baseline's."""
    if len(base_samples) < MIN_SAMPLES or len(now_samples) < MIN_SAMPLES:
        return None
    from scipy.stats import mannwhitneyu
    alternative = "greater" if better == "lower" else "less"
    if len(set(base_samples) | set(now_samples)) == 1:
        return 1.0
    return float(mannwhitneyu(now_samples, base_samples, alternative=alternative).pvalue)


def compare_metric(name: str, base: dict | None, now: dict | None) -> dict:
    ref = now or base
    row = {"metric": name, "kind": ref["kind"], "unit": ref.get("unit", ""),
           "better": ref.get("better", "lower"),
           "baseline": base["value"] if base else None,
           "now": now["value"] if now else None,
           "change": None, "p": None, "status": "ok"}
    if base is None:
        row["status"] = "new"
        return row
    if now is None or now.get("value") is None:
        row["status"] = "missing"
        return row
    if base.get("value") is None:
        row["status"] = "new"
        return row
    better = row["better"]
    worse = _worse_change(base["value"], now["value"], better)
    row["change"] = (now["value"] - base["value"]) / abs(base["value"]) if base["value"] else None
    kind = ref["kind"]
    tol = base.get("tolerance", now.get("tolerance"))
    if kind == "deterministic":
        if worse > tol + 1e-12:
            row["status"] = "regression"
        elif worse < -tol:
            row["status"] = "improved"
    elif kind == "ratio":
        p = mann_whitney_p(base.get("samples", []), now.get("samples", []), better)
        row["p"] = p
        if worse >= tol:
            row["status"] = "regression" if p is not None and p < ALPHA else "noisy"
        elif worse <= -tol:
            p_better = mann_whitney_p(base.get("samples", []), now.get("samples", []),
                                      "higher" if better == "lower" else "lower")
            row["status"] = "improved" if p_better is not None and p_better < ALPHA else "ok"
    else:
        row["status"] = "info"
    return row


def compare(baseline: dict, run: dict, kinds=("deterministic", "ratio", "info"),
            gate_ratios: bool = False) -> list[dict]:
    """One row per metric. Unless gate_ratios, a ratio metric's row keeps
    its change and p but has status "history": another host's figures."""
    bm, rm = baseline.get("metrics", {}), run.get("metrics", {})
    rows = []
    for name in sorted(set(bm) | set(rm)):
        kind = (rm.get(name) or bm.get(name))["kind"]
        if kind in kinds:
            row = compare_metric(name, bm.get(name), rm.get(name))
            if kind == "ratio" and not gate_ratios and row["status"] not in ("new", "missing"):
                row["judged"] = row["status"]
                row["status"] = "history"
            rows.append(row)
    return rows


def targets(run: dict) -> list[dict]:
    out = []
    for name, m in sorted(run.get("metrics", {}).items()):
        t = m.get("target")
        if not t or m.get("value") is None:
            continue
        met = m["value"] <= t["value"] if t["op"] == "<=" else m["value"] >= t["value"]
        out.append({"metric": name, "text": t["text"], "op": t["op"], "target": t["value"],
                    "now": m["value"], "unit": m.get("unit", ""), "met": met})
    return out


def regressions(rows, strict=False) -> list[dict]:
    bad = [r for r in rows if r["status"] == "regression"]
    if strict:
        bad += [r for r in rows if r["status"] == "missing" and r["kind"] != "info"]
    return bad


# --- printing -------------------------------------------------------------------

def fmt(v, unit="") -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and not v.is_integer():
        a = abs(v)
        s = f"{v:.4g}" if a < 1000 else f"{v:,.0f}"
    else:
        s = f"{int(v):,}"
    return s


def fmt_change(c) -> str:
    if c is None:
        return "-"
    return f"{c * 100:+.1f}%"


def table(rows, headers, markdown=False) -> str:
    cells = [headers] + rows
    widths = [max(len(str(r[i])) for r in cells) for i in range(len(headers))]
    if markdown:
        lines = ["| " + " | ".join(str(c) for c in headers) + " |",
                 "|" + "|".join("---" for _ in headers) + "|"]
        lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
        return "\n".join(lines)
    sep = "  "
    lines = [sep.join(str(c).ljust(w) for c, w in zip(headers, widths)),
             sep.join("-" * w for w in widths)]
    lines += [sep.join(str(c).ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(lines)


def _baseline_host(baseline: dict, run: dict) -> str:
    bm = baseline.get("machine") or {}
    if not bm:
        return ""
    same = bm.get("hostname") and bm.get("hostname") == (run.get("machine") or {}).get("hostname")
    where = bm.get("hostname") or bm.get("cpu_model") or "?"
    return ("" if same else
            f"\n  (recorded on another host, {where}: its timings are history, not a gate; "
            f"the A/B run judges change)")


def render(baseline: dict, run: dict, rows, tgts, markdown=False, show_info=True) -> str:
    m = run["machine"]
    head = (f"machine: {run['machine_class']} ({m['cpu_model']}, {m['logical_cpus']} cpus, "
            f"{m['memory_bytes'] / 2**30:.0f} GiB, {m['os']}, python {m['python']}, "
            f"numpy {m['numpy']}, torch {m['torch']})\n"
            f"run: {run['commit']['short']}{' (dirty)' if run['commit']['dirty'] else ''} "
            f"{run['date']} [{run['mode']}, {run['device']}]   "
            f"baseline: {baseline['commit']['short']} {baseline['date']}"
            f"{_baseline_host(baseline, run)}")
    shown = [r for r in rows if show_info or r["kind"] != "info"]
    body = table([[r["metric"], r["kind"], fmt(r["baseline"]), fmt(r["now"]), r["unit"],
                   fmt_change(r["change"]), "-" if r["p"] is None else f"{r['p']:.3f}",
                   r["status"].upper() if r["status"] == "regression" else r["status"]]
                  for r in shown],
                 ["metric", "kind", "baseline", "now", "unit", "change", "p", "status"], markdown)
    tt = table([[t["text"], t["metric"], f"{t['op']} {fmt(t['target'])}", fmt(t["now"]),
                 "met" if t["met"] else "NOT MET"] for t in tgts],
               ["target", "metric", "goal", "now", "status"], markdown) if tgts else ""
    return "\n\n".join(x for x in (head, body, tt) if x)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m reports.compare", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", nargs="?", default=str(REPO / "reports" / "out" / "latest.json"))
    p.add_argument("--baseline", help="baseline JSON (default: reports/baselines/<machine class>.json)")
    p.add_argument("--kinds", default="deterministic,ratio,info",
                   help="metric kinds to compare (the smoke gate uses 'deterministic')")
    p.add_argument("--strict", action="store_true", help="a gated metric missing from the run fails")
    p.add_argument("--gate-ratios", action="store_true",
                   help="gate ratio metrics against the baseline (only for one recorded on this host)")
    p.add_argument("--markdown", action="store_true")
    p.add_argument("--hide-info", action="store_true", help="leave info metrics out of the table")
    args = p.parse_args(argv)
    try:
        run = load(args.run)
    except RunFileError as e:
        print(f"compare: {e}", file=sys.stderr)
        return 2
    bpath = Path(args.baseline) if args.baseline else baseline_path(run)
    if not bpath.exists():
        print(f"compare: no baseline {bpath} for machine class {run['machine_class']}; "
              f"record one with: python3 -m perf.record_baseline {args.run}", file=sys.stderr)
        print(render({"commit": {"short": "-"}, "date": "-", "metrics": {}}, run,
                     compare({"metrics": {}}, run, tuple(args.kinds.split(","))),
                     targets(run), args.markdown, not args.hide_info))
        return 0
    try:
        baseline = load(bpath)
    except RunFileError as e:
        print(f"compare: {e}", file=sys.stderr)
        return 2
    rows = compare(baseline, run, tuple(args.kinds.split(",")), args.gate_ratios)
    print(render(baseline, run, rows, targets(run), args.markdown, not args.hide_info))
    bad = regressions(rows, args.strict)
    if bad:
        print(f"\ncompare: {len(bad)} regression(s) against {bpath.name}:", file=sys.stderr)
        for r in bad:
            pval = "" if r["p"] is None else f", p={r['p']:.3g}"
            print(f"  {r['metric']}: baseline {fmt(r['baseline'])} -> now {fmt(r['now'])} "
                  f"{r['unit']} ({fmt_change(r['change'])}{pval})", file=sys.stderr)
        return 1
    print(f"\ncompare: no regression against {bpath.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
