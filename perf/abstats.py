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

judge_rounds() judges pairs taken in several rounds, each round by a fresh
pair of worker processes. A process brings its own memory layout (where
the buffers and the code land relative to caches and pages), a fixed offset
for all its samples that pairing within the process cannot cancel: the same
build against itself has shown a tight +5% in one process pair. So the
effect is the median of the rounds' effects, its interval a bootstrap of
that median (pairs resampled within their round), at least AGREE (80%) of
the rounds must see at least half the minimum effect the same way (all of
three, four of five), and the
pooled pairs must pass the signed-rank test.
"""
from __future__ import annotations

import math
import statistics

MIN_EFFECT = 0.05
ALPHA = 0.01
CONFIDENCE = 0.95
MIN_PAIRS = 6
AGREE = 0.8


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


def judge_rounds(base_rounds, head_rounds, *, better: str = "lower", min_effect: float = MIN_EFFECT,
                 alpha: float = ALPHA, confidence: float = CONFIDENCE, seed: int = 0) -> dict:
    """judge() over rounds of pairs: base_rounds[k] and head_rounds[k] are the
    paired samples of round k (one pair of fresh processes)."""
    if len(base_rounds) != len(head_rounds) or not base_rounds:
        raise ValueError("judge_rounds: need the same, non-zero number of rounds on both sides")
    pooled_b = [x for r in base_rounds for x in r]
    pooled_h = [x for r in head_rounds for x in r]
    j = judge(pooled_b, pooled_h, better=better, min_effect=min_effect, alpha=alpha,
              confidence=confidence, seed=seed)
    rounds = [effect_of(b, h, better) for b, h in zip(base_rounds, head_rounds)]
    j["round_effects"] = rounds
    if len(rounds) < 2:
        return j
    eff = statistics.median(rounds)
    j["pooled_effect"], j["effect"] = j["effect"], eff
    j["ci"] = list(_rounds_interval(base_rounds, head_rounds, better, confidence, seed))
    lo, hi = j["ci"]
    need = math.ceil(AGREE * len(rounds) - 1e-9)
    half = min_effect / 2  # a round agrees when it sees at least half the minimum effect
    if eff >= min_effect and j["p_worse"] < alpha and lo > 0 and sum(e >= half for e in rounds) >= need:
        j["status"] = "regression"
    elif eff <= -min_effect and j["p_better"] < alpha and hi < 0 and sum(e <= -half for e in rounds) >= need:
        j["status"] = "improved"
    elif abs(eff) >= min_effect or j["status"] in ("regression", "improved"):
        j["status"] = "noisy"
    else:
        j["status"] = "same"
    return j


def _rounds_interval(base_rounds, head_rounds, better, confidence, seed, n_resamples=2000):
    """Percentile bootstrap of the median of the rounds' effects, pairs
    resampled within each round (the rounds themselves are kept: each is a
    process pair of its own)."""
    import numpy as np
    rng = np.random.default_rng(seed)
    per_round = []
    for b, h in zip(base_rounds, head_rounds):
        b, h = np.asarray(b, dtype=float), np.asarray(h, dtype=float)
        idx = rng.integers(0, len(b), size=(n_resamples, len(b)))
        mb, mh = np.median(b[idx], axis=1), np.median(h[idx], axis=1)
        per_round.append(mh / mb - 1.0 if better == "lower" else mb / mh - 1.0)
    med = np.median(np.stack(per_round), axis=0)
    a = (1.0 - confidence) / 2
    return float(np.quantile(med, a)), float(np.quantile(med, 1 - a))
