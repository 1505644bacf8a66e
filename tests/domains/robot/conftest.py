"""Shared fixtures: two short expert push episodes at 32 x 32 and untrained tiny tokenizers."""

import pytest
import torch

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
