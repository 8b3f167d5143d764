"""The host factor: how much slower this host runs a fixed workload than the
reference host on which the deadlines and work sizes were set.

    python3 sanitizers/calibrate.py --mode MODE [--record] -- COMMAND...

COMMAND runs sanitizers/calibration_workload.py under the build, sanitizer
and interpreter of MODE (run-suites.sh passes its valgrind wrapper and
cfharness for the instrumented modes). The best of its repetitions is
divided by MODE's time in sanitizers/calibration.json; the quotient, never
below 1 (a faster host keeps the reference deadlines), is printed as shell
assignments for the run to export:

    CFUSER_HARNESS_TIME_FACTOR=2.07
    CFUSER_HARNESS_CALIBRATION='asan: workload 1.21 s here (best of 3), 0.58 s on amd-epyc-2c-24g'

--work BASE prints a work size set on the reference host (an iteration
multiplier), divided by the factor, so a slower host keeps the time budget.
--record writes the measured time as MODE's reference instead (on the
reference host). Exit status 2 when the command fails or prints no timing:
a run whose calibration is broken must say so, not guess.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import re
import shlex
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REFERENCES = HERE / "calibration.json"
FACTOR_CAP = 1000.0
LINE = re.compile(r"^calibration: ([0-9.]+)\b", re.M)


class CalibrationError(RuntimeError):
    pass


def parse_seconds(output: str) -> list[float]:
    """The seconds of every repetition the workload printed."""
    return [float(m) for m in LINE.findall(output)]


def host_factor(measured: float, reference: float | None) -> float:
    """measured / reference, rounded to 2 places, within [1, FACTOR_CAP];
    1 when there is no reference."""
    if not (measured > 0 and math.isfinite(measured)):
        raise CalibrationError(f"calibration: measured time must be a positive number, not {measured!r}")
    if reference is None:
        return 1.0
    if not (reference > 0 and math.isfinite(reference)):
        raise CalibrationError(f"calibration: reference time must be a positive number, not {reference!r}")
    return min(FACTOR_CAP, max(1.0, round(measured / reference, 2)))


def scaled_work(base: int, factor: float, floor: int = 1) -> int:
    """A work size set on the reference host, shrunk on a slower host so the
    run keeps its time budget (never below floor)."""
    if base < 1 or floor < 1:
        raise ValueError(f"scaled_work: base and floor must be >= 1, not {base}, {floor}")
    return max(floor, min(base, int(round(base / max(1.0, factor)))))


def load_references(path: Path = REFERENCES) -> dict:
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        return {"host": None, "seconds": {}}
    except ValueError as e:
        raise CalibrationError(f"calibration: {path} is not valid JSON: {e}") from e
    if not isinstance(doc, dict) or not isinstance(doc.get("seconds"), dict):
        raise CalibrationError(f"calibration: {path} needs an object with a 'seconds' object "
                               f"(mode -> seconds)")
    return doc


def describe(mode: str, measured: float, repeats: int, refs: dict) -> str:
    ref = refs["seconds"].get(mode)
    here = f"{mode}: workload {measured:.3f} s here (best of {repeats})"
    if ref is None:
        return f"{here}, no reference recorded for {mode} (factor 1)"
    return f"{here}, {ref:.3f} s on {refs.get('host') or 'the reference host'}"


def measure(command: list[str]) -> list[float]:
    try:
        res = subprocess.run(command, capture_output=True, text=True)
    except OSError as e:
        raise CalibrationError(f"calibration: cannot run {command[0]}: {e}") from e
    secs = parse_seconds(res.stdout)
    if res.returncode != 0 or not secs:
        tail = (res.stdout + res.stderr).strip().splitlines()[-10:]
        raise CalibrationError(f"calibration: {shlex.join(command)} exited {res.returncode} "
                               f"with {len(secs)} timings:\n" + "\n".join(tail))
    return secs


def assignments(factor: float, text: str) -> str:
    return (f"CFUSER_HARNESS_TIME_FACTOR={factor:.2f}\n"
            f"CFUSER_HARNESS_CALIBRATION={shlex.quote(text)}\n")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="calibrate.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mode", required=True)
    p.add_argument("--record", action="store_true")
    p.add_argument("--work", type=int, metavar="BASE",
                   help="print BASE (a work size set on the reference host) scaled down by the "
                        "factor instead of the assignments")
    p.add_argument("--floor", type=int, default=1, help="the least work --work prints (default 1)")
    p.add_argument("--references", default=str(REFERENCES))
    p.add_argument("command", nargs="+")
    args = p.parse_args(argv)
    try:
        secs = measure(args.command)
        best = min(secs)
        refs = load_references(Path(args.references))
        if args.record:
            refs["seconds"][args.mode] = round(best, 4)
            refs["recorded"] = _dt.date.today().isoformat()
            Path(args.references).write_text(json.dumps(refs, indent=1, sort_keys=True) + "\n")
            print(f"calibration: recorded {args.mode} = {best:.4f} s in {args.references}",
                  file=sys.stderr)
            return 0
        factor = host_factor(best, refs["seconds"].get(args.mode))
    except CalibrationError as e:
        print(e, file=sys.stderr)
        return 2
    text = describe(args.mode, best, len(secs), refs)
    if args.work is not None:
        work = scaled_work(args.work, factor, min(args.floor, args.work))
        print(f"calibration: {text}: work {args.work} -> {work}", file=sys.stderr)
        print(work)
        return 0
    sys.stdout.write(assignments(factor, text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
