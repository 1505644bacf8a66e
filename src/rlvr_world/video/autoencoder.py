"""The frame tokenizer: convolutional discrete autoencoders with an FSQ bottleneck.

- `FrameAutoencoder`: a frame [3, H, W] in [0, 1] is encoded to an (H/f) x (W/f) grid of FSQ
  codes (f = 2^stages, 8 by default: 64 codes for a 64 x 64 frame) and decoded back.
- `FutureAutoencoder`, the compressive tokenizer of multi-step prediction (SPEC §5, after
  iVideoGPT): a *future* frame is encoded given the context frame it follows, and decoded
  conditioned on that context frame (its features are concatenated at every decoder
  resolution, U-Net style). What the context already shows costs no tokens, so a future frame
  takes few (16 at 16x downsampling) and they describe what moved.

Both are trained with L1 + LPIPS (`video.training`); the paper's are the same idea at 16x
downsampling with a GAN term. Their convolutions run on channels-last (NHWC) activations
(`nhwc`). Frames from `frames_to_float` already are (a permuted view of uint8 [N, H, W, 3]);
decoding starts from codes, which are not: there the layout makes decoding a batch of 64
future frames 1.5x as fast on a CPU.

Legend: N frames, C channels, H x W pixels, h x w = H/f x W/f code grid, K = h*w codes a frame.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from rlvr_world.video.fsq import FSQ


@dataclass(frozen=True)
class AutoencoderConfig:
    """Shape of the frame tokenizer."""

    levels: tuple[int, ...] = (7, 5, 5, 5, 5)
    """FSQ levels per latent channel; the codebook size is their product (4375)."""
    channels: tuple[int, ...] = (32, 64, 96)
    """Width after each downsampling stage; len(channels) stages = 2^stages downsampling."""
    blocks_per_stage: int = 1
    """Residual blocks at each resolution."""
    frame_size: int = 64
    """Frames are square, this many pixels a side."""

    def __post_init__(self) -> None:
        if not self.channels:
            raise ValueError("autoencoder.channels must name at least one stage")
        if self.frame_size % (2 ** len(self.channels)):
            raise ValueError(
                f"frame_size {self.frame_size} must be divisible by the downsampling factor "
                f"{2 ** len(self.channels)}"
            )

    @property
    def downsampling(self) -> int:
        return 2 ** len(self.channels)

    @property
    def grid(self) -> int:
        """Codes per side of a frame."""
        return self.frame_size // self.downsampling

    @property
    def tokens_per_frame(self) -> int:
        return self.grid * self.grid


def nhwc(x: torch.Tensor) -> torch.Tensor:
    """[N, C, H, W] stored channels-last: same values and shape, the memory layout that
    convolutions run fastest on (oneDNN on a CPU, tensor cores on a GPU); later layers keep it."""
    return x.contiguous(memory_format=torch.channels_last)


class ResidualBlock(torch.nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm1 = torch.nn.GroupNorm(min(8, channels), channels)
        self.conv1 = torch.nn.Conv2d(channels, channels, 3, padding=1)
        self.norm2 = torch.nn.GroupNorm(min(8, channels), channels)
        self.conv2 = torch.nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        return x + self.conv2(F.silu(self.norm2(h)))


def _stage(blocks: int, channels: int) -> list[torch.nn.Module]:
    return [ResidualBlock(channels) for _ in range(blocks)]


class _Saved(torch.nn.Module):
    """Save / load as `<FILE>.json` (the config) + `<FILE>.safetensors` in a folder."""

    FILE = ""

    def __init__(self, config: AutoencoderConfig) -> None:
        super().__init__()
        self.config = config

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_file(self.state_dict(), str(folder / f"{self.FILE}.safetensors"))
        (folder / f"{self.FILE}.json").write_text(json.dumps(asdict(self.config), indent=2))

    @classmethod
    def exists(cls, folder: str | Path) -> bool:
        return (Path(folder) / f"{cls.FILE}.json").exists()

    @classmethod
    def load(cls, folder: str | Path):
        folder = Path(folder)
        try:
            values = json.loads((folder / f"{cls.FILE}.json").read_text())
        except (OSError, ValueError) as error:
            raise FileNotFoundError(f"{folder}: no readable {cls.FILE}.json ({error})") from error
        config = AutoencoderConfig(
            **{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
        )
        model = cls(config)
        model.load_state_dict(load_file(str(folder / f"{cls.FILE}.safetensors")))
        return model.eval()


class FrameAutoencoder(_Saved):
    """Frames [N, 3, H, W] in [0, 1] <-> codes [N, h, w] long in [0, codebook_size)."""

    FILE = "autoencoder"

    def __init__(self, config: AutoencoderConfig = AutoencoderConfig()) -> None:
        super().__init__(config)
        self.quantiser = FSQ(config.levels)
        widths = config.channels
        encoder: list[torch.nn.Module] = [torch.nn.Conv2d(3, widths[0], 3, padding=1)]
        previous = widths[0]
        for width in widths:  # each stage: blocks at this resolution, then halve it
            encoder += [torch.nn.Conv2d(previous, width, 3, stride=2, padding=1)]
            encoder += _stage(config.blocks_per_stage, width)
            previous = width
        encoder += [
            torch.nn.GroupNorm(min(8, previous), previous),
            torch.nn.SiLU(),
            torch.nn.Conv2d(previous, len(config.levels), 1),
        ]
        self.encoder = torch.nn.Sequential(*encoder)
        # the decoder mirrors the encoder: the same width at each resolution, channels cut
        # before upsampling so the full-resolution layers stay cheap
        decoder: list[torch.nn.Module] = [
            torch.nn.Conv2d(len(config.levels), widths[-1], 3, padding=1)
        ]
        for i in reversed(range(len(widths))):
            decoder += _stage(config.blocks_per_stage, widths[i])
            decoder += [
                torch.nn.Conv2d(widths[i], widths[max(i - 1, 0)], 3, padding=1),
                torch.nn.Upsample(scale_factor=2, mode="nearest"),
            ]
        decoder += [
            torch.nn.GroupNorm(min(8, widths[0]), widths[0]),
            torch.nn.SiLU(),
            torch.nn.Conv2d(widths[0], 3, 3, padding=1),
        ]
        self.decoder = torch.nn.Sequential(*decoder)

    @property
    def codebook_size(self) -> int:
        return self.quantiser.codebook_size

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """[N, 3, H, W] -> reconstruction [N, 3, H, W] (unclamped; gradients flow through FSQ)."""
        return self.decoder(self.quantiser(self.encoder(nhwc(frames * 2 - 1)))) * 0.5 + 0.5

    @torch.no_grad()
    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        """[N, 3, H, W] float in [0, 1] -> [N, h, w] long codes."""
        return self.quantiser.codes(self.encoder(nhwc(frames * 2 - 1)))

    @torch.no_grad()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """[N, h, w] long codes -> [N, 3, H, W] frames clamped to [0, 1]."""
        return (self.decoder(nhwc(self.quantiser.from_codes(codes))) * 0.5 + 0.5).clamp(0, 1)


class FutureAutoencoder(_Saved):
    """Future frames given their context frames: (frames, contexts) [N, 3, H, W] in [0, 1] <->
    codes [N, h, w] long in [0, codebook_size).

    The encoder sees the future frame and its context side by side (6 channels); a context
    encoder of the same widths gives the decoder the context's features at every resolution.
    """

    FILE = "future"

    def __init__(self, config: AutoencoderConfig = AutoencoderConfig()) -> None:
        super().__init__(config)
        self.quantiser = FSQ(config.levels)
        widths = config.channels
        self.encoder_stem = torch.nn.Conv2d(6, widths[0], 3, padding=1)
        self.context_stem = torch.nn.Conv2d(3, widths[0], 3, padding=1)
        self.encoder_stages = torch.nn.ModuleList()
        self.context_stages = torch.nn.ModuleList()
        previous = widths[0]
        for width in widths:
            for stages in (self.encoder_stages, self.context_stages):
                stages.append(
                    torch.nn.Sequential(
                        torch.nn.Conv2d(previous, width, 3, stride=2, padding=1),
                        *_stage(config.blocks_per_stage, width),
                    )
                )
            previous = width
        self.encoder_head = torch.nn.Sequential(
            torch.nn.GroupNorm(min(8, previous), previous),
            torch.nn.SiLU(),
            torch.nn.Conv2d(previous, len(config.levels), 1),
        )
        self.decoder_stem = torch.nn.Conv2d(len(config.levels), widths[-1], 3, padding=1)
        # from the coarsest resolution up: join the context's features, blocks, cut channels,
        # upsample; at full resolution join the context's stem features and predict pixels
        self.decoder_stages = torch.nn.ModuleList(
            torch.nn.Sequential(
                torch.nn.Conv2d(2 * widths[i], widths[i], 3, padding=1),
                *_stage(config.blocks_per_stage, widths[i]),
                torch.nn.Conv2d(widths[i], widths[max(i - 1, 0)], 3, padding=1),
                torch.nn.Upsample(scale_factor=2, mode="nearest"),
            )
            for i in reversed(range(len(widths)))
        )
        self.decoder_head = torch.nn.Sequential(
            torch.nn.Conv2d(2 * widths[0], widths[0], 3, padding=1),
            *_stage(config.blocks_per_stage, widths[0]),
            torch.nn.GroupNorm(min(8, widths[0]), widths[0]),
            torch.nn.SiLU(),
            torch.nn.Conv2d(widths[0], 3, 3, padding=1),
        )

    @property
    def codebook_size(self) -> int:
        return self.quantiser.codebook_size

    def context_features(self, contexts: torch.Tensor) -> list[torch.Tensor]:
        """[N, 3, H, W] -> the context's features at full, 1/2, ..., 1/f resolution."""
        h = self.context_stem(nhwc(contexts * 2 - 1))
        features = [h]
        for stage in self.context_stages:
            h = stage(h)
            features.append(h)
        return features

    def latents(self, frames: torch.Tensor, contexts: torch.Tensor) -> torch.Tensor:
        h = self.encoder_stem(nhwc(torch.cat([frames, contexts], 1) * 2 - 1))
        for stage in self.encoder_stages:
            h = stage(h)
        return self.encoder_head(h)

    def _decode(self, quantised: torch.Tensor, contexts: torch.Tensor) -> torch.Tensor:
        features = self.context_features(contexts)
        h = self.decoder_stem(nhwc(quantised))
        for stage, feature in zip(self.decoder_stages, reversed(features[1:])):
            h = stage(torch.cat([h, feature], 1))
        return self.decoder_head(torch.cat([h, features[0]], 1)) * 0.5 + 0.5

    def forward(self, frames: torch.Tensor, contexts: torch.Tensor) -> torch.Tensor:
        """-> reconstruction [N, 3, H, W] (unclamped; gradients flow through FSQ)."""
        return self._decode(self.quantiser(self.latents(frames, contexts)), contexts)

    @torch.no_grad()
    def encode(self, frames: torch.Tensor, contexts: torch.Tensor) -> torch.Tensor:
        """[N, 3, H, W] frames and their contexts in [0, 1] -> [N, h, w] long codes."""
        return self.quantiser.codes(self.latents(frames, contexts))

    @torch.no_grad()
    def decode(self, codes: torch.Tensor, contexts: torch.Tensor) -> torch.Tensor:
        """[N, h, w] codes and [N, 3, H, W] contexts -> [N, 3, H, W] frames clamped to [0, 1]."""
        return self._decode(self.quantiser.from_codes(codes), contexts).clamp(0, 1)


def frames_to_float(frames: Sequence | torch.Tensor) -> torch.Tensor:
    """uint8 [N, H, W, 3] (numpy or torch) -> float [N, 3, H, W] in [0, 1]."""
    tensor = torch.as_tensor(frames)
    if tensor.dim() != 4 or tensor.shape[-1] != 3:
        raise ValueError(f"frames must be [N, H, W, 3], got {tuple(tensor.shape)}")
    return tensor.permute(0, 3, 1, 2).float() / 255.0


def float_to_frames(frames: torch.Tensor) -> torch.Tensor:
    """float [N, 3, H, W] in [0, 1] -> uint8 [N, H, W, 3]."""
    return (frames.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).contiguous()
