"""The last screen of make report: what fails the run and what is only shown."""
import copy

from perf import abstats
from perf.tests.runs import make_run, standard_metrics
from reports import summary


def _ab(status_effects):
    base = [1e-4 * (1 + 0.01 * (i % 3)) for i in range(10)]
    rows = []
    for bench, slow in status_effects:
        head = [b * slow * (1 + 0.001 * (i % 2)) for i, b in enumerate(base)]
        rows.append({"bench": bench, **abstats.judge(base, head)})
    return {"base": {"short": "aaaa"}, "head": {"short": "bbbb", "dirty": False},
            "method": {"pairs": 10}, "benchmarks": rows, "host": {"state": {"reasons": []}},
            "verdict": "ok"}


def test_all_quiet_is_ok_and_targets_do_not_fail():
    run = make_run(metrics=standard_metrics())
    lines, failed = summary.summarize(run, _ab([("softmax.4KiB", 1.0)]),
                                      {"check": {"status": "pass", "detail": "exit 0"}},
                                      copy.deepcopy(run))
    text = "\n".join(lines)
    assert failed == []
    assert "A/B: base aaaa against head bbbb, 10 pairs: no regression" in text
    assert "targets on this host: 1 of 2 met (shown, not failed)" in text
    assert "not met: import <= 2 ms: 2.75 ms (goal <= 2)" in text


def test_ab_regression_fails_with_its_size():
    lines, failed = summary.summarize(None, _ab([("row_sum.1MiB", 1.5)]), None, None)
    assert failed == ["1 A/B regression(s)"]
    assert any(line.startswith("  row_sum.1MiB: +50.") and "slower [+" in line for line in lines)


def test_suspects_are_shown_not_failed():
    ab = _ab([("row_sum.1MiB", 1.5)])
    ab["benchmarks"][0]["status"] = "suspect"
    ab["host"]["state"]["reasons"] = ["other processes used 80% of the CPUs"]
    lines, failed = summary.summarize(None, ab, None, None)
    assert failed == []
    assert any("suspect: the host was busy" in line for line in lines)
    assert any("host busy during the A/B run: other processes" in line for line in lines)


def test_deterministic_regression_and_failing_suite_fail_but_other_host_timings_do_not():
    base = make_run(metrics=standard_metrics())
    run = make_run(metrics=standard_metrics(scale=1.10, ratio_shift=1.5))
    lines, failed = summary.summarize(run, None, {"check": {"status": "fail", "detail": "exit 1"}},
                                      base)
    assert failed == ["2 deterministic regression(s)", "suite check fail"]
    text = "\n".join(lines)
    assert "size._C.stripped: 100,000 -> 110,000 bytes (+10.0%)" in text
    assert "overhead.add" not in text        # a ratio vs another host's baseline is not a failure
    assert "A/B: not run" in text
