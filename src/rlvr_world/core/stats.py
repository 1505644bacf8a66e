"""Is a difference between two models on the same examples more than chance?

Paired comparisons: both models are scored on the same held-out examples (episodes, windows,
transitions), so the tests resample or count *pairs*.

    >>> paired_comparison([1, 1, 1, 1, 1, 1, 0, 0], [1, 0, 0, 0, 0, 0, 1, 0])
    {'both': 1, 'first_only': 5, 'second_only': 1, 'neither': 1, 'p_value': 0.21875}
    >>> relative_reduction([0.2, 0.4], [0.1, 0.2])
    0.5
    >>> paired_bootstrap([0.2, 0.4, 0.3], [0.1, 0.2, 0.15], relative_reduction)  # all halved
    (0.5, 0.5)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from rlvr_world.core.agreement import check_paired

__all__ = [
    "headline",
    "headline_sentence",
    "mean_difference",
    "paired_bootstrap",
    "paired_comparison",
    "rate_mae_intervals",
    "relative_reduction",
]


def _interval(values: np.ndarray, level: float) -> tuple[float, float]:
    """The central `level` percentile interval of bootstrap values."""
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def paired_comparison(first: Sequence[bool | int], second: Sequence[bool | int]) -> dict:
    """Two agents' successes on the same episodes: how many episodes both, only the first, only
    the second and neither solved, and the two-sided p-value of the exact McNemar (sign) test
    that neither is better: with n = first_only + second_only discordant episodes,
    p = min(1, 2 * P[Binomial(n, 1/2) <= min(first_only, second_only)]) (1.0 when n = 0)."""
    check_paired(first, second)
    pairs = [(bool(a), bool(b)) for a, b in zip(first, second)]
    first_only = sum(a and not b for a, b in pairs)
    second_only = sum(b and not a for a, b in pairs)
    n = first_only + second_only
    tail = sum(math.comb(n, i) for i in range(min(first_only, second_only) + 1)) / 2**n
    return {
        "both": sum(a and b for a, b in pairs),
        "first_only": first_only,
        "second_only": second_only,
        "neither": sum(not (a or b) for a, b in pairs),
        "p_value": min(1.0, 2 * tail),
    }


def relative_reduction(before: Sequence[float], after: Sequence[float]) -> float:
    """1 - mean(after) / mean(before): how much lower `after` is, as a fraction (an error
    metric such as LPIPS; 0.092 is the paper's 9.2%). 0.0 when mean(before) is 0."""
    base = float(np.mean(before))
    return 1.0 - float(np.mean(after)) / base if base else 0.0


def mean_difference(before: Sequence[float], after: Sequence[float]) -> float:
    """mean(after) - mean(before): an absolute gain (a score such as F1)."""
    return float(np.mean(after)) - float(np.mean(before))


def paired_bootstrap(
    before: Sequence[float],
    after: Sequence[float],
    statistic: Callable[[np.ndarray, np.ndarray], float],
    level: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of `statistic(before, after)` over examples: each resample
    draws examples with replacement and keeps their pairs together. Deterministic under `seed`.

    before, after: per-example values of the two models on the same examples, in one order.
    Returns (low, high) at confidence `level`."""
    check_paired(before, after)
    if not 0 < level < 1 or resamples < 1:
        raise ValueError(f"need 0 < level < 1 and resamples >= 1, got {level}, {resamples}")
    x, y = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(x), size=(resamples, len(x)))
    return _interval(np.array([statistic(x[rows], y[rows]) for rows in draws]), level)


def rate_mae_intervals(
    true: Sequence[float],
    outcomes: dict[str, Sequence[Sequence[int | bool]]],
    level: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> dict:
    """How far the mean absolute error between true success rates and rates estimated from
    episodes could move by chance: a bootstrap over each row's episodes.

    true: [P] true rates. outcomes: model -> [P][E] per-episode successes (0/1) of its
        estimate, episode e of row p starting from the same state for every model, so each
        resample draws the same episode indices for all models (a paired bootstrap).
    Returns {"mae": {model: (low, high)}, "difference": {"<model> - <first model>": (low,
    high)}} at confidence `level`; a difference interval below 0 means the model's MAE is
    lower than the first model's beyond the episodes' chance.
    """
    if not outcomes:
        raise ValueError("outcomes: expected at least one model")
    arrays = {name: np.asarray(rows, dtype=float) for name, rows in outcomes.items()}
    target = np.asarray(true, dtype=float)
    shapes = {a.shape for a in arrays.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2 or next(iter(shapes))[0] != len(target):
        raise ValueError(
            f"outcomes must all be [P, E] with P = len(true) = {len(target)}, got {sorted(shapes)}"
        )
    rows, episodes = next(iter(shapes))
    if episodes == 0 or not 0 < level < 1 or resamples < 1:
        raise ValueError("need episodes, 0 < level < 1 and resamples >= 1")
    draws = np.random.default_rng(seed).integers(0, episodes, size=(resamples, rows, episodes))
    picked = np.arange(rows)[None, :, None]
    mae = {
        name: np.abs(a[picked, draws].mean(axis=2) - target).mean(axis=1)
        for name, a in arrays.items()
    }  # name -> [resamples]
    first = next(iter(mae))
    return {
        "mae": {name: _interval(values, level) for name, values in mae.items()},
        "difference": {
            f"{name} - {first}": _interval(values - mae[first], level)
            for name, values in mae.items()
            if name != first
        },
    }


def relative_gain(higher_is_better: bool) -> Callable[[np.ndarray, np.ndarray], float]:
    """(mle, rlvr) per-example values -> how much better RLVR's mean is, as a fraction of
    MLE's: mean(rlvr) / mean(mle) - 1 for a score, 1 - mean(rlvr) / mean(mle) for an error."""
    sign = 1.0 if higher_is_better else -1.0

    def gain(mle: np.ndarray, rlvr: np.ndarray) -> float:
        base = float(np.mean(mle))
        return sign * (float(np.mean(rlvr)) / base - 1.0) if base else math.nan

    return gain


def headline(
    metric: str,
    higher_is_better: bool,
    mle: Sequence[float],
    rlvr: Sequence[float],
    level: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> dict:
    """The one comparison a run reports first: RLVR against MLE on the same held-out
    examples. `relative_gain` is positive when RLVR is better; `ci95` is its paired-bootstrap
    interval over the examples (both None when MLE's mean is 0: no relative gain).

    >>> h = headline("lpips", False, [0.10, 0.20, 0.30], [0.09, 0.18, 0.27])
    >>> round(h["relative_gain"], 3), [round(x, 3) for x in h["ci95"]], h["examples"]
    (0.1, [0.1, 0.1], 3)
    """
    check_paired(mle, rlvr)
    gain = relative_gain(higher_is_better)
    x, y = np.asarray(mle, dtype=float), np.asarray(rlvr, dtype=float)
    value = gain(x, y)
    ci = None
    if not math.isnan(value):
        ci = list(paired_bootstrap(x, y, gain, level=level, resamples=resamples, seed=seed))
    return {
        "metric": metric,
        "higher_is_better": higher_is_better,
        "mle": float(x.mean()),
        "rlvr": float(y.mean()),
        "relative_gain": None if math.isnan(value) else value,
        "ci95": ci,
        "examples": len(x),
    }


def headline_sentence(
    h: dict, name: str, examples: str = "held-out examples", against: str = "MLE"
) -> str:
    """`headline` in one sentence, honest about an interval that spans zero; `against` names
    the model RLVR is compared with.

    >>> h = {"metric": "lpips", "higher_is_better": False, "mle": 0.0768, "rlvr": 0.0724,
    ...      "relative_gain": 0.058, "ci95": [0.043, 0.074], "examples": 64}
    >>> headline_sentence(h, "multi-step LPIPS", "held-out episodes")
    'RLVR lowered multi-step LPIPS from 0.0768 to 0.0724, 5.8% better than MLE (95% CI 4.3% to 7.4%) on 64 held-out episodes.'
    >>> same = {**h, "rlvr": 0.0768, "relative_gain": 0.0, "ci95": [0.0, 0.0]}
    >>> headline_sentence(same, "LPIPS", "test windows", against="mle_greedy")
    'RLVR kept LPIPS at 0.0768, 0.0% better than mle_greedy (95% CI +0.0% to +0.0%): the interval spans zero, no difference is shown on 64 test windows.'
    """
    if h["rlvr"] == h["mle"]:
        text = f"RLVR kept {name} at {h['mle']:.4g}"
    else:
        verb = "raised" if h["rlvr"] > h["mle"] else "lowered"
        text = f"RLVR {verb} {name} from {h['mle']:.4g} to {h['rlvr']:.4g}"
    gain, ci = h.get("relative_gain"), h.get("ci95")
    if gain is not None and ci is not None:
        word = "better" if gain >= 0 else "worse"
        shown = [f"{c:.1%}" if ci[0] > 0 else f"{c:+.1%}" for c in ci]  # signs unless all > 0
        text += f", {abs(gain):.1%} {word} than {against} (95% CI {shown[0]} to {shown[1]})"
        if ci[0] <= 0 <= ci[1]:
            text += ": the interval spans zero, no difference is shown"
    return f"{text} on {h['examples']} {examples}."
