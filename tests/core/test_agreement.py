"""Agreement of estimated with true success rates: hand-worked MAE, Pearson and MMRV."""

import doctest
import math

import numpy as np
import pytest
from scipy import stats

from rlvr_world.core import agreement
from rlvr_world.core.agreement import mean_absolute_error, mmrv, pearson


def test_mean_absolute_error_by_hand():
    # |0.9 - 0.7| + |0.5 - 0.5| + |0.1 - 0.4| = 0.2 + 0 + 0.3 = 0.5 over 3
    assert mean_absolute_error([0.9, 0.5, 0.1], [0.7, 0.5, 0.4]) == pytest.approx(0.5 / 3)
    assert mean_absolute_error([0.3], [0.3]) == 0.0


def test_pearson_by_hand_and_against_scipy():
    # true 0, 0.5, 1 (mean 0.5); est 0.2, 0.2, 0.8 (mean 0.4)
    # cov = (-0.5)(-0.2) + 0 + (0.5)(0.4) = 0.3; var_t = 0.5; var_e = 0.04 + 0.04 + 0.16 = 0.24
    assert pearson([0.0, 0.5, 1.0], [0.2, 0.2, 0.8]) == pytest.approx(0.3 / math.sqrt(0.5 * 0.24))
    assert pearson([0.0, 0.5, 1.0], [1.0, 0.5, 0.0]) == pytest.approx(-1.0)
    rng = np.random.default_rng(0)
    for _ in range(5):
        a, b = rng.random(12), rng.random(12)
        assert pearson(list(a), list(b)) == pytest.approx(stats.pearsonr(a, b).statistic)


def test_pearson_is_undefined_without_variance():
    assert pearson([0.2, 0.5, 0.9], [0.0, 0.0, 0.0]) is None
    assert pearson([0.4, 0.4], [0.1, 0.9]) is None


def test_mmrv_by_hand():
    true = [0.9, 0.6, 0.3, 0.0]
    assert mmrv(true, [0.8, 0.5, 0.2, 0.1]) == 0.0  # same order: no violation
    # est swaps policies 1 and 2: each's worst violated pair is the other, gap 0.3
    assert mmrv(true, [0.8, 0.2, 0.5, 0.1]) == pytest.approx((0 + 0.3 + 0.3 + 0) / 4)
    # everything reversed: 0 <-> 3 cost 0.9 each; 1's worst is 3 (0.6), 2's worst is 0 (0.6)
    assert mmrv(true, [0.0, 0.3, 0.6, 0.9]) == pytest.approx((0.9 + 0.6 + 0.6 + 0.9) / 4)
    # a tie in the estimate where the truth differs is a violation for the worse policy only
    # (est_0 < est_1 is False, true_0 < true_1 is True; from policy 1's side both are False):
    # (0.6 + 0) / 2
    assert mmrv([0.2, 0.8], [0.5, 0.5]) == pytest.approx(0.3)
    # a tie in the truth costs nothing
    assert mmrv([0.5, 0.5], [0.1, 0.9]) == 0.0


def test_lengths_must_match():
    with pytest.raises(ValueError, match="equally long"):
        mmrv([0.1], [0.1, 0.2])
    with pytest.raises(ValueError, match="equally long"):
        mean_absolute_error([], [])


def test_docstring_examples():
    failures, tried = doctest.testmod(agreement, raise_on_error=False)
    assert tried >= 3 and failures == 0
