"""A/B in one run: the baseline commit and the working tree, built side by
side and timed on this host, interleaved, so the change is measured rather
than the host.

    python3 -m perf.ab [--base REF] [--fusions a,b] [--sizes 4KiB,1MiB]
                       [--pairs N] [--out reports/out/ab.json] [--judge-busy]

--base defaults to the commit named by this machine class's recorded
baseline (reports/baselines/), else HEAD. The base is checked out with
`git worktree add --detach` under build-ab/ and built there (kept for the
next run); the working tree is built in build-ab/head. Two worker processes
(perf/ab_worker.py), one per build, pinned to the same CPUs, answer one
request at a time: for every benchmark each pair of samples is taken back to
back, base then head, head then base, alternately (ABBA...), so both see
the same host. The pairs are taken in --rounds rounds, each by a fresh pair
of processes (started in alternating order), because a process's memory
layout is an offset of its own. Each benchmark is judged on its paired
samples and on the rounds' agreement (perf/abstats.py: Wilcoxon signed-rank,
bootstrap interval, minimum effect, judge_rounds). The host's state is read before and after (perf/host.py): if other
work or steal time was seen, regressions are reported as "suspect" and do
not fail the run, unless --judge-busy.

Exit status: 0 no regression, 1 a regression, 2 usage or build error.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from . import abstats, env, host
from .ab_worker import bench_name

FUSIONS = ("pointwise_chain", "broadcast_add", "row_sum", "col_sum", "softmax", "layernorm",
           "rmsnorm", "var_mean")
SIZES = (1 << 10, 1 << 18)           # 4 KiB: the per-call cost; 1 MiB: the kernel
AB_DIR = env.REPO / "build-ab"


class AbError(RuntimeError):
    pass


def git(*args: str, cwd: Path = env.REPO) -> str:
    res = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True)
    if res.returncode != 0:
        raise AbError(f"git {' '.join(args)}: {res.stderr.strip()}")
    return res.stdout.strip()


def default_base() -> tuple[str, str]:
    """(ref, where it came from): the recorded baseline's commit, else HEAD."""
    machine = env.describe_machine()
    path = env.REPO / "reports" / "baselines" / f"{env.machine_class(machine)}.json"
    if path.exists():
        from reports.schema import load_run
        commit = load_run(path)["commit"]
        sha = commit.get("sha") or commit.get("full")
        if sha:
            return sha, f"the commit of {path.relative_to(env.REPO)}"
    return "HEAD", "HEAD (no recorded baseline for this machine class)"


def cmake_build(src: Path, build: Path, jobs: int, log: Path, progress) -> None:
    build.mkdir(parents=True, exist_ok=True)
    cfg = ["cmake", "-S", str(src), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
           "-DCFUSER_BUILD_TESTS=OFF", "-DCFUSER_BUILD_HARNESS=OFF", "-DCFUSER_BUILD_PERF=OFF",
           f"-DPython3_EXECUTABLE={sys.executable}"]
    t0 = time.perf_counter()
    with open(log, "w") as f:
        for cmd in (cfg, ["cmake", "--build", str(build), "-j", str(jobs)]):
            if subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT).returncode != 0:
                tail = log.read_text().splitlines()[-20:]
                raise AbError(f"build of {src} failed ({log}):\n" + "\n".join(tail))
    progress(f"built {build} in {time.perf_counter() - t0:.0f} s")


def prepare_base(sha: str, jobs: int, progress) -> Path:
    short = sha[:10]
    src = AB_DIR / f"src-{short}"
    if not (src / ".git").exists():
        progress(f"checking out {short} in {src}")
        AB_DIR.mkdir(exist_ok=True)
        git("worktree", "add", "--detach", "--force", str(src), sha)
    build = AB_DIR / f"base-{short}"
    cmake_build(src, build, jobs, AB_DIR / f"base-{short}.log", progress)
    return build


class Side:
    """One worker process: one build of cfuser."""

    def __init__(self, label: str, build: Path, cpus: set[int] | None, threads: int | None = None):
        self.label, self.build = label, build
        e = dict(os.environ)
        if threads:
            e["OMP_NUM_THREADS"] = str(threads)
        e["PYTHONPATH"] = os.pathsep.join([str(build / "python"), str(env.REPO)])
        e["PYTHONHASHSEED"] = "0"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "perf.ab_worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True, env=e, cwd=str(env.REPO),
            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None)
        hello = self._read()
        if "error" in hello:
            self.close()
            raise AbError(f"{label} ({build}): {hello['error']}")
        self.cfuser = hello.get("cfuser")

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise AbError(f"{self.label} worker exited (status {self.proc.poll()})")
        return json.loads(line)

    def ask(self, **req) -> dict:
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write('{"op": "quit"}\n')
                self.proc.stdin.flush()
            except OSError:
                pass
            self.proc.wait(timeout=30)


def collect(got: dict, benches: list, per_round: list, base_build: Path, head_build: Path,
            cpus, args, progress) -> float:
    """Rounds of pairs for benches into got; the CPU seconds the workers used."""
    own = 0.0
    for k, n in enumerate(per_round):
        progress(f"round {k + 1}/{len(per_round)}: fresh workers, {n} pairs per benchmark")
        sides = start_sides(base_build, head_build, cpus, args.threads, head_first=k % 2 == 1)
        base, head_side = sides["base"], sides["head"]
        try:
            for bench in benches:
                g = got[bench]
                if g["error"]:
                    continue
                r = run_pairs(base, head_side, bench, n, args.sample_s)
                if "error" in r:
                    g["error"] = r["error"]
                    continue
                g["base"].append(r["samples"]["base"])
                g["head"].append(r["samples"]["head"])
                g["number"], g["bytes"] = g["number"] or r["number"], r["bytes"]
            own += _own_cpu(base, head_side)  # the workers' whole lives, imports included
        finally:
            base.close()
            head_side.close()
    return own


def judge_row(bench: str, g: dict, args) -> dict:
    row = {"bench": bench, "unit": "s/call", "better": "lower"}
    if g["error"]:
        row.update(status="error", error=g["error"])
    else:
        row.update(abstats.judge_rounds(g["base"], g["head"], min_effect=args.min_effect,
                                        alpha=args.alpha),
                   number=g["number"], bytes=g["bytes"],
                   samples={"base": [x for r in g["base"] for x in r],
                            "head": [x for r in g["head"] for x in r]})
    return row


def start_sides(base_build: Path, head_build: Path, cpus, threads, head_first: bool) -> dict:
    order = [("head", head_build), ("base", base_build)] if head_first else \
        [("base", base_build), ("head", head_build)]
    sides = {}
    try:
        for label, build in order:
            sides[label] = Side(label, build, cpus, threads)
    except AbError:
        for s in sides.values():
            s.close()
        raise
    return sides


def run_pairs(a: Side, b: Side, bench: str, pairs: int, sample_s: float) -> dict:
    """Samples of one benchmark on both sides, interleaved ABBA..."""
    pa, pb = a.ask(op="prepare", bench=bench), b.ask(op="prepare", bench=bench)
    for side, ans in ((a, pa), (b, pb)):
        if "error" in ans:
            return {"error": f"{side.label}: {ans['error']}"}
    one = max(1e-7, min(pa["seconds"], pb["seconds"]))
    number = max(1, min(100000, int(sample_s / one)))
    ts = {a.label: [], b.label: []}
    for i in range(pairs):
        for side in ((a, b) if i % 2 == 0 else (b, a)):
            ans = side.ask(op="sample", bench=bench, number=number)
            if "error" in ans:
                return {"error": f"{side.label}: {ans['error']}"}
            ts[side.label].append(ans["seconds"])
    return {"number": number, "bytes": pa["bytes"], "samples": ts}


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python3 -m perf.ab", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", help="commit, branch or tag to compare with (default: the baseline's)")
    p.add_argument("--base-build", help="use this build of the base instead of building it")
    p.add_argument("--head-build", help="use this build of the working tree (default: build-ab/head)")
    p.add_argument("--fusions", default=",".join(FUSIONS))
    p.add_argument("--sizes", default=",".join(bench_name("x", s).split(".")[1] for s in SIZES))
    p.add_argument("--pairs", type=int, default=30, help="sample pairs per benchmark (>= 6)")
    p.add_argument("--rounds", type=int, default=5,
                   help="fresh worker pairs the pairs are spread over (each gets >= 2 pairs)")
    p.add_argument("--sample-s", type=float, default=0.03, help="seconds per sample")
    p.add_argument("--no-confirm", dest="confirm", action="store_false",
                   help="do not re-run a benchmark called worse or better with as many rounds again")
    p.add_argument("--min-effect", type=float, default=abstats.MIN_EFFECT)
    p.add_argument("--alpha", type=float, default=abstats.ALPHA)
    p.add_argument("--cpus", help="CPUs both workers are pinned to, e.g. 0,1 (default: all allowed)")
    p.add_argument("--threads", type=int,
                   help="engine threads in both workers (OMP_NUM_THREADS; default: the engine's choice)")
    p.add_argument("--jobs", type=int, default=int(os.environ.get("JOBS", os.cpu_count() or 2)))
    p.add_argument("--judge-busy", action="store_true",
                   help="fail on a regression even when the host was busy")
    p.add_argument("--out", default=str(env.REPO / "reports" / "out" / "ab.json"))
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    if args.pairs < abstats.MIN_PAIRS:
        p.error(f"--pairs must be >= {abstats.MIN_PAIRS}")
    if args.rounds < 1 or args.pairs < 2 * args.rounds:
        p.error(f"--rounds must be >= 1 and leave >= 2 pairs a round (--pairs {args.pairs})")
    return args


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    t_all = time.perf_counter()

    def progress(msg):
        if not args.quiet:
            print(f"[ab {time.perf_counter() - t_all:6.1f}s] {msg}", flush=True)

    try:
        doc = run_ab(args, progress)
    except AbError as e:
        print(f"ab: {e}", file=sys.stderr)
        return 2
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(doc, indent=1) + "\n")
    print(render(doc))
    progress(f"wrote {args.out}")
    return 1 if doc["verdict"] == "regression" else 0


def run_ab(args, progress) -> dict:
    t0 = time.perf_counter()
    ref, why = (args.base, "--base") if args.base else default_base()
    sha = git("rev-parse", "--verify", f"{ref}^{{commit}}")
    head = env.git_commit()
    progress(f"base {sha[:10]} ({why}), head {head['short']}{' + changes' if head['dirty'] else ''}")
    base_build = Path(args.base_build) if args.base_build else prepare_base(sha, args.jobs, progress)
    if args.head_build:
        head_build = Path(args.head_build)
    else:
        AB_DIR.mkdir(exist_ok=True)
        head_build = AB_DIR / "head"
        cmake_build(env.REPO, head_build, args.jobs, AB_DIR / "head.log", progress)
    cpus = {int(c) for c in args.cpus.split(",")} if args.cpus else None
    benches = [f"{f}.{s}" for f in args.fusions.split(",") for s in args.sizes.split(",")]
    before = host.snapshot()
    t_self = os.times()
    per_round = [args.pairs // args.rounds + (k < args.pairs % args.rounds) for k in range(args.rounds)]
    got = {b: {"base": [], "head": [], "number": None, "bytes": None, "error": None} for b in benches}
    own = collect(got, benches, per_round, base_build, head_build, cpus, args, progress)
    rows = [judge_row(bench, got[bench], args) for bench in benches]
    # Confirmation: a benchmark called worse or better gets as many rounds
    # again, from new processes, and is judged on all of them. A process
    # pair's episode (a thread pool's wake-ups, a layout) fades in the median
    # of twice the rounds; a real change is seen again.
    again = [r["bench"] for r in rows if r["status"] in ("regression", "improved")]
    if again and args.confirm:
        progress(f"confirming {', '.join(again)} with {args.rounds} more rounds")
        own += collect(got, again, per_round, base_build, head_build, cpus, args, progress)
        rows = [judge_row(bench, got[bench], args) if bench in again else r
                for bench, r in zip(benches, rows)]
        for r in rows:
            if r["bench"] in again:
                r["confirmed"] = r["status"] in ("regression", "improved")
    after = host.snapshot()
    t_now = os.times()
    # the coordinator's own CPU (pipes, and the JSON) is the run's too
    own += (t_now.user + t_now.system) - (t_self.user + t_self.system)
    for i, row in enumerate(rows):
        progress(f"[{i + 1}/{len(rows)}] {row['bench']}: {_row_line(row)}")
    state = host.busy(before, after, own)
    suspect = bool(state["reasons"]) and not args.judge_busy
    if suspect:
        for r in rows:
            if r["status"] == "regression":
                r["status"] = "suspect"
    n_reg = sum(r["status"] == "regression" for r in rows)
    return {
        "schema": 1, "date": env.now_iso(), "machine_class": env.machine_class(env.describe_machine()),
        "base": {"sha": sha, "short": sha[:10], "ref": ref, "why": why, "build": str(base_build)},
        "head": {**head, "build": str(head_build), "given_build": bool(args.head_build)},
        "method": {"pairs": args.pairs, "rounds": args.rounds, "sample_s": args.sample_s,
                   "order": "ABBA within a round; fresh worker processes each round",
                   "test": "one-sided Wilcoxon signed-rank on paired log-ratios",
                   "interval": "bootstrap (paired, percentile) of median(head)/median(base)-1",
                   "effect": "median over rounds of median(head)/median(base)-1; 80% of the "
                             "rounds must agree in sign",
                   "confirm": "a benchmark called worse or better is judged again with twice the "
                              "rounds" if args.confirm else "off",
                   "min_effect": args.min_effect, "alpha": args.alpha,
                   "cpus": sorted(cpus) if cpus else "all allowed",
                   "engine_threads": args.threads or "engine default"},
        "host": {**host.describe(), "state": state},
        "benchmarks": rows,
        "verdict": "regression" if n_reg else ("suspect" if any(r["status"] == "suspect" for r in rows)
                                               else "ok"),
        "seconds": round(time.perf_counter() - t0, 1),
    }


def _own_cpu(*sides) -> float:
    return sum(s.ask(op="rusage").get("cpu_seconds", 0.0) for s in sides)


def _row_line(r: dict) -> str:
    if r["status"] == "error":
        return f"error: {r['error']}"
    lo, hi = r["ci"]
    return (f"{r['effect']:+.1%} [{lo:+.1%}, {hi:+.1%}] p={r['p_worse']:.2g} "
            f"{r['status'].upper() if r['status'] in ('regression', 'suspect') else r['status']}")


def render(doc: dict) -> str:
    given = f" (build {doc['head']['build']})" if doc["head"].get("given_build") else ""
    lines = [f"A/B: base {doc['base']['short']} vs head {doc['head']['short']}"
             f"{' + changes' if doc['head'].get('dirty') else ''}{given}, {doc['method']['pairs']} pairs "
             f"per benchmark, interleaved; effect = head/base time - 1, "
             f"{int(doc['benchmarks'][0].get('confidence', 0.95) * 100) if doc['benchmarks'] else 95}% "
             f"interval"]
    w = max([len(r["bench"]) for r in doc["benchmarks"]] + [9])
    for r in doc["benchmarks"]:
        lines.append(f"  {r['bench']:<{w}}  {_row_line(r)}")
    st = doc["host"]["state"]
    for reason in st["reasons"]:
        lines.append(f"  host busy: {reason}")
    reg = [r for r in doc["benchmarks"] if r["status"] in ("regression", "suspect")]
    if doc["verdict"] == "regression":
        lines.append("A/B: REGRESSION: " + ", ".join(
            f"{r['bench']} {r['effect']:+.1%}" for r in reg))
    elif doc["verdict"] == "suspect":
        lines.append("A/B: no regression called (host busy); suspect: " + ", ".join(
            f"{r['bench']} {r['effect']:+.1%}" for r in reg))
    else:
        lines.append("A/B: no regression")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
