"""The dashboard's charts, drawn by matplotlib into inline SVG (offline, no
script needed to draw them): throughput against size per fusion, and each
gated or targeted metric over the history with its baseline and target.

matplotlib chooses round tick values (MaxNLocator) and lays out labels; text
stays text in the SVG (svg.fonttype 'none'), so the page is searchable and
its tests can read the ticks. Each series is an SVG group with id
"series-<name>"; the values drawn are also given to the caller, which puts
them on the figure as data attributes.
"""
from __future__ import annotations

import io
import math

COLORS = {"cfuser": "#1565c0", "numpy": "#ef6c00", "numexpr": "#8e24aa", "torch_eager": "#c62828",
          "torch_compile": "#2e7d32", "memcpy": "#616161"}
PALETTE = ["#00838f", "#6d4c41", "#ad1457", "#558b2f"]


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "cfuser", "font.size": 8,
                         "axes.spines.top": False, "axes.spines.right": False})
    return plt


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    _plt().close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]      # inline: no XML prolog or doctype


def throughput_svg(curve: dict) -> str:
    """GB/s against input size, one line per implementation, log2 x axis."""
    from matplotlib.ticker import MaxNLocator
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.2, 2.5))
    names = sorted(curve["gbps"], key=lambda n: (n != "cfuser", n))
    xs = [math.log2(e) for e in curve["elems"]]
    for i, name in enumerate(names):
        pts = [(x, y) for x, y in zip(xs, curve["gbps"][name]) if y is not None]
        if not pts:
            continue
        (line,) = ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", markersize=3,
                          linewidth=1.5, color=COLORS.get(name, PALETTE[i % len(PALETTE)]), label=name)
        line.set_gid(f"series-{name}")
    ax.set_xticks(xs, curve["labels"])
    ax.tick_params(axis="x", labelrotation=30)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
    ax.set_ylim(bottom=0)
    ax.set_ylabel("GB/s")
    ax.grid(axis="y", color="#eef0f4")
    ax.legend(fontsize=7, frameon=False, ncol=3, loc="upper left", bbox_to_anchor=(0, -0.18))
    return _svg(fig)


def trend_svg(name: str, points: list[tuple[str, float]], baseline: float | None,
              target: float | None) -> str:
    """A metric over the history (one point per run, labelled by commit),
    the baseline dashed red, the target dotted purple."""
    from matplotlib.ticker import MaxNLocator
    plt = _plt()
    fig, ax = plt.subplots(figsize=(3.2, 1.9))
    xs = list(range(len(points)))
    (line,) = ax.plot(xs, [p[1] for p in points], marker="o", markersize=3, linewidth=1.5,
                      color="#1565c0")
    line.set_gid("series-value")
    if baseline is not None:
        ax.axhline(baseline, color="#c62828", linestyle="--", linewidth=1).set_gid("baseline")
    if target is not None:
        ax.axhline(target, color="#6a1b9a", linestyle=":", linewidth=1).set_gid("target")
    if points:
        ends = sorted({0, len(points) - 1})
        ax.set_xticks(ends, [points[i][0] for i in ends])
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]))
    ax.grid(axis="y", color="#eef0f4")
    return _svg(fig)
