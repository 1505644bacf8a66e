"""Paired comparisons of two models on the same examples: the exact McNemar test and the
paired bootstrap, by hand and against scipy."""

import doctest

import numpy as np
import pytest
from scipy import stats

from rlvr_world.core import stats as ours
from rlvr_world.core.stats import (
    mean_difference,
    paired_bootstrap,
    paired_comparison,
    rate_mae_intervals,
    relative_reduction,
)


def test_paired_comparison_by_hand_and_against_scipy():
    # episodes: both 2, first only 3, second only 0, neither 1. Discordant n = 3, the smaller
    # count 0: p = 2 * C(3, 0) / 2^3 = 0.25.
    first = [1, 1, 1, 1, 1, 0]
    second = [1, 1, 0, 0, 0, 0]
    assert paired_comparison(first, second) == {
        "both": 2,
        "first_only": 3,
        "second_only": 0,
        "neither": 1,
        "p_value": 0.25,
    }
    # the same episodes the other way round: the same p-value, the counts swapped
    swapped = paired_comparison(second, first)
    assert (swapped["first_only"], swapped["second_only"], swapped["p_value"]) == (0, 3, 0.25)
    # no discordant episode: no evidence either way
    assert paired_comparison([1, 0], [1, 0])["p_value"] == 1.0
    rng = np.random.default_rng(0)
    for _ in range(20):
        a, b = rng.random(40) < 0.5, rng.random(40) < 0.3
        result = paired_comparison(a.tolist(), b.tolist())
        n = result["first_only"] + result["second_only"]
        expected = stats.binomtest(result["first_only"], n, 0.5).pvalue if n else 1.0
        assert result["p_value"] == pytest.approx(expected, rel=1e-9)


def test_gain_statistics_by_hand():
    # LPIPS 0.08 -> 0.072 on average: 10% lower; F1 0.20 -> 0.35: +0.15
    assert relative_reduction([0.06, 0.10], [0.054, 0.09]) == pytest.approx(0.1)
    assert mean_difference([0.1, 0.3], [0.3, 0.4]) == pytest.approx(0.15)
    assert relative_reduction([0.0, 0.0], [0.1, 0.1]) == 0.0


def test_paired_bootstrap_keeps_pairs_and_is_deterministic():
    # every example improves by exactly 0.1: any resample of pairs gives +0.1, a tight interval
    before = [0.1, 0.5, 0.3, 0.9, 0.2]
    after = [b + 0.1 for b in before]
    low, high = paired_bootstrap(before, after, mean_difference)
    assert low == pytest.approx(0.1) and high == pytest.approx(0.1)
    # noisy gains: the same seed gives the same interval, which holds the observed gain
    rng = np.random.default_rng(3)
    x = rng.random(60)
    y = x + rng.normal(0.05, 0.2, 60)
    first = paired_bootstrap(x, y, mean_difference, seed=7)
    assert first == paired_bootstrap(x, y, mean_difference, seed=7)
    assert first[0] < mean_difference(x, y) < first[1]
    with pytest.raises(ValueError, match="equally long"):
        paired_bootstrap([0.1], [0.1, 0.2], mean_difference)


def test_paired_bootstrap_agrees_with_scipy():
    rng = np.random.default_rng(0)
    x = rng.random(80) * 0.1
    y = x * rng.normal(0.93, 0.1, 80)
    ours_low, ours_high = paired_bootstrap(x, y, relative_reduction, resamples=4000)
    theirs = stats.bootstrap(
        (x, y),
        relative_reduction,
        paired=True,
        vectorized=False,
        n_resamples=4000,
        method="percentile",
        random_state=1,
    ).confidence_interval
    # two Monte Carlo estimates of the same percentiles: close, not equal
    width = theirs.high - theirs.low
    assert ours_low == pytest.approx(theirs.low, abs=0.1 * width)
    assert ours_high == pytest.approx(theirs.high, abs=0.1 * width)


def test_rate_mae_intervals_by_hand():
    true = [0.5, 0.0]
    # rows whose episodes all agree give the same rates in every resample: zero-width intervals
    outcomes = {
        "mle": [[0, 0, 0, 0], [1, 1, 1, 1]],  # rates 0 and 1: MAE (0.5 + 1) / 2 = 0.75
        "rlvr": [[1, 1, 1, 1], [0, 0, 0, 0]],  # rates 1 and 0: MAE (0.5 + 0) / 2 = 0.25
    }
    out = rate_mae_intervals(true, outcomes)
    assert out["mae"]["mle"] == pytest.approx((0.75, 0.75))
    assert out["mae"]["rlvr"] == pytest.approx((0.25, 0.25))
    assert out["difference"] == {"rlvr - mle": pytest.approx((-0.5, -0.5))}


def test_rate_mae_intervals_pair_the_episodes():
    # the two models agree on every episode: their MAE difference is exactly 0 in every
    # resample although each MAE varies (a paired bootstrap draws the same episodes for both)
    rng = np.random.default_rng(0)
    same = (rng.random((5, 24)) < 0.5).astype(int).tolist()
    out = rate_mae_intervals([0.3, 0.5, 0.2, 0.9, 0.0], {"a": same, "b": same})
    low, high = out["mae"]["a"]
    assert low < high
    assert out["difference"]["b - a"] == (0.0, 0.0)
    with pytest.raises(ValueError, match=r"\[P, E\]"):
        rate_mae_intervals([0.1], {"a": [[1, 0]], "b": [[1, 0, 1]]})


def test_docstring_examples():
    failures, tried = doctest.testmod(ours, raise_on_error=False)
    assert tried >= 3 and failures == 0
