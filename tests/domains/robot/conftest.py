"""Shared fixtures: two short expert push episodes at 32 x 32 and an untrained tiny tokenizer."""

import pytest
import torch

from rlvr_world.domains.robot.policies import collect_episodes
from rlvr_world.video.actions import ActionBinner
from rlvr_world.video.autoencoder import AutoencoderConfig, FrameAutoencoder
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
