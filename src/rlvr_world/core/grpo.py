"""GRPO maths as pure functions: advantages, clipped surrogate, KL penalty, entropy, aggregation.

Shape legend: B questions, G group size (samples per question), N = B * G sequences, Lr response
length, V vocabulary size. Every per-token tensor is `[N, Lr]` and comes with a `mask [N, Lr]`
(nonzero = a valid response token), so mini-batching, inner epochs and skipping zero-variance
groups are row selections done by the training loop.

The paper's objective (SPEC section 2), per valid response token t of sequence i:

    A_i     = (r_i - mean(r_group)) / (std_unbiased(r_group) + 1e-6)
    rho_t   = exp(logp_t - logp_old_t)
    pg_t    = max(-A_i * rho_t, -A_i * clip(rho_t, 1 - eps_low, 1 + eps_high))
    pg_t    = min(pg_t, -A_i * c)                      if A_i < 0 and dual clip c is set
    d_t     = clamp(logp_ref_t - logp_t, -10, 10)
    kl_t    = exp(d_t) - d_t - 1                       (k3)
    loss    = token-mean(pg_t + beta * kl_t - entropy_coef * entropy_t)

Per-span credit (responses generated span by span, e.g. one predicted frame a span): with a
reward r_{i,k} per span and the sequence reward's span weights w_k, token t of span k gets

    R_{i,k} = sum_{j >= k} w_j r_{i,j} / sum_{j >= k} w_j      (`reward_to_go`)
    A_{i,t} = group advantage of R_{.,k} (`span_advantages`, `spread_over_spans`)

Per-token credit (each generated token governs a part of its span's output, e.g. a visual code
its cell of the frame): with a reward r_{i,k,p} for that part, token p of span k gets

    R_{i,k,p} = (w_k r_{i,k,p} + sum_{j > k} w_j r_{i,j}) / sum_{j >= k} w_j   (`token_returns`)
    A_{i,k,p} = (R_{i,k,p} - mean_g R_{g,k,p}) / std over the group's centred returns
                (`token_advantages`, `spread_over_tokens`)

Gradients never flow through `logp_old`, `logp_ref` or the advantages (they are detached here).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor

__all__ = [
    "CREDIT_MODES",
    "CreditMode",
    "GRPOLossConfig",
    "aggregate_loss",
    "aggregation_denominator",
    "clipped_surrogate",
    "entropy_from_logits",
    "group_advantages",
    "grpo_loss",
    "kl_penalty",
    "masked_mean",
    "masked_sum",
    "reward_to_go",
    "positions_in_spans",
    "span_advantages",
    "spread_over_spans",
    "spread_over_tokens",
    "token_advantages",
    "token_returns",
    "truncation_mask",
    "zero_variance_groups",
]

KLEstimator = Literal["k1", "k2", "k3"]
LossAggregation = Literal["token-mean", "sequence-mean", "constant"]
AdvantageScale = Literal["group", "batch", "none"]
AdvantageBaseline = Literal["mean", "rloo"]

_KL_ESTIMATORS = ("k1", "k2", "k3")
_LOSS_AGGREGATIONS = ("token-mean", "sequence-mean", "constant")
_ADVANTAGE_SCALES = ("group", "batch", "none")
_ADVANTAGE_BASELINES = ("mean", "rloo")

# exp() of a log-ratio above ~88 overflows float32 to inf, and inf in the forward pass turns into
# nan gradients (0 * inf) even on the branch max() did not pick. Ratios of e^20 are pathological
# anyway: the clip or the dual clip has long taken over.
_MAX_LOG_RATIO = 20.0


@dataclass(frozen=True)
class GRPOLossConfig:
    """Hyper-parameters of the GRPO loss; defaults are the paper's language settings."""

    clip_low: float = 0.2
    """eps_low: the ratio is clipped below at 1 - clip_low (PPO clip_coef)."""
    clip_high: float = 0.2
    """eps_high: the ratio is clipped above at 1 + clip_high (DAPO clip-higher when > clip_low)."""
    dual_clip: float | None = None
    """c > 1: for A < 0 the token loss is capped at -A * c (the paper's video runs use 3.0)."""
    kl_coef: float = 0.001
    """beta: weight of the KL to the reference model; 0 skips the KL (no reference model)."""
    kl_estimator: KLEstimator = "k3"
    """KL estimator of d = logp_ref - logp: k1 = -d, k2 = d^2 / 2, k3 = exp(d) - d - 1."""
    kl_clamp: float = 10.0
    """d = logp_ref - logp is clamped to [-kl_clamp, kl_clamp] before the estimator."""
    entropy_coef: float = 0.001
    """Weight of the entropy bonus (subtracted from the loss); 0 for the video runs."""
    loss_aggregation: LossAggregation = "token-mean"
    """token-mean (paper), sequence-mean (original GRPO) or constant (Dr.GRPO)."""
    constant_normalizer: int | None = None
    """For loss_aggregation='constant': the fixed length normaliser (default: the mask's Lr)."""

    def __post_init__(self) -> None:
        for name in ("clip_low", "clip_high", "kl_coef", "kl_clamp", "entropy_coef"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
        if not 0.0 <= self.clip_low < 1.0:
            raise ValueError(f"clip_low must be in [0, 1), got {self.clip_low}")
        if self.clip_high < 0.0:
            raise ValueError(f"clip_high must be >= 0, got {self.clip_high}")
        if self.dual_clip is not None and not (
            isinstance(self.dual_clip, (int, float))
            and math.isfinite(self.dual_clip)
            and self.dual_clip > 1.0
        ):
            raise ValueError(
                f"dual_clip must be None or a finite number > 1, got {self.dual_clip!r}"
            )
        if self.kl_coef < 0.0:
            raise ValueError(f"kl_coef must be >= 0, got {self.kl_coef}")
        if self.kl_estimator not in _KL_ESTIMATORS:
            raise ValueError(
                f"kl_estimator must be one of {_KL_ESTIMATORS}, got {self.kl_estimator!r}"
            )
        if self.kl_clamp <= 0.0:
            raise ValueError(f"kl_clamp must be > 0, got {self.kl_clamp}")
        if self.entropy_coef < 0.0:
            raise ValueError(f"entropy_coef must be >= 0, got {self.entropy_coef}")
        if self.loss_aggregation not in _LOSS_AGGREGATIONS:
            raise ValueError(
                f"loss_aggregation must be one of {_LOSS_AGGREGATIONS}, "
                f"got {self.loss_aggregation!r}"
            )
        if self.constant_normalizer is not None:
            if (
                isinstance(self.constant_normalizer, bool)
                or not isinstance(self.constant_normalizer, int)
                or self.constant_normalizer < 1
            ):
                raise ValueError(
                    "constant_normalizer must be None or a positive int, "
                    f"got {self.constant_normalizer!r}"
                )
            if self.loss_aggregation != "constant":
                raise ValueError(
                    "constant_normalizer is only used with loss_aggregation='constant', "
                    f"got loss_aggregation={self.loss_aggregation!r}"
                )


# --------------------------------------------------------------------------------------------
# Advantages
# --------------------------------------------------------------------------------------------


def _grouped(rewards: Tensor, group_size: int) -> Tensor:
    """rewards [N] -> [B, G] float, validating the group-contiguous layout."""
    if rewards.dim() != 1:
        raise ValueError(f"rewards must be 1-D [N], got shape {tuple(rewards.shape)}")
    if isinstance(group_size, bool) or not isinstance(group_size, int) or group_size < 1:
        raise ValueError(f"group_size must be a positive int, got {group_size!r}")
    if rewards.numel() % group_size != 0:
        raise ValueError(
            f"number of rewards ({rewards.numel()}) must be a multiple of group_size ({group_size})"
        )
    if not rewards.is_floating_point():
        rewards = rewards.to(torch.get_default_dtype())
    return rewards.view(-1, group_size)


def zero_variance_groups(rewards: Tensor, group_size: int) -> Tensor:
    """Which samples belong to a group whose rewards are all equal (no learning signal).

    rewards: [N] float, group-contiguous (`[q0s0, ..., q0s{G-1}, q1s0, ...]`).
    Returns [N] bool. A group of one sample (G = 1) always has zero variance.
    """
    grouped = _grouped(rewards, group_size)  # [B, G]
    equal = grouped.amax(dim=1) == grouped.amin(dim=1)  # [B]
    return equal.repeat_interleave(group_size)


def _check_options(scale: str, baseline: str) -> None:
    if scale not in _ADVANTAGE_SCALES:
        raise ValueError(f"scale must be one of {_ADVANTAGE_SCALES}, got {scale!r}")
    if baseline not in _ADVANTAGE_BASELINES:
        raise ValueError(f"baseline must be one of {_ADVANTAGE_BASELINES}, got {baseline!r}")


def _centred(grouped: Tensor, baseline: AdvantageBaseline) -> Tensor:
    """[B, G, ...] -> each value minus its group's baseline along dim 1 (G >= 2): the mean of
    the group, or (rloo) of the group's others."""
    group_size = grouped.shape[1]
    if baseline == "mean":
        centred = grouped - grouped.mean(dim=1, keepdim=True)
    else:
        others_mean = (grouped.sum(dim=1, keepdim=True) - grouped) / (group_size - 1)
        centred = grouped - others_mean
    # Rounding can leave 1e-17 residues in a constant group; such groups carry no signal and must
    # produce exactly 0 (and not residue / eps).
    constant = grouped.amax(dim=1, keepdim=True) == grouped.amin(dim=1, keepdim=True)
    return centred.masked_fill(constant, 0.0)


def group_advantages(
    rewards: Tensor,
    group_size: int,
    scale: AdvantageScale = "group",
    baseline: AdvantageBaseline = "mean",
    eps: float = 1e-6,
) -> Tensor:
    """Group-relative advantages, one per sequence (every token of the sequence shares it).

    rewards: [N] float (ints are converted), group-contiguous: `[q0s0, ..., q0s{G-1}, q1s0, ...]`.
    baseline: "mean" subtracts the group mean (paper); "rloo" subtracts the mean of the other
        G - 1 samples of the group (leave-one-out).
    scale: "group" divides by the group's unbiased std + eps (paper); "batch" divides by the
        unbiased std of all N centred rewards + eps; "none" does not divide (Dr.GRPO).
    Returns [N], same float dtype as rewards. A group with equal rewards gets exactly 0, and so
    does every sample when G = 1 (no other sample to compare with).
    """
    _check_options(scale, baseline)
    rewards = rewards.detach()
    grouped = _grouped(rewards, group_size)  # [B, G]
    if group_size == 1:
        return torch.zeros_like(grouped).view(-1)
    centred = _centred(grouped, baseline)  # [B, G]
    if scale == "group":
        centred = centred / (grouped.std(dim=1, keepdim=True, unbiased=True) + eps)
    elif scale == "batch" and centred.numel() > 1:
        centred = centred / (centred.std(unbiased=True) + eps)
    return centred.reshape(-1)


def reward_to_go(span_rewards: Tensor, weights: Tensor | None) -> Tensor:
    """Each span's return: the weighted mean of the rewards of that span and the spans after it.

    span_rewards: [N, S] float, one reward per generated span (e.g. per predicted frame).
    weights: [S] float >= 0, how the sequence reward aggregates the spans
        (reward = sum_k weights_k * r_k / sum_k weights_k); None when the sequence reward is
        the plain sum of the span rewards (each span's gain, e.g. a line's change of F1).
    Returns [N, S]: R_k = sum_{j >= k} w_j r_j / sum_{j >= k} w_j (None: sum_{j >= k} r_j), so
    R_0 is the sequence reward and span k is credited only with what it can still change
    (tokens of span k cannot affect the spans before it). A span after the last weighted one
    (weights 0 from there on) gets 0: it cannot change the reward, so it carries no signal.
    """
    if weights is None:
        if span_rewards.dim() != 2:
            raise ValueError(f"span_rewards must be [N, S], got {tuple(span_rewards.shape)}")
        return span_rewards.detach().float().flip(1).cumsum(1).flip(1)
    if span_rewards.dim() != 2 or weights.dim() != 1 or weights.shape[0] != span_rewards.shape[1]:
        raise ValueError(
            f"span_rewards must be [N, S] and weights [S], got {tuple(span_rewards.shape)} "
            f"and {tuple(weights.shape)}"
        )
    if bool((weights < 0).any()) or not bool(torch.isfinite(weights).all()):
        raise ValueError(f"weights must be finite and >= 0, got {weights.tolist()}")
    span_rewards = span_rewards.detach().float()
    weights = weights.to(span_rewards)
    # suffix sums: flip, cumulative sum, flip back
    weighted = (span_rewards * weights).flip(1).cumsum(1).flip(1)  # [N, S]
    mass = weights.flip(0).cumsum(0).flip(0)  # [S]
    return torch.where(mass > 0, weighted / mass.clamp_min(1e-12), torch.zeros_like(weighted))


def span_advantages(
    span_returns: Tensor,
    group_size: int,
    scale: AdvantageScale = "group",
    baseline: AdvantageBaseline = "mean",
    eps: float = 1e-6,
) -> Tensor:
    """Per-span advantages: span k of each sample is compared with span k of the other samples
    of its group (`group_advantages` on each column).

    span_returns: [N, S] float, group-contiguous rows (e.g. from `reward_to_go`).
    Returns [N, S]; spread over the tokens with `spread_over_spans`. With S = 1 this is
    `group_advantages`.
    """
    if span_returns.dim() != 2:
        raise ValueError(f"span_returns must be [N, S], got {tuple(span_returns.shape)}")
    columns = [
        group_advantages(span_returns[:, k], group_size, scale, baseline, eps)
        for k in range(span_returns.shape[1])
    ]
    return torch.stack(columns, dim=1)


def spread_over_spans(per_span: Tensor, span_index: Tensor) -> Tensor:
    """[N, S] per-span advantages -> [N, Lr]: each token gets its span's (`span_index` [N, Lr]
    long, the span of each response token; < 0 marks padding, which gets 0)."""
    if per_span.dim() != 2 or span_index.dim() != 2 or per_span.shape[0] != span_index.shape[0]:
        raise ValueError(
            f"per_span must be [N, S] and span_index [N, Lr] with the same N, got "
            f"{tuple(per_span.shape)} and {tuple(span_index.shape)}"
        )
    top = int(span_index.max()) if span_index.numel() else -1
    if top >= per_span.shape[1]:
        raise ValueError(
            f"span_index refers to span {top} but there are only {per_span.shape[1]} spans"
        )
    token = per_span.gather(1, span_index.long().clamp_min(0))  # [N, Lr]
    return token.masked_fill(span_index < 0, 0.0)


def token_returns(token_rewards: Tensor, weights: Tensor) -> Tensor:
    """Each generated token's return: the reward of what it governs in its own span, then the
    reward-to-go of the spans after it.

    token_rewards: [N, S, P] float, r_{k,p}: the reward of the part of span k's output that
        token p of the span governs (e.g. the cell of a predicted frame one visual code encodes),
        in the units of the span's reward, whose mean over p is the span's reward r_k.
    weights: [S] float >= 0, how the sequence reward aggregates the spans (`reward_to_go`).
    Returns [N, S, P]: R_{k,p} = (w_k r_{k,p} + sum_{j > k} w_j r_j) / sum_{j >= k} w_j, so the
    mean of R_{0,.} over p is the sequence reward, and a token is credited with its own part
    of its span and everything after (tokens cannot change the spans before theirs). A span
    after the last weighted one gets 0, as in `reward_to_go`.
    """
    if token_rewards.dim() != 3:
        raise ValueError(f"token_rewards must be [N, S, P], got {tuple(token_rewards.shape)}")
    token_rewards = token_rewards.detach().float()
    span = token_rewards.mean(2)  # [N, S]: r_k
    returns = reward_to_go(span, weights)  # [N, S] (checks the weights)
    weights = weights.to(token_rewards)
    mass = weights.flip(0).cumsum(0).flip(0)  # [S]
    # R_{k,p} = R_k + w_k (r_{k,p} - r_k) / mass_k: the token's own part replaces its span's
    share = torch.where(mass > 0, weights / mass.clamp_min(1e-12), torch.zeros_like(mass))
    return returns[:, :, None] + share[None, :, None] * (token_rewards - span[:, :, None])


def token_advantages(
    token_returns: Tensor,
    group_size: int,
    scale: AdvantageScale = "group",
    baseline: AdvantageBaseline = "mean",
    eps: float = 1e-6,
) -> Tensor:
    """Per-token advantages: token p of span k of each sample is compared with the same token of
    the other samples of its group (baseline "mean" or "rloo" per (k, p) column), then scaled
    by one std for all the columns, so that tokens whose part of the output varies more across
    the group weigh more.

    token_returns: [N, S, P] float, group-contiguous rows (from `token_returns`).
    scale: "group" divides a group's centred returns by their unbiased std over all its
        samples and columns + eps; "batch" by the std over all N rows and columns; "none" does
        not divide. A (k, p) column whose returns are equal within a group gets exactly 0.
    Returns [N, S, P]; spread over the tokens with `spread_over_tokens`.
    """
    _check_options(scale, baseline)
    if token_returns.dim() != 3:
        raise ValueError(f"token_returns must be [N, S, P], got {tuple(token_returns.shape)}")
    n, spans, positions = token_returns.shape
    flat = token_returns.detach().reshape(n, spans * positions)
    if not flat.is_floating_point():
        flat = flat.to(torch.get_default_dtype())
    _grouped(flat[:, 0], group_size)  # checks the group-contiguous layout
    grouped = flat.view(-1, group_size, spans * positions)  # [B, G, C]
    if group_size == 1:
        return torch.zeros_like(token_returns, dtype=grouped.dtype)
    centred = _centred(grouped, baseline)  # [B, G, C]
    if scale == "group":
        centred = centred / (centred.flatten(1).std(dim=1, unbiased=True)[:, None, None] + eps)
    elif scale == "batch" and centred.numel() > 1:
        centred = centred / (centred.std(unbiased=True) + eps)
    return centred.reshape(n, spans, positions)


def positions_in_spans(span_index: Tensor) -> Tensor:
    """[N, Lr] span of each response token (< 0: padding) -> [N, Lr] long: the token's place
    in its span, counting from 0 (a span's generated tokens come first, then the tokens
    inserted after it); -1 for padding."""
    if span_index.dim() != 2:
        raise ValueError(f"span_index must be [N, Lr], got {tuple(span_index.shape)}")
    span_index = span_index.long()
    steps = torch.arange(span_index.shape[1]).expand_as(span_index)
    previous = torch.cat([torch.full_like(span_index[:, :1], -2), span_index[:, :-1]], dim=1)
    starts = torch.where(span_index != previous, steps, torch.zeros_like(steps))
    begun = starts.cummax(dim=1).values  # where the current span began
    return torch.where(span_index >= 0, steps - begun, torch.full_like(steps, -1))


def spread_over_tokens(per_token: Tensor, span_index: Tensor) -> Tensor:
    """[N, S, P] per-token advantages -> [N, Lr]: the p-th token of span k gets [k, p]
    (`positions_in_spans`); padding and a span's tokens after its first P (inserted ones,
    which take no loss) get 0."""
    if per_token.dim() != 3 or span_index.dim() != 2 or per_token.shape[0] != span_index.shape[0]:
        raise ValueError(
            f"per_token must be [N, S, P] and span_index [N, Lr] with the same N, got "
            f"{tuple(per_token.shape)} and {tuple(span_index.shape)}"
        )
    _, spans, positions = per_token.shape
    top = int(span_index.max()) if span_index.numel() else -1
    if top >= spans:
        raise ValueError(f"span_index refers to span {top} but there are only {spans} spans")
    place = positions_in_spans(span_index)
    valid = (span_index >= 0) & (place < positions)
    index = (span_index.clamp_min(0) * positions + place.clamp(0, positions - 1)).long()
    token = per_token.reshape(per_token.shape[0], -1).gather(1, index)  # [N, Lr]
    return token.masked_fill(~valid, 0.0)


# --------------------------------------------------------------------------------------------
# Credit modes: from a task's rewards to advantages
# --------------------------------------------------------------------------------------------


def _sequence_returns(scored: Sequence[float]) -> Tensor:
    """A `Reward`'s output: rewards [N] -> returns [N, 1]."""
    return torch.tensor(scored, dtype=torch.float).unsqueeze(1)


def _span_returns(scored: tuple[Sequence[Sequence[float]], Sequence[float] | None]) -> Tensor:
    """A `SpanReward`'s output: (rewards [N][S], weights [S] or None) -> returns [N, S]."""
    rewards, weights = scored
    return reward_to_go(torch.tensor(rewards), None if weights is None else torch.tensor(weights))


def _per_token_returns(scored: tuple[Sequence, Sequence[float]]) -> Tensor:
    """A `TokenReward`'s output: (rewards [N][S][P], weights [S]) -> returns [N, S, P]."""
    rewards, weights = scored
    return token_returns(torch.tensor(rewards), torch.tensor(weights))


def _sequence_advantages(
    returns: Tensor, group_size: int, scale: AdvantageScale, baseline: AdvantageBaseline
) -> Tensor:
    return group_advantages(returns[:, 0], group_size, scale, baseline)  # [N]


def _first_column(returns: Tensor) -> Tensor:
    return returns[:, 0]  # [N]: a response's return from its first span is its reward


def _first_span_mean(returns: Tensor) -> Tensor:
    return returns[:, 0].mean(1)  # [N]: the mean of the first span's token returns


@dataclass(frozen=True)
class CreditMode:
    """One way of crediting a response's tokens (`rlvr.credit`), from reward to advantages.

    task_reward: the `core.protocols.Task` method giving the reward function; needs: what
        that asks of a task (the error when a task has no such method names it).
    returns: the reward function's output for N samples -> returns [N, R...]: [N, 1] (one
        reward), [N, S] (each span's reward-to-go) or [N, S, P] (each token's return).
    reward: returns [N, R...] -> each sample's sequence reward [N].
    advantages: (returns [N, R...] of whole groups, group_size, scale, baseline) -> [N, R...].
    spread: (advantages [n, R...], span_index [n, Lr]) -> one per token [n, Lr]; None: one
        per sequence [n], which `grpo_loss` broadcasts over its tokens.
    """

    task_reward: str
    needs: str
    returns: Callable[[Any], Tensor]
    reward: Callable[[Tensor], Tensor]
    advantages: Callable[[Tensor, int, AdvantageScale, AdvantageBaseline], Tensor]
    spread: Callable[[Tensor, Tensor], Tensor] | None = None


CREDIT_MODES: dict[str, CreditMode] = {
    # GRPO: every token of a response gets its advantage
    "sequence": CreditMode(
        "reward", "scores each response", _sequence_returns, _first_column, _sequence_advantages
    ),
    # each span's tokens get the advantage of that span's reward-to-go
    "reward-to-go": CreditMode(
        "span_reward",
        "scores each generated span",
        _span_returns,
        _first_column,
        span_advantages,
        spread_over_spans,
    ),
    # each token gets the advantage of its own part of its span plus the spans after it
    "token": CreditMode(
        "token_reward",
        "scores the part of its output each generated token governs",
        _per_token_returns,
        _first_span_mean,
        token_advantages,
        spread_over_tokens,
    ),
}


# --------------------------------------------------------------------------------------------
# Masked reductions
# --------------------------------------------------------------------------------------------


def _valid(values: Tensor, mask: Tensor) -> Tensor:
    """mask broadcast to values' shape, as bool (nonzero = valid)."""
    return torch.broadcast_to(mask.bool(), values.shape)


def masked_sum(values: Tensor, mask: Tensor, dim: int | tuple[int, ...] | None = None) -> Tensor:
    """Sum of `values` where `mask` is nonzero.

    values: [...] float. mask: broadcastable to values (bool or 0/1; nonzero = valid).
    dim: reduce these dims (default: all, giving a scalar).
    Masked positions contribute exactly 0, even if they hold inf or nan (padding).
    """
    valid = _valid(values, mask)
    kept = torch.where(valid, values, torch.zeros((), dtype=values.dtype, device=values.device))
    return kept.sum() if dim is None else kept.sum(dim=dim)


def masked_mean(values: Tensor, mask: Tensor, dim: int | tuple[int, ...] | None = None) -> Tensor:
    """Mean of `values` over the positions where `mask` is nonzero.

    values: [...] float. mask: broadcastable to values (bool or 0/1; nonzero = valid).
    dim: reduce these dims (default: all, giving a scalar).
    An all-masked slice gives 0 (not nan), still connected to the graph of `values`.
    """
    valid = _valid(values, mask)
    total = masked_sum(values, valid, dim)
    count = valid.sum() if dim is None else valid.sum(dim=dim)
    return total / count.clamp_min(1).to(total.dtype)


def truncation_mask(finished: Tensor, mask: Tensor) -> Tensor:
    """Zero the mask of responses that hit the length limit without EOS.

    finished: [N] bool, True where the response ended with EOS.
    mask: [N, Lr] response mask (any dtype). Returns [N, Lr], same dtype as mask.
    """
    if finished.dim() != 1 or mask.dim() != 2 or finished.shape[0] != mask.shape[0]:
        raise ValueError(
            f"finished must be [N] and mask [N, Lr], got {tuple(finished.shape)} "
            f"and {tuple(mask.shape)}"
        )
    keep = finished.bool().unsqueeze(1)  # [N, 1]
    return torch.where(keep, mask, torch.zeros((), dtype=mask.dtype, device=mask.device))


# --------------------------------------------------------------------------------------------
# Per-token terms
# --------------------------------------------------------------------------------------------


def kl_penalty(
    logp: Tensor,
    logp_ref: Tensor,
    estimator: KLEstimator = "k3",
    clamp: float | None = 10.0,
) -> Tensor:
    """Per-token estimate of KL(policy || reference) from sampled tokens' log-probabilities.

    logp: [N, Lr] log-probabilities of the sampled tokens under the trained policy.
    logp_ref: [N, Lr] the same under the frozen reference model (detached here).
    With d = clamp(logp_ref - logp, -clamp, clamp) (None: no clamp):
    k1 = -d (= logp - logp_ref), k2 = d^2 / 2, k3 = exp(d) - d - 1 (>= 0, unbiased, low variance).
    Returns [N, Lr].
    """
    if logp.shape != logp_ref.shape:
        raise ValueError(
            f"logp and logp_ref must have the same shape, got {tuple(logp.shape)} "
            f"and {tuple(logp_ref.shape)}"
        )
    d = logp_ref.detach() - logp
    if clamp is not None:
        d = d.clamp(-clamp, clamp)
    if estimator == "k1":
        return -d
    if estimator == "k2":
        return 0.5 * d.square()
    if estimator == "k3":
        # expm1 keeps precision for small d, where exp(d) - 1 - d cancels catastrophically.
        return torch.expm1(d) - d
    raise ValueError(f"estimator must be one of {_KL_ESTIMATORS}, got {estimator!r}")


def _token_advantages(advantages: Tensor, like: Tensor) -> Tensor:
    """advantages [N] or [N, Lr] -> broadcastable to `like` [N, Lr], detached."""
    advantages = advantages.detach().to(like.dtype)
    if advantages.dim() == 1 and advantages.shape[0] == like.shape[0]:
        return advantages.unsqueeze(1)  # [N, 1]
    if advantages.shape == like.shape:
        return advantages
    raise ValueError(
        f"advantages must be [N] or [N, Lr] for logp of shape {tuple(like.shape)}, "
        f"got {tuple(advantages.shape)}"
    )


def clipped_surrogate(
    logp: Tensor,
    logp_old: Tensor,
    advantages: Tensor,
    clip_low: float = 0.2,
    clip_high: float = 0.2,
    dual_clip: float | None = None,
) -> tuple[Tensor, Tensor]:
    """PPO/GRPO clipped policy-gradient loss per token (to be minimised).

    logp: [N, Lr] log-probabilities of the sampled tokens under the current policy.
    logp_old: [N, Lr] the same under the policy that sampled them (detached here).
    advantages: [N] (one per sequence, broadcast over tokens) or [N, Lr] (detached here).
    With rho = exp(logp - logp_old):
        loss = max(-A rho, -A clip(rho, 1 - clip_low, 1 + clip_high)),
        and, if dual_clip = c is set, loss = min(loss, -A c) where A < 0.
    Returns (loss [N, Lr], clipped [N, Lr] bool): clipped marks tokens whose loss is a clipped
    branch (strictly above the unclipped term, or capped by the dual clip), i.e. zero gradient.
    """
    if logp.shape != logp_old.shape or logp.dim() != 2:
        raise ValueError(
            f"logp and logp_old must both be [N, Lr], got {tuple(logp.shape)} "
            f"and {tuple(logp_old.shape)}"
        )
    adv = _token_advantages(advantages, logp)  # [N, 1] or [N, Lr]
    log_ratio = (logp - logp_old.detach()).clamp(-_MAX_LOG_RATIO, _MAX_LOG_RATIO)
    ratio = torch.exp(log_ratio)  # [N, Lr]
    unclipped = -adv * ratio
    clipped_term = -adv * ratio.clamp(1.0 - clip_low, 1.0 + clip_high)
    loss = torch.maximum(unclipped, clipped_term)
    clipped = clipped_term > unclipped
    if dual_clip is not None:
        cap = -adv * dual_clip  # [N, 1] or [N, Lr]; only used where A < 0, where it is > 0
        capped = (adv < 0) & (loss > cap)
        loss = torch.where(capped, cap.expand_as(loss), loss)
        clipped = clipped | capped
    return loss, clipped


def entropy_from_logits(logits: Tensor, chunk_size: int | None = 1024) -> Tensor:
    """Entropy of the categorical distribution at each position: -sum_v p_v log p_v.

    logits: [..., V] (e.g. [N, Lr, V]); any float dtype (computed in at least float32).
    chunk_size: positions processed at a time, so the float32 softmax temporaries stay at
        [chunk_size, V] instead of the whole [..., V]; None processes everything at once.
    Returns [...] (e.g. [N, Lr]) in float32 or logits' dtype if wider; differentiable.
    Uses H = logsumexp(z) - sum_v softmax(z)_v z_v, stable for large logits.
    """
    if logits.dim() < 1:
        raise ValueError("logits must have a vocabulary dimension [..., V]")
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(f"chunk_size must be None or >= 1, got {chunk_size}")
    lead_shape = logits.shape[:-1]
    flat = logits.reshape(-1, logits.shape[-1])  # [P, V], P positions
    compute_dtype = torch.promote_types(flat.dtype, torch.float32)

    def _entropy(z: Tensor) -> Tensor:
        z = z.to(compute_dtype)
        return torch.logsumexp(z, dim=-1) - (torch.softmax(z, dim=-1) * z).sum(dim=-1)

    if chunk_size is None or flat.shape[0] <= chunk_size:
        entropy = _entropy(flat)
    else:
        entropy = torch.cat([_entropy(z) for z in flat.split(chunk_size, dim=0)])
    return entropy.reshape(lead_shape)


# --------------------------------------------------------------------------------------------
# Aggregation and the full loss
# --------------------------------------------------------------------------------------------


def aggregation_denominator(
    mask: Tensor, mode: LossAggregation = "token-mean", constant_normalizer: int | None = None
) -> float:
    """What `aggregate_loss` divides by for this mask: the valid-token count (token-mean), the
    non-empty-row count (sequence-mean) or N * normaliser (constant); at least 1.

    Computed on a whole mini-batch and passed to `aggregate_loss(..., denominator=)` for each
    part of it, the parts' losses sum to the whole's (data-parallel ranks holding shares)."""
    if mode == "token-mean":
        count = float(mask.bool().sum())
    elif mode == "sequence-mean":
        count = float(mask.bool().any(dim=1).sum())
    elif mode == "constant":
        normalizer = mask.shape[1] if constant_normalizer is None else constant_normalizer
        if normalizer < 1:
            raise ValueError(f"constant_normalizer must be >= 1, got {normalizer}")
        count = float(max(mask.shape[0], 1) * normalizer)
    else:
        raise ValueError(f"mode must be one of {_LOSS_AGGREGATIONS}, got {mode!r}")
    return max(count, 1.0)


def aggregate_loss(
    loss: Tensor,
    mask: Tensor,
    mode: LossAggregation = "token-mean",
    constant_normalizer: int | None = None,
    denominator: float | None = None,
) -> Tensor:
    """Reduce a per-token loss to a scalar.

    loss: [N, Lr] float. mask: [N, Lr] (nonzero = valid response token).
    token-mean: sum(loss * mask) / sum(mask) -- long responses weigh more (paper, DAPO).
    sequence-mean: mean over sequences of each sequence's token mean; sequences with an empty
        mask are left out (original GRPO).
    constant: sum(loss * mask) / (N * constant_normalizer), normaliser default Lr (Dr.GRPO);
        N counts every row, empty ones included, so the scale does not depend on the masks.
    denominator: divide by this instead of the mask's own (`aggregation_denominator` of the
        whole mini-batch when these rows are a share of it).
    An all-empty mask gives 0 (still connected to the graph).
    """
    if loss.dim() != 2 or loss.shape != mask.shape:
        raise ValueError(
            f"loss and mask must both be [N, Lr], got {tuple(loss.shape)} and {tuple(mask.shape)}"
        )
    if denominator is None:
        denominator = aggregation_denominator(mask, mode, constant_normalizer)
    if mode == "sequence-mean":
        numerator = masked_mean(loss, mask, dim=1).sum()  # empty rows give 0
    elif mode in ("token-mean", "constant"):
        numerator = masked_sum(loss, mask)
    else:
        raise ValueError(f"mode must be one of {_LOSS_AGGREGATIONS}, got {mode!r}")
    return numerator / denominator


def grpo_loss(
    logp: Tensor,
    logp_old: Tensor,
    advantages: Tensor,
    mask: Tensor,
    config: GRPOLossConfig,
    logp_ref: Tensor | None = None,
    entropy: Tensor | None = None,
    denominator: float | None = None,
) -> tuple[Tensor, dict[str, Tensor]]:
    """The GRPO objective on one (mini-)batch, to be minimised.

    logp: [N, Lr] sampled tokens' log-probabilities under the policy being trained (with grad).
    logp_old: [N, Lr] the same under the sampling policy (detached here).
    advantages: [N] or [N, Lr], e.g. from `group_advantages` (detached here).
    mask: [N, Lr] nonzero = valid response token (see `truncation_mask`).
    logp_ref: [N, Lr] under the frozen reference model; required when config.kl_coef > 0.
    entropy: [N, Lr] policy entropy per position (`entropy_from_logits`); required when
        config.entropy_coef > 0, and logged whenever given.
    denominator: the aggregation's denominator over the whole mini-batch when these rows are a
        share of it (`aggregation_denominator`); None = these rows are the mini-batch.
    Returns (loss, stats): loss = aggregate(pg + kl_coef * kl - entropy_coef * entropy) per
    config.loss_aggregation; stats are detached scalars, masked token means over valid tokens:
    loss, policy_loss, kl, entropy (0 when not computed / not given), clip_fraction (fraction of
    valid tokens on a clipped branch), ratio_mean, ratio_max, advantage_mean.
    """
    if logp.dim() != 2 or logp.shape != mask.shape:
        raise ValueError(
            f"logp and mask must both be [N, Lr], got {tuple(logp.shape)} and {tuple(mask.shape)}"
        )
    policy_loss, clipped = clipped_surrogate(
        logp, logp_old, advantages, config.clip_low, config.clip_high, config.dual_clip
    )
    per_token = policy_loss  # [N, Lr]
    zero = torch.zeros((), dtype=logp.dtype, device=logp.device)

    kl = None
    if config.kl_coef > 0:
        if logp_ref is None:
            raise ValueError(
                "logp_ref is required when kl_coef > 0 "
                f"(kl_coef={config.kl_coef}); set kl_coef=0 to train without a reference model"
            )
        kl = kl_penalty(logp, logp_ref, config.kl_estimator, config.kl_clamp)
        per_token = per_token + config.kl_coef * kl

    if config.entropy_coef > 0:
        if entropy is None:
            raise ValueError(
                "entropy is required when entropy_coef > 0 "
                f"(entropy_coef={config.entropy_coef}); pass entropy_from_logits(logits) "
                "or set entropy_coef=0"
            )
        per_token = per_token - config.entropy_coef * entropy

    total = aggregate_loss(
        per_token, mask, config.loss_aggregation, config.constant_normalizer, denominator
    )

    with torch.no_grad():
        valid = mask.bool()
        ratio = torch.exp((logp - logp_old).clamp(-_MAX_LOG_RATIO, _MAX_LOG_RATIO))
        token_advantages = torch.broadcast_to(_token_advantages(advantages, logp), logp.shape)
        stats = {
            "loss": total.detach(),
            "policy_loss": masked_mean(policy_loss, valid).detach(),
            "kl": masked_mean(kl, valid).detach() if kl is not None else zero,
            "entropy": masked_mean(entropy, valid).detach() if entropy is not None else zero,
            "clip_fraction": masked_mean(clipped.to(logp.dtype), valid),
            "ratio_mean": masked_mean(ratio, valid),
            "ratio_max": ratio[valid].max() if bool(valid.any()) else zero,
            "advantage_mean": masked_mean(token_advantages, valid),
        }
    return total, stats
