"""Verifiable rewards on decoded frames, and the repetition statistic of multi-step rollouts.

Legend: B samples, T predicted frames per sample, K tokens per frame, H x W pixels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import torch

from rlvr_world.video import metrics
from rlvr_world.video.lpips import lpips_network

# Worst value of each per-frame term. MAE and MSE of frames in [0, 1] cannot exceed 1. LPIPS
# has no useful bound (4 x the sum of its linear weights, several hundred), and extreme pairs
# (noise against black, checkerboards) stay below 1.5, so per-frame LPIPS is clamped at 2: the
# reward then has a true minimum that a malformed prediction can score without becoming an
# outlier that swamps the group statistics of GRPO.
WORST = {"mae": 1.0, "mse": 1.0, "lpips": 2.0}
AGGREGATES = ("mean", "last", "discounted")
DEFAULT_WEIGHTS = {"mae": 1.0, "lpips": 1.0}


class FrameRewards(NamedTuple):
    """rewards: float32 [B] in [minimum_reward(weights), 0]; terms: means for logging;
    per_frame: float32 [B, T], each frame's own reward (same weights and clamping).

    terms[name] is the batch mean of the aggregated per-frame term (clamped to WORST, so
    mean(rewards) = -sum(weights[name] * terms[name])); terms["malformed"] is the fraction of
    samples that scored the minimum because their prediction was unusable (all its frames
    score it too). rewards = per_frame @ frame_weights(T, aggregate).
    """

    rewards: torch.Tensor
    terms: dict[str, float]
    per_frame: torch.Tensor


def minimum_reward(weights: Mapping[str, float] = DEFAULT_WEIGHTS) -> float:
    """The lowest reward: every term at its worst value, -sum(w * WORST)."""
    return -sum(w * WORST[name] for name, w in weights.items())


def frame_weights(frames: int, aggregate: str = "mean", discount: float = 0.9) -> torch.Tensor:
    """Weights over T predicted frames that sum to 1: [T] float32.

    mean: 1/T each. last: the last frame only. discounted: discount^k for the k-th predicted
    frame (k = 0 is the first, the nearest future), divided by their sum so the result stays
    on the scale of a single frame's reward, like the mean.
    """
    if aggregate == "mean":
        weights = torch.ones(frames)
    elif aggregate == "last":
        weights = torch.zeros(frames)
        weights[-1] = 1.0
    elif aggregate == "discounted":
        weights = discount ** torch.arange(frames, dtype=torch.float32)
    else:
        raise ValueError(f"unknown aggregate {aggregate!r}; known: {', '.join(AGGREGATES)}")
    return weights / weights.sum()


def clamp_term(name: str, values: torch.Tensor) -> torch.Tensor:
    """A term's per-frame values clamped to [0, WORST[name]], NaN counting as WORST (finite
    frames give finite terms; this guards the range anyway)."""
    return values.nan_to_num(WORST[name]).clamp(0.0, WORST[name])


def aggregate_terms(
    per_frame: Mapping[str, torch.Tensor], aggregate: str = "mean", discount: float = 0.9
) -> dict[str, torch.Tensor]:
    """{term: [B, T] per-frame values} -> {term: [B]}: each value clamped to [0, WORST] (NaN
    counts as WORST), then weighted over the T frames by `frame_weights`."""
    out = {}
    for name, values in per_frame.items():
        weight = frame_weights(values.shape[-1], aggregate, discount).to(values.device)  # [T]
        out[name] = clamp_term(name, values) @ weight
    return out


def reward_from_terms(
    terms: Mapping[str, torch.Tensor], weights: Mapping[str, float]
) -> torch.Tensor:
    """{term: [B] aggregated values} -> rewards [B] = -(sum of weight * term)."""
    batch = next(iter(terms.values())).shape[0]
    device = next(iter(terms.values())).device
    penalty = sum(weights[name] * terms[name] for name in weights)
    return torch.zeros(batch, device=device) - penalty  # 0 - 0 is +0.0, not -0.0


def _samples(pred, batch: int) -> list | None:
    """Split predictions into B per-sample items, or None when that is impossible."""
    if isinstance(pred, torch.Tensor):
        return list(pred.unbind(0)) if pred.ndim >= 1 and pred.shape[0] == batch else None
    if not isinstance(pred, Sequence):
        return None
    return list(pred) if len(pred) == batch else None


def usable(sample, shape: torch.Size) -> bool:
    """Whether a predicted sample can be scored: a finite float tensor of `shape`."""
    return (
        isinstance(sample, torch.Tensor)
        and sample.is_floating_point()
        and sample.shape == shape
        and bool(torch.isfinite(sample).all())
    )


def _term(name: str, pred: torch.Tensor, target: torch.Tensor, lpips_net: str) -> torch.Tensor:
    if name == "lpips":
        return metrics.lpips(pred, target, lpips_net)
    return getattr(metrics, name)(pred, target)


def _usable_frames(pred, target: torch.Tensor) -> tuple[list[int], torch.Tensor, torch.Tensor]:
    """The samples that can be scored (`usable`) and their frames and target frames, both
    float [U*T, 3, H, W] (None for both when no sample can)."""
    batch = target.shape[0]
    samples = _samples(pred, batch) or [None] * batch
    rows = [i for i, s in enumerate(samples) if usable(s, target.shape[1:])]
    if not rows:
        return rows, None, None
    x = torch.stack([samples[i].to(target.device) for i in rows]).float()
    return rows, x.flatten(0, 1), target[rows].float().flatten(0, 1)


def _batched(term, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> torch.Tensor:
    """`term(x, y)` over chunks of `batch_size` frames (bounds LPIPS memory), concatenated."""
    return torch.cat(
        [
            term(x[j : j + batch_size], y[j : j + batch_size])
            for j in range(0, x.shape[0], batch_size)
        ]
    )


def _checked(weights: Mapping[str, float] | None, target) -> dict[str, float]:
    """The reward's weights (default MAE + LPIPS) after checking them and the target frames
    (float [B, T, 3, H, W], finite, T >= 1): a caller's error raises ValueError."""
    weights = dict(DEFAULT_WEIGHTS if weights is None else weights)
    if not weights:
        raise ValueError(f"weights must name at least one term of {', '.join(sorted(WORST))}")
    unknown = sorted(set(weights) - set(WORST))
    if unknown:
        raise ValueError(f"unknown reward terms {unknown}; known: {', '.join(sorted(WORST))}")
    if any(w < 0 for w in weights.values()):
        raise ValueError(f"reward weights must be >= 0, got {weights}")
    if not isinstance(target, torch.Tensor) or target.ndim != 5 or target.shape[2] != 3:
        shape = tuple(target.shape) if isinstance(target, torch.Tensor) else type(target)
        raise ValueError(f"target must be a [B, T, 3, H, W] tensor, got {shape}")
    if not bool(torch.isfinite(target).all()):
        raise ValueError("target frames contain NaN or inf")
    if target.shape[1] == 0:
        raise ValueError("target has no frames (T = 0)")
    return weights


def frame_reward(
    pred: torch.Tensor | Sequence[torch.Tensor | None],
    target: torch.Tensor,
    weights: Mapping[str, float] | None = None,
    aggregate: str = "mean",
    discount: float = 0.9,
    lpips_net: str = "vgg",
    batch_size: int = 16,
) -> FrameRewards:
    """r = -(sum of weighted per-frame terms), aggregated over each sample's predicted frames.

    pred: float [B, T, 3, H, W] in [0, 1] (clamped), or a list of B such [T, 3, H, W] tensors
    (None for a sample that could not be decoded). target: float [B, T, 3, H, W].
    weights: term name ("mae", "mse", "lpips") -> weight >= 0; default MAE + LPIPS (SPEC §5).
    aggregate: "mean" | "last" | "discounted" over frames (see `frame_weights`).
    batch_size: frames per metric forward pass (bounds LPIPS memory).

    Never raises on a bad prediction: a sample whose prediction is missing, not a float
    tensor, of the wrong shape, or contains NaN/inf in any frame scores `minimum_reward`.
    A malformed `target` or bad arguments raise ValueError (those are caller errors).

    >>> import torch
    >>> target = torch.zeros(2, 3, 3, 16, 16)  # B=2 samples, T=3 frames
    >>> pred = target.clone()
    >>> pred[1, -1] = 0.5  # sample 1: the last frame is off by 0.5 everywhere
    >>> frame_reward(pred, target, weights={"mae": 1.0}).rewards
    tensor([ 0.0000, -0.1667])
    >>> frame_reward(pred, target, weights={"mae": 1.0}, aggregate="last").rewards
    tensor([ 0.0000, -0.5000])
    >>> pred[0, 0, 0, 0, 0] = float("nan")  # malformed: the minimum, -(1.0 * WORST["mae"])
    >>> frame_reward(pred, target, weights={"mae": 1.0}).rewards
    tensor([-1.0000, -0.1667])
    """
    weights = _checked(weights, target)
    if not 0 < discount <= 1:
        raise ValueError(f"discount must be in (0, 1], got {discount}")
    if (
        aggregate not in AGGREGATES
    ):  # checked here too: a batch with no usable sample must fail alike
        raise ValueError(f"unknown aggregate {aggregate!r}; known: {', '.join(AGGREGATES)}")
    batch, frames = target.shape[:2]
    usable_rows, x, y = _usable_frames(pred, target)
    # per-sample aggregated terms, malformed samples at the worst value: {name: [B]}
    terms = {name: torch.full((batch,), WORST[name], device=target.device) for name in weights}
    frame_terms = {
        name: torch.full((batch, frames), WORST[name], device=target.device) for name in weights
    }
    if usable_rows:
        with torch.no_grad():
            per_frame = {
                name: _batched(
                    lambda a, b, name=name: _term(name, a, b, lpips_net), x, y, batch_size
                ).view(len(usable_rows), frames)
                for name in weights
            }
            for name, values in aggregate_terms(per_frame, aggregate, discount).items():
                terms[name][usable_rows] = values
            for name, values in per_frame.items():
                frame_terms[name][usable_rows] = clamp_term(name, values)
    rewards = reward_from_terms(terms, weights)
    per_frame_rewards = reward_from_terms(
        {name: values.flatten() for name, values in frame_terms.items()}, weights
    ).view(batch, frames)
    log = {name: float(values.mean()) if batch else 0.0 for name, values in terms.items()}
    log["malformed"] = 1.0 - len(usable_rows) / batch if batch else 0.0
    return FrameRewards(rewards.float(), log, per_frame_rewards.float())


def _cell_term(name: str, pred: torch.Tensor, target: torch.Tensor, lpips_net: str, grid: int):
    """[N, 3, H, W] x 2 -> [N, grid, grid]: the term's per-pixel map averaged over each cell
    (frames clamped to [0, 1], as `metrics` does)."""
    pred, target = pred.clamp(0.0, 1.0), target.clamp(0.0, 1.0)
    if name == "lpips":
        network = lpips_network(lpips_net, pred.device)
        error = network.distance_map(pred * 2 - 1, target * 2 - 1)  # [N, 1, H, W]
    elif name == "mae":
        error = (pred - target).abs().mean(1, keepdim=True)
    else:  # mse
        error = (pred - target).pow(2).mean(1, keepdim=True)
    return torch.nn.functional.avg_pool2d(error, pred.shape[-1] // grid).squeeze(1)


def cell_rewards(
    pred: torch.Tensor | Sequence[torch.Tensor | None],
    target: torch.Tensor,
    grid: int,
    weights: Mapping[str, float] | None = None,
    lpips_net: str = "vgg",
    batch_size: int = 16,
) -> torch.Tensor:
    """The reward of each cell of each predicted frame, where a frame is cut into grid x grid
    equal cells (the cells a tokenizer's codes cover): -(sum of weight * term over the cell),
    each term clamped to [0, WORST] per cell. MAE and MSE of a cell are their means over its
    pixels, so the mean over the cells is the frame's value; LPIPS is the mean of its distance
    map (`LPIPSNetwork.distance_map`) over the cell, whose mean over the cells is close to the
    frame's LPIPS (equal where every layer's size divides the frame's).

    pred, target, weights, lpips_net, batch_size: as `frame_reward`. Returns float32
    [B, T, grid, grid]. Never raises on a bad prediction: every cell of a malformed sample
    scores `minimum_reward(weights)`. A grid that does not divide the frame raises ValueError.

    >>> target = torch.zeros(1, 1, 3, 4, 4)
    >>> pred = target.clone()
    >>> pred[0, 0, :, :2, :2] = 0.5  # the top-left cell of a 2 x 2 grid is off by 0.5
    >>> cell_rewards(pred, target, 2, weights={"mae": 1.0})[0, 0]
    tensor([[-0.5000,  0.0000],
            [ 0.0000,  0.0000]])
    """
    weights = _checked(weights, target)
    batch, frames, _, height, width = target.shape
    if grid < 1 or height % grid or width % grid:
        raise ValueError(f"a {grid} x {grid} grid does not divide {height} x {width} frames")
    usable_rows, x, y = _usable_frames(pred, target)
    out = torch.full((batch, frames, grid, grid), minimum_reward(weights), device=target.device)
    if usable_rows:
        with torch.no_grad():
            total = torch.zeros((x.shape[0], grid, grid), device=target.device)
            for name, weight in weights.items():
                values = _batched(
                    lambda a, b, name=name: _cell_term(name, a, b, lpips_net, grid),
                    x,
                    y,
                    batch_size,
                )
                total -= weight * clamp_term(name, values)
            out[usable_rows] = total.view(len(usable_rows), frames, grid, grid)
    return out.float()


class Repetition(NamedTuple):
    """repeats: bool [B]; rate: the fraction of samples that repeat (0.0 for B = 0)."""

    repeats: np.ndarray
    rate: float


def repetition(tokens: np.ndarray | torch.Tensor | Sequence) -> Repetition:
    """Does each multi-step sample end on a repeated frame? (SPEC §5)

    tokens: integer ids of the predicted frames, [B, T, K], or a list of B arrays [T_b, K].
    A sample repeats when its last two predicted frames have identical tokens; a sample
    with fewer than two predicted frames does not repeat.

    >>> repetition([[[1, 2], [3, 4], [3, 4]], [[1, 2], [3, 4], [3, 5]]])
    Repetition(repeats=array([ True, False]), rate=0.5)
    """
    if isinstance(tokens, torch.Tensor):
        tokens = tokens.detach().cpu().numpy()
    repeats = []
    for sample in tokens:
        frames = np.asarray(sample.detach().cpu() if isinstance(sample, torch.Tensor) else sample)
        if frames.ndim != 2:
            raise ValueError(f"expected each sample's tokens as [T, K], got shape {frames.shape}")
        repeats.append(len(frames) >= 2 and bool(np.array_equal(frames[-1], frames[-2])))
    repeats_array = np.array(repeats, dtype=bool)
    return Repetition(repeats_array, float(repeats_array.mean()) if len(repeats) else 0.0)
