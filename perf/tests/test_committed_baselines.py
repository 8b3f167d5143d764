"""Every committed baseline follows the schema the compare tool and the
dashboard read (a GPU baseline recorded by perf/gpu_bench.py included)."""
import json
from pathlib import Path

from reports import dashboard

BASELINES = Path(__file__).resolve().parents[2] / "reports" / "baselines"


def test_committed_baselines_load_into_the_dashboard():
    files = sorted(BASELINES.glob("*.json"))
    assert files, "no committed baselines"
    baselines = {}
    for f in files:
        doc = json.loads(f.read_text())
        assert isinstance(doc["commit"], dict) and doc["commit"]["short"], f.name
        assert doc["machine_class"] and isinstance(doc["metrics"], dict) and doc["metrics"], f.name
        for name, m in doc["metrics"].items():
            assert "value" in m and "kind" in m, (f.name, name)
        baselines[doc["machine_class"]] = doc
    data = dashboard.build_data([], baselines, None)
    assert set(data["baselines"]) == set(baselines)
