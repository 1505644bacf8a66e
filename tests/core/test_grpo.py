"""GRPO maths: hand-worked numbers, properties, and a check against a naive per-token loop."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr_world.core.grpo import (
    GRPOLossConfig,
    aggregate_loss,
    clipped_surrogate,
    entropy_from_logits,
    group_advantages,
    grpo_loss,
    kl_penalty,
    masked_mean,
    masked_sum,
    positions_in_spans,
    reward_to_go,
    span_advantages,
    spread_over_spans,
    spread_over_tokens,
    token_advantages,
    token_returns,
    truncation_mask,
    zero_variance_groups,
)

F64 = torch.float64


def t(values, dtype=F64) -> torch.Tensor:
    return torch.tensor(values, dtype=dtype)


# ---------------------------------------------------------------------------------------------
# group_advantages
# ---------------------------------------------------------------------------------------------


def test_group_advantages_hand_worked_group():
    # rewards [1, 0, 0, 1, 1], G = 5: mean 0.6, deviations [0.4, -0.6, -0.6, 0.4, 0.4],
    # sum of squares 3 * 0.16 + 2 * 0.36 = 1.2, unbiased var 1.2 / 4 = 0.3, std 0.5477225575.
    std = math.sqrt(0.3)
    assert std == pytest.approx(0.5477225575)
    expected = [0.4 / (std + 1e-6), -0.6 / (std + 1e-6), -0.6 / (std + 1e-6)]
    expected += [0.4 / (std + 1e-6)] * 2  # 0.7302954..., -1.0954431...
    out = group_advantages(t([1, 0, 0, 1, 1]), group_size=5)
    torch.testing.assert_close(out, t(expected))
    assert out[0].item() == pytest.approx(0.730296, abs=1e-5)
    assert out[1].item() == pytest.approx(-1.095443, abs=1e-5)


def test_group_advantages_two_groups_are_independent():
    # group 1 [1, 0]: mean 0.5, std sqrt(0.5) = 0.7071 -> [+0.7071, -0.7071];
    # group 2 [2, 4]: mean 3, std sqrt(2) = 1.4142 -> [-0.7071, +0.7071].
    out = group_advantages(t([1, 0, 2, 4]), group_size=2)
    expected = [0.5 / (math.sqrt(0.5) + 1e-6), -0.5 / (math.sqrt(0.5) + 1e-6)]
    expected += [-1 / (math.sqrt(2) + 1e-6), 1 / (math.sqrt(2) + 1e-6)]
    torch.testing.assert_close(out, t(expected))


def test_group_advantages_equal_rewards_give_exact_zeros():
    # 0.1 * 3 / 3 != 0.1 in floats: the mean of a constant group leaves a residue that must not be
    # divided by eps into a huge advantage.
    rewards = t([0.1, 0.1, 0.1, 1.0, 0.0, 0.5])
    for scale in ("group", "batch", "none"):
        for baseline in ("mean", "rloo"):
            out = group_advantages(rewards, 3, scale=scale, baseline=baseline)
            assert torch.equal(out[:3], torch.zeros(3, dtype=F64)), (scale, baseline)
            assert out[3:].abs().sum() > 0


def test_group_advantages_rloo():
    # rewards [1, 0, 0, 1, 1]: a 1 sees others [0, 0, 1, 1] -> baseline 0.5 -> A = 0.5;
    # a 0 sees others [0, 1, 1, 1] -> baseline 0.75 -> A = -0.75 (= G / (G-1) * (r - mean)).
    rewards = t([1, 0, 0, 1, 1])
    out = group_advantages(rewards, 5, scale="none", baseline="rloo")
    torch.testing.assert_close(out, t([0.5, -0.75, -0.75, 0.5, 0.5]))
    scaled = group_advantages(rewards, 5, scale="group", baseline="rloo")
    torch.testing.assert_close(scaled, out / (math.sqrt(0.3) + 1e-6))


def test_group_advantages_batch_and_none_scaling():
    # rewards [1, 0, 2, 4], G = 2: centred [0.5, -0.5, -1, 1]; their unbiased std over all four:
    # mean 0, sum of squares 2.5, var 2.5 / 3 = 0.8333, std 0.9128709.
    rewards = t([1, 0, 2, 4])
    none = group_advantages(rewards, 2, scale="none")
    torch.testing.assert_close(none, t([0.5, -0.5, -1.0, 1.0]))
    batch = group_advantages(rewards, 2, scale="batch")
    torch.testing.assert_close(batch, t([0.5, -0.5, -1.0, 1.0]) / (math.sqrt(2.5 / 3) + 1e-6))
    assert math.sqrt(2.5 / 3) == pytest.approx(0.9128709)


def test_group_advantages_group_size_one_gives_zeros():
    for scale in ("group", "batch", "none"):
        for baseline in ("mean", "rloo"):
            out = group_advantages(t([1.0, 0.0, 3.0]), 1, scale=scale, baseline=baseline)
            assert torch.equal(out, torch.zeros(3, dtype=F64))


def test_group_advantages_int_rewards_and_validation():
    out = group_advantages(torch.tensor([1, 0]), 2)
    assert out.is_floating_point()
    with pytest.raises(ValueError, match="group_size"):
        group_advantages(t([1, 0, 1]), 2)
    with pytest.raises(ValueError, match="group_size"):
        group_advantages(t([1, 0]), 0)
    with pytest.raises(ValueError, match="scale"):
        group_advantages(t([1, 0]), 2, scale="std")
    with pytest.raises(ValueError, match="baseline"):
        group_advantages(t([1, 0]), 2, baseline="median")
    with pytest.raises(ValueError, match="1-D"):
        group_advantages(t([[1, 0]]), 2)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.floats(-10, 10, allow_nan=False), min_size=2, max_size=4).flatmap(
        lambda group: st.just(group * 3)  # 3 copies of one group: B = 3, G = len(group)
    )
)
def test_group_advantages_sum_to_zero_per_group(rewards):
    group_size = len(rewards) // 3
    out = group_advantages(t(rewards), group_size).view(3, group_size)
    torch.testing.assert_close(out.sum(dim=1), torch.zeros(3, dtype=F64), atol=1e-6, rtol=0)


def test_zero_variance_groups():
    rewards = t([1, 1, 1, 0, 1, 0, 0.5, 0.5, 0.5])
    expected = torch.tensor([True] * 3 + [False] * 3 + [True] * 3)
    assert torch.equal(zero_variance_groups(rewards, 3), expected)
    assert zero_variance_groups(t([0.0, 1.0]), 1).all()


# ---------------------------------------------------------------------------------------------
# masked reductions, truncation
# ---------------------------------------------------------------------------------------------


def test_masked_mean_and_sum():
    values = t([[1.0, 2.0, 3.0], [4.0, float("nan"), float("inf")]])
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]])
    # valid: 1, 2, 4 -> sum 7, mean 7/3; padding nan/inf must not leak in.
    assert masked_sum(values, mask).item() == 7.0
    assert masked_mean(values, mask).item() == pytest.approx(7 / 3)
    torch.testing.assert_close(masked_mean(values, mask, dim=1), t([1.5, 4.0]))
    torch.testing.assert_close(masked_sum(values, mask, dim=0), t([5.0, 2.0, 0.0]))
    # empty slice -> 0, not nan; broadcast mask [N, 1]
    torch.testing.assert_close(masked_mean(values, torch.zeros(2, 3), dim=1), t([0.0, 0.0]))
    torch.testing.assert_close(
        masked_mean(values, torch.tensor([[True], [False]]), dim=1), t([2.0, 0.0])
    )


def test_masked_mean_gradient_ignores_padding():
    values = t([[1.0, 2.0], [3.0, 4.0]]).requires_grad_()
    masked_mean(values, torch.tensor([[1, 0], [1, 1]])).backward()
    torch.testing.assert_close(values.grad, t([[1 / 3, 0.0], [1 / 3, 1 / 3]]))


def test_truncation_mask():
    mask = torch.tensor([[1, 1, 0], [1, 1, 1], [1, 0, 0]])
    finished = torch.tensor([True, False, True])
    out = truncation_mask(finished, mask)
    assert torch.equal(out, torch.tensor([[1, 1, 0], [0, 0, 0], [1, 0, 0]]))
    assert out.dtype == mask.dtype
    with pytest.raises(ValueError):
        truncation_mask(torch.tensor([True]), mask)


# ---------------------------------------------------------------------------------------------
# kl_penalty
# ---------------------------------------------------------------------------------------------


def test_kl_penalty_hand_worked():
    # token 0: logp -1, logp_ref -2 -> d = -1:  k1 = 1,    k2 = 0.5,   k3 = e^-1 + 1 - 1 = 0.367879
    # token 1: logp -1, logp_ref -0.5 -> d = 0.5: k1 = -0.5, k2 = 0.125, k3 = e^0.5 - 1.5 = 0.148721
    # token 2: logp = logp_ref -> d = 0: all zero.
    logp, logp_ref = t([[-1.0, -1.0, -3.0]]), t([[-2.0, -0.5, -3.0]])
    torch.testing.assert_close(kl_penalty(logp, logp_ref, "k1"), t([[1.0, -0.5, 0.0]]))
    torch.testing.assert_close(kl_penalty(logp, logp_ref, "k2"), t([[0.5, 0.125, 0.0]]))
    k3 = kl_penalty(logp, logp_ref, "k3")
    torch.testing.assert_close(k3, t([[0.36787944, 0.14872127, 0.0]]))
    torch.testing.assert_close(k3, kl_penalty(logp, logp_ref))  # k3 is the default


def test_kl_penalty_clamp():
    # d = 20 clamped to 10: k1 = -10, k2 = 50, k3 = e^10 - 11 = 22015.465794806718
    # d = -30 clamped to -10: k3 = e^-10 + 9 = 9.0000454
    logp, logp_ref = t([[0.0, 0.0]]), t([[20.0, -30.0]])
    torch.testing.assert_close(kl_penalty(logp, logp_ref, "k1"), t([[-10.0, 10.0]]))
    torch.testing.assert_close(kl_penalty(logp, logp_ref, "k2"), t([[50.0, 50.0]]))
    torch.testing.assert_close(
        kl_penalty(logp, logp_ref, "k3"), t([[math.exp(10) - 11, math.exp(-10) + 9]])
    )
    torch.testing.assert_close(kl_penalty(logp, logp_ref, "k1", clamp=None), t([[-20.0, 30.0]]))
    with pytest.raises(ValueError, match="estimator"):
        kl_penalty(logp, logp_ref, "k4")


def test_kl_penalty_gradient_does_not_reach_reference():
    logp = t([[-1.0, -2.0]]).requires_grad_()
    logp_ref = t([[-2.0, -1.0]]).requires_grad_()
    kl_penalty(logp, logp_ref).sum().backward()
    assert logp_ref.grad is None
    # d(k3)/d(logp) = -(e^d - 1) with d = logp_ref - logp = [-1, 1]
    torch.testing.assert_close(logp.grad, t([[1 - math.exp(-1), 1 - math.e]]))


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(-50, 50, allow_nan=False), min_size=1, max_size=8),
    st.floats(-50, 50, allow_nan=False),
)
def test_k3_and_k2_are_nonnegative(logps, shift):
    logp = t([logps])
    logp_ref = logp + shift
    assert (kl_penalty(logp, logp_ref, "k3") >= 0).all()
    assert (kl_penalty(logp, logp_ref, "k2") >= 0).all()


# ---------------------------------------------------------------------------------------------
# clipped_surrogate
# ---------------------------------------------------------------------------------------------


def _from_ratios(ratios):
    """logp, logp_old with exp(logp - logp_old) = ratios; logp requires grad."""
    logp_old = torch.full((1, len(ratios)), -1.0, dtype=F64)
    logp = (logp_old + t([ratios]).log()).requires_grad_()
    return logp, logp_old


def test_clipped_surrogate_branches():
    # eps 0.2 -> clip range [0.8, 1.2]
    # A=+1 rho=1.5: max(-1.5, -1.2) = -1.2 clipped | A=+1 rho=0.5: max(-0.5, -0.8) = -0.5
    # A=-1 rho=1.5: max(1.5, 1.2) = 1.5            | A=-1 rho=0.5: max(0.5, 0.8) = 0.8 clipped
    # A=+1 rho=1.1: -1.1 inside the range          | A=-2 rho=0.9: 1.8 inside the range
    ratios = [1.5, 0.5, 1.5, 0.5, 1.1, 0.9]
    advantages = t([[1.0, 1.0, -1.0, -1.0, 1.0, -2.0]])
    logp, logp_old = _from_ratios(ratios)
    loss, clipped = clipped_surrogate(logp, logp_old, advantages, 0.2, 0.2)
    torch.testing.assert_close(loss, t([[-1.2, -0.5, 1.5, 0.8, -1.1, 1.8]]))
    assert clipped.tolist() == [[True, False, False, True, False, False]]
    # Clipped tokens carry no gradient; the others get d(-A rho)/d(logp) = -A rho.
    loss.sum().backward()
    torch.testing.assert_close(logp.grad, t([[0.0, -0.5, 1.5, 0.0, -1.1, 1.8]]))


def test_clipped_surrogate_asymmetric_clip():
    # clip_low 0.2, clip_high 0.28 -> range [0.8, 1.28]
    # A=+1 rho=1.5 -> max(-1.5, -1.28) = -1.28 | A=+1 rho=1.25 -> -1.25 (inside, would clip at 1.2)
    # A=-1 rho=0.5 -> max(0.5, 0.8) = 0.8
    logp, logp_old = _from_ratios([1.5, 1.25, 0.5])
    loss, clipped = clipped_surrogate(logp, logp_old, t([[1.0, 1.0, -1.0]]), 0.2, 0.28)
    torch.testing.assert_close(loss, t([[-1.28, -1.25, 0.8]]))
    assert clipped.tolist() == [[True, False, True]]


def test_clipped_surrogate_dual_clip():
    # c = 3: for A < 0, loss = min(loss, -A c)
    # A=-1 rho=5: max(5, 1.2) = 5 -> min(5, 3) = 3 (dual-clipped, no gradient)
    # A=-1 rho=2: max(2, 1.2) = 2 -> min(2, 3) = 2
    # A=+1 rho=5: max(-5, -1.2) = -1.2; dual clip does not apply to A > 0
    # A=-0.5 rho=7: max(3.5, 0.6) = 3.5 -> min(3.5, 1.5) = 1.5
    logp, logp_old = _from_ratios([5.0, 2.0, 5.0, 7.0])
    advantages = t([[-1.0, -1.0, 1.0, -0.5]])  # per token, [N, Lr] with N = 1
    loss, clipped = clipped_surrogate(logp, logp_old, advantages, 0.2, 0.2, dual_clip=3.0)
    torch.testing.assert_close(loss, t([[3.0, 2.0, -1.2, 1.5]]))
    assert clipped.tolist() == [[True, False, True, True]]
    loss.sum().backward()
    torch.testing.assert_close(logp.grad, t([[0.0, 2.0, 0.0, 0.0]]))


def test_clipped_surrogate_sequence_advantages_broadcast():
    logp = t([[-1.0, -2.0], [-0.5, -0.1]])
    logp_old = logp - 0.05
    per_sequence, _ = clipped_surrogate(logp, logp_old, t([1.0, -2.0]), 0.2, 0.2)
    per_token, _ = clipped_surrogate(logp, logp_old, t([[1.0, 1.0], [-2.0, -2.0]]), 0.2, 0.2)
    torch.testing.assert_close(per_sequence, per_token)
    with pytest.raises(ValueError, match="advantages"):
        clipped_surrogate(logp, logp_old, t([1.0, 2.0, 3.0]), 0.2, 0.2)


def test_clipped_surrogate_huge_ratio_stays_finite():
    logp = t([[0.0, 0.0]]).requires_grad_()
    logp_old = t([[-500.0, -500.0]])
    loss, _ = clipped_surrogate(logp, logp_old, t([[1.0, -1.0]]), 0.2, 0.2, dual_clip=3.0)
    torch.testing.assert_close(loss.detach(), t([[-1.2, 3.0]]))
    loss.sum().backward()
    assert torch.isfinite(logp.grad).all()


# ---------------------------------------------------------------------------------------------
# aggregate_loss
# ---------------------------------------------------------------------------------------------


def test_aggregate_loss_hand_worked_ragged():
    # rows: [1, 2, 3] all valid; [4, x, x] one valid; [9, 9, 9] empty mask.
    loss = t([[1.0, 2.0, 3.0], [4.0, 100.0, 100.0], [9.0, 9.0, 9.0]])
    mask = torch.tensor([[1, 1, 1], [1, 0, 0], [0, 0, 0]])
    # token-mean: (1 + 2 + 3 + 4) / 4 tokens = 2.5
    assert aggregate_loss(loss, mask, "token-mean").item() == pytest.approx(2.5)
    # sequence-mean: row means 2 and 4, empty row left out -> (2 + 4) / 2 = 3
    assert aggregate_loss(loss, mask, "sequence-mean").item() == pytest.approx(3.0)
    # constant: 10 / (3 rows * Lr 3) = 1.1111; with normaliser 5: 10 / (3 * 5) = 0.6667
    assert aggregate_loss(loss, mask, "constant").item() == pytest.approx(10 / 9)
    assert aggregate_loss(loss, mask, "constant", 5).item() == pytest.approx(10 / 15)


def test_aggregate_loss_empty_mask_is_zero_with_gradient():
    loss = t([[1.0, 2.0]]).requires_grad_()
    for mode in ("token-mean", "sequence-mean", "constant"):
        out = aggregate_loss(loss, torch.zeros(1, 2), mode)
        assert out.item() == 0.0
        out.backward()
        assert torch.equal(loss.grad, torch.zeros(1, 2, dtype=F64))
        loss.grad = None
    with pytest.raises(ValueError, match="mode"):
        aggregate_loss(loss, torch.ones(1, 2), "sum")


# ---------------------------------------------------------------------------------------------
# entropy_from_logits
# ---------------------------------------------------------------------------------------------


def test_entropy_from_logits_matches_direct_formula():
    torch.manual_seed(0)
    logits = torch.randn(3, 4, 7, dtype=F64) * 3
    p = torch.softmax(logits, dim=-1)
    direct = -(p * torch.log(p)).sum(dim=-1)
    torch.testing.assert_close(entropy_from_logits(logits), direct)
    torch.testing.assert_close(entropy_from_logits(logits, chunk_size=5), direct)
    torch.testing.assert_close(entropy_from_logits(logits, chunk_size=None), direct)
    # uniform over 7 -> log 7; one-hot-ish -> ~0
    assert entropy_from_logits(torch.zeros(1, 7)).item() == pytest.approx(math.log(7), rel=1e-6)
    assert entropy_from_logits(t([[1000.0, 0.0, 0.0]])).item() == pytest.approx(0.0, abs=1e-12)


def test_entropy_from_logits_stable_low_precision_and_differentiable():
    torch.manual_seed(1)
    big = torch.randn(2, 3, 11) * 1e4  # naive exp overflows
    assert torch.isfinite(entropy_from_logits(big)).all()
    logits16 = torch.randn(2, 3, 11).to(torch.bfloat16)
    out16 = entropy_from_logits(logits16)
    assert out16.dtype == torch.float32
    torch.testing.assert_close(out16, entropy_from_logits(logits16.float()))
    logits = torch.randn(2, 3, 5, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda z: entropy_from_logits(z, chunk_size=2), (logits,))


# ---------------------------------------------------------------------------------------------
# GRPOLossConfig and grpo_loss
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"clip_low": 1.0}, "clip_low"),
        ({"clip_low": -0.1}, "clip_low"),
        ({"clip_high": -0.1}, "clip_high"),
        ({"dual_clip": 1.0}, "dual_clip"),
        ({"kl_coef": -1.0}, "kl_coef"),
        ({"kl_coef": float("nan")}, "kl_coef"),
        ({"kl_estimator": "k4"}, "kl_estimator"),
        ({"kl_clamp": 0.0}, "kl_clamp"),
        ({"entropy_coef": -0.1}, "entropy_coef"),
        ({"loss_aggregation": "sum"}, "loss_aggregation"),
        ({"loss_aggregation": "constant", "constant_normalizer": 0}, "constant_normalizer"),
        ({"constant_normalizer": 10}, "constant_normalizer"),
    ],
)
def test_config_validation_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        GRPOLossConfig(**kwargs)


def test_config_defaults_are_the_papers():
    config = GRPOLossConfig()
    assert (config.clip_low, config.clip_high, config.dual_clip) == (0.2, 0.2, None)
    assert (config.kl_coef, config.kl_estimator, config.kl_clamp) == (0.001, "k3", 10.0)
    assert (config.entropy_coef, config.loss_aggregation) == (0.001, "token-mean")


def test_grpo_loss_requires_reference_and_entropy_when_used():
    logp = torch.zeros(2, 3)
    args = (logp, logp, torch.zeros(2), torch.ones(2, 3))
    with pytest.raises(ValueError, match="logp_ref"):
        grpo_loss(*args, GRPOLossConfig(entropy_coef=0.0))
    with pytest.raises(ValueError, match="entropy"):
        grpo_loss(*args, GRPOLossConfig(kl_coef=0.0))
    # beta = 0: no reference model needed, KL not computed
    loss, stats = grpo_loss(*args, GRPOLossConfig(kl_coef=0.0, entropy_coef=0.0))
    assert loss.item() == 0.0 and stats["kl"].item() == 0.0


def test_grpo_loss_hand_worked_with_stats():
    # One sequence, A = +1, two valid tokens and one padding token.
    # token 0: rho = 1.5 -> pg = -1.2 (clipped); d = logp_ref - logp = -1 -> k3 = 0.367879
    # token 1: rho = 1.0 -> pg = -1.0;           d = 0 -> k3 = 0
    # entropy [2, 4]; beta 0.1, entropy_coef 0.01:
    # per-token = [-1.2 + 0.0367879 - 0.02, -1.0 + 0 - 0.04] = [-1.1832121, -1.04]
    # token-mean = -1.11160603
    logp_old = t([[-1.0, -1.0, 0.0]])
    logp = logp_old + t([[math.log(1.5), 0.0, 50.0]])
    logp_ref = logp + t([[-1.0, 0.0, 0.0]])
    config = GRPOLossConfig(kl_coef=0.1, entropy_coef=0.01)
    loss, stats = grpo_loss(
        logp, logp_old, t([1.0]), torch.tensor([[1, 1, 0]]), config, logp_ref, t([[2.0, 4.0, 0.0]])
    )
    assert loss.item() == pytest.approx((-1.1832121 - 1.04) / 2)
    assert stats["policy_loss"].item() == pytest.approx(-1.1)
    assert stats["kl"].item() == pytest.approx(0.36787944 / 2)
    assert stats["entropy"].item() == pytest.approx(3.0)
    assert stats["clip_fraction"].item() == pytest.approx(0.5)
    assert stats["ratio_mean"].item() == pytest.approx(1.25)
    assert stats["ratio_max"].item() == pytest.approx(1.5)  # padding's e^50 is ignored
    assert stats["advantage_mean"].item() == pytest.approx(1.0)
    assert all(v.dim() == 0 and not v.requires_grad for v in stats.values())


# --- the naive loop: the paper's loss written token by token ----------------------------------


def naive_grpo_loss(logp, logp_old, logp_ref, advantages, entropy, mask, config, exp):
    """The GRPO loss with Python loops. Elements are floats (exp = math.exp) or 0-dim tensors
    (exp = torch.exp, for autograd); `max`/`min` are Python's, so each works on both."""
    n_rows, length = len(logp), len(logp[0])
    token_losses = []  # per row: list of (loss, valid)
    for i in range(n_rows):
        row = []
        a = advantages[i]
        for j in range(length):
            rho = exp(logp[i][j] - logp_old[i][j])
            clipped_rho = min(max(rho, 1 - config.clip_low), 1 + config.clip_high)
            pg = max(-a * rho, -a * clipped_rho)
            if config.dual_clip is not None and a < 0:
                pg = min(pg, -a * config.dual_clip)
            d = min(max(logp_ref[i][j] - logp[i][j], -config.kl_clamp), config.kl_clamp)
            if config.kl_estimator == "k1":
                kl = -d
            elif config.kl_estimator == "k2":
                kl = 0.5 * d * d
            else:
                kl = exp(d) - d - 1
            row.append((pg + config.kl_coef * kl - config.entropy_coef * entropy[i][j], mask[i][j]))
        token_losses.append(row)

    if config.loss_aggregation == "token-mean":
        total, count = 0.0, 0
        for row in token_losses:
            for value, valid in row:
                if valid:
                    total, count = total + value, count + 1
        return total / count
    if config.loss_aggregation == "sequence-mean":
        means = []
        for row in token_losses:
            valid_values = [value for value, valid in row if valid]
            if valid_values:
                means.append(sum(valid_values) / len(valid_values))
        return sum(means) / len(means)
    normalizer = config.constant_normalizer or length
    total = 0.0
    for row in token_losses:
        for value, valid in row:
            if valid:
                total = total + value
    return total / (n_rows * normalizer)


def _random_batch(seed, group_size=3, questions=2, length=6):
    generator = torch.Generator().manual_seed(seed)
    n = group_size * questions

    def randn(*shape):
        return torch.randn(*shape, generator=generator, dtype=F64)

    logp_old = -torch.rand(n, length, generator=generator, dtype=F64) * 3
    logp = logp_old + 0.4 * randn(n, length)  # wide enough that some ratios leave [0.8, 1.2]
    logp_ref = logp_old + 0.5 * randn(n, length)
    entropy = torch.rand(n, length, generator=generator, dtype=F64) * 2
    rewards = torch.randint(0, 3, (n,), generator=generator).to(F64)
    advantages = group_advantages(rewards, group_size)
    lengths = torch.randint(1, length + 1, (n,), generator=generator)
    lengths[1] = 0  # a sequence with an empty mask (e.g. masked as truncated)
    mask = (torch.arange(length)[None, :] < lengths[:, None]).long()
    return logp, logp_old, logp_ref, advantages, entropy, mask


NAIVE_CONFIGS = [
    GRPOLossConfig(),
    GRPOLossConfig(loss_aggregation="sequence-mean", kl_estimator="k1", kl_coef=0.05),
    GRPOLossConfig(loss_aggregation="constant", kl_estimator="k2", kl_coef=0.05),
    GRPOLossConfig(loss_aggregation="constant", constant_normalizer=10, dual_clip=3.0),
    GRPOLossConfig(dual_clip=1.5, clip_high=0.28, kl_coef=0.2, kl_clamp=0.3, entropy_coef=0.0),
    GRPOLossConfig(loss_aggregation="sequence-mean", dual_clip=2.0, clip_low=0.1, clip_high=0.3),
]


@pytest.mark.parametrize(
    "config", NAIVE_CONFIGS, ids=[f"{i}-{c.loss_aggregation}" for i, c in enumerate(NAIVE_CONFIGS)]
)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_grpo_loss_matches_naive_loop(config, seed):
    logp, logp_old, logp_ref, advantages, entropy, mask = _random_batch(seed)
    logp = logp.clone().requires_grad_()
    loss, stats = grpo_loss(logp, logp_old, advantages, mask, config, logp_ref, entropy)
    assert 0.0 < stats["clip_fraction"].item() < 1.0  # both branches exercised

    # value: plain floats and math.exp
    as_floats = [x.tolist() for x in (logp.detach(), logp_old, logp_ref, advantages, entropy, mask)]
    naive_value = naive_grpo_loss(*as_floats, config, exp=math.exp)
    assert loss.item() == pytest.approx(naive_value, rel=1e-10, abs=1e-12)

    # gradient wrt logp: the naive loop on 0-dim tensors through autograd
    naive_logp = logp.detach().clone().requires_grad_()
    rows = [list(row.unbind()) for row in naive_logp.unbind()]
    naive = naive_grpo_loss(
        rows,
        *[x.tolist() for x in (logp_old, logp_ref, advantages, entropy, mask)],
        config,
        exp=lambda x: torch.exp(torch.as_tensor(x, dtype=F64)),  # x is a float once clamped
    )
    naive.backward()
    loss.backward()
    torch.testing.assert_close(logp.grad, naive_logp.grad, rtol=1e-10, atol=1e-12)
    assert (logp.grad[mask == 0] == 0).all()


def test_grpo_loss_gradient_matches_finite_differences():
    logp, logp_old, logp_ref, advantages, entropy, mask = _random_batch(7, length=4)
    config = GRPOLossConfig(loss_aggregation="sequence-mean", kl_coef=0.1, dual_clip=3.0)

    def loss_of(x):
        return grpo_loss(x, logp_old, advantages, mask, config, logp_ref, entropy)[0]

    assert torch.autograd.gradcheck(loss_of, (logp.clone().requires_grad_(),))


def test_grpo_loss_per_token_advantages_equal_per_sequence():
    logp, logp_old, logp_ref, advantages, entropy, mask = _random_batch(3)
    config = GRPOLossConfig()
    per_sequence = grpo_loss(logp, logp_old, advantages, mask, config, logp_ref, entropy)
    per_token_advantages = advantages[:, None].expand_as(logp)
    per_token = grpo_loss(logp, logp_old, per_token_advantages, mask, config, logp_ref, entropy)
    torch.testing.assert_close(per_sequence[0], per_token[0])
    assert per_sequence[1].keys() == per_token[1].keys()


# ---------------------------------------------------------------------------------------------
# per-span credit: reward_to_go, span_advantages, spread_over_spans
# ---------------------------------------------------------------------------------------------


def test_reward_to_go_hand_worked():
    # one sample, spans r = [-0.3, -0.1, -0.2]
    # mean weights [1, 1, 1]: R_0 = -0.6 / 3 = -0.2, R_1 = -0.3 / 2 = -0.15, R_2 = -0.2
    rewards = t([[-0.3, -0.1, -0.2]])
    torch.testing.assert_close(
        reward_to_go(rewards, t([1, 1, 1])), t([[-0.2, -0.15, -0.2]]), check_dtype=False
    )
    # discounted weights [1, 0.5, 0.25] (sum 1.75): R_0 = (-0.3 - 0.05 - 0.05) / 1.75,
    # R_1 = (-0.05 - 0.05) / 0.75, R_2 = -0.2
    torch.testing.assert_close(
        reward_to_go(rewards, t([1, 0.5, 0.25])),
        t([[-0.4 / 1.75, -0.1 / 0.75, -0.2]]),
        check_dtype=False,
    )
    # last-frame weights [0, 0, 1]: every span's return is the last frame's reward
    torch.testing.assert_close(
        reward_to_go(rewards, t([0, 0, 1])), t([[-0.2, -0.2, -0.2]]), check_dtype=False
    )
    # first-frame weights [1, 0, 0]: spans after it cannot change the reward, return 0
    torch.testing.assert_close(
        reward_to_go(rewards, t([1, 0, 0])), t([[-0.3, 0.0, 0.0]]), check_dtype=False
    )


def test_reward_to_go_without_weights_sums_what_is_left():
    # weights None: the sequence reward is the sum of the span gains [0, 0.4, -0.1, 0.2]
    rewards = t([[0.0, 0.4, -0.1, 0.2], [0.1, 0.0, 0.0, 0.0]])
    torch.testing.assert_close(
        reward_to_go(rewards, None),
        t([[0.5, 0.5, 0.1, 0.2], [0.1, 0.0, 0.0, 0.0]]),
        check_dtype=False,
    )
    with pytest.raises(ValueError, match=r"\[N, S\]"):
        reward_to_go(t([1.0, 2.0]), None)


def test_reward_to_go_first_span_is_the_sequence_reward():
    generator = torch.Generator().manual_seed(0)
    rewards = torch.rand(6, 5, generator=generator, dtype=F64)
    weights = torch.rand(5, generator=generator, dtype=F64)
    returns = reward_to_go(rewards, weights)
    torch.testing.assert_close(
        returns[:, 0], (rewards.float() @ weights.float()) / weights.sum().float()
    )


def test_reward_to_go_rejects_bad_shapes_and_weights():
    with pytest.raises(ValueError, match=r"\[N, S\]"):
        reward_to_go(t([1.0, 2.0]), t([1.0, 1.0]))
    with pytest.raises(ValueError, match=r"\[N, S\]"):
        reward_to_go(t([[1.0, 2.0]]), t([1.0]))
    with pytest.raises(ValueError, match=">= 0"):
        reward_to_go(t([[1.0, 2.0]]), t([1.0, -1.0]))


def test_span_advantages_compare_each_span_within_its_group():
    # G = 2, one question, 2 spans. returns: sample 0 [1, 3], sample 1 [0, 5].
    # span 0: [1, 0] -> +-0.5 / sqrt(0.5); span 1: [3, 5] -> -+1 / sqrt(2)
    returns = t([[1.0, 3.0], [0.0, 5.0]])
    out = span_advantages(returns, group_size=2)
    a0 = 0.5 / (math.sqrt(0.5) + 1e-6)
    a1 = 1.0 / (math.sqrt(2.0) + 1e-6)
    torch.testing.assert_close(out, t([[a0, -a1], [-a0, a1]]))
    # one span: exactly group_advantages
    rewards = t([0.2, 0.5, 0.1, 0.9, 0.9, 0.3])
    torch.testing.assert_close(
        span_advantages(rewards.unsqueeze(1), 3, "batch", "rloo")[:, 0],
        group_advantages(rewards, 3, "batch", "rloo"),
    )


def test_spread_over_spans_gives_each_token_its_span():
    per_span = t([[1.0, 2.0, 3.0], [-1.0, -2.0, -3.0]])
    # span 0 (2 tokens), its inserted token, span 1, ..., -1 = padding
    index = torch.tensor([[0, 0, 0, 1, 1, 1, 2, 2], [0, 0, 0, 1, 1, -1, -1, -1]])
    out = spread_over_spans(per_span, index)
    torch.testing.assert_close(out, t([[1, 1, 1, 2, 2, 2, 3, 3], [-1, -1, -1, -2, -2, 0, 0, 0]]))
    with pytest.raises(ValueError, match="span 3"):
        spread_over_spans(per_span, torch.tensor([[3], [0]]))


def test_reward_to_go_credit_matches_a_naive_loop():
    """Per token: compare its span's reward-to-go with the same span of the group's others."""
    generator = torch.Generator().manual_seed(1)
    group_size, spans = 4, 3
    rewards = torch.rand(2 * group_size, spans, generator=generator, dtype=F64)
    weights = t([1.0, 1.0, 1.0])
    index = torch.tensor([[0, 0, 1, 1, 2, 2]] * (2 * group_size))
    got = spread_over_spans(span_advantages(reward_to_go(rewards, weights), group_size), index)
    for row in range(2 * group_size):
        first = row // group_size * group_size
        for col in range(index.shape[1]):
            k = int(index[row, col])
            own = [rewards[r, k:].mean().item() for r in range(first, first + group_size)]
            mean = sum(own) / group_size
            std = math.sqrt(sum((x - mean) ** 2 for x in own) / (group_size - 1))
            expected = (rewards[row, k:].mean().item() - mean) / (std + 1e-6)
            assert got[row, col].item() == pytest.approx(expected, rel=1e-5, abs=1e-6)


# ---------------------------------------------------------------------------------------------
# per-token credit: token_returns, token_advantages, positions_in_spans, spread_over_tokens
# ---------------------------------------------------------------------------------------------


def test_token_returns_hand_worked():
    # one sample, 2 spans of 2 tokens: r = [[-0.2, -0.4], [-0.1, -0.3]], span rewards -0.3, -0.2
    rewards = t([[[-0.2, -0.4], [-0.1, -0.3]]])
    # mean weights: R_0p = (r_0p + r_1) / 2 -> (-0.2 - 0.2) / 2, (-0.4 - 0.2) / 2; R_1p = r_1p
    returns = token_returns(rewards, t([1, 1]))
    torch.testing.assert_close(returns, t([[[-0.2, -0.3], [-0.1, -0.3]]]), check_dtype=False)
    # the first span's mean is the sequence reward, (-0.3 - 0.2) / 2
    assert returns[0, 0].mean().item() == pytest.approx(-0.25)
    # first-span weights [1, 0]: the first span's tokens get their own rewards, the second's 0
    torch.testing.assert_close(
        token_returns(rewards, t([1, 0])), t([[[-0.2, -0.4], [0.0, 0.0]]]), check_dtype=False
    )


def test_token_returns_with_equal_tokens_are_reward_to_go():
    generator = torch.Generator().manual_seed(0)
    spans = torch.rand(5, 4, generator=generator, dtype=F64)
    weights = t([1.0, 0.5, 0.25, 0.125])
    per_token = spans.unsqueeze(2).expand(5, 4, 3)  # every token of a span scores the span
    expected = reward_to_go(spans, weights).unsqueeze(2).expand(5, 4, 3)
    torch.testing.assert_close(token_returns(per_token, weights), expected)


def test_token_returns_rejects_bad_shapes_and_weights():
    with pytest.raises(ValueError, match=r"\[N, S, P\]"):
        token_returns(t([[1.0, 2.0]]), t([1.0, 1.0]))
    with pytest.raises(ValueError, match=">= 0"):
        token_returns(t([[[1.0], [2.0]]]), t([1.0, -1.0]))


def test_token_advantages_match_a_naive_loop():
    """Centre each (span, token) column within its group, then divide a group's centred
    returns by their one std over all its samples and columns."""
    generator = torch.Generator().manual_seed(2)
    group_size, spans, positions = 3, 2, 4
    returns = torch.rand(2 * group_size, spans, positions, generator=generator, dtype=F64)
    returns[group_size:, 1, 2] = 0.5  # a constant column in the second group
    for baseline in ("mean", "rloo"):
        got = token_advantages(returns, group_size, "group", baseline)
        for first in (0, group_size):
            centred = {}
            for row in range(first, first + group_size):
                for k in range(spans):
                    for p in range(positions):
                        column = [returns[r, k, p].item() for r in range(first, first + group_size)]
                        own = returns[row, k, p].item()
                        if baseline == "mean":
                            base = sum(column) / group_size
                        else:
                            base = (sum(column) - own) / (group_size - 1)
                        centred[row, k, p] = own - base if max(column) > min(column) else 0.0
            values = list(centred.values())
            mean = sum(values) / len(values)
            std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
            for (row, k, p), value in centred.items():
                expected = value / (std + 1e-6)
                assert got[row, k, p].item() == pytest.approx(expected, rel=1e-5, abs=1e-6)
    assert torch.all(token_advantages(returns, group_size)[group_size:, 1, 2] == 0)


def test_token_advantages_of_one_token_a_span_are_span_advantages():
    generator = torch.Generator().manual_seed(3)
    returns = torch.rand(8, 3, generator=generator, dtype=F64)
    for baseline in ("mean", "rloo"):
        torch.testing.assert_close(
            token_advantages(returns.unsqueeze(2), 4, "none", baseline)[:, :, 0],
            span_advantages(returns, 4, "none", baseline),
        )
    assert torch.all(token_advantages(returns.unsqueeze(2), 1) == 0)  # G = 1: no comparison


def test_positions_in_spans_count_from_each_span_start():
    index = torch.tensor([[0, 0, 0, 1, 1, 1, 2, 2], [0, 0, 0, 1, 1, -1, -1, -1]])
    torch.testing.assert_close(
        positions_in_spans(index),
        torch.tensor([[0, 1, 2, 0, 1, 2, 0, 1], [0, 1, 2, 0, 1, -1, -1, -1]]),
    )


def test_spread_over_tokens_gives_each_generated_token_its_own():
    per_token = t([[[1.0, 2.0], [3.0, 4.0]], [[-1.0, -2.0], [-3.0, -4.0]]])
    # span 0: 2 generated tokens and 1 inserted, span 1: 2 generated; -1 = padding
    index = torch.tensor([[0, 0, 0, 1, 1], [0, 0, 0, 1, -1]])
    out = spread_over_tokens(per_token, index)
    torch.testing.assert_close(out, t([[1, 2, 0, 3, 4], [-1, -2, 0, -3, 0]]))
    with pytest.raises(ValueError, match="span 2"):
        spread_over_tokens(per_token, torch.tensor([[2], [0]]))
