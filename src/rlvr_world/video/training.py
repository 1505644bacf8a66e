"""Train the frame tokenizer (FSQ autoencoder) on L1 + LPIPS, and fit the action bins; train
the compressive future-frame tokenizer the same way on (context, future frame) pairs.

for step in 1..steps:
    x      = random batch of training frames                   [B, 3, H, W] in [0, 1]
    x_hat  = decoder(FSQ(encoder(x)))                          straight-through rounding
             (future: decoder(FSQ(encoder(x, c)), c) with c each frame's context frame)
    loss   = |x - x_hat|_1 + perceptual_weight * LPIPS(x_hat, x)
    AdamW step (cosine LR); on a clock: held-out PSNR / LPIPS of the reconstructions
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
from tqdm.auto import tqdm

from rlvr_world.video.actions import ActionBinner
from rlvr_world.video.autoencoder import (
    AutoencoderConfig,
    FrameAutoencoder,
    FutureAutoencoder,
    frames_to_float,
)
from rlvr_world.video.lpips import lpips_network
from rlvr_world.video.metrics import changed, frame_metrics
from rlvr_world.video.tokenizer import VideoTokenizer


@torch.no_grad()
def reconstruction_metrics(
    autoencoder: FrameAutoencoder, frames: np.ndarray, batch_size: int = 64
) -> dict[str, float]:
    """Mean PSNR, SSIM and LPIPS (VGG) of decode(encode(x)) against x over uint8 [N, H, W, 3]."""
    if len(frames) == 0:
        return {"psnr": 0.0, "ssim": 0.0, "lpips": 0.0}
    was_training = autoencoder.training
    autoencoder.eval()
    x = frames_to_float(frames)
    x_hat = torch.cat(
        [
            autoencoder.decode(autoencoder.encode(x[start : start + batch_size]))
            for start in range(0, len(x), batch_size)
        ]
    )
    autoencoder.train(was_training)
    values = frame_metrics(x_hat, x, lpips_net="vgg")
    return {k: float(values[k].mean()) for k in ("psnr", "ssim", "lpips")}


def _shape(levels, channels, cfg, frame_size: int) -> AutoencoderConfig:
    return AutoencoderConfig(
        levels=tuple(levels),
        channels=tuple(channels),
        blocks_per_stage=cfg.blocks_per_stage,
        frame_size=frame_size,
    )


def _fit(
    autoencoder: torch.nn.Module,
    draw,
    cfg,
    steps: int,
    lr: float,
    evaluate,
    log=None,
    progress: bool = True,
    desc: str = "tokenizer",
    pixel_weight=None,
) -> dict:
    """The training loop both autoencoders share: `draw()` -> (model inputs, target frames),
    L1 (each pixel weighted by `pixel_weight(inputs, target)` [N, 1, H, W] when given) +
    `cfg.perceptual_weight` * LPIPS, AdamW (peak `lr`) with warmup and cosine decay to 10%;
    `evaluate()` -> held-out figures (every `cfg.eval_every` steps and at the end).
    -> the final held-out figures with "steps" and "seconds"."""
    perceptual = lpips_network(cfg.perceptual_net) if cfg.perceptual_weight > 0 else None
    optimizer = torch.optim.AdamW(autoencoder.parameters(), lr=lr, weight_decay=0.0)
    warmup = max(1, min(100, steps // 10))

    def schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress_ = (step - warmup) / max(1, steps - warmup)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(progress_, 1.0)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    started = time.perf_counter()
    autoencoder.train()
    for step in tqdm(range(1, steps + 1), desc=desc, disable=not progress):
        inputs, x = draw()
        x_hat = autoencoder(*inputs)
        error = (x_hat - x).abs()
        l1 = error.mean()
        loss = l1 if pixel_weight is None else (error * pixel_weight(inputs, x)).mean()
        if perceptual is not None:
            loss = loss + cfg.perceptual_weight * perceptual(x_hat * 2 - 1, x * 2 - 1).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(autoencoder.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        if log is not None and step % 50 == 0:
            log(
                step,
                {
                    "loss": float(loss.detach()),
                    "l1": float(l1.detach()),
                    "lr": scheduler.get_last_lr()[0],
                },
            )
        if log is not None and cfg.eval_every and step % cfg.eval_every == 0 and step < steps:
            autoencoder.eval()
            log(step, {f"valid_{k}": v for k, v in evaluate().items()})
            autoencoder.train()
    autoencoder.eval()
    figures = evaluate()
    if log is not None:
        log(steps, {f"valid_{k}": v for k, v in figures.items()})
    figures.update(steps=steps, seconds=time.perf_counter() - started)
    return figures


def train_frame_tokenizer(
    train_frames: np.ndarray,
    valid_frames: np.ndarray,
    train_actions: list[np.ndarray],
    cfg,
    frame_size: int,
    seed: int,
    log=None,
    progress: bool = True,
) -> tuple[VideoTokenizer, dict]:
    """Fit a `VideoTokenizer`: the autoencoder on `train_frames` (uint8 [N, H, W, 3]), the
    action bins on `train_actions` (episodes' [T, D] arrays). `cfg` is a `TokenizerConfig`;
    `log(step, metrics)` receives the training and held-out figures.

    -> (tokenizer, {"psnr", "ssim", "lpips", "steps", "seconds", "frames"} on `valid_frames`).
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    autoencoder = FrameAutoencoder(_shape(cfg.levels, cfg.channels, cfg, frame_size))
    held_out = valid_frames[: cfg.eval_frames]

    def draw():
        x = frames_to_float(train_frames[rng.integers(0, len(train_frames), cfg.batch_size)])
        return (x,), x

    figures = _fit(
        autoencoder,
        draw,
        cfg,
        cfg.steps,
        cfg.lr,
        lambda: reconstruction_metrics(autoencoder, held_out),
        log=log,
        progress=progress,
    )
    figures["frames"] = len(held_out)
    return VideoTokenizer(autoencoder, ActionBinner.fit(train_actions)), figures


def future_pairs(
    episodes: list[np.ndarray], horizon: int, rng: np.random.Generator, count: int
) -> tuple[np.ndarray, np.ndarray]:
    """`count` random (context frame, future frame) pairs from episodes' frames (uint8
    [T, H, W, 3] each): the future frame 1..horizon-1 steps after its context, as the frames of
    a multi-step window of `horizon` frames follow its first. -> (contexts, futures) uint8
    [count, H, W, 3] each."""
    usable = [e for e in episodes if len(e) >= 2]
    if not usable:
        raise ValueError("future tokenizer: no episode has two frames")
    contexts, futures = [], []
    for index in rng.integers(0, len(usable), count):
        frames = usable[index]
        start = int(rng.integers(0, len(frames) - 1))
        offset = int(rng.integers(1, min(horizon - 1, len(frames) - 1 - start) + 1))
        contexts.append(frames[start])
        futures.append(frames[start + offset])
    return np.stack(contexts), np.stack(futures)


@torch.no_grad()
def future_metrics(
    future: FutureAutoencoder, contexts: np.ndarray, frames: np.ndarray, batch_size: int = 64
) -> dict[str, float]:
    """Mean PSNR, SSIM and LPIPS (VGG) of future frames decoded from their codes, given their
    contexts (uint8 [N, H, W, 3] each)."""
    if len(frames) == 0:
        return {"psnr": 0.0, "ssim": 0.0, "lpips": 0.0}
    c, x = frames_to_float(contexts), frames_to_float(frames)
    x_hat = torch.cat(
        [
            future.decode(
                future.encode(x[i : i + batch_size], c[i : i + batch_size]), c[i : i + batch_size]
            )
            for i in range(0, len(x), batch_size)
        ]
    )
    values = frame_metrics(x_hat, x, lpips_net="vgg")
    return {k: float(values[k].mean()) for k in ("psnr", "ssim", "lpips")}


def train_future_tokenizer(
    train_episodes: list[np.ndarray],
    valid_episodes: list[np.ndarray],
    cfg,
    frame_size: int,
    horizon: int,
    seed: int,
    log=None,
    progress: bool = True,
) -> tuple[FutureAutoencoder, dict]:
    """Fit the compressive future-frame tokenizer (`cfg.future_channels`, `cfg.future_levels`,
    `cfg.future_steps`, `cfg.future_lr`) on (context, future) pairs of the training episodes'
    frames, each future frame 1..horizon-1 steps after its context; with
    `cfg.future_change_weight` > 0 the pixels that differ from the context weigh more
    (`change_weights`).

    -> (autoencoder, {"psnr", "ssim", "lpips", "steps", "seconds", "frames"} on pairs of
    `valid_episodes`)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    future = FutureAutoencoder(_shape(cfg.future_levels, cfg.future_channels, cfg, frame_size))
    held_out = future_pairs(
        valid_episodes or train_episodes, horizon, np.random.default_rng(seed + 1), cfg.eval_frames
    )

    def draw():
        contexts, frames = future_pairs(train_episodes, horizon, rng, cfg.batch_size)
        x = frames_to_float(frames)
        return (x, frames_to_float(contexts)), x

    figures = _fit(
        future,
        draw,
        cfg,
        cfg.future_steps,
        cfg.future_lr,
        lambda: future_metrics(future, *held_out),
        log=log,
        progress=progress,
        desc="future tokenizer",
        pixel_weight=(
            (lambda inputs, x: change_weights(x, inputs[1], cfg.future_change_weight))
            if cfg.future_change_weight
            else None
        ),
    )
    figures["frames"] = len(held_out[0])
    return future, figures


def change_weights(frames: torch.Tensor, contexts: torch.Tensor, weight: float) -> torch.Tensor:
    """float [N, 3, H, W] frames and their context frames -> [N, 1, H, W] L1 weights: 1 + weight
    where the frame differs from its context (`metrics.changed`), else 1."""
    return 1.0 + weight * changed(frames, contexts).unsqueeze(1).to(frames.dtype)
