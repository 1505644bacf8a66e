"""Finite scalar quantisation (Mentzer et al., 2023): a codebook-free discrete bottleneck.

Each of the d channels of a latent is squashed to a bounded range and rounded to one of
`levels[i]` values; the code of a latent vector is the mixed-radix number of its d digits, so
levels (7, 5, 5, 5, 5) give 7 * 5^4 = 4375 codes (the paper's frame tokenizer). Rounding passes
gradients straight through. No codebook, no commitment loss, no collapse.

Legend: N batch, d = len(levels) latent channels, H x W latent grid.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


class FSQ(torch.nn.Module):
    """Quantise [N, d, H, W] latents to codes in [0, prod(levels)).

    >>> fsq = FSQ((7, 5, 5, 5, 5))
    >>> fsq.codebook_size
    4375
    >>> z = torch.randn(2, 5, 3, 3)
    >>> codes = fsq.codes(z)
    >>> codes.shape, int(codes.min()) >= 0, int(codes.max()) < 4375
    (torch.Size([2, 3, 3]), True, True)
    >>> torch.allclose(fsq.from_codes(codes), fsq(z))  # the codes hold the quantised latents
    True
    """

    def __init__(self, levels: Sequence[int] = (7, 5, 5, 5, 5), eps: float = 1e-3) -> None:
        super().__init__()
        if not levels or any(level < 2 for level in levels):
            raise ValueError(f"FSQ levels must all be >= 2, got {tuple(levels)}")
        self.levels = tuple(int(level) for level in levels)
        self.eps = eps
        levels_t = torch.tensor(self.levels, dtype=torch.float)
        basis = torch.cumprod(torch.tensor((1,) + self.levels[:-1]), 0)
        self.register_buffer("_levels", levels_t, persistent=False)
        self.register_buffer("_basis", basis, persistent=False)

    @property
    def dimensions(self) -> int:
        return len(self.levels)

    @property
    def codebook_size(self) -> int:
        return int(torch.tensor(self.levels).prod())

    def _shape(self, like: torch.Tensor) -> tuple[int, ...]:
        return (1, -1) + (1,) * (like.dim() - 2)

    def bound(self, z: torch.Tensor) -> torch.Tensor:
        """[N, d, ...] -> values in (-(L-1)/2, (L-1)/2) per channel, shifted so that even L
        rounds to L distinct values too."""
        levels = self._levels.view(self._shape(z))
        half = (levels - 1) * (1 + self.eps) / 2
        offset = torch.where(levels % 2 == 0, 0.5, 0.0)
        shift = torch.atanh(offset / half)
        return torch.tanh(z + shift) * half - offset

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """[N, d, H, W] latents -> quantised latents in [-1, 1] (straight-through rounding)."""
        bounded = self.bound(z)
        rounded = bounded + (torch.round(bounded) - bounded).detach()
        half_width = (self._levels.view(self._shape(z)) // 2).clamp(min=1)
        return rounded / half_width

    def _digits(self, quantised: torch.Tensor) -> torch.Tensor:
        half_width = self._levels.view(self._shape(quantised)) // 2
        return torch.round(quantised * half_width.clamp(min=1) + half_width).long()

    def codes(self, z: torch.Tensor) -> torch.Tensor:
        """[N, d, H, W] latents -> [N, H, W] long codes."""
        digits = self._digits(self.forward(z))
        return (digits * self._basis.view(self._shape(z))).sum(1)

    def from_codes(self, codes: torch.Tensor) -> torch.Tensor:
        """[N, H, W] long codes -> [N, d, H, W] quantised latents (inverse of `codes`)."""
        codes = codes.long().clamp(0, self.codebook_size - 1)
        digits = (codes.unsqueeze(1) // self._basis.view(1, -1, 1, 1)) % self._levels.view(
            1, -1, 1, 1
        ).long()
        half_width = (self._levels.view(1, -1, 1, 1) // 2).clamp(min=1)
        return (digits - self._levels.view(1, -1, 1, 1) // 2) / half_width
