// Draws the dashboard from the JSON in <script id="data">. No libraries, no
// network: tables are DOM; charts are inline SVG made by matplotlib.
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("data").textContent);
  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  // Same rules as reports/compare.py's fmt(): integers with separators,
  // others to 4 significant digits.
  function fmt(v) {
    if (v === null || v === undefined) return "-";
    if (Number.isInteger(v)) return v.toLocaleString("en-US");
    if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString("en-US");
    return String(Number(v.toPrecision(4)));
  }
  function pct(c) { return c === null || c === undefined ? "-" : (c >= 0 ? "+" : "") + (c * 100).toFixed(1) + "%"; }
  function table(headers, rows, rowAttrs) {
    const t = el("table");
    const hr = el("tr");
    headers.forEach(h => hr.appendChild(el("th", {}, h)));
    t.appendChild(hr);
    rows.forEach((r, i) => {
      const tr = el("tr", rowAttrs ? rowAttrs[i] : {});
      r.forEach(c => {
        if (c && typeof c === "object") tr.appendChild(el("td", c.attrs || {}, c.text));
        else tr.appendChild(el("td", {}, c));
      });
      t.appendChild(tr);
    });
    return t;
  }

  const L = D.latest;
  function header() {
    const info = document.getElementById("runinfo");
    if (!L) { info.textContent = "No runs recorded yet: run `make report`."; return; }
    const m = L.machine;
    info.textContent = `${L.machine_class} — ${m.cpu_model}, ${m.logical_cpus} cpus, ` +
      `${(m.memory_bytes / 2 ** 30).toFixed(0)} GiB, ${m.os}; python ${m.python}, numpy ${m.numpy}, ` +
      `torch ${m.torch}. Run ${L.commit.short}${L.commit.dirty ? " (dirty)" : ""} on ${L.date} ` +
      `[${L.mode}, ${L.device}]; baseline ${L.has_baseline ? L.baseline_commit : "none recorded"}.`;
  }

  function summary() {
    const box = document.getElementById("summary");
    if (!L) return;
    const reg = D.rows.filter(r => r.status === "regression").length;
    const unmet = D.targets.filter(t => !t.met).length;
    const suites = Object.values(L.suites || {});
    const failed = suites.filter(s => s.status !== "pass" && s.status !== "skipped").length;
    const ab = D.ab;
    const abReg = ab ? ab.benchmarks.filter(b => b.status === "regression").length : 0;
    const bad = reg || failed || abReg;
    const p = el("p", { id: "verdict", class: bad ? "fail" : "pass" },
      `${bad ? "FAILED" : "OK"}: ${abReg} A/B regression(s)` +
      (ab ? ` (base ${ab.base.short}${ab.verdict === "suspect" ? ", host busy: suspects not failed" : ""})` : " (no A/B run)") +
      `, ${reg} deterministic regression(s), ${failed} failing suite(s); ` +
      `${unmet} of ${D.targets.length} target(s) not met on this host; ${D.history.length} run(s) in the history.`);
    p.dataset.regressions = reg;
    p.dataset.abRegressions = abReg;
    box.appendChild(p);
  }

  function abResult() {
    const box = document.getElementById("ab");
    const ab = D.ab;
    if (!ab) { box.appendChild(el("p", { class: "muted" }, "No A/B run (make report runs one: python3 -m perf.ab).")); return; }
    const m = ab.method;
    box.appendChild(el("p", { id: "ab-verdict", class: ab.verdict === "regression" ? "fail" : "pass", "data-verdict": ab.verdict },
      `base ${ab.base.short} (${ab.base.why}) against head ${ab.head.short}${ab.head.dirty ? " + changes" : ""}: ` +
      `${m.pairs} interleaved pairs per benchmark${m.rounds ? ` in ${m.rounds} rounds of fresh processes` : ""}; ` +
      `a regression needs ≥ ${pct(m.min_effect)} slower${m.rounds ? " (median of the rounds, 80% of them agreeing)" : ""}, ` +
      `Wilcoxon p < ${m.alpha} and the ${Math.round((ab.benchmarks[0] || {}).confidence * 100 || 95)}% interval above zero.`));
    (ab.host_reasons || []).forEach(r => box.appendChild(el("p", { class: "fail" }, "host busy: " + r)));
    const rank = b => ({ regression: 0, suspect: 1, noisy: 2, improved: 3, error: 4, same: 5 }[b.status]);
    const all = ab.benchmarks.slice().sort((a, b) => rank(a) - rank(b) || a.bench.localeCompare(b.bench));
    const shown = all.filter(b => b.status !== "same"), same = all.filter(b => b.status === "same");
    box.appendChild(abTable(shown));
    if (same.length) {
      const d = el("details", { id: "ab-same" });
      d.appendChild(el("summary", {}, `${same.length} more benchmark(s) unchanged`));
      d.appendChild(abTable(same));
      box.appendChild(d);
    }
  }

  function abTable(rows) {
    return table(["benchmark", "base", "head", "change", "interval", "p", "status"],
      rows.map(b => b.status === "error" ? [b.bench, "-", "-", "-", "-", "-", { text: "error: " + b.error, attrs: { class: "status" } }] :
        [b.bench, fmt(b.base_median * 1e6) + " µs", fmt(b.head_median * 1e6) + " µs",
         { text: pct(b.effect), attrs: { "data-value": b.effect } },
         `[${pct(b.ci[0])}, ${pct(b.ci[1])}]`, b.p_worse.toPrecision(2), { text: b.status, attrs: { class: "status" } }]),
      rows.map(b => ({ class: b.status, "data-bench": b.bench })));
  }

  function hostFacts() {
    const box = document.getElementById("host");
    const h = D.host;
    if (!h) { box.appendChild(el("p", { class: "muted" }, "No host description in this run.")); return; }
    const caches = (h.caches || []).map(c => `L${c.level} ${c.type === "Unified" ? "" : c.type[0] + " "}${fmt(c.size_bytes / 1024)} KiB`).join(", ");
    const st = h.state || {};
    const rows = [["caches", caches || "-"], ["frequency", h.frequency_mhz ? fmt(h.frequency_mhz) + " MHz" : "not readable"],
      ["memcpy (64 MiB, in-run)", h.memcpy_gbps_64MiB ? fmt(h.memcpy_gbps_64MiB) + " GB/s" : "-"],
      ["engine threads", h.engine ? `${h.engine.threads} (${h.engine.source})` : "-"],
      ["load average before / after", `${(st.loadavg_before || ["-"])[0]} / ${(st.loadavg_after || ["-"])[0]}`],
      ["steal / other processes", st.steal === null || st.steal === undefined ? "-" : `${(st.steal * 100).toFixed(1)}% / ${(st.others * 100).toFixed(1)}%`],
      ["CPU flags", (h.cpu_flags || []).filter(f => /^(avx|sse4|fma|bmi)/.test(f)).join(" ") + ` (${(h.cpu_flags || []).length} in all)`]];
    const t = table(["", ""], rows, rows.map(r => ({ "data-fact": r[0] })));
    t.setAttribute("class", "hostfacts");
    box.appendChild(t);
  }

  // What the adversarial suites tried (suites/python/catalogue.py): bad
  // inputs, misuse steps and random programs, each with a clear outcome.
  function catalogue() {
    const box = document.getElementById("catalogue");
    const c = D.catalogue;
    if (!c) { box.appendChild(el("p", { class: "muted" }, "No catalogue (make check writes reports/out/catalogue.json).")); return; }
    box.appendChild(el("p", { id: "catalogue-total", class: c.total_failed ? "fail" : "pass" },
      `${c.total_tried} tried, ${c.total_failed} without a clear outcome.`));
    const rows = Object.entries(c.cases).map(([k, v]) => [k, String(v.passed + v.failed), String(v.failed)])
      .concat(Object.entries(c.generated).map(([k, v]) => [k, String(v), "0"]));
    box.appendChild(table(["what", "tried", "failed"], rows, rows.map(r => ({ "data-kind": r[0] }))));
  }

  // The conformance kit (suites/conformance): a row per checklist item, a
  // column per binding layer, each cell's evidence in its title.
  function conformance() {
    const box = document.getElementById("conformance");
    const c = D.conformance;
    if (!c) { box.appendChild(el("p", { class: "muted" }, "No conformance report (make conformance writes reports/out/conformance.json).")); return; }
    const names = c.targets.map(t => t.name);
    box.appendChild(el("p", { class: "muted" }, `${c.date}, on ${c.device}: ` + c.targets.map(t =>
      `${t.name}${t.version ? " " + t.version : ""}${t.loaded ? "" : " (did not load: " + (t.error || "") + ")"}`).join(", ")));
    const cls = { pass: "pass", fail: "fail", crash: "fail", skip: "muted", info: "" };
    const rows = c.items.map(it => [it.title].concat(names.map(n => {
      const cell = it.cells[n];
      if (!cell) return "-";
      return { text: cell.status === "info" ? cell.evidence : cell.status,
               attrs: { class: cls[cell.status], title: cell.evidence, "data-status": cell.status } };
    })));
    const t = table(["item"].concat(names), rows, c.items.map(it => ({ "data-item": it.id })));
    t.setAttribute("id", "conformance-table");
    box.appendChild(t);
    box.appendChild(el("p", { id: "conformance-totals" }, names.map(n => {
      const s = c.totals[n];
      return `${n}: ${s.pass} pass, ${s.fail} fail, ${s.crash} crash, ${s.skip} skipped`;
    }).join("; ")));
  }

  function suites() {
    const box = document.getElementById("suites");
    const s = (L && L.suites) || {};
    const names = Object.keys(s);
    if (!names.length) { box.appendChild(el("p", { class: "muted" }, "No suite results in this run.")); return; }
    box.appendChild(table(["suite", "status", "detail"],
      names.map(n => [n, { text: s[n].status, attrs: { class: s[n].status === "pass" ? "pass" : (s[n].status === "skipped" ? "muted" : "fail") } }, s[n].detail || ""]),
      names.map(n => ({ "data-suite": n, "data-status": s[n].status }))));
  }

  function targets() {
    const box = document.getElementById("targets");
    if (!D.targets.length) { box.appendChild(el("p", { class: "muted" }, "No target was measured in this run.")); return; }
    if (L) box.appendChild(el("p", { class: "muted" }, `measured on ${L.machine_class}; a target missed on a slower host is shown here, it does not fail the run.`));
    box.appendChild(table(["target", "metric", "goal", "now", "status"],
      D.targets.map(t => [t.text, t.metric, `${t.op} ${fmt(t.target)}`,
        { text: fmt(t.now) + (t.unit ? " " + t.unit : ""), attrs: { "data-value": t.now } },
        { text: t.met ? "met" : "NOT MET", attrs: { class: "status" } }]),
      D.targets.map(t => ({ class: t.met ? "met" : "unmet", "data-metric": t.metric }))));
  }

  function compare() {
    const box = document.getElementById("compare");
    if (!L) return;
    const rank = r => (r.status === "regression" ? 0 : r.kind === "info" ? 2 : 1);
    document.querySelector("#compare-details > summary").textContent += ` — ${D.rows.length} rows`;
    const rows = D.rows.slice().sort((a, b) => rank(a) - rank(b) || a.metric.localeCompare(b.metric));
    box.appendChild(table(["metric", "kind", "baseline", "now", "unit", "change", "p", "status"],
      rows.map(r => [r.metric, r.kind,
        { text: fmt(r.baseline), attrs: { class: "baseline", "data-value": r.baseline === null ? "" : r.baseline } },
        { text: fmt(r.now), attrs: { class: "now", "data-value": r.now === null ? "" : r.now } },
        r.unit, pct(r.change), r.p === null ? "-" : r.p.toFixed(3),
        { text: r.status, attrs: { class: "status" } }]),
      rows.map(r => ({ class: r.status, "data-metric": r.metric }))));
  }

  // The charts are matplotlib SVGs drawn by reports/charts.py; the page only
  // places them, with the values they draw on the figure for readers and tests.
  function svgFigure(cls, attrs, caption, svg) {
    const f = el("figure", Object.assign({ class: cls }, attrs));
    f.appendChild(el("figcaption", {}, caption));
    const holder = el("div", { class: "chart" });
    holder.innerHTML = svg;
    f.appendChild(holder);
    return f;
  }

  function throughput() {
    const box = document.getElementById("throughput");
    const charts = D.charts.throughput;
    const keys = Object.keys(charts);
    if (!keys.length) { box.appendChild(el("p", { class: "muted" }, "No throughput in this run.")); return; }
    keys.forEach(k => {
      const c = charts[k];
      const f = svgFigure("throughput", { "data-fusion": k, "data-gbps": JSON.stringify(c.gbps) },
        `${k} — ${c.description} (GB/s vs input size)`, c.svg);
      (c.notes || []).forEach(n => f.appendChild(el("div", { class: "muted" }, n)));
      box.appendChild(f);
    });
  }

  function trends() {
    const box = document.getElementById("trends");
    const charts = D.charts.trends;
    const names = Object.keys(charts).sort();
    names.forEach(n => {
      const c = charts[n];
      const f = svgFigure("trend", { "data-metric": n, "data-values": JSON.stringify(c.values),
        "data-baseline": c.baseline === null ? "" : c.baseline },
        `${n} (${c.unit}, ${c.kind})`, c.svg);
      f.appendChild(el("div", { class: "muted" }, "dashed red: baseline" + (c.target !== null ? "; dotted purple: target" : "")));
      box.appendChild(f);
    });
    if (!names.length) box.appendChild(el("p", { class: "muted" }, "No gated metric in this run."));
  }

  function importtime() {
    const box = document.getElementById("importtime");
    const rows = (L && L.importtime) || [];
    if (!rows.length) { box.appendChild(el("p", { class: "muted" }, "No import-time split in this run.")); return; }
    box.appendChild(table(["module", "self µs", "cumulative µs"],
      rows.map(r => ["\u00a0".repeat(2 * r.depth) + r.module, fmt(r.self_us), fmt(r.cumulative_us)])));
  }

  function skipped() {
    const box = document.getElementById("skipped");
    const s = (L && L.skipped) || [], e = (L && L.errors) || [];
    if (!s.length && !e.length) { box.appendChild(el("p", { class: "muted" }, "Nothing skipped.")); return; }
    box.appendChild(table(["what", "kind", "reason"],
      e.map(x => [x.what, { text: "error", attrs: { class: "fail" } }, x.error]).concat(s.map(x => [x.what, "skipped", x.reason]))));
  }

  header(); summary(); abResult(); targets(); hostFacts(); throughput(); trends(); suites(); catalogue(); conformance(); compare();
  importtime(); skipped();
  // where each part landed (CSS pixels from the top), for the first-screen test
  ["verdict", "ab", "targets", "host", "throughput", "compare-details"].forEach(id => {
    const e = document.getElementById(id);
    if (e) e.setAttribute("data-top", Math.round(e.getBoundingClientRect().top + window.scrollY));
  });
  document.body.setAttribute("data-rendered", "yes");
})();
