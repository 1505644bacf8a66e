"""FSQ codes and the frame autoencoder: round trips, shapes, gradients."""

import itertools

import pytest
import torch

from rlvr_world.video import autoencoder as autoencoder_module
from rlvr_world.video.autoencoder import (
    AutoencoderConfig,
    FrameAutoencoder,
    FutureAutoencoder,
    float_to_frames,
    frames_to_float,
)
from rlvr_world.video.fsq import FSQ


@pytest.mark.parametrize("levels", [(7, 5, 5, 5, 5), (8, 6, 5), (2, 3)])
def test_every_code_round_trips(levels):
    fsq = FSQ(levels)
    size = fsq.codebook_size
    assert size == torch.tensor(levels).prod()
    codes = torch.arange(size).view(1, 1, size)
    latents = fsq.from_codes(codes)  # [1, d, 1, size], each channel in [-1, 1]
    assert latents.abs().max() <= 1.0
    # quantised latents map back to their own codes exactly
    digits = fsq._digits(latents)
    assert torch.equal((digits * fsq._basis.view(1, -1, 1, 1)).sum(1), codes)
    # every digit combination is a distinct code
    combos = list(itertools.product(*[range(level) for level in levels]))
    assert len(set(tuple(c) for c in digits[0, :, 0].T.tolist())) == len(combos)


def test_quantisation_uses_every_level_and_passes_gradients():
    fsq = FSQ((7, 5, 4))
    z = torch.linspace(-6, 6, 301).view(1, 1, 1, -1).expand(1, 3, 1, 301).clone()
    z.requires_grad_(True)
    q = fsq(z)
    for channel, level in enumerate((7, 5, 4)):
        assert len(q[0, channel].unique()) == level
    # codes are a lossless index of the quantised latents
    torch.testing.assert_close(fsq.from_codes(fsq.codes(z.detach())), q.detach())
    q.sum().backward()
    assert z.grad is not None and z.grad.abs().sum() > 0  # straight-through


def test_autoencoder_shapes_and_codes():
    torch.manual_seed(0)
    config = AutoencoderConfig(channels=(8, 16), frame_size=32)
    model = FrameAutoencoder(config).eval()
    frames = torch.rand(3, 3, 32, 32)
    codes = model.encode(frames)
    assert codes.shape == (3, 8, 8) and config.tokens_per_frame == 64
    assert codes.min() >= 0 and codes.max() < model.codebook_size
    decoded = model.decode(codes)
    assert decoded.shape == frames.shape and 0 <= decoded.min() and decoded.max() <= 1
    # decode(encode(x)) is what forward computes (up to the final clamp)
    torch.testing.assert_close(decoded, model(frames).clamp(0, 1), atol=1e-5, rtol=0)


def test_channels_last_layout_changes_speed_not_values(monkeypatch):
    """Both autoencoders run their convolutions on channels-last activations: the same frames,
    codes and gradients as the plain NCHW layout (to float rounding)."""
    torch.manual_seed(0)
    config = AutoencoderConfig(levels=(5, 3), channels=(8, 16), frame_size=32)
    frame, future = FrameAutoencoder(config).eval(), FutureAutoencoder(config).eval()
    x, c = torch.rand(3, 3, 32, 32), torch.rand(3, 3, 32, 32)
    codes = frame.encode(x)

    def run():
        frame.zero_grad()
        frame(x).sum().backward()
        return (
            frame.encode(x),
            frame.decode(codes),
            future.encode(x, c),
            future.decode(codes, c),
            frame.encoder[0].weight.grad.clone(),
        )

    assert run()[1].is_contiguous(memory_format=torch.channels_last)
    fast = run()
    monkeypatch.setattr(autoencoder_module, "nhwc", lambda tensor: tensor)
    plain = run()
    assert plain[1].is_contiguous()
    for i in (0, 2):  # codes: a latent within rounding of an FSQ boundary may flip one
        assert (fast[i] == plain[i]).float().mean() >= 0.98
    for i in (1, 3):  # decoded frames
        torch.testing.assert_close(fast[i], plain[i], atol=1e-5, rtol=1e-4)
    # the first layer's gradient sums over the batch in another order
    scale = plain[4].abs().max().item()
    torch.testing.assert_close(fast[4], plain[4], atol=1e-3 * scale, rtol=1e-3)


def test_autoencoder_save_load(tmp_path):
    model = FrameAutoencoder(AutoencoderConfig(channels=(8,), frame_size=16))
    model.save(tmp_path / "tok")
    loaded = FrameAutoencoder.load(tmp_path / "tok")
    frames = torch.rand(2, 3, 16, 16)
    assert torch.equal(loaded.encode(frames), model.eval().encode(frames))
    with pytest.raises(FileNotFoundError, match="autoencoder.json"):
        FrameAutoencoder.load(tmp_path / "missing")


def test_frame_conversions():
    frames = torch.randint(0, 256, (2, 8, 8, 3), dtype=torch.uint8)
    assert torch.equal(float_to_frames(frames_to_float(frames)), frames)
    with pytest.raises(ValueError, match=r"\[N, H, W, 3\]"):
        frames_to_float(torch.zeros(8, 8, 3))
