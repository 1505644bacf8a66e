"""The GRPO step on a dummy task (no domain) against a naive per-sample loop.

The task: each question names a target code; a response is S spans of K codes (sampled from
a tiny Llama, vocabulary 16) with A action tokens inserted between spans; a code scores 1 when
it is the target. Per response, per span and per code rewards give the three credit modes.
The naive loop recomputes rewards, advantages, log-probabilities (one plain forward per row)
and the loss token by token, and takes the same optimiser steps.
"""

from __future__ import annotations

import copy
import dataclasses
from collections import Counter

import pytest
import torch

from rlvr_world.core.grpo import GRPOLossConfig
from rlvr_world.core.losses import mle_loss
from rlvr_world.core.model import ModelConfig, build_llama
from rlvr_world.core.protocols import Example
from rlvr_world.core.rollout import rollout
from rlvr_world.core.sampler import SamplingConfig
from rlvr_world.train.config import RLVRConfig
from rlvr_world.train.mle import collate
from rlvr_world.train.rlvr import Rollout, assign_credit, grpo_step, reward_function

PAD, BOS, EOS = 0, 1, 2
CODES = list(range(3, 9))  # what a span samples from
ACTIONS = [9, 10]  # inserted after span 0, 1, ...
K, A, S = 2, 1, 2  # codes a span, inserted tokens, spans
SPAN_STARTS = [k * (K + A) for k in range(S)]  # where each span's codes begin in a response
NO_TARGET = -1  # a question no code hits: its group's rewards are all 0
EPS = 1e-6


class GuessTask:
    """`core.protocols.Task` of the target-code game; counts what it decodes and scores."""

    name = "guess"

    def __init__(self, targets: list[int]) -> None:
        self.train = [
            Example([BOS] + [9] * (i % 2) + [max(target, 3)], reference=target, context={"i": i})
            for i, target in enumerate(targets)
        ]
        self.calls: Counter = Counter()
        self.generated = []

    def examples(self, split):
        return self.train

    def generate(self, model, examples, config, *, group_size=1, generator=None, batch_rows=None):
        def insert(k, rows, span):
            return torch.full((len(rows), A), ACTIONS[k], device=span.device)

        samples = rollout(
            model,
            [e.question_ids for e in examples],
            config,
            span_length=K,
            num_spans=S,
            insert=insert,
            pad_id=PAD,
            group_size=group_size,
            allowed_ids=CODES,
            generator=generator,
            batch_rows=batch_rows,
        )
        self.generated.append(samples)
        return samples

    def decode(self, response_ids, context):
        self.calls["decode"] += 1
        return [response_ids[start : start + K] for start in SPAN_STARTS]  # [S][K] codes

    def _hits(self, predictions, references) -> list:
        self.calls["reward"] += len(predictions)
        return [
            [[float(code == target) for code in span] for span in spans]
            for spans, target in zip(predictions, references)
        ]  # [N][S][K]

    def reward(self, name):
        def reward_fn(predictions, references, contexts):
            return [sum(map(sum, hits)) / (S * K) for hits in self._hits(predictions, references)]

        return reward_fn

    def span_reward(self, name):
        def span_reward_fn(predictions, references, contexts):
            hits = self._hits(predictions, references)
            return [[sum(span) / K for span in row] for row in hits], [1.0] * S

        return span_reward_fn

    def token_reward(self, name):
        def token_reward_fn(predictions, references, contexts):
            return self._hits(predictions, references), [1.0] * S

        return token_reward_fn

    def score(self, predictions, examples):
        self.calls["score"] += len(predictions)
        return [{"first_code": float(p[0][0])} for p in predictions]


def tiny_model() -> torch.nn.Module:
    torch.manual_seed(0)
    config = ModelConfig(hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32)
    return build_llama(config, 16, PAD, BOS, EOS)


def config(credit="sequence", aggregation="token-mean", **changes) -> RLVRConfig:
    settings = dict(
        questions_per_step=3,
        group_size=4,
        mini_batch_size=3,
        lr=0.5,
        grad_clip=1e9,  # no clipping: the naive loop takes plain steps
        credit=credit,
        loss=GRPOLossConfig(kl_coef=0.05, entropy_coef=0.01, loss_aggregation=aggregation),
    )
    return RLVRConfig(**{**settings, **changes})


# --------------------------------------------------------------------------------------------
# The naive loop
# --------------------------------------------------------------------------------------------


def normalised(values: list[float]) -> list[float]:
    """One group's values minus their mean over their unbiased std + eps; equal values give 0."""
    if max(values) == min(values):
        return [0.0] * len(values)
    mean = sum(values) / len(values)
    std = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5
    return [(v - mean) / (std + EPS) for v in values]


def naive_advantages(credit: str, hits: list, group_size: int) -> list[list[float]]:
    """Per row, one advantage per response token (inserted tokens: 0, they take no loss)."""
    width = S * K + (S - 1) * A
    span_of = [t // (K + A) for t in range(width)]
    place_of = [t % (K + A) for t in range(width)]
    out = []
    for first in range(0, len(hits), group_size):
        group = hits[first : first + group_size]
        span_rewards = [[sum(span) / K for span in row] for row in group]  # [G][S]
        if credit == "sequence":
            advantage = normalised([sum(row) / S for row in span_rewards])
            out += [[a] * width for a in advantage]
            continue
        # weights 1: a span's reward-to-go is the mean of its reward and the later ones'
        later = [[sum(row[k + 1 :]) for k in range(S)] for row in span_rewards]
        if credit == "reward-to-go":
            returns = [
                [(row[k] + rest[k]) / (S - k) for k in range(S)]
                for row, rest in zip(span_rewards, later)
            ]
            columns = [normalised([r[k] for r in returns]) for k in range(S)]
            out += [[columns[span_of[t]][g] for t in range(width)] for g in range(len(group))]
            continue
        returns = [
            [[(row[k][p] + rest[k]) / (S - k) for p in range(K)] for k in range(S)]
            for row, rest in zip(group, later)
        ]  # [G][S][K]
        centred = [[[0.0] * K for _ in range(S)] for _ in group]
        for k in range(S):
            for p in range(K):
                column = [r[k][p] for r in returns]
                if max(column) != min(column):
                    mean = sum(column) / len(column)
                    for g, value in enumerate(column):
                        centred[g][k][p] = value - mean
        flat = [v for row in centred for span in row for v in span]
        mean = sum(flat) / len(flat)
        std = (sum((v - mean) ** 2 for v in flat) / (len(flat) - 1)) ** 0.5
        out += [
            [
                row[span_of[t]][place_of[t]] / (std + EPS) if place_of[t] < K else 0.0
                for t in range(width)
            ]
            for row in centred
        ]
    return out


def row_logprobs(model, question: list[int], response: list[int]):
    """One plain forward of one row -> (logp [Lr], entropy [Lr]) of its response tokens."""
    ids = torch.tensor([question + response])
    logits = model(input_ids=ids).logits[0, len(question) - 1 : -1].float()  # [Lr, V]
    logp_all = torch.log_softmax(logits, -1)
    entropy = -(logp_all.exp() * logp_all).sum(-1)
    return logp_all[torch.arange(len(response)), torch.tensor(response)], entropy


def naive_update(model, reference, optimizer, task, examples, cfg, samples) -> int:
    """The GRPO update of `grpo_step`, token by token; -> the number of optimiser steps."""
    group_size, loss_cfg = cfg.group_size, cfg.loss
    expanded = [e for e in examples for _ in range(group_size)]
    predictions = [task.decode(r, None) for r in samples.responses()]
    hits = task._hits(predictions, [e.reference for e in expanded])
    advantages = naive_advantages(cfg.credit, hits, group_size)
    rewards = [sum(map(sum, row)) for row in hits]
    groups = [
        q
        for q in range(len(examples))
        if max(rewards[q * group_size : (q + 1) * group_size])
        != min(rewards[q * group_size : (q + 1) * group_size])
    ]
    rows = [(e.question_ids, r) for e, r in zip(expanded, samples.responses())]
    mask = samples.loss_mask  # [N, Lr]
    with torch.no_grad():
        old = [row_logprobs(model, *row)[0] for row in rows]
        ref = [row_logprobs(reference, *row)[0] for row in rows]
    updates = 0
    for _ in range(cfg.epochs):
        for start in range(0, len(groups), cfg.mini_batch_size):
            chosen = groups[start : start + cfg.mini_batch_size]
            optimizer.zero_grad()
            row_losses, row_tokens = [], []
            for i in [q * group_size + g for q in chosen for g in range(group_size)]:
                logp, entropy = row_logprobs(model, *rows[i])
                total = 0.0
                for t in range(len(logp)):
                    if not mask[i, t]:
                        continue
                    ratio = torch.exp(logp[t] - old[i][t])
                    a = advantages[i][t]
                    clipped = ratio.clamp(1 - loss_cfg.clip_low, 1 + loss_cfg.clip_high)
                    d = (ref[i][t] - logp[t]).clamp(-loss_cfg.kl_clamp, loss_cfg.kl_clamp)
                    total = total + torch.maximum(-a * ratio, -a * clipped)
                    total = total + loss_cfg.kl_coef * (torch.exp(d) - 1 - d)
                    total = total - loss_cfg.entropy_coef * entropy[t]
                row_losses.append(total)
                row_tokens.append(int(mask[i].sum()))
            if loss_cfg.loss_aggregation == "token-mean":
                loss = sum(row_losses) / sum(row_tokens)
            elif loss_cfg.loss_aggregation == "sequence-mean":
                kept = [(total, n) for total, n in zip(row_losses, row_tokens) if n]
                loss = sum(total / n for total, n in kept) / len(kept)
            else:
                loss = sum(row_losses) / (len(row_losses) * mask.shape[1])
            loss.backward()
            optimizer.step()
            updates += 1
    return updates


def step_and_naive(cfg, targets=(3, NO_TARGET, 5), seed=0):
    """(grpo_step's metrics, its parameters after the step, the naive loop's, naive steps)."""
    task = GuessTask(list(targets))
    model = tiny_model()
    naive_model, reference = copy.deepcopy(model), copy.deepcopy(model).requires_grad_(False)
    metrics = grpo_step(
        model,
        reference,
        torch.optim.SGD(model.parameters(), lr=cfg.lr),
        task,
        reward_function(task, cfg),
        task.train,
        cfg,
        SamplingConfig(temperature=1.0),
        torch.Generator().manual_seed(seed),
        "cpu",
    )
    optimizer = torch.optim.SGD(naive_model.parameters(), lr=cfg.lr)
    naive_model.train()
    steps = naive_update(
        naive_model, reference, optimizer, task, task.train, cfg, task.generated[0]
    )
    return metrics, list(model.parameters()), list(naive_model.parameters()), steps


def assert_same_update(ours, naive):
    for a, b in zip(ours, naive):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=2e-6)


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("aggregation", ["token-mean", "sequence-mean", "constant"])
@pytest.mark.parametrize("credit", ["sequence", "reward-to-go", "token"])
def test_one_update_equals_the_naive_loop(credit, aggregation):
    metrics, ours, naive, steps = step_and_naive(config(credit, aggregation))
    assert metrics["updates"] == steps == 1
    moved = max(
        float((a.detach() - b.detach()).abs().max())
        for a, b in zip(ours, tiny_model().parameters())
    )
    assert moved > 1e-3  # the comparison is not between two unmoved models
    assert_same_update(ours, naive)


@pytest.mark.parametrize("credit", ["sequence", "token"])
def test_epochs_of_mini_batches_equal_the_naive_loop(credit):
    # 2 epochs x up to 2 mini-batches: logp_old from before the first update, ratios move
    cfg = config(credit, questions_per_step=4, mini_batch_size=2, epochs=2)
    metrics, ours, naive, steps = step_and_naive(cfg, targets=(3, 4, NO_TARGET, 6))
    assert metrics["updates"] == steps >= 2
    assert_same_update(ours, naive)


def test_zero_variance_groups_are_dropped():
    metrics, _, _, _ = step_and_naive(config())
    assert metrics["zero_std_fraction"] >= 1 / 3  # the no-target question at least
    # every question without a target: no group carries signal, nothing is updated
    metrics, ours, _, _ = step_and_naive(config(), targets=(NO_TARGET,) * 3)
    assert metrics["zero_std_fraction"] == 1.0 and metrics["updates"] == 0
    assert all(torch.equal(a, b) for a, b in zip(ours, tiny_model().parameters()))


def test_each_sample_is_decoded_and_scored_once():
    cfg = config("token", loss=GRPOLossConfig(kl_coef=0.0))
    task = GuessTask([3, 4, 5])
    model = tiny_model()
    metrics = grpo_step(
        model,
        None,
        torch.optim.SGD(model.parameters(), lr=0.1),
        task,
        reward_function(task, cfg),
        task.train,
        cfg,
        SamplingConfig(),
        torch.Generator().manual_seed(0),
        "cpu",
    )
    rows = cfg.questions_per_step * cfg.group_size
    assert task.calls == {"decode": rows, "reward": rows, "score": rows}
    assert "term_first_code" in metrics


def test_a_reward_that_is_a_logged_term_is_read_from_the_scores():
    """A sequence reward naming one of `task.score`'s terms (`reward.term`) is not computed a
    second time: the step's rewards are that term's values."""
    cfg = config("sequence", loss=GRPOLossConfig(kl_coef=0.0), skip_zero_variance=False)
    task = GuessTask([3, 4, 5])
    reward_fn = task.reward("hits")
    reward_fn.term = "first_code"
    model = tiny_model()
    step = (task.train, cfg, SamplingConfig(), torch.Generator().manual_seed(0), "cpu")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    metrics = grpo_step(model, None, optimizer, task, reward_fn, *step)
    rows = cfg.questions_per_step * cfg.group_size
    assert task.calls == {"decode": rows, "score": rows}  # no reward call
    first_codes = task.generated[-1].response_ids[:, 0].float()  # [N] each row's first code
    assert metrics["reward_mean"] == pytest.approx(float(first_codes.mean()))


def test_joint_mle_adds_the_gold_answers_nll_per_gold_token():
    """`rlvr.mle_coef`: with plain SGD, the step with the MLE term lands exactly
    `-lr * coef * grad(NLL of the mini-batch's gold answers / their tokens)` away from the step
    without it (the same samples: the sampling generator and the start are the same)."""
    coef, lr = 0.7, 0.5
    golds = [[4, 5, EOS], [6, EOS], [7, 8, 9, EOS]]

    def step(mle_coef: float):
        task = GuessTask([3, 4, 5])
        task.train = [dataclasses.replace(e, response_ids=g) for e, g in zip(task.train, golds)]
        model = tiny_model()
        cfg = config(loss=GRPOLossConfig(kl_coef=0.0), skip_zero_variance=False, mle_coef=mle_coef)
        optimizer = torch.optim.SGD(model.parameters(), lr=lr)
        step = (task.train, cfg, SamplingConfig(), torch.Generator().manual_seed(0), "cpu")
        metrics = grpo_step(model, None, optimizer, task, reward_function(task, cfg), *step)
        return model, metrics, task

    with_mle, metrics, task = step(coef)
    without, _, _ = step(0.0)
    model = tiny_model()
    batch = collate(task.train, pad_id=PAD)
    nll, tokens = mle_loss(model, *batch[:4], loss_mask=batch[4])
    assert float(tokens) == sum(map(len, golds))
    (nll / tokens).backward()
    for a, b, p in zip(with_mle.parameters(), without.parameters(), model.parameters()):
        torch.testing.assert_close(a - b, -lr * coef * p.grad, atol=1e-6, rtol=1e-4)
    assert metrics["mle_loss"] == pytest.approx(float(nll.detach() / tokens), rel=1e-5)


def test_assign_credit_by_hand():
    # two groups of G = 2; span index: span 0 = tokens 0, 1 (1 inserted), span 1 = token 2
    span_index = torch.tensor([[0, 0, 1]] * 4)
    inputs_and_masks = ["question_ids", "question_mask", "response_ids", "response_mask"]
    rollout = Rollout(
        **dict.fromkeys([*inputs_and_masks, "chosen_mask", "loss_mask"], torch.zeros(4, 3)),
        finished=torch.ones(4, dtype=torch.bool),
        span_index=span_index,
        returns=torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.5, 1.0], [0.5, 0.0]]),
        rewards=torch.tensor([1.0, 0.0, 0.5, 0.5]),
        terms=[],
        group_size=2,
        rows=slice(0, 4),
        sample_seconds=0.0,
    )
    a = 0.5 / (0.5**0.5 + EPS)  # (x - mean) / (unbiased std + eps) in a group of 2 unequal
    # reward-to-go: each column compared within its group; an equal column gives 0
    expected = torch.tensor([[a, a, 0.0], [-a, -a, 0.0], [0.0, 0.0, a], [0.0, 0.0, -a]])
    torch.testing.assert_close(assign_credit("reward-to-go", rollout), expected)
    # sequence: the first column alone, one advantage a row
    rollout.returns = rollout.returns[:, :1]
    torch.testing.assert_close(assign_credit("sequence", rollout), torch.tensor([a, -a, 0, 0]))
    # this process's rows only (the second group of a two-process step)
    rollout.rows, rollout.span_index = slice(2, 4), span_index[2:]
    torch.testing.assert_close(assign_credit("sequence", rollout), torch.tensor([0.0, 0.0]))


def test_a_credit_mode_needs_its_task_reward():
    class SequenceOnly:
        name = "guess"

        def reward(self, name):
            return GuessTask([]).reward(name)

    task = SequenceOnly()
    assert reward_function(task, config("sequence")) is not None
    with pytest.raises(ValueError, match="credit=reward-to-go needs a task that scores each"):
        reward_function(task, config("reward-to-go"))
    with pytest.raises(ValueError, match="credit=token needs a task that scores the part"):
        reward_function(task, config("token"))
