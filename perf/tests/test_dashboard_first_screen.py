"""The dashboard's first screen, in headless Chromium: the verdict, the A/B
result with its interval, and the targets come before the plots; the long
table of every metric is folded away."""
import json
import subprocess

import pytest

from perf import abstats
from perf.tests.runs import CURVES, make_run, standard_metrics
from perf.tests.test_dashboard import CHROMIUM, TreeBuilder
from reports import dashboard

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
SCREEN = (1280, 900)


def _ab():
    base = [1e-4 * (1 + 0.01 * (i % 3)) for i in range(12)]
    rows = []
    for bench, slow in (("row_sum.1MiB", 1.4), ("softmax.4KiB", 1.0), ("col_sum.4KiB", 1.0)):
        head = [b * slow * (1 + 0.002 * (i % 2)) for i, b in enumerate(base)]
        rows.append({"bench": bench, "unit": "s/call", "samples": {"base": base, "head": head},
                     **abstats.judge(base, head)})
    return {"schema": 1, "base": {"short": "aaaaaaaaaa", "sha": "a" * 40, "why": "--base"},
            "head": {"short": "bbbbbbbbbb", "dirty": True},
            "method": {"pairs": 12, "min_effect": 0.05, "alpha": 0.01},
            "host": {"caches": [{"level": 3, "type": "Unified", "size_bytes": 32 << 20}],
                     "frequency_mhz": 2600.0, "memcpy_gbps_64MiB": 21.5,
                     "engine": {"threads": 2, "source": "affinity"}, "cpu_flags": ["avx2", "fma"],
                     "state": {"reasons": [], "steal": 0.0, "others": 0.01,
                               "loadavg_before": [0.1, 0, 0], "loadavg_after": [1.0, 0, 0]}},
            "benchmarks": rows, "verdict": "regression"}


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("first")
    hist, bdir, out = tmp / "history", tmp / "baselines", tmp / "site"
    hist.mkdir()
    bdir.mkdir()
    run = make_run(metrics=standard_metrics(), curves=CURVES,
                   suites={"check": {"status": "pass", "detail": "exit 0"}})
    (hist / "run.json").write_text(json.dumps(run))
    (bdir / "test-class.json").write_text(json.dumps(run))
    (tmp / "ab.json").write_text(json.dumps(_ab()))
    assert dashboard.main(["--history", str(hist), "--baselines", str(bdir), "--ab",
                           str(tmp / "ab.json"), "--out", str(out)]) == 0
    size = f"--window-size={SCREEN[0]},{SCREEN[1]}"
    res = subprocess.run([CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox", size,
                          "--virtual-time-budget=5000", "--dump-dom", (out / "index.html").as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    tb = TreeBuilder()
    tb.feed(res.stdout)
    shot = tmp / "first-screen.png"
    subprocess.run([CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox", size,
                    f"--screenshot={shot}", (out / "index.html").as_uri()],
                   capture_output=True, timeout=120)
    return {"dom": tb.root, "shot": shot}


def _one(dom, **kw):
    return next(dom.find_all(**kw))


def test_verdict_names_the_ab_regression(page):
    v = _one(page["dom"], id="verdict")
    assert v.attrs["data-ab-regressions"] == "1" and "fail" in v.attrs["class"]
    assert v.all_text().startswith("FAILED: 1 A/B regression(s) (base aaaaaaaaaa)")


def test_ab_table_shows_size_interval_and_folds_the_unchanged(page):
    dom = page["dom"]
    assert _one(dom, id="ab-verdict").attrs["data-verdict"] == "regression"
    reg = _one(dom, tag="tr", data_bench="row_sum.1MiB")
    assert reg.attrs["class"] == "regression"
    cells = [td.all_text() for td in reg.find_all("td")]
    assert cells[3].startswith("+4") and cells[4].startswith("[+") and cells[6] == "regression"
    folded = _one(dom, id="ab-same")
    assert folded.tag == "details" and "2 more benchmark(s) unchanged" in folded.all_text()


def test_first_screen_order_and_the_folded_table(page):
    dom = page["dom"]
    top = {i: int(_one(dom, id=i).attrs["data-top"]) for i in
           ("verdict", "ab", "targets", "host", "throughput", "compare-details")}
    assert top["verdict"] < top["ab"] < top["targets"] < SCREEN[1]
    assert top["targets"] < top["host"] < top["throughput"] < top["compare-details"]
    details = _one(dom, id="compare-details")
    assert details.tag == "details" and "open" not in details.attrs
    assert "another host's figures" in details.all_text()


def test_host_facts(page):
    facts = {tr.attrs["data-fact"]: tr.all_text() for tr in page["dom"].find_all("tr")
             if "data-fact" in tr.attrs}
    assert "L3 32,768 KiB" in facts["caches"]
    assert "21.5 GB/s" in facts["memcpy (64 MiB, in-run)"]
    assert "2 (affinity)" in facts["engine threads"]


def test_first_screen_screenshot(page):
    data = page["shot"].read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (w, h) == SCREEN
    assert len(data) > 30000  # text and tables, not a blank page
