"""Evenly spread subsets of a sequence.

>>> spread(list(range(10)), 4)
[0, 3, 6, 9]
"""

from __future__ import annotations

from collections.abc import Sequence


def spread(items: Sequence, count: int) -> list:
    """At most `count` of `items`, evenly spaced from the first to the last (all of them when
    `count` is 0 or covers them). Splits list their examples task by task and episode by
    episode: a prefix would see the first task only."""
    if not count or len(items) <= count:
        return list(items)
    if count == 1:
        return [items[0]]
    last = len(items) - 1
    return [items[(i * last + (count - 1) // 2) // (count - 1)] for i in range(count)]
