"""How well estimated success rates agree with true ones (SPEC §6; SIMPLER's metrics).

    >>> round(mean_absolute_error([0.2, 0.8], [0.3, 0.6]), 6)
    0.15
    >>> round(pearson([0.1, 0.5, 0.9], [0.2, 0.4, 0.6]), 6)
    1.0
    >>> round(mmrv([0.2, 0.5, 0.9], [0.6, 0.4, 0.8]), 6)  # 0 and 1 swapped: 0.3 each, / 3
    0.2

`pearson` is None when either list is constant (the correlation is undefined there).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["mean_absolute_error", "mmrv", "pearson"]


def check_paired(true: Sequence, estimated: Sequence) -> None:
    """Two lists of per-item values to compare: equally long and not empty, else ValueError."""
    if len(true) != len(estimated) or not len(true):
        raise ValueError(
            f"expected two equally long non-empty lists, got {len(true)} and {len(estimated)}"
        )


def mean_absolute_error(true: Sequence[float], estimated: Sequence[float]) -> float:
    """mean_i |true_i - estimated_i|."""
    check_paired(true, estimated)
    return sum(abs(t - e) for t, e in zip(true, estimated)) / len(true)


def pearson(true: Sequence[float], estimated: Sequence[float]) -> float | None:
    """Pearson's correlation coefficient; None if either list has no variance."""
    check_paired(true, estimated)
    n = len(true)
    mean_t, mean_e = sum(true) / n, sum(estimated) / n
    dt = [t - mean_t for t in true]
    de = [e - mean_e for e in estimated]
    var_t, var_e = sum(x * x for x in dt), sum(x * x for x in de)
    if var_t <= 1e-12 or var_e <= 1e-12:
        return None
    return max(-1.0, min(1.0, sum(a * b for a, b in zip(dt, de)) / math.sqrt(var_t * var_e)))


def mmrv(true: Sequence[float], estimated: Sequence[float]) -> float:
    """Mean maximum rank violation (SIMPLER, Li et al. 2024), lower is better:

        MMRV = 1/N sum_i max_j |true_i - true_j| * 1[(est_i < est_j) != (true_i < true_j)]

    A pair of policies the estimate orders differently from the truth costs their true gap;
    each policy counts its worst such pair."""
    check_paired(true, estimated)
    n = len(true)
    total = 0.0
    for i in range(n):
        worst = 0.0
        for j in range(n):
            if (estimated[i] < estimated[j]) != (true[i] < true[j]):
                worst = max(worst, abs(true[i] - true[j]))
        total += worst
    return total / n
