"""Tiny Llama models shared by the core tests (seed 0, so every test sees the same weights).

Ids 0, 1, 2 are PAD, BOS, EOS.
"""

import pytest
import torch

from rlvr_world.core.model import ModelConfig, build_llama


def tiny_llama(vocab_size: int, max_positions: int) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_llama(
        ModelConfig(
            hidden_size=32,
            num_layers=2,
            num_heads=4,
            intermediate_size=64,
            max_positions=max_positions,
        ),
        vocab_size=vocab_size,
        pad_id=0,
        bos_id=1,
        eos_id=2,
    )


@pytest.fixture(scope="module")
def model():
    """One model in eval mode for the sampling tests (vocabulary 24)."""
    return tiny_llama(24, 128).eval()


@pytest.fixture
def make_model():
    """A fresh model (vocabulary 12) each call, for tests that train or compare two copies."""
    return lambda: tiny_llama(12, 64)
