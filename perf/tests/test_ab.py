"""The A/B comparison: paired statistics, the host's state, and the
coordinator's interleaving, on synthetic samples and fake workers."""
import random
import re

import pytest

from perf import ab, abstats, host
from perf.ab_worker import bench_name, parse_bench


def _pairs(n, slowdown, noise, seed=1):
    r = random.Random(seed)
    drift = [1.0 + 0.3 * r.random() for _ in range(n)]          # the host's state, shared by a pair
    base = [d * (1 + r.gauss(0, noise)) for d in drift]
    head = [d * slowdown * (1 + r.gauss(0, noise)) for d in drift]
    return base, head


def test_a_real_slowdown_is_a_regression_with_its_size():
    base, head = _pairs(20, 1.20, 0.02)
    j = abstats.judge(base, head)
    assert j["status"] == "regression"
    assert 0.12 < j["effect"] < 0.30
    lo, hi = j["ci"]
    assert 0 < lo <= j["effect"] <= hi
    assert j["p_worse"] < abstats.ALPHA


def test_no_change_is_same_even_when_the_host_drifts_by_30_percent():
    for seed in range(5):
        base, head = _pairs(20, 1.0, 0.02, seed)
        assert abstats.judge(base, head)["status"] == "same", seed


def test_a_small_significant_change_is_below_the_minimum_effect():
    base, head = _pairs(30, 1.02, 0.002)
    j = abstats.judge(base, head)
    assert j["p_worse"] < abstats.ALPHA and j["status"] == "same"


def test_a_large_but_inconsistent_change_is_noisy():
    base = [1.0] * 10
    head = [1.6, 0.7, 1.5, 0.8, 1.4, 0.9, 1.7, 0.75, 1.3, 0.95]
    assert abstats.judge(base, head)["status"] == "noisy"


def test_improvement_and_higher_is_better():
    base, head = _pairs(20, 0.8, 0.02)
    assert abstats.judge(base, head)["status"] == "improved"
    # throughputs: higher is better, so a drop is a regression
    assert abstats.judge([1 / b for b in base], [1 / h for h in head], better="higher")["status"] \
        == "improved"
    base, head = _pairs(20, 1.25, 0.02)
    assert abstats.judge([1 / b for b in base], [1 / h for h in head],
                         better="higher")["status"] == "regression"


def test_identical_samples():
    assert abstats.judge([1.0] * 8, [1.0] * 8)["status"] == "same"


@pytest.mark.parametrize("base,head,msg", [
    ([1.0] * 8, [1.0] * 7, "equal counts"),
    ([1.0] * 3, [1.0] * 3, "at least"),
    ([1.0] * 7 + [0.0], [1.0] * 8, "positive"),
    ([1.0] * 7 + [float("nan")], [1.0] * 8, "positive"),
])
def test_bad_samples(base, head, msg):
    with pytest.raises(ValueError, match=msg):
        abstats.judge(base, head)


def test_bench_names():
    f, n = parse_bench("softmax.1MiB")
    assert f.name == "softmax" and n == 1 << 18
    assert bench_name("softmax", 1 << 10) == "softmax.4KiB"
    with pytest.raises(ValueError, match="unknown fusion"):
        parse_bench("nope.4KiB")
    with pytest.raises(ValueError, match="bad size"):
        parse_bench("softmax.4kb")


def _snap(user, idle, steal, load):
    return {"time": 0.0, "loadavg": [load, load, load],
            "cpu": {"user": user, "nice": 0, "system": 0, "idle": idle, "iowait": 0, "irq": 0,
                    "softirq": 0, "steal": steal}}


def test_host_busy_sees_others_and_steal_but_not_itself():
    hz = host.os.sysconf("SC_CLK_TCK")
    quiet = host.busy(_snap(0, 0, 0, 0.1), _snap(hz, hz, 0, 1.0), own_cpu_seconds=1.0, ncpu=2)
    assert quiet["reasons"] == [] and quiet["others"] == 0.0
    loaded = host.busy(_snap(0, 0, 0, 2.5), _snap(2 * hz, 0, 0, 3.0), own_cpu_seconds=1.0, ncpu=2)
    assert loaded["others"] == 0.5 and "other processes used 50%" in loaded["reasons"][0]
    stolen = host.busy(_snap(0, 0, 0, 0.1), _snap(hz, hz // 2, hz // 2, 1.0), 1.0, ncpu=2)
    assert "steal time 25.0%" in stolen["reasons"][0]


def test_host_caches_read_from_sysfs(tmp_path):
    for i, (lvl, typ, size) in enumerate([(1, "Data", "48K"), (2, "Unified", "2048K"),
                                           (3, "Unified", "32M")]):
        d = tmp_path / "cpu0" / "cache" / f"index{i}"
        d.mkdir(parents=True)
        (d / "level").write_text(f"{lvl}\n")
        (d / "type").write_text(f"{typ}\n")
        (d / "size").write_text(f"{size}\n")
    got = host.caches(tmp_path)
    assert [(c["level"], c["size_bytes"]) for c in got] == [(1, 48 << 10), (2, 2 << 20), (3, 32 << 20)]


class FakeSide:
    def __init__(self, label, per_call, log):
        self.label, self.per_call, self.log = label, per_call, log

    def ask(self, op, bench=None, number=None):
        if op == "prepare":
            return {"seconds": self.per_call, "bytes": 100}
        self.log.append(self.label)
        return {"seconds": self.per_call}


def test_pairs_are_interleaved_abba():
    log = []
    r = ab.run_pairs(FakeSide("base", 1e-3, log), FakeSide("head", 2e-3, log), "softmax.4KiB",
                     pairs=4, sample_s=0.01)
    assert log == ["base", "head", "head", "base", "base", "head", "head", "base"]
    assert r["number"] == 10 and len(r["samples"]["base"]) == 4


def test_render_names_the_regression_and_its_size():
    base, head = _pairs(12, 1.3, 0.01)
    row = {"bench": "row_sum.1MiB", **abstats.judge(base, head)}
    doc = {"base": {"short": "aaaa"}, "head": {"short": "bbbb", "dirty": False},
           "method": {"pairs": 12}, "benchmarks": [row], "verdict": "regression",
           "host": {"state": {"reasons": []}}}
    text = ab.render(doc)
    assert "REGRESSION" in text and re.search(r"row_sum.1MiB \+2\d\.\d%", text), text


def test_cli_bad_base_is_a_clear_error(tmp_path):
    import subprocess
    import sys
    from .conftest import REPO
    res = subprocess.run([sys.executable, "-m", "perf.ab", "--base", "no-such-ref-anywhere",
                          "--out", str(tmp_path / "ab.json"), "--quiet"],
                         cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 2
    assert "no-such-ref-anywhere" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "ab.json").exists()
    res = subprocess.run([sys.executable, "-m", "perf.ab", "--pairs", "3"], cwd=REPO,
                         capture_output=True, text=True)
    assert res.returncode == 2 and "--pairs must be >= 6" in res.stderr


def _rounds(offsets, slowdown, n=6, noise=0.01, seed=3):
    """Rounds of pairs; each round's head carries a process offset of its own."""
    r = random.Random(seed)
    B, H = [], []
    for k, off in enumerate(offsets):
        b, h = _pairs(n, slowdown * (1 + off), noise, seed + k)
        B.append(b)
        H.append(h)
    return B, H


def test_one_process_pair_with_an_offset_is_not_a_regression():
    # the same build against itself: one round's processes happened to be 9% apart
    B, H = _rounds([0.0, 0.09, 0.0, -0.01, 0.005], 1.0, n=10)
    j = abstats.judge_rounds(B, H)
    assert j["status"] == "same", j
    assert abs(j["effect"]) < 0.02 and len(j["round_effects"]) == 5
    # that one process pair alone, judged as before rounds, called it a regression
    assert abstats.judge(B[1], H[1])["status"] == "regression"


def test_a_slowdown_every_round_sees_is_a_regression_with_its_size():
    B, H = _rounds([0.0, 0.02, -0.02, 0.01, 0.0], 1.15)
    j = abstats.judge_rounds(B, H)
    assert j["status"] == "regression", j
    lo, hi = j["ci"]
    assert 0.10 < lo <= j["effect"] <= hi < 0.22
    assert all(e > 0 for e in j["round_effects"])


def test_rounds_that_disagree_are_noisy_not_a_regression():
    B, H = _rounds([0.0, 0.15, 0.15, -0.10, -0.10], 1.0)
    assert abstats.judge_rounds(B, H)["status"] in ("noisy", "same")
    B, H = _rounds([0.12, 0.12, 0.12, -0.10, -0.10], 1.0)
    assert abstats.judge_rounds(B, H)["status"] == "noisy"


def test_cli_rounds_must_leave_two_pairs_each():
    import subprocess
    import sys
    from .conftest import REPO
    res = subprocess.run([sys.executable, "-m", "perf.ab", "--pairs", "8", "--rounds", "5"],
                         cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 2 and "--rounds" in res.stderr


class NoisySide:
    """A worker whose per-call time is slow * (1 + noise); ask() as a worker's."""

    def __init__(self, label, slow, rng):
        self.label, self.slow, self.rng = label, slow, rng

    def ask(self, op, bench=None, number=None):
        if op == "prepare":
            return {"seconds": 1e-4, "bytes": 100}
        if op == "rusage":
            return {"cpu_seconds": 0.0}
        return {"seconds": 1e-4 * self.slow * (1 + self.rng.gauss(0, 0.005))}

    def close(self):
        pass


def _collect_and_judge(monkeypatch, head_slow_by_round, confirm=True):
    """run_ab's rounds and confirmation, with workers whose head is
    head_slow_by_round[k] slower in the k-th process pair started."""
    rng = random.Random(7)
    started = []

    def fake_start(base_build, head_build, cpus, threads, head_first):
        k = len(started)
        started.append(k)
        return {"base": NoisySide("base", 1.0, rng), "head": NoisySide("head", head_slow_by_round[k], rng)}

    monkeypatch.setattr(ab, "start_sides", fake_start)
    monkeypatch.setattr(ab, "prepare_base", lambda *a: "base-build")
    monkeypatch.setattr(host, "busy", lambda *a: {"reasons": [], "steal": 0.0, "others": 0.0})
    args = ab.parse_args(["--fusions", "softmax", "--sizes", "4KiB", "--pairs", "30",
                          "--head-build", "hb"] + ([] if confirm else ["--no-confirm"]))
    args.base = "HEAD"
    doc = ab.run_ab(args, lambda msg: None)
    return doc["benchmarks"][0], len(started)


def test_an_episode_in_some_process_pairs_is_not_confirmed(monkeypatch):
    # four of the first five process pairs ran 20% slow, then none did
    row, started = _collect_and_judge(monkeypatch, [1.2, 1.2, 1.2, 1.2, 1.0] + [1.0] * 5)
    assert started == 10 and row["confirmed"] is False and row["status"] != "regression", row
    row, started = _collect_and_judge(monkeypatch, [1.2, 1.2, 1.2, 1.2, 1.0], confirm=False)
    assert started == 5 and row["status"] == "regression"
    # three of five: the rounds disagree, nothing to confirm
    row, started = _collect_and_judge(monkeypatch, [1.2, 1.2, 1.2, 1.0, 1.0])
    assert started == 5 and row["status"] == "noisy" and "confirmed" not in row


def test_a_real_slowdown_is_confirmed_with_its_size(monkeypatch):
    row, started = _collect_and_judge(monkeypatch, [1.12] * 10)
    assert started == 10 and row["confirmed"] is True and row["status"] == "regression"
    assert len(row["round_effects"]) == 10 and 0.10 < row["effect"] < 0.14
