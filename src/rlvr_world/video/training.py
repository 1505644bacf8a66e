"""Train the frame tokenizer (FSQ autoencoder) on L1 + LPIPS, and fit the action bins.

for step in 1..steps:
    x      = random batch of training frames                   [B, 3, H, W] in [0, 1]
    x_hat  = decoder(FSQ(encoder(x)))                          straight-through rounding
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
from rlvr_world.video.autoencoder import AutoencoderConfig, FrameAutoencoder, frames_to_float
from rlvr_world.video.lpips import lpips_network
from rlvr_world.video.metrics import frame_metrics
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

    -> (tokenizer, {"psnr", "ssim", "lpips", "steps", "seconds"} on `valid_frames`).
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    autoencoder = FrameAutoencoder(
        AutoencoderConfig(
            levels=tuple(cfg.levels),
            channels=tuple(cfg.channels),
            blocks_per_stage=cfg.blocks_per_stage,
            frame_size=frame_size,
        )
    )
    perceptual = lpips_network(cfg.perceptual_net) if cfg.perceptual_weight > 0 else None
    optimizer = torch.optim.AdamW(autoencoder.parameters(), lr=cfg.lr, weight_decay=0.0)
    warmup = max(1, min(100, cfg.steps // 10))

    def schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress_ = (step - warmup) / max(1, cfg.steps - warmup)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(progress_, 1.0)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    held_out = valid_frames[: cfg.eval_frames]
    started = time.perf_counter()
    autoencoder.train()
    for step in tqdm(range(1, cfg.steps + 1), desc="tokenizer", disable=not progress):
        x = frames_to_float(train_frames[rng.integers(0, len(train_frames), cfg.batch_size)])
        x_hat = autoencoder(x)
        l1 = (x_hat - x).abs().mean()
        loss = l1
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
        if log is not None and cfg.eval_every and step % cfg.eval_every == 0 and step < cfg.steps:
            log(
                step,
                {f"valid_{k}": v for k, v in reconstruction_metrics(autoencoder, held_out).items()},
            )
    autoencoder.eval()
    figures = reconstruction_metrics(autoencoder, held_out)
    figures.update(steps=cfg.steps, seconds=time.perf_counter() - started, frames=len(held_out))
    if log is not None:
        log(
            cfg.steps,
            {f"valid_{k}": v for k, v in figures.items() if k in ("psnr", "ssim", "lpips")},
        )
    return VideoTokenizer(autoencoder, ActionBinner.fit(train_actions)), figures
