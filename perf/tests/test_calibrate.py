"""The host factor of sanitizers/calibrate.py: deadlines and work sizes that
follow the host's speed."""
import importlib.util
import json
import subprocess
import sys

import pytest

from .conftest import REPO

_spec = importlib.util.spec_from_file_location("calibrate", REPO / "sanitizers" / "calibrate.py")
cal = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cal)


def test_factor_is_slowdown_never_below_one():
    assert cal.host_factor(1.0, 0.5) == 2.0
    assert cal.host_factor(0.73, 0.5) == 1.46
    assert cal.host_factor(0.2, 0.5) == 1.0      # a faster host keeps the reference deadlines
    assert cal.host_factor(1.0, None) == 1.0     # no reference: unscaled
    assert cal.host_factor(1e9, 1e-3) == cal.FACTOR_CAP


@pytest.mark.parametrize("measured,reference", [(0.0, 1.0), (-1.0, 1.0), (float("nan"), 1.0),
                                                (1.0, 0.0), (1.0, float("inf"))])
def test_factor_rejects_nonsense(measured, reference):
    with pytest.raises(cal.CalibrationError, match="must be a positive number"):
        cal.host_factor(measured, reference)


def test_work_shrinks_with_the_factor():
    assert cal.scaled_work(5, 1.0) == 5
    assert cal.scaled_work(5, 0.5) == 5          # never grows
    assert cal.scaled_work(5, 2.0) == 2          # twice as slow: under half the work
    assert cal.scaled_work(5, 20.0) == 1
    assert cal.scaled_work(100, 3.0, floor=50) == 50
    with pytest.raises(ValueError):
        cal.scaled_work(0, 1.0)


def test_parse_takes_every_repetition():
    out = "noise\ncalibration: 0.5 python 0.4 cfuser 0.1\ncalibration: 0.25 python 0.2 cfuser -\n"
    assert cal.parse_seconds(out) == [0.5, 0.25]
    assert cal.parse_seconds("nothing here") == []


def _cli(tmp_path, mode, code, *extra):
    refs = tmp_path / "refs.json"
    if not refs.exists():
        refs.write_text(json.dumps({"host": "ref-host", "seconds": {"asan": 0.25}}))
    return subprocess.run([sys.executable, str(REPO / "sanitizers" / "calibrate.py"), "--mode", mode,
                           "--references", str(refs), *extra, "--", sys.executable, "-c", code],
                          capture_output=True, text=True)


def test_cli_prints_factor_and_where_it_came_from(tmp_path):
    res = _cli(tmp_path, "asan", "print('calibration: 0.6'); print('calibration: 0.5')")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == "CFUSER_HARNESS_TIME_FACTOR=2.00"
    assert lines[1] == ("CFUSER_HARNESS_CALIBRATION='asan: workload 0.500 s here (best of 2), "
                        "0.250 s on ref-host'")
    # the shell reads it back unchanged
    sh = subprocess.run(["bash", "-c", res.stdout + 'echo "$CFUSER_HARNESS_CALIBRATION"'],
                        capture_output=True, text=True)
    assert sh.stdout.strip().endswith("0.250 s on ref-host")


def test_cli_unknown_mode_is_unscaled_and_says_so(tmp_path):
    res = _cli(tmp_path, "tsan", "print('calibration: 9.0')")
    assert "CFUSER_HARNESS_TIME_FACTOR=1.00" in res.stdout
    assert "no reference recorded for tsan" in res.stdout


def test_cli_work_size(tmp_path):
    res = _cli(tmp_path, "asan", "print('calibration: 0.5')", "--work", "5")
    assert res.returncode == 0 and res.stdout.strip() == "2"
    res = _cli(tmp_path, "asan", "print('calibration: 5.0')", "--work", "5", "--floor", "2")
    assert res.returncode == 0 and res.stdout.strip() == "2"   # 20x slower, but never below 2


def test_cli_broken_workload_is_an_error(tmp_path):
    res = _cli(tmp_path, "asan", "import sys; print('boom'); sys.exit(3)")
    assert res.returncode == 2
    assert "exited 3 with 0 timings" in res.stderr and "boom" in res.stderr
    bad = tmp_path / "refs.json"
    bad.write_text("{not json")
    res = _cli(tmp_path, "asan", "print('calibration: 0.5')")
    assert res.returncode == 2 and "not valid JSON" in res.stderr


def test_cli_record(tmp_path):
    res = _cli(tmp_path, "valgrind", "print('calibration: 3.5'); print('calibration: 3.25')",
               "--record")
    assert res.returncode == 0, res.stderr
    doc = json.loads((tmp_path / "refs.json").read_text())
    assert doc["seconds"] == {"asan": 0.25, "valgrind": 3.25}


def test_a_host_twice_as_slow_gets_twice_the_deadlines(tmp_path):
    """Record a reference, then measure a host on which the same work takes
    twice the wall-clock time (a sleep stands for the work, so a busy CI
    host cannot blur the figures): the factor lands near 2, deadlines double
    and the iteration multiplier 5 drops to 2 or 3."""
    refs = tmp_path / "refs.json"
    refs.write_text(json.dumps({"host": "this host", "seconds": {}}))
    run = [sys.executable, str(REPO / "sanitizers" / "calibrate.py"), "--mode", "asan",
           "--references", str(refs)]
    work = ("import sys, time\n"
            "for _ in range(3):\n"
            "    t0 = time.perf_counter(); time.sleep(float(sys.argv[1]))\n"
            "    print(f'calibration: {time.perf_counter() - t0:.4f}')\n")
    base = subprocess.run(run + ["--record", "--", sys.executable, "-c", work, "0.1"],
                          capture_output=True, text=True)
    assert base.returncode == 0, base.stderr
    res = subprocess.run(run + ["--", sys.executable, "-c", work, "0.2"], capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stderr
    factor = float(res.stdout.splitlines()[0].split("=")[1])
    assert 1.7 <= factor <= 2.3, res.stdout
    assert cal.scaled_work(5, factor) in (2, 3)


def test_the_real_workload_prints_its_timings():
    res = subprocess.run([sys.executable, str(REPO / "sanitizers" / "calibration_workload.py")],
                         capture_output=True, text=True, env={"CFUSER_CALIBRATE_REPEATS": "2",
                                                              "PATH": "/usr/bin:/bin"})
    assert res.returncode == 0, res.stderr
    secs = cal.parse_seconds(res.stdout)
    assert len(secs) == 2 and all(s > 0 for s in secs)
    assert res.stdout.splitlines()[0].endswith("cfuser -")   # no cfuser on the path here
