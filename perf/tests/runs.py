"""Synthetic run documents for the tests of compare and the dashboard."""
import copy

from perf.metrics import metric, target


def make_run(date="2026-01-01T00:00:00+00:00", sha="a" * 40, metrics=None, curves=None,
             suites=None, machine_class="test-class"):
    return {
        "schema": 1, "date": date, "device": "cpu", "mode": "smoke",
        "commit": {"sha": sha, "short": sha[:10], "dirty": False, "subject": "s",
                   "commit_date": date, "branch": "main"},
        "machine": {"cpu_model": "Test CPU", "logical_cpus": 2, "physical_cores": 2,
                    "memory_bytes": 8 * 2**30, "os": "TestOS", "arch": "x86_64",
                    "python": "3.11.7", "numpy": "2.4.6", "torch": "2.13.0", "gpus": []},
        "machine_class": machine_class,
        "metrics": copy.deepcopy(metrics or {}), "curves": copy.deepcopy(curves or {}),
        "suites": suites or {}, "skipped": [], "errors": [],
    }


def standard_metrics(scale=1.0, ratio_shift=1.0, seed_offset=0.0):
    base = [1.00, 1.02, 0.98, 1.01, 0.99, 1.03, 0.97]
    return {
        "size._C.stripped": metric(int(100000 * scale), "bytes", "deterministic"),
        "instructions.cfuser.add": metric(round(900.0 * scale, 1), "instructions", "deterministic"),
        "overhead.add.cfuser_over_nanobind": metric(
            1.0 * ratio_shift, "x", "ratio",
            samples=[(b + seed_offset) * ratio_shift for b in base]),
        "overhead.cfuser.add.ns": metric(120.5 * scale, "ns",
                                         target=target("<=", 150.0, "fd.ops.add <= 150 ns")),
        "import.delta.ms": metric(2.75, "ms", target=target("<=", 2.0, "import <= 2 ms")),
    }


CURVES = {
    "pointwise_chain": {
        "fusion": "pointwise_chain", "dtype": "float32", "description": "chain",
        "elems": [1024, 262144], "labels": ["4KiB", "1MiB"], "bytes": [12288, 3145728],
        "gbps": {"cfuser": [10.5, 40.25], "numpy": [3.5, None], "memcpy": [50.0, 120.0]},
        "notes": [],
    },
}
