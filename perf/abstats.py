"""Paired statistics for A/B runs: one sample of the base and one of the
head taken back to back, so each pair shares the host's state (frequency,
neighbours, caches) and the difference within a pair is the change.

judge() calls a change a regression only when all three hold:
  - the effect (median head / median base - 1, as a slowdown for timings)
    is at least min_effect;
  - a one-sided Wilcoxon signed-rank test on the paired log-ratios gives
    p < alpha (scipy.stats.wilcoxon);
  - the bootstrap confidence interval of the effect (resampling the pairs,
    scipy.stats.bootstrap, paired) lies above zero.
Improvements are judged the same way in the other direction; a large effect
that fails the test or the interval is "noisy", anything else "same".
"""
from __future__ import annotations

import math
import statistics

MIN_EFFECT = 0.05
ALPHA = 0.01
CONFIDENCE = 0.95
MIN_PAIRS = 6


def effect_of(base, head, better: str = "lower") -> float:
    """How much worse head is than base, as a fraction (+0.10: 10% worse)."""
    mb, mh = statistics.median(base), statistics.median(head)
    return mh / mb - 1.0 if better == "lower" else mb / mh - 1.0


def judge(base, head, *, better: str = "lower", min_effect: float = MIN_EFFECT,
          alpha: float = ALPHA, confidence: float = CONFIDENCE, seed: int = 0) -> dict:
    if better not in ("lower", "higher"):
        raise ValueError(f"judge: better must be 'lower' or 'higher', not {better!r}")
    base, head = [float(x) for x in base], [float(x) for x in head]
    if len(base) != len(head):
        raise ValueError(f"judge: paired samples need equal counts, got {len(base)} and {len(head)}")
    if len(base) < MIN_PAIRS:
        raise ValueError(f"judge: need at least {MIN_PAIRS} pairs, got {len(base)}")
    if min(base + head) <= 0 or not all(math.isfinite(x) for x in base + head):
        raise ValueError("judge: samples must be positive, finite numbers")
    import numpy as np
    from scipy import stats

    eff = effect_of(base, head, better)
    # log(head/base) > 0 means worse when lower is better
    d = np.log(np.asarray(head) / np.asarray(base))
    if better == "higher":
        d = -d
    if np.all(d == 0):
        p_worse = p_better = 1.0
    else:
        p_worse = float(stats.wilcoxon(d, alternative="greater").pvalue)
        p_better = float(stats.wilcoxon(d, alternative="less").pvalue)
    ci = stats.bootstrap((np.asarray(base), np.asarray(head)),
                         lambda b, h: effect_of(b, h, better), paired=True, vectorized=False,
                         confidence_level=confidence, n_resamples=2000, method="percentile",
                         random_state=np.random.default_rng(seed)).confidence_interval
    lo, hi = float(ci.low), float(ci.high)
    if eff >= min_effect and p_worse < alpha and lo > 0:
        status = "regression"
    elif eff <= -min_effect and p_better < alpha and hi < 0:
        status = "improved"
    elif abs(eff) >= min_effect:
        status = "noisy"
    else:
        status = "same"
    return {"pairs": len(base), "base_median": statistics.median(base),
            "head_median": statistics.median(head), "effect": eff, "ci": [lo, hi],
            "confidence": confidence, "p_worse": p_worse, "p_better": p_better,
            "min_effect": min_effect, "alpha": alpha, "status": status}
