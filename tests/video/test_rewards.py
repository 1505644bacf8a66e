"""Frame rewards and repetition: hand-worked tables, malformed inputs, properties."""

import doctest

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr_world.video import metrics, rewards
from rlvr_world.video.rewards import (
    cell_rewards,
    frame_reward,
    frame_weights,
    minimum_reward,
    repetition,
)

MAE = {"mae": 1.0}


def constant_frames(offsets, size=12):
    """One sample whose k-th frame is offsets[k] everywhere, and an all-zero target.

    Its per-frame MAE is offsets[k] (clamped to 1), its per-frame MSE offsets[k] ** 2.
    """
    pred = torch.tensor(offsets, dtype=torch.float32).view(1, -1, 1, 1, 1)
    pred = pred.expand(1, len(offsets), 3, size, size).clone()
    return pred, torch.zeros_like(pred)


# (per-frame offsets, weights, aggregate, expected reward, why)
HAND_WORKED = [
    ([0.0, 0.0, 0.0], MAE, "mean", 0.0, "perfect prediction scores the maximum, 0"),
    ([0.1, 0.2, 0.3], MAE, "mean", -0.2, "mean of 0.1, 0.2, 0.3"),
    ([0.1, 0.2, 0.3], MAE, "last", -0.3, "last frame only"),
    ([0.1, 0.2, 0.3], MAE, "discounted", -(0.1 + 0.9 * 0.2 + 0.81 * 0.3) / 2.71, "0.9^k / 2.71"),
    (
        [0.3, 0.2, 0.1],
        MAE,
        "discounted",
        -(0.3 + 0.9 * 0.2 + 0.81 * 0.1) / 2.71,
        "early weighs more",
    ),
    ([0.5], MAE, "discounted", -0.5, "one frame: every aggregate is that frame"),
    ([0.1, 0.2, 0.3], {"mae": 2.0}, "mean", -0.4, "weights scale the term"),
    ([0.5, 0.5], {"mse": 1.0}, "mean", -0.25, "MSE of 0.5 everywhere"),
    ([0.5, 0.1], {"mae": 1.0, "mse": 1.0}, "mean", -(0.3 + 0.13), "terms add: MAE 0.3, MSE 0.13"),
    ([1.5, 0.0], MAE, "mean", -0.5, "predictions are clamped to [0, 1] first"),
    ([0.2, 0.4], {"mae": 0.0, "mse": 1.0}, "last", -0.16, "a zero weight drops a term"),
]


@pytest.mark.parametrize(("offsets", "weights", "aggregate", "expected", "why"), HAND_WORKED)
def test_hand_worked(offsets, weights, aggregate, expected, why):
    pred, target = constant_frames(offsets)
    result = frame_reward(pred, target, weights=weights, aggregate=aggregate)
    assert result.rewards.tolist() == pytest.approx([expected], abs=1e-6), why
    assert result.terms["malformed"] == 0.0


def test_discount_is_a_parameter():
    pred, target = constant_frames([0.0, 1.0])
    result = frame_reward(pred, target, weights=MAE, aggregate="discounted", discount=0.5)
    assert result.rewards.item() == pytest.approx(-0.5 / 1.5)


def nan_at_first_frame(pred):
    pred = pred.clone()
    pred[0, 0, 0, 0, 0] = float("nan")
    return pred


def inf_at_last_frame(pred):
    pred = pred.clone()
    pred[0, -1, 1, 2, 3] = float("inf")
    return pred


# (how the prediction is broken, why it must score the minimum)
MALFORMED = [
    (nan_at_first_frame, "NaN in any frame, even one that 'last' does not score"),
    (inf_at_last_frame, "inf pixel"),
    (lambda pred: pred[:, :, :, :-1], "wrong frame size"),
    (lambda pred: pred[:, :-1], "too few frames"),
    (lambda pred: pred[0], "a missing batch dimension"),
    (lambda pred: [None], "a sample that could not be decoded"),
    (lambda pred: [pred[0].to(torch.uint8)], "integer frames are not [0, 1] floats"),
    (lambda pred: "garbage", "not frames at all"),
    (lambda pred: torch.cat([pred, pred]), "batch size differs from the target's"),
]


@pytest.mark.parametrize(("aggregate"), rewards.AGGREGATES)
@pytest.mark.parametrize(("breaks", "why"), MALFORMED)
def test_malformed_prediction_scores_the_minimum(breaks, why, aggregate):
    pred, target = constant_frames([0.1, 0.2, 0.3])
    result = frame_reward(breaks(pred), target, weights=MAE, aggregate=aggregate)
    assert result.rewards.tolist() == [minimum_reward(MAE)] == [-1.0], why
    assert result.terms == {"mae": 1.0, "malformed": 1.0}


def test_minimum_reward_of_the_default_weights():
    # MAE at most 1, LPIPS clamped at 2: -(1 * 1 + 1 * 2)
    assert minimum_reward() == -3.0
    assert minimum_reward({"mae": 0.5, "mse": 2.0}) == -2.5


def test_a_malformed_sample_does_not_touch_the_others():
    good, target = constant_frames([0.2, 0.4])
    pred = torch.cat([good, nan_at_first_frame(good), good])
    result = frame_reward(pred, torch.cat([target] * 3), weights={"mae": 1.0, "mse": 1.0})
    good_reward = -(0.3 + 0.1)  # MAE mean 0.3, MSE mean (0.04 + 0.16) / 2
    assert result.rewards.tolist() == pytest.approx([good_reward, -2.0, good_reward])
    assert result.terms["malformed"] == pytest.approx(1 / 3)
    assert result.terms["mae"] == pytest.approx((0.3 + 1.0 + 0.3) / 3)


def test_list_of_samples_equals_a_stacked_tensor():
    torch.manual_seed(0)
    pred, target = torch.rand(3, 2, 3, 12, 12), torch.rand(3, 2, 3, 12, 12)
    stacked = frame_reward(pred, target, weights={"mae": 1.0, "mse": 0.5})
    listed = frame_reward(list(pred), target, weights={"mae": 1.0, "mse": 0.5})
    assert torch.equal(stacked.rewards, listed.rewards)


def test_default_weights_use_lpips_and_perfect_prediction_scores_zero():
    torch.manual_seed(0)
    target = torch.rand(2, 2, 3, 32, 32)
    pred = target.clone()
    pred[1] = (pred[1] + 0.1 * torch.randn_like(pred[1])).clamp(0, 1)
    result = frame_reward(pred, target)  # MAE + LPIPS (VGG)
    assert result.rewards[0].item() == 0.0
    flat_pred, flat_target = pred[1], target[1]  # [T, 3, H, W]
    expected = metrics.mae(flat_pred, flat_target) + metrics.lpips(flat_pred, flat_target, "vgg")
    assert result.rewards[1].item() == pytest.approx(-expected.mean().item(), abs=1e-6)
    assert set(result.terms) == {"mae", "lpips", "malformed"}
    alex = frame_reward(pred, target, weights={"lpips": 1.0}, lpips_net="alex")
    lpips_alex = metrics.lpips(flat_pred, flat_target, "alex").mean().item()
    assert alex.rewards[1].item() == pytest.approx(-lpips_alex, abs=1e-6)


def test_lpips_term_is_clamped_at_its_worst_value():
    target = torch.zeros(1, 1, 3, 32, 32)
    pred = target.clone()
    pred[..., ::2, ::2] = 1.0  # sparse white dots on black: AlexNet LPIPS ~ 0.34
    distance = -frame_reward(pred, target, weights={"lpips": 1.0}, lpips_net="alex").rewards
    assert 0.1 < distance.item() < rewards.WORST["lpips"]
    with pytest.MonkeyPatch.context() as patch:  # a ceiling below the distance shows the clamp
        patch.setitem(rewards.WORST, "lpips", distance.item() / 2)
        clamped = frame_reward(pred, target, weights={"lpips": 1.0}, lpips_net="alex")
    assert clamped.rewards.item() == pytest.approx(-distance.item() / 2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weights": {"psnr": 1.0}}, "known: lpips, mae, mse"),
        ({"weights": {}}, "at least one term"),
        ({"weights": {"mae": -1.0}}, "must be >= 0"),
        ({"aggregate": "max"}, "known: mean, last, discounted"),
        ({"discount": 0.0}, r"discount must be in \(0, 1\]"),
        ({"target": torch.zeros(1, 3, 8, 8)}, r"\[B, T, 3, H, W\]"),
        ({"target": torch.full((1, 1, 3, 8, 8), float("nan"))}, "NaN"),
    ],
)
def test_caller_errors_raise(kwargs, message):
    pred, target = constant_frames([0.1])
    arguments = {"weights": MAE, "target": target[..., :8, :8], **kwargs}
    with pytest.raises(ValueError, match=message):
        frame_reward(pred[..., :8, :8], **arguments)


@pytest.mark.parametrize("aggregate", rewards.AGGREGATES)
@pytest.mark.parametrize("frames", [1, 2, 5])
def test_frame_weights_sum_to_one(aggregate, frames):
    weights = frame_weights(frames, aggregate)
    assert weights.shape == (frames,) and weights.sum().item() == pytest.approx(1.0)
    assert torch.all(weights >= 0)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    batch=st.integers(1, 4),
    frames=st.integers(1, 3),
    aggregate=st.sampled_from(rewards.AGGREGATES),
)
def test_properties_range_perfect_is_max_and_order_independence(seed, batch, frames, aggregate):
    generator = torch.Generator().manual_seed(seed)
    weights = {"mae": 1.0, "mse": 2.0}
    target = torch.rand(batch, frames, 3, 6, 6, generator=generator)
    pred = torch.rand(batch, frames, 3, 6, 6, generator=generator) * 1.4 - 0.2
    result = frame_reward(pred, target, weights=weights, aggregate=aggregate)
    assert torch.all(result.rewards <= 0) and torch.all(result.rewards >= minimum_reward(weights))
    perfect = frame_reward(target, target, weights=weights, aggregate=aggregate)
    assert torch.all(perfect.rewards == 0) and torch.all(perfect.rewards >= result.rewards)
    order = torch.randperm(batch, generator=generator)
    shuffled = frame_reward(pred[order], target[order], weights=weights, aggregate=aggregate)
    assert torch.allclose(shuffled.rewards, result.rewards[order])
    one_by_one = [
        frame_reward(pred[i : i + 1], target[i : i + 1], weights=weights, aggregate=aggregate)
        for i in range(batch)
    ]
    assert torch.allclose(torch.cat([r.rewards for r in one_by_one]), result.rewards)
    # the logged term means explain the mean reward exactly
    mean_from_terms = -sum(w * result.terms[name] for name, w in weights.items())
    assert result.rewards.mean().item() == pytest.approx(mean_from_terms, abs=1e-6)


def test_docstring_examples_run():
    failures, tried = doctest.testmod(rewards, raise_on_error=False)
    assert tried >= 5 and failures == 0


# (token ids [B, T, K] or per-sample [T, K], expected repeats, why)
REPETITION = [
    ([[[1, 2], [3, 4], [3, 4]]], [True], "last two frames identical"),
    ([[[3, 4], [3, 4], [5, 6]]], [False], "an earlier repeat does not count"),
    ([[[1, 2], [3, 4], [4, 3]]], [False], "same tokens in another order differ"),
    ([[[7, 7]]], [False], "one predicted frame cannot repeat"),
    ([[[1, 2, 3], [1, 2, 3]], [[1, 2, 3], [1, 2, 4]]], [True, False], "per sample"),
    ([np.array([[1], [1], [1]]), np.array([[2], [3]])], [True, False], "ragged T as a list"),
]


@pytest.mark.parametrize(("tokens", "expected", "why"), REPETITION)
def test_repetition(tokens, expected, why):
    result = repetition(tokens)
    assert result.repeats.dtype == bool and result.repeats.tolist() == expected, why
    assert result.rate == pytest.approx(sum(expected) / len(expected))


def test_repetition_accepts_tensors_and_empty_batches():
    tokens = torch.tensor([[[1, 2], [1, 2]], [[1, 2], [2, 1]], [[0, 0], [0, 0]]])
    assert repetition(tokens).rate == pytest.approx(2 / 3)
    assert repetition(torch.zeros(0, 2, 4, dtype=torch.long)).rate == 0.0
    with pytest.raises(ValueError, match=r"\[T, K\]"):
        repetition(torch.zeros(2, 3))


# ---------------------------------------------------------------------------------------------
# cell_rewards: the reward of each cell of a frame (per-token credit)
# ---------------------------------------------------------------------------------------------


def test_cell_rewards_hand_worked_and_mean_is_the_frame_reward():
    # 2 frames of 8 x 8 on a 2 x 2 grid; frame 0: the top-right cell off by 0.4, frame 1:
    # everything off by 0.1, the bottom-left cell by 0.5
    target = torch.zeros(1, 2, 3, 8, 8)
    pred = target.clone()
    pred[0, 0, :, :4, 4:] = 0.4
    pred[0, 1] = 0.1
    pred[0, 1, :, 4:, :4] = 0.5
    for weights in (MAE, {"mse": 1.0}, {"mae": 1.0, "mse": 2.0}):
        mae, mse = weights.get("mae", 0.0), weights.get("mse", 0.0)
        off = [[[0.0, 0.4], [0.0, 0.0]], [[0.1, 0.1], [0.5, 0.1]]]  # per frame, per cell
        expected = -(mae * torch.tensor(off) + mse * torch.tensor(off) ** 2)
        cells = cell_rewards(pred, target, 2, weights)
        torch.testing.assert_close(cells[0], expected)
        # MAE and MSE cells partition the frame: their mean is the frame's reward
        per_frame = frame_reward(pred, target, weights=weights).per_frame
        torch.testing.assert_close(cells.mean((2, 3)), per_frame)


def test_cell_lpips_is_local_and_averages_to_the_frames():
    generator = torch.Generator().manual_seed(0)
    target = torch.rand(1, 2, 3, 64, 64, generator=generator)
    pred = target.clone()
    pred[0, :, :, 16:32, 48:64] = torch.rand(2, 3, 16, 16, generator=generator)  # cell (1, 3)
    cells = cell_rewards(pred, target, 4, {"lpips": 1.0}, lpips_net="alex")
    worst = cells[0].flatten(1).argmin(1)
    assert worst.tolist() == [1 * 4 + 3, 1 * 4 + 3]  # the changed cell scores lowest
    assert cells[0, :, 3, 0].max() > -1e-3  # a far cell barely notices it
    frames = frame_reward(pred, target, weights={"lpips": 1.0}, lpips_net="alex").per_frame
    torch.testing.assert_close(cells.mean((2, 3)), frames, rtol=0.02, atol=1e-4)


def test_cell_rewards_malformed_samples_and_caller_errors():
    pred, target = constant_frames([0.1, 0.2], size=8)
    pred = torch.cat([pred, pred])
    pred[1, 0, 0, 0, 0] = float("nan")
    cells = cell_rewards(pred, torch.cat([target, target]), 2, MAE)
    assert torch.all(cells[1] == minimum_reward(MAE))  # every cell of the malformed sample
    torch.testing.assert_close(cells[0, :, 0, 0], torch.tensor([-0.1, -0.2]))
    with pytest.raises(ValueError, match="does not divide"):
        cell_rewards(pred, torch.cat([target, target]), 3, MAE)
    with pytest.raises(ValueError, match="known: lpips, mae, mse"):
        cell_rewards(pred, torch.cat([target, target]), 2, {"psnr": 1.0})
