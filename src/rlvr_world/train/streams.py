"""Resumable example streams: endless epochs of shuffled indices, position saved in checkpoints."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


class EpochStream:
    """Yields batches of indices from successive epochs; `make_epoch(epoch, rng)` lists an
    epoch's indices (before shuffling). Deterministic in (seed, epoch), so `state_dict()` of
    (epoch, position) is all a resume needs."""

    def __init__(
        self,
        make_epoch: Callable[[int, np.random.Generator], list[int]],
        batch_size: int,
        seed: int,
    ) -> None:
        self.make_epoch, self.batch_size, self.seed = make_epoch, batch_size, seed
        self.epoch, self.position = 0, 0
        self._order = self._build(0)

    def _build(self, epoch: int) -> list[int]:
        rng = np.random.default_rng([self.seed, epoch])
        items = list(self.make_epoch(epoch, rng))
        if not items:
            raise ValueError("an epoch of the example stream is empty: no training examples")
        return [items[i] for i in rng.permutation(len(items))]

    def next_batch(self) -> list[int]:
        batch: list[int] = []
        while len(batch) < self.batch_size:
            if self.position >= len(self._order):
                self.epoch, self.position = self.epoch + 1, 0
                self._order = self._build(self.epoch)
            take = self._order[self.position : self.position + self.batch_size - len(batch)]
            batch.extend(take)
            self.position += len(take)
        return batch

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.position = state["epoch"], state["position"]
        self._order = self._build(self.epoch)


def all_items(count: int) -> Callable[[int, np.random.Generator], list[int]]:
    return lambda epoch, rng: list(range(count))


def changed_plus_unchanged(
    changed: list[int], unchanged: list[int], unchanged_per_epoch: int
) -> Callable[[int, np.random.Generator], list[int]]:
    """SPEC §3 RL training set: every changed sample plus N unchanged ones drawn afresh each
    epoch (N = -1: as many as there are changed samples)."""
    n = len(changed) if unchanged_per_epoch < 0 else unchanged_per_epoch
    n = min(n, len(unchanged))

    def make_epoch(epoch: int, rng: np.random.Generator) -> list[int]:
        drawn = rng.choice(len(unchanged), size=n, replace=False) if n else []
        return changed + [unchanged[i] for i in drawn]

    return make_epoch
