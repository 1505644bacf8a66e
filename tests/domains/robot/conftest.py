"""Shared fixtures: two short expert push episodes at 32 x 32, untrained tiny tokenizers and an
untrained tiny world model over their vocabulary."""

import pytest
import torch

from rlvr_world.core.model import ModelConfig, build_llama
from rlvr_world.domains.robot.policies import collect_episodes
from rlvr_world.video.actions import ActionBinner
from rlvr_world.video.autoencoder import AutoencoderConfig, FrameAutoencoder, FutureAutoencoder
from rlvr_world.video.tokenizer import VideoTokenizer

SIZE = 32


@pytest.fixture(scope="module")
def episodes():
    return collect_episodes("push", 2, "expert", seed=0, max_steps=10, size=SIZE)


@pytest.fixture(scope="module")
def tokenizer(episodes):
    torch.manual_seed(0)
    autoencoder = FrameAutoencoder(
        AutoencoderConfig(levels=(5, 3), channels=(8, 8, 8), frame_size=SIZE)
    )
    return VideoTokenizer(autoencoder, ActionBinner.fit([e["action"] for e in episodes]))


@pytest.fixture(scope="module")
def future_tokenizer(episodes):
    """The same frame tokenizer plus an untrained future-frame tokenizer: 2 x 2 = 4 tokens a
    frame after a context frame (16x downsampling)."""
    torch.manual_seed(1)
    autoencoder = FrameAutoencoder(
        AutoencoderConfig(levels=(5, 3), channels=(8, 8, 8), frame_size=SIZE)
    )
    future = FutureAutoencoder(
        AutoencoderConfig(levels=(5, 3), channels=(8, 8, 8, 8), frame_size=SIZE)
    )
    actions = ActionBinner.fit([e["action"] for e in episodes])
    return VideoTokenizer(autoencoder, actions, future)


@pytest.fixture(scope="module")
def model(tokenizer):
    """An untrained tiny Llama over the tokenizers' vocabulary (`tokenizer` and
    `future_tokenizer` have the same ids: 15 codes, then actions and specials)."""
    torch.manual_seed(0)
    config = ModelConfig(
        hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64, max_positions=512
    )
    ids = (tokenizer.vocab_size, tokenizer.pad_id, tokenizer.bos_id, tokenizer.eos_id)
    return build_llama(config, *ids).eval()
