"""Static dashboard of the benchmark history: reports/site/index.html.

    python3 -m reports.dashboard [--history reports/history] [--baselines reports/baselines]
                                 [--latest RUN.json] [--out reports/site]

One self-contained HTML file (data, script and style inline; no network, no
server): trends per gated metric over the history with the baseline drawn in,
the verdict, the A/B result of perf.ab and the targets on the first screen, the latest run beside its baseline (folded), throughput-versus-size charts against the
in-run references, the targets (red when unmet), the suites' pass/fail, and
what was skipped and why. The page is drawn by dashboard.js from the JSON
embedded in it, so perf/tests/test_dashboard.py can load it in headless
Chromium and check what a reader would see.
"""
from __future__ import annotations

import argparse
import html
import json
import sys
from pathlib import Path

from . import compare as C

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def load_history(hdir: Path) -> list[dict]:
    runs = []
    for p in sorted(hdir.glob("*.json")):
        try:
            runs.append((p.name, C.load(p)))
        except (OSError, ValueError) as e:
            print(f"dashboard: skipping unreadable {p}: {e}", file=sys.stderr)
    runs.sort(key=lambda x: x[1].get("date", ""))
    return [_slim(name, r) for name, r in runs]


def _slim(name: str, run: dict) -> dict:
    return {"file": name, "date": run.get("date"), "commit": run["commit"].get("short"),
            "subject": run["commit"].get("subject", ""), "machine_class": run["machine_class"],
            "device": run.get("device", "cpu"), "mode": run.get("mode"),
            "suites": run.get("suites"),
            "metrics": {k: v.get("value") for k, v in run.get("metrics", {}).items()}}


def slim_ab(ab: dict | None) -> dict | None:
    """The A/B result without its raw samples."""
    if not ab:
        return None
    benches = [{k: v for k, v in b.items() if k != "samples"} for b in ab.get("benchmarks", [])]
    return {"base": ab["base"], "head": ab["head"], "method": ab["method"], "verdict": ab["verdict"],
            "benchmarks": benches, "host_reasons": ab.get("host", {}).get("state", {}).get("reasons", [])}


def build_charts(history: list[dict], baselines: dict[str, dict], latest: dict | None,
                 targets: list[dict]) -> dict:
    """matplotlib SVGs (reports/charts.py) of the latest run's throughput
    curves and of each gated or targeted metric over the history, with the
    values each one draws."""
    from . import charts
    out = {"throughput": {}, "trends": {}}
    if latest is None:
        return out
    for key, c in (latest.get("curves") or {}).items():
        out["throughput"][key] = {"svg": charts.throughput_svg(c), "gbps": c["gbps"],
                                  "labels": c["labels"], "description": c.get("description", ""),
                                  "notes": c.get("notes", [])}
    runs = [r for r in history if r["machine_class"] == latest["machine_class"]
            and r.get("device", "cpu") == latest.get("device", "cpu")]
    base = (baselines.get(latest["machine_class"]) or {}).get("metrics", {})
    tg = {t["metric"]: t["target"] for t in targets}
    for name, m in sorted(latest.get("metrics", {}).items()):
        if m["kind"] == "info" and name not in tg:
            continue
        pts = [(r["commit"], r["metrics"][name]) for r in runs if r["metrics"].get(name) is not None]
        b = (base.get(name) or {}).get("value")
        out["trends"][name] = {"svg": charts.trend_svg(name, pts, b, tg.get(name)),
                               "values": [p[1] for p in pts], "baseline": b, "target": tg.get(name),
                               "unit": m.get("unit", ""), "kind": m["kind"]}
    return out


def build_data(history: list[dict], baselines: dict[str, dict], latest: dict | None,
               ab: dict | None = None, catalogue: dict | None = None,
               conformance: dict | None = None) -> dict:
    data = {"history": history, "baselines": {}, "latest": None, "rows": [], "targets": [],
            "charts": {"throughput": {}, "trends": {}}, "catalogue": catalogue, "conformance": conformance,
            "ab": slim_ab(ab), "host": (ab or {}).get("host") or (latest or {}).get("host")}
    for cls, b in baselines.items():
        data["baselines"][cls] = {"commit": b["commit"].get("short"), "date": b.get("date"),
                                  "metrics": {k: v.get("value") for k, v in b["metrics"].items()}}
    if latest is None and history:
        latest = None
    if latest is not None:
        base = baselines.get(latest["machine_class"])
        rows = C.compare(base, latest) if base else C.compare({"metrics": {}}, latest)
        data["rows"] = rows
        data["targets"] = C.targets(latest)
        data["charts"] = build_charts(history, baselines, latest, data["targets"])
        data["latest"] = {
            "date": latest.get("date"), "commit": latest["commit"], "machine": latest["machine"],
            "machine_class": latest["machine_class"], "device": latest.get("device"),
            "mode": latest.get("mode"), "suites": latest.get("suites") or {},
            "curves": latest.get("curves", {}), "skipped": latest.get("skipped", []),
            "errors": latest.get("errors", []), "importtime": latest.get("importtime", [])[:15],
            "kinds": {k: v["kind"] for k, v in latest.get("metrics", {}).items()},
            "units": {k: v.get("unit", "") for k, v in latest.get("metrics", {}).items()},
            "has_baseline": base is not None,
            "baseline_commit": base["commit"].get("short") if base else None,
        }
    return data


def render(data: dict) -> str:
    payload = json.dumps(data, separators=(",", ":"), allow_nan=False, default=_nan_safe)
    payload = payload.replace("</", "<\\/")
    tpl = (HERE / "dashboard.html").read_text()
    return (tpl.replace("/*STYLE*/", (HERE / "dashboard.css").read_text())
               .replace("/*SCRIPT*/", (HERE / "dashboard.js").read_text())
               .replace("{{DATA}}", payload)
               .replace("{{TITLE}}", html.escape(_title(data))))


def _nan_safe(o):
    return None


def _title(data):
    lat = data.get("latest")
    if not lat:
        return "cfuser performance"
    return f"cfuser performance - {lat['machine_class']} - {lat['commit'].get('short', '')}"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m reports.dashboard", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--history", default=str(REPO / "reports" / "history"))
    p.add_argument("--baselines", default=str(REPO / "reports" / "baselines"))
    p.add_argument("--latest", help="the run to detail (default: the newest in the history)")
    p.add_argument("--ab", help="an A/B result of perf.ab (reports/out/ab.json) for the first screen")
    p.add_argument("--catalogue", default=str(REPO / "reports" / "out" / "catalogue.json"),
                   help="the adversarial catalogue make check writes (shown when present)")
    p.add_argument("--conformance", default=str(REPO / "reports" / "out" / "conformance.json"),
                   help="the conformance kit's report (suites/conformance; shown when present)")
    p.add_argument("--out", default=str(REPO / "reports" / "site"))
    args = p.parse_args(argv)
    hdir = Path(args.history)
    history = load_history(hdir) if hdir.is_dir() else []
    if args.latest:
        latest = C.load(args.latest)
    else:
        files = sorted(hdir.glob("*.json"), key=lambda q: C.load(q).get("date", "")) \
            if hdir.is_dir() else []
        latest = C.load(files[-1]) if files else None
    baselines = {}
    bdir = Path(args.baselines)
    if bdir.is_dir():
        for b in sorted(bdir.glob("*.json")):
            doc = C.load(b)
            baselines[doc["machine_class"]] = doc
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ab = None
    if args.ab:
        try:
            ab = json.loads(Path(args.ab).read_text())
        except (OSError, ValueError) as e:
            print(f"dashboard: cannot read the A/B result {args.ab}: {e}", file=sys.stderr)
            return 2
        if not isinstance(ab, dict) or not {"base", "head", "method", "verdict", "benchmarks"} <= set(ab):
            print(f"dashboard: {args.ab} is not an A/B result of perf.ab", file=sys.stderr)
            return 2
    catalogue = None
    if Path(args.catalogue).is_file():
        try:
            catalogue = json.loads(Path(args.catalogue).read_text())
        except ValueError as e:
            print(f"dashboard: cannot read the catalogue {args.catalogue}: {e}", file=sys.stderr)
            return 2
        if not isinstance(catalogue, dict) or catalogue.get("schema") != "cfuser-catalogue/1":
            print(f"dashboard: {args.catalogue} is not a cfuser catalogue", file=sys.stderr)
            return 2
    conformance = None
    if Path(args.conformance).is_file():
        from .schema import RunFileError, validate_conformance
        try:
            conformance = validate_conformance(json.loads(Path(args.conformance).read_text()), args.conformance)
        except (ValueError, RunFileError) as e:
            print(f"dashboard: {e}", file=sys.stderr)
            return 2
    page = render(build_data(history, baselines, latest, ab, catalogue, conformance))
    (out / "index.html").write_text(page)
    print(f"dashboard: wrote {out / 'index.html'} ({len(history)} runs in the history)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
