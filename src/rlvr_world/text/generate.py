"""How text tasks draw responses: free-form up to the tokenizer's EOS or the length limit."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from rlvr_world.core.protocols import Example
from rlvr_world.core.sampler import Samples, SamplingConfig, sample


def generate_until_eos(
    tokenizer,
    model: torch.nn.Module,
    examples: Sequence[Example],
    config: SamplingConfig,
    *,
    group_size: int = 1,
    generator: torch.Generator | None = None,
    batch_rows: tuple[int, int] | None = None,
) -> Samples:
    """`Task.generate` of a text task: `group_size` answers per example, each ending at the
    tokenizer's EOS (or truncated at `config.max_new_tokens`)."""
    return sample(
        model,
        [e.question_ids for e in examples],
        config,
        group_size=group_size,
        stop_ids=[tokenizer.eos_id],
        pad_id=tokenizer.pad_id,
        generator=generator,
        batch_rows=batch_rows,
    )
