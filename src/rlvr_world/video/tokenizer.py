"""Frames and actions <-> one token vocabulary for a video world model.

Layout of the ids (SPEC §5: action bins come after the visual codes):

    [0, C)                      visual codes (C = 4375 by default)
    [C, C + D * bins)           action bins, dimension d at C + d * bins
    C + D * bins + 0, 1, 2      PAD, BOS, EOS

A tokenizer may also hold a `FutureAutoencoder` (the compressive tokenizer of multi-step
prediction): a context frame then takes K tokens (`encode_frames`) and each frame after it Kf
tokens encoded given it (`encode_future` / `decode_future`). Both sets of codes share the ids
[0, C); where a token sits in the sequence says which autoencoder it belongs to. Without one,
`encode_future` / `decode_future` are `encode_frames` / `decode_frames`.

A multi-step question shows its context frame through `encode_context`: its K frame codes and,
with a future tokenizer, its Kf future codes given itself. The second part puts the context in
the predicted frames' own code space: where the next frame does not change, its future codes
mostly repeat these, so the first predicted frame has codes to copy, as each later one has the
frame before it.

Legend: T frames, H x W pixels, K tokens a frame, Kf tokens a future frame, D action dimensions.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from rlvr_world.video.actions import ActionBinner
from rlvr_world.video.autoencoder import FrameAutoencoder, FutureAutoencoder, frames_to_float


class VideoTokenizer:
    """`core.protocols.Tokenizer` over frames, plus action tokens.

    `encode(frame)` / `decode(ids)` handle one frame ([H, W, 3] uint8 <-> [3, H, W] float in
    [0, 1]); the batched `encode_frames` / `decode_frames` / `encode_actions` are what tasks use.
    """

    def __init__(
        self,
        autoencoder: FrameAutoencoder,
        actions: ActionBinner,
        future: FutureAutoencoder | None = None,
    ) -> None:
        self.autoencoder = autoencoder.eval()
        self.actions = actions
        self.future = None
        self.codebook_size = autoencoder.codebook_size
        if future is not None:
            self.set_future(future)
        self.action_offset = self.codebook_size
        self.pad_id = self.action_offset + actions.vocab_size
        self.bos_id = self.pad_id + 1
        self.eos_id = self.pad_id + 2

    @property
    def vocab_size(self) -> int:
        return self.eos_id + 1

    def set_future(self, future: FutureAutoencoder) -> None:
        """Attach a compressive future-frame tokenizer (its codes must fit the visual ids)."""
        if future.codebook_size > self.codebook_size:
            raise ValueError(
                f"the future tokenizer's {future.codebook_size} codes exceed the frame "
                f"tokenizer's {self.codebook_size}: the ids are shared"
            )
        if future.config.frame_size != self.frame_size:
            raise ValueError(
                f"the future tokenizer takes {future.config.frame_size} px frames, the frame "
                f"tokenizer {self.frame_size} px"
            )
        self.future = future.eval()

    def to(self, device) -> VideoTokenizer:
        self.autoencoder.to(device)
        if self.future is not None:
            self.future.to(device)
        return self

    @property
    def tokens_per_frame(self) -> int:
        return self.autoencoder.config.tokens_per_frame

    @property
    def tokens_per_future_frame(self) -> int:
        """Tokens a frame after a context frame takes (Kf; K without a future tokenizer)."""
        if self.future is None:
            return self.tokens_per_frame
        return self.future.config.tokens_per_frame

    @property
    def tokens_per_context_frame(self) -> int:
        """Tokens `encode_context` gives a frame: K + Kf (K without a future tokenizer)."""
        if self.future is None:
            return self.tokens_per_frame
        return self.tokens_per_frame + self.tokens_per_future_frame

    @property
    def action_tokens(self) -> int:
        """Tokens an action takes (one per dimension)."""
        return self.actions.dimensions

    @property
    def visual_ids(self) -> range:
        return range(self.codebook_size)

    @property
    def frame_size(self) -> int:
        return self.autoencoder.config.frame_size

    def encode_frames(self, frames: np.ndarray | torch.Tensor, batch_size: int = 64) -> np.ndarray:
        """uint8 [T, H, W, 3] -> int64 [T, K] visual codes."""
        frames = torch.as_tensor(np.asarray(frames))
        size = self.frame_size
        if frames.dim() != 4 or tuple(frames.shape[1:]) != (size, size, 3):
            raise ValueError(
                f"frames must be [T, {size}, {size}, 3] uint8 for this tokenizer, "
                f"got {tuple(frames.shape)}"
            )
        device = next(self.autoencoder.parameters()).device
        out = [
            self.autoencoder.encode(frames_to_float(frames[i : i + batch_size]).to(device))
            .flatten(1)
            .cpu()
            for i in range(0, len(frames), batch_size)
        ]
        return torch.cat(out).numpy() if out else np.zeros((0, self.tokens_per_frame), np.int64)

    def decode_frames(self, ids: np.ndarray | torch.Tensor, batch_size: int = 64) -> torch.Tensor:
        """[T, K] ids -> float [T, 3, H, W] in [0, 1]. Ids outside the visual codes (a model that
        emitted an action or special id where a code belongs) are clipped into range."""
        ids = torch.as_tensor(np.asarray(ids), dtype=torch.long)
        if ids.dim() != 2 or ids.shape[1] != self.tokens_per_frame:
            raise ValueError(f"ids must be [T, {self.tokens_per_frame}], got {tuple(ids.shape)}")
        grid = self.autoencoder.config.grid
        device = next(self.autoencoder.parameters()).device
        codes = ids.clamp(0, self.codebook_size - 1).view(-1, grid, grid)
        out = [
            self.autoencoder.decode(codes[i : i + batch_size].to(device)).cpu()
            for i in range(0, len(codes), batch_size)
        ]
        size = self.frame_size
        return torch.cat(out) if out else torch.zeros((0, 3, size, size))

    def encode_future(
        self, frames: np.ndarray, contexts: np.ndarray, batch_size: int = 64
    ) -> np.ndarray:
        """uint8 [T, H, W, 3] frames, each after its context frame (uint8 [T, H, W, 3], or one
        [H, W, 3] for all) -> int64 [T, Kf] codes."""
        if self.future is None:
            return self.encode_frames(frames, batch_size)
        frames = np.asarray(frames)
        contexts = self._contexts(len(frames), contexts)
        device = next(self.future.parameters()).device
        out = [
            self.future.encode(
                frames_to_float(frames[i : i + batch_size]).to(device),
                frames_to_float(contexts[i : i + batch_size]).to(device),
            )
            .flatten(1)
            .cpu()
            for i in range(0, len(frames), batch_size)
        ]
        if not out:
            return np.zeros((0, self.tokens_per_future_frame), np.int64)
        return torch.cat(out).numpy()

    def encode_context(self, frames: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """uint8 [T, H, W, 3] context frames of multi-step questions -> int64 [T, K + Kf]: each
        frame's codes, then (future tokenizer) its future codes given itself."""
        ids = self.encode_frames(frames, batch_size)
        if self.future is None:
            return ids
        return np.concatenate([ids, self.encode_future(frames, frames, batch_size)], axis=1)

    def decode_future(
        self, ids: np.ndarray | torch.Tensor, contexts: np.ndarray, batch_size: int = 64
    ) -> torch.Tensor:
        """[T, Kf] ids of frames after the context frames `contexts` (uint8 [T, H, W, 3], or one
        [H, W, 3]) -> float [T, 3, H, W] in [0, 1] (ids clipped into the codes, as
        `decode_frames`)."""
        if self.future is None:
            return self.decode_frames(ids, batch_size)
        ids = torch.as_tensor(np.asarray(ids), dtype=torch.long)
        k = self.tokens_per_future_frame
        if ids.dim() != 2 or ids.shape[1] != k:
            raise ValueError(f"ids must be [T, {k}], got {tuple(ids.shape)}")
        contexts = self._contexts(len(ids), contexts)
        grid = self.future.config.grid
        device = next(self.future.parameters()).device
        codes = ids.clamp(0, self.future.codebook_size - 1).view(-1, grid, grid)
        out = [
            self.future.decode(
                codes[i : i + batch_size].to(device),
                frames_to_float(contexts[i : i + batch_size]).to(device),
            ).cpu()
            for i in range(0, len(codes), batch_size)
        ]
        size = self.frame_size
        return torch.cat(out) if out else torch.zeros((0, 3, size, size))

    def _contexts(self, count: int, contexts: np.ndarray) -> np.ndarray:
        """One context frame per frame: uint8 [count, H, W, 3] (one [H, W, 3] is repeated)."""
        contexts = np.asarray(contexts)
        size = self.frame_size
        if contexts.ndim == 3:
            contexts = np.repeat(contexts[None], count, axis=0)
        if contexts.shape != (count, size, size, 3):
            raise ValueError(
                f"contexts must be [{count}, {size}, {size}, 3] uint8 (or one frame), "
                f"got {tuple(contexts.shape)}"
            )
        return np.ascontiguousarray(contexts)

    def encode_actions(self, actions: np.ndarray) -> np.ndarray:
        """float [T, D] -> int64 [T, D] action token ids."""
        return self.actions.tokens(actions, self.action_offset)

    def decode_actions(self, ids: np.ndarray) -> np.ndarray:
        """[T, D] action token ids -> float [T, D] bin centres."""
        return self.actions.actions(ids, self.action_offset)

    def encode(self, x: np.ndarray) -> list[int]:
        return self.encode_frames(np.asarray(x)[None])[0].tolist()

    def decode(self, ids: Sequence[int]) -> torch.Tensor:
        codes = [i for i in ids if 0 <= i < self.codebook_size][: self.tokens_per_frame]
        codes += [0] * (self.tokens_per_frame - len(codes))
        return self.decode_frames(np.asarray([codes]))[0]

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        self.autoencoder.save(folder)
        self.actions.save(folder / "action_bins.json")
        if self.future is not None:
            self.future.save(folder)

    @classmethod
    def load(cls, folder: str | Path) -> VideoTokenizer:
        folder = Path(folder)
        future = FutureAutoencoder.load(folder) if FutureAutoencoder.exists(folder) else None
        return cls(
            FrameAutoencoder.load(folder), ActionBinner.load(folder / "action_bins.json"), future
        )
