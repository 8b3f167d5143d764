"""Loads the generated dashboard in headless Chromium and checks what the page
shows against the JSON it was generated from."""
import json
import math
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from perf.tests.runs import CURVES, make_run, standard_metrics
from reports import compare as C
from reports import dashboard

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent = tag, dict(attrs), parent
        self.children, self.text = [], ""

    def iter(self):
        yield self
        for c in self.children:
            yield from c.iter()

    def find_all(self, tag=None, cls=None, **attrs):
        for n in self.iter():
            if tag and n.tag != tag:
                continue
            if cls and cls not in n.attrs.get("class", "").split():
                continue
            if all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items()):
                yield n

    def all_text(self):
        return self.text + "".join(c.all_text() for c in self.children)


VOID = {"meta", "br", "img", "input", "link", "hr"}


class TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__()
        self.root = Node("root", {}, None)
        self.cur = self.root

    def handle_starttag(self, tag, attrs):
        n = Node(tag, attrs, self.cur)
        self.cur.children.append(n)
        if tag not in VOID:
            self.cur = n

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        n = self.cur
        while n is not None and n.tag != tag:
            n = n.parent
        if n is not None and n.parent is not None:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.text += data


def fmt(v):
    return C.fmt(v)


CATALOGUE = {"schema": "cfuser-catalogue/1",
             "cases": {"bad inputs": {"passed": 150, "failed": 2}},
             "generated": {"random fusions": 150},
             "total_tried": 302, "total_failed": 2}


CONFORMANCE = {
    "schema": "cfuser-conformance/1", "date": "2026-01-03T00:00:00+00:00", "device": "cuda", "inputs": "torch",
    "targets": [{"name": "cfuser", "loaded": True, "version": "0.1.0"},
                {"name": "nvfuser_direct", "loaded": True, "version": "0.2.36"}],
    "items": [
        {"id": "keepalive.definition", "title": "keep-alive: t.definition()", "group": "lifetime",
         "cells": {"cfuser": {"status": "pass", "evidence": "usable"},
                   "nvfuser_direct": {"status": "crash", "evidence": "died with SIGSEGV", "signal": "SIGSEGV"}}},
        {"id": "binary.size", "title": "binary size", "group": "size",
         "cells": {"cfuser": {"status": "info", "evidence": "0.7 MiB"},
                   "nvfuser_direct": {"status": "info", "evidence": "120 MiB"}}},
    ],
    "totals": {"cfuser": {"pass": 1, "fail": 0, "crash": 0, "skip": 0, "info": 1},
               "nvfuser_direct": {"pass": 0, "fail": 0, "crash": 1, "skip": 0, "info": 1}},
}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dash")
    hist, bdir = tmp / "history", tmp / "baselines"
    hist.mkdir()
    bdir.mkdir()
    runs = []
    for i, (scale, shift) in enumerate([(1.0, 1.0), (1.01, 1.02), (1.08, 1.3)]):
        r = make_run(date=f"2026-01-0{i + 1}T00:00:00+00:00", sha=f"{i}" * 40,
                     metrics=standard_metrics(scale=scale, ratio_shift=shift), curves=CURVES,
                     suites={"core": {"status": "pass"},
                             "python": {"status": "fail" if i == 2 else "pass",
                                        "detail": "2 failed"}})
        (hist / f"run{i}.json").write_text(json.dumps(r))
        runs.append(r)
    (bdir / "test-class.json").write_text(json.dumps(runs[0]))
    cat = tmp / "catalogue.json"
    cat.write_text(json.dumps(CATALOGUE))
    conf = tmp / "conformance.json"
    conf.write_text(json.dumps(CONFORMANCE))
    out = tmp / "site"
    assert dashboard.main(["--history", str(hist), "--baselines", str(bdir),
                           "--catalogue", str(cat), "--conformance", str(conf), "--out", str(out)]) == 0
    res = subprocess.run([CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox",
                          "--virtual-time-budget=5000", "--dump-dom",
                          (out / "index.html").as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    tb = TreeBuilder()
    tb.feed(res.stdout)
    return {"dom": tb.root, "runs": runs, "latest": runs[-1], "baseline": runs[0], "out": out}


def test_page_was_drawn_by_its_script(site):
    body = next(site["dom"].find_all("body"))
    assert body.attrs.get("data-rendered") == "yes"
    info = next(site["dom"].find_all(id="runinfo")).all_text()
    assert "test-class" in info and "2222222222" in info and "Test CPU" in info


def _ticks(svg):
    return [t.all_text() for t in svg.find_all("text")]


def _round_ticks(labels):
    """Ticks a round step apart (1, 2, 2.5 or 5 times a power of ten), each
    a multiple of that step."""
    vals = [float(t.replace(",", "").replace("\u2212", "-")) for t in labels]
    step = vals[1] - vals[0]
    m = step / 10 ** math.floor(math.log10(step))
    return (len(vals) >= 2 and any(abs(m - k) < 1e-6 for k in (1, 2, 2.5, 5, 10))
            and all(abs(b - a - step) < 1e-9 * max(1, abs(b)) for a, b in zip(vals, vals[1:]))
            and all(abs(v / step - round(v / step)) < 1e-6 for v in vals))


def test_trend_chart_per_gated_or_targeted_metric(site):
    latest = site["latest"]["metrics"]
    want = sorted(n for n, m in latest.items() if m["kind"] != "info" or m.get("target"))
    figs = list(site["dom"].find_all("figure", cls="trend"))
    assert sorted(f.attrs["data-metric"] for f in figs) == want
    for f in figs:
        name = f.attrs["data-metric"]
        assert json.loads(f.attrs["data-values"]) == pytest.approx(
            [r["metrics"][name]["value"] for r in site["runs"]])
        assert float(f.attrs["data-baseline"]) == pytest.approx(
            site["baseline"]["metrics"][name]["value"])
        svg = next(f.find_all("svg"))
        ids = {g.attrs.get("id") for g in svg.find_all("g")}
        assert {"series-value", "baseline"} <= ids
        # matplotlib's y ticks sit at round values; the x ends are commits
        ticks = _ticks(svg)
        commits = {r["commit"]["short"] for r in site["runs"]}
        assert site["runs"][0]["commit"]["short"] in ticks
        nums = [t for t in ticks if t not in commits]
        assert _round_ticks(nums), ticks


def test_latest_against_baseline_table_matches_json(site):
    rows = {tr.attrs["data-metric"]: tr for tr in site["dom"].find_all("tr")
            if "data-metric" in tr.attrs and tr.parent.parent.attrs.get("id") == "compare"}
    latest, base = site["latest"]["metrics"], site["baseline"]["metrics"]
    assert set(rows) == set(latest)
    for name, tr in rows.items():
        now = next(tr.find_all("td", cls="now"))
        was = next(tr.find_all("td", cls="baseline"))
        assert float(now.attrs["data-value"]) == pytest.approx(latest[name]["value"])
        assert now.all_text() == fmt(latest[name]["value"])
        assert was.all_text() == fmt(base[name]["value"])
    # +8% bytes and instructions are regressions; a 30% worse ratio against
    # a baseline recorded on another host is history, not a regression.
    bad = sorted(n for n, tr in rows.items() if "regression" in tr.attrs.get("class", ""))
    assert bad == ["instructions.cfuser.add", "size._C.stripped"]
    assert rows["overhead.add.cfuser_over_nanobind"].attrs["class"] == "history"
    verdict = next(site["dom"].find_all(id="verdict"))
    assert verdict.attrs["data-regressions"] == "2"
    assert "fail" in verdict.attrs["class"]


def test_unmet_targets_are_red(site):
    rows = list(site["dom"].find_all("tr", cls="unmet"))
    assert [r.attrs["data-metric"] for r in rows] == ["import.delta.ms"]
    assert "NOT MET" in rows[0].all_text()
    assert [r.attrs["data-metric"] for r in site["dom"].find_all("tr", cls="met")] == \
        ["overhead.cfuser.add.ns"]
    style = "".join(s.all_text() for s in site["dom"].find_all("style"))
    assert "tr.unmet td" in style and "#c62828" in style


def test_throughput_charts_against_references(site):
    figs = list(site["dom"].find_all("figure", cls="throughput"))
    assert [f.attrs["data-fusion"] for f in figs] == list(CURVES)
    assert json.loads(figs[0].attrs["data-gbps"]) == CURVES["pointwise_chain"]["gbps"]
    svg = next(figs[0].find_all("svg"))
    series = {g.attrs["id"][len("series-"):] for g in svg.find_all("g")
              if g.attrs.get("id", "").startswith("series-")}
    assert series == set(CURVES["pointwise_chain"]["gbps"])
    labels = _ticks(svg)
    assert "4KiB" in labels and "1MiB" in labels and "GB/s" in labels
    assert [t for t in labels if t.isdigit()] == ["0", "50", "100"]


def test_suites_pass_fail(site):
    rows = {tr.attrs["data-suite"]: tr.attrs["data-status"]
            for tr in site["dom"].find_all("tr") if "data-suite" in tr.attrs}
    assert rows == {"core": "pass", "python": "fail"}


def test_screenshot_is_not_blank(site, tmp_path):
    shot = tmp_path / "shot.png"
    subprocess.run([CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox",
                    "--window-size=1200,1600", f"--screenshot={shot}",
                    (site["out"] / "index.html").as_uri()],
                   capture_output=True, timeout=120)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 20000  # a blank page compresses to a few hundred bytes


def test_catalogue_counts_match_json(site):
    rows = {tr.attrs["data-kind"]: [td.all_text() for td in tr.find_all("td")]
            for tr in site["dom"].find_all("tr") if "data-kind" in tr.attrs}
    assert rows == {"bad inputs": ["bad inputs", "152", "2"], "random fusions": ["random fusions", "150", "0"]}
    total = next(site["dom"].find_all(id="catalogue-total"))
    assert "302 tried, 2 without a clear outcome" in total.all_text()
    assert "fail" in total.attrs["class"]


def test_bad_catalogue_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "cat.json"
    bad.write_text(json.dumps({"schema": "other"}))
    empty = tmp_path / "empty"
    empty.mkdir()
    assert dashboard.main(["--history", str(empty), "--baselines", str(empty), "--catalogue", str(bad),
                           "--out", str(tmp_path / "site")]) == 2
    assert "not a cfuser catalogue" in capsys.readouterr().err


def test_conformance_table_has_a_cell_per_item_and_target(site):
    rows = {tr.attrs["data-item"]: list(tr.find_all("td")) for tr in site["dom"].find_all("tr") if "data-item" in tr.attrs}
    assert set(rows) == {"keepalive.definition", "binary.size"}
    keep = rows["keepalive.definition"]
    assert [td.all_text() for td in keep] == ["keep-alive: t.definition()", "pass", "crash"]
    assert keep[2].attrs["title"] == "died with SIGSEGV" and "fail" in keep[2].attrs["class"]
    assert [td.all_text() for td in rows["binary.size"]][1:] == ["0.7 MiB", "120 MiB"]
    totals = next(site["dom"].find_all(id="conformance-totals")).all_text()
    assert "nvfuser_direct: 0 pass, 0 fail, 1 crash" in totals


def test_bad_conformance_report_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "conf.json"
    bad.write_text(json.dumps({**CONFORMANCE, "items": [{"id": "x", "title": "x", "group": "g",
                                                         "cells": {"cfuser": {"status": "maybe", "evidence": ""}}}]}))
    empty = tmp_path / "empty"
    empty.mkdir()
    assert dashboard.main(["--history", str(empty), "--baselines", str(empty), "--conformance", str(bad),
                           "--out", str(tmp_path / "site")]) == 2
    assert "not a valid conformance report" in capsys.readouterr().err
