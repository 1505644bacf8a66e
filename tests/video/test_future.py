"""The compressive future-frame tokenizer: context-conditioned codes, the tokenizer's future API,
saving, and its training on (context, future frame) pairs."""

import numpy as np
import pytest
import torch

from rlvr_world.domains.robot.config import TokenizerConfig
from rlvr_world.video.actions import ActionBinner
from rlvr_world.video.autoencoder import AutoencoderConfig, FrameAutoencoder, FutureAutoencoder
from rlvr_world.video.tokenizer import VideoTokenizer
from rlvr_world.video.training import _fit, change_weights, future_pairs, train_future_tokenizer

SIZE = 16


def make_tokenizer(future_levels=(5, 3), future_size=SIZE):
    torch.manual_seed(0)
    frame = FrameAutoencoder(AutoencoderConfig(levels=(5, 3), channels=(8, 8), frame_size=SIZE))
    future = FutureAutoencoder(
        AutoencoderConfig(levels=future_levels, channels=(8, 8, 8), frame_size=future_size)
    )
    actions = ActionBinner((-1.0,), (1.0,), 4)
    return VideoTokenizer(frame, actions), future


def test_future_codes_depend_on_the_context_and_decode_given_it():
    torch.manual_seed(0)
    model = FutureAutoencoder(AutoencoderConfig(channels=(8, 8, 8), frame_size=SIZE)).eval()
    frames, contexts = torch.rand(3, 3, SIZE, SIZE), torch.rand(3, 3, SIZE, SIZE)
    codes = model.encode(frames, contexts)
    assert codes.shape == (3, 2, 2) and model.config.tokens_per_frame == 4
    assert codes.min() >= 0 and codes.max() < model.codebook_size == 4375
    decoded = model.decode(codes, contexts)
    assert decoded.shape == frames.shape and 0 <= decoded.min() and decoded.max() <= 1
    torch.testing.assert_close(decoded, model(frames, contexts).clamp(0, 1), atol=1e-5, rtol=0)
    # the same codes read against another context give another frame
    assert not torch.allclose(decoded, model.decode(codes, contexts.flip(0)))


def test_tokenizer_future_api_saves_and_loads(tmp_path):
    tokenizer, future = make_tokenizer()
    frames = np.random.default_rng(0).integers(0, 256, (3, SIZE, SIZE, 3), dtype=np.uint8)
    # without a future tokenizer, future frames are plain frames
    assert tokenizer.tokens_per_future_frame == tokenizer.tokens_per_frame == 16
    assert np.array_equal(
        tokenizer.encode_future(frames, frames[0]), tokenizer.encode_frames(frames)
    )
    assert tokenizer.tokens_per_context_frame == 16
    assert np.array_equal(tokenizer.encode_context(frames), tokenizer.encode_frames(frames))
    tokenizer.set_future(future)
    assert tokenizer.tokens_per_future_frame == 4 and tokenizer.vocab_size == 15 + 4 + 3
    # a context frame: its frame codes, then its future codes given itself
    assert tokenizer.tokens_per_context_frame == 20
    own = np.stack([tokenizer.encode_future(f[None], f)[0] for f in frames])
    assert np.array_equal(
        tokenizer.encode_context(frames),
        np.concatenate([tokenizer.encode_frames(frames), own], axis=1),
    )
    ids = tokenizer.encode_future(frames, frames[0])  # one context for all
    assert ids.shape == (3, 4)
    assert np.array_equal(ids, tokenizer.encode_future(frames, np.stack([frames[0]] * 3)))
    decoded = tokenizer.decode_future(ids, frames[0])
    assert decoded.shape == (3, 3, SIZE, SIZE)
    with pytest.raises(ValueError, match="contexts must be"):
        tokenizer.encode_future(frames, frames[:2])
    with pytest.raises(ValueError, match=r"ids must be \[T, 4\]"):
        tokenizer.decode_future(np.zeros((2, 16)), frames[0])
    tokenizer.save(tmp_path)
    loaded = VideoTokenizer.load(tmp_path)
    assert loaded.future is not None
    assert np.array_equal(
        loaded.encode_future(frames, frames[1]), tokenizer.encode_future(frames, frames[1])
    )
    assert torch.equal(loaded.decode_future(ids, frames[0]), decoded)


@pytest.mark.parametrize(
    "kwargs, message",
    [({"future_levels": (7, 5, 5)}, "exceed"), ({"future_size": 32}, "px frames")],
)
def test_a_future_tokenizer_must_fit_the_frame_tokenizer(kwargs, message):
    tokenizer, future = make_tokenizer(**kwargs)
    with pytest.raises(ValueError, match=message):
        tokenizer.set_future(future)


def test_future_pairs_stay_inside_a_window():
    # frame t of an episode is filled with t, so a pair shows its offset
    episodes = [np.full((n, 4, 4, 3), np.arange(n)[:, None, None, None], np.uint8) for n in (2, 9)]
    contexts, futures = future_pairs(episodes, horizon=4, rng=np.random.default_rng(0), count=500)
    offsets = futures[:, 0, 0, 0].astype(int) - contexts[:, 0, 0, 0].astype(int)
    assert set(offsets.tolist()) == {1, 2, 3}
    with pytest.raises(ValueError, match="two frames"):
        future_pairs([episodes[0][:1]], 4, np.random.default_rng(0), 2)


@pytest.mark.parametrize("change_weight", [0.0, 20.0])
def test_train_future_tokenizer_reports_held_out_figures(change_weight):
    rng = np.random.default_rng(0)
    size = 32  # the smallest frame LPIPS (the loss and the figures) takes
    episodes = [rng.integers(0, 256, (5, size, size, 3), dtype=np.uint8) for _ in range(3)]
    cfg = TokenizerConfig(
        future_levels=(5, 3),
        future_channels=(8, 8),
        future_steps=3,
        batch_size=4,
        eval_frames=6,
        future_change_weight=change_weight,
    )
    logged = []
    future, figures = train_future_tokenizer(
        episodes[:2],
        episodes[2:],
        cfg,
        size,
        horizon=3,
        seed=0,
        log=lambda step, _: logged.append(step),
        progress=False,
    )
    assert isinstance(future, FutureAutoencoder) and not future.training
    assert future.config.tokens_per_frame == 64
    assert figures["steps"] == 3 and figures["frames"] == 6 and figures["psnr"] > 0
    assert logged[-1] == 3


def test_change_weights_pick_the_pixels_that_moved():
    contexts = torch.zeros(1, 3, 2, 2)
    frames = contexts.clone()
    frames[0, 1, 0, 0] = 0.1  # one channel moved past the threshold
    frames[0, :, 1, 1] = 0.03  # every channel moved, none past it
    weights = change_weights(frames, contexts, 20.0)
    assert weights.shape == (1, 1, 2, 2)
    assert weights[0, 0].tolist() == [[21.0, 1.0], [1.0, 1.0]]


def test_pixel_weights_enter_the_tokenizer_loss():
    # L1 weighted by zero everywhere (no perceptual term): nothing to learn, weights unchanged;
    # weighted by one: the plain L1, and the weights move
    frames = torch.rand(2, 3, SIZE, SIZE)
    cfg = TokenizerConfig(perceptual_weight=0.0, eval_every=0)
    moved = []
    for weight in (0.0, 1.0):
        _, future = make_tokenizer()
        before = [p.detach().clone() for p in future.parameters()]
        _fit(
            future,
            lambda: ((frames, frames), frames),
            cfg,
            steps=2,
            lr=1e-2,
            evaluate=dict,
            progress=False,
            pixel_weight=lambda inputs, x, weight=weight: torch.full_like(x[:, :1], weight),
        )
        moved.append(any(not torch.equal(a, b) for a, b in zip(before, future.parameters())))
    assert moved == [False, True]
