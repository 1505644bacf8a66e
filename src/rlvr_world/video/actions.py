"""Continuous actions <-> discrete action tokens (SPEC §5).

Each action dimension is cut into `num_bins` equal bins between the dataset-wide minimum and
maximum of that dimension:

    bin = clip(floor(num_bins * clip((a - min) / (max - min + 1e-8), 0, 1)), 0, num_bins - 1)

so a == max lands in the last bin and a constant dimension (max == min) maps to bin 0. Bin b of
dimension d becomes token `offset + d * num_bins + b`: every dimension has its own token range,
placed after the visual codes. Ranges are saved beside the frame tokenizer (`save`/`load`).

Legend: T time steps, D action dimensions.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

EPSILON = 1e-8
"""Added to (max - min) exactly as the reference binning does."""


@dataclass(frozen=True)
class ActionBinner:
    """Per-dimension min/max binning of actions into `num_bins` tokens each.

    >>> binner = ActionBinner(minimum=(-1.0, 0.0), maximum=(1.0, 1.0), num_bins=256)
    >>> binner.bins(np.array([[-1.0, 1.0], [0.0, 0.5]])).tolist()
    [[0, 255], [127, 127]]
    >>> binner.tokens(np.array([[0.0, 0.5]]), offset=10).tolist()
    [[137, 393]]
    """

    minimum: tuple[float, ...]
    maximum: tuple[float, ...]
    num_bins: int = 256

    def __post_init__(self) -> None:
        if len(self.minimum) != len(self.maximum) or not self.minimum:
            raise ValueError(
                f"minimum ({len(self.minimum)} values) and maximum ({len(self.maximum)}) "
                "must have the same, non-zero length"
            )
        if self.num_bins < 2:
            raise ValueError(f"num_bins must be >= 2, got {self.num_bins}")
        for d, (low, high) in enumerate(zip(self.minimum, self.maximum)):
            if not (math.isfinite(low) and math.isfinite(high)) or high < low:
                raise ValueError(f"action dimension {d}: need finite min <= max, got {low}, {high}")

    @classmethod
    def fit(cls, actions: Iterable[np.ndarray], num_bins: int = 256) -> ActionBinner:
        """Dataset-wide per-dimension min and max over episodes' actions ([T, D] each)."""
        arrays = [np.asarray(a, dtype=np.float64) for a in actions]
        if not arrays:
            raise ValueError("no actions to fit the action bins on")
        stacked = np.concatenate([a.reshape(len(a), -1) for a in arrays], axis=0)
        if not np.isfinite(stacked).all():
            raise ValueError("actions contain NaN or infinity")
        return cls(
            tuple(float(x) for x in stacked.min(0)),
            tuple(float(x) for x in stacked.max(0)),
            num_bins,
        )

    @property
    def dimensions(self) -> int:
        return len(self.minimum)

    @property
    def vocab_size(self) -> int:
        """Token ids this binner uses: D * num_bins."""
        return self.dimensions * self.num_bins

    def bins(self, actions: np.ndarray) -> np.ndarray:
        """[..., D] float -> [..., D] int64 bin indices in [0, num_bins)."""
        actions = np.asarray(actions, dtype=np.float64)
        if actions.shape[-1] != self.dimensions:
            raise ValueError(
                f"actions have {actions.shape[-1]} dimensions; the bins were fit on "
                f"{self.dimensions}"
            )
        low, high = np.asarray(self.minimum), np.asarray(self.maximum)
        # NaN compares false everywhere; map it to the lowest bin rather than an undefined cast
        scaled = np.nan_to_num((actions - low) / (high - low + EPSILON), nan=0.0)
        return np.clip(
            np.floor(self.num_bins * np.clip(scaled, 0.0, 1.0)), 0, self.num_bins - 1
        ).astype(np.int64)

    def values(self, bins: np.ndarray) -> np.ndarray:
        """[..., D] bin indices -> [..., D] float: the centre of each bin (inverse of `bins`)."""
        bins = np.clip(np.asarray(bins, dtype=np.float64), 0, self.num_bins - 1)
        low, high = np.asarray(self.minimum), np.asarray(self.maximum)
        return low + (bins + 0.5) / self.num_bins * (high - low)

    def tokens(self, actions: np.ndarray, offset: int) -> np.ndarray:
        """[..., D] float -> [..., D] token ids: offset + d * num_bins + bin."""
        return offset + np.arange(self.dimensions) * self.num_bins + self.bins(actions)

    def actions(self, tokens: np.ndarray, offset: int) -> np.ndarray:
        """[..., D] token ids -> [..., D] float bin centres (ids outside a range are clipped)."""
        bins = np.asarray(tokens) - offset - np.arange(self.dimensions) * self.num_bins
        return self.values(bins)

    def to_dict(self) -> dict:
        return {
            "minimum": list(self.minimum),
            "maximum": list(self.maximum),
            "num_bins": self.num_bins,
        }

    @classmethod
    def from_dict(cls, values: dict) -> ActionBinner:
        return cls(tuple(values["minimum"]), tuple(values["maximum"]), int(values["num_bins"]))

    def save(self, path: str | Path) -> None:
        """Write the ranges as JSON, atomically."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(handle, "w") as out:
            json.dump(self.to_dict(), out, indent=2)
        os.replace(temp, path)

    @classmethod
    def load(cls, path: str | Path) -> ActionBinner:
        path = Path(path)
        try:
            values = json.loads(path.read_text())
            return cls.from_dict(values)
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{path}: not a valid action-bin file ({error})") from error
