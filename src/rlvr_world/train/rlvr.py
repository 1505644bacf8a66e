"""GRPO post-training on a verifiable reward (SPEC §2), modality-agnostic.

for step in 1..steps:
    questions  = next B from the stream (changed + N unchanged per epoch)
    rollout    = generate_and_score(questions): G responses each (KV-cache sampler),
                 decoded once, rewarded once                samples [B*G, Lr], rewards [B*G]
    advantages = assign_credit(credit, rollout)            [B*G] or [B*G, Lr]
                 (core.grpo.CREDIT_MODES: sequence = group advantage of the reward;
                  reward-to-go = each span's tokens the group advantage of its reward-to-go;
                  token = each token its own part of its span + the reward-to-go after it)
    policy_update(rollout, advantages):
        drop zero-variance groups; logp_ref, logp_old under no_grad
        for epoch in epochs: for mini-batch of questions:
            loss = clipped surrogate + kl_coef * KL - entropy_coef * H      (token-mean)
            AdamW step (grad-norm clip, constant LR)
    a NaN or inf loss, gradient norm or parameter: stop (`train.divergence`)
    on clocks: log, evaluate held-out (keep best), checkpoint   (rank 0)

Data-parallel (`train.distributed.World`): each rank samples and scores its share of the B
questions and the returns are gathered, so every rank cuts the same mini-batches from the whole
step's kept groups; each computes the loss of its rows of a mini-batch divided by the whole
mini-batch's tokens, and gradients are summed over ranks (a rank without rows adds zeros).
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field

import torch
from torch import Tensor
from tqdm.auto import tqdm

from rlvr_world.core.grpo import (
    CREDIT_MODES,
    aggregation_denominator,
    grpo_loss,
    truncation_mask,
    zero_variance_groups,
)
from rlvr_world.core.losses import mle_loss, response_logprobs
from rlvr_world.core.registry import Registry
from rlvr_world.core.sampler import SamplingConfig
from rlvr_world.core.seeding import rng_state
from rlvr_world.train.context import Context, adamw, save_training_checkpoint, start_training
from rlvr_world.train.distributed import SINGLE, World
from rlvr_world.train.divergence import check_finite
from rlvr_world.train.heldout import heldout_selection
from rlvr_world.train.mle import collate, trained_tokens
from rlvr_world.train.run_folder import Every
from rlvr_world.train.streams import EpochStream, all_items, changed_plus_unchanged


def question_stream(task, cfg, seed: int) -> EpochStream:
    train = task.examples("train")
    splits = [e.context.get("split") for e in train]
    if "changed" in splits:
        changed = [i for i, s in enumerate(splits) if s == "changed"]
        unchanged = [i for i, s in enumerate(splits) if s != "changed"]
        make_epoch = changed_plus_unchanged(changed, unchanged, cfg.unchanged_per_epoch)
    else:
        make_epoch = all_items(len(train))
    return EpochStream(make_epoch, cfg.questions_per_step, seed)


def rows_of(groups: list[int], group_size: int) -> torch.Tensor:
    """Question indices -> row indices of their samples (rows are group-contiguous)."""
    return torch.tensor([g * group_size + j for g in groups for j in range(group_size)])


def step_generator(seed: int, step: int) -> torch.Generator:
    """The sampling generator of one RL step: a function of (seed, step) alone, so a resumed
    run and any number of data-parallel ranks draw exactly what one uninterrupted process
    would."""
    return torch.Generator().manual_seed(seed * 1_000_003 + step)


def _span_index(task, samples) -> torch.Tensor:
    """[N, Lr] the span of each response token (-1: padding): the rollout's own spans, else the
    task's reading of its responses (`task.span_index`, e.g. the lines of a web answer), else
    one span (sampled in one go). Asked only by the per-span and per-token credits."""
    if samples.span_index is not None:
        return samples.span_index
    if hasattr(task, "span_index"):
        return task.span_index(samples)
    return torch.where(samples.response_mask.bool(), 0, -1)


def reward_function(task, cfg):
    """The task's training reward for `cfg.credit` (`core.grpo.CREDIT_MODES`): per response
    (`task.reward`), for reward-to-go per generated span (`task.span_reward`: rewards [N][S]
    and weights [S]), for token per generated token (`task.token_reward`: rewards [N][S][P]
    and weights [S]). `cfg.reward` may also be a user's own `module:function`
    (`user_reward`)."""
    mode = CREDIT_MODES[cfg.credit]
    if is_user_reward(cfg.reward):
        if cfg.credit != "sequence":
            raise ValueError(
                f"rlvr.reward={cfg.reward}: a reward function scores whole responses; it "
                f"needs rlvr.credit=sequence, not {cfg.credit}"
            )
        return user_reward(cfg.reward)
    if not hasattr(task, mode.task_reward):
        raise ValueError(
            f"rlvr.credit={cfg.credit} needs a task that {mode.needs}; the {task.name!r} task "
            "does not (use rlvr.credit=sequence)"
        )
    return getattr(task, mode.task_reward)(cfg.reward)


def is_user_reward(name: str) -> bool:
    return ":" in name


def user_reward(path: str):
    """A user's reward by its dotted path, `module:function`: a pure batched function
    `(predictions, references, contexts) -> list[float]` over the task's decoded predictions
    (TRL's reward functions have this shape); a path that does not load is a `KeyError`
    naming it."""
    reward = Registry("reward").get(path)
    if not callable(reward):
        raise KeyError(f"rlvr.reward={path} is a {type(reward).__name__}, not a function")
    return reward


def task_reward(task, name: str):
    """The named reward of `task`, or a user's `module:function`."""
    return user_reward(name) if is_user_reward(name) else task.reward(name)


# --------------------------------------------------------------------------------------------
# One GRPO step: generate and score, assign credit, update the policy
# --------------------------------------------------------------------------------------------


@dataclass
class Rollout:
    """One RL step's samples and their scores, from `generate_and_score`.

    Legend: B questions, G samples each, N = B*G rows of the whole step (group-contiguous:
    [q0s0 .. q0s{G-1}, q1s0, ...]); n = b*G the rows this process sampled, for its share of b
    questions (n = N in one process); Lq, Lr question and response length; R... a row's
    returns (`core.grpo.CreditMode`: [1], [S] spans or [S, P] tokens of each span).
    """

    question_ids: Tensor  # [n, Lq] long, left-padded
    question_mask: Tensor  # [n, Lq] long
    response_ids: Tensor  # [n, Lr] long, padded after the stop id
    response_mask: Tensor  # [n, Lr] float: every response token (the forward attends to them)
    chosen_mask: Tensor  # [n, Lr] float: the tokens the model chose (not inserted ones)
    loss_mask: Tensor  # [n, Lr] float: the chosen tokens that take loss, entropy and KL
    finished: Tensor  # [n] bool: the response ended with a stop id
    span_index: Tensor | None  # [n, Lr] long: each token's span, -1 at padding (per-token credit)
    returns: Tensor  # [N, R...] float: the whole step's returns
    rewards: Tensor  # [N] float: the whole step's sequence rewards
    terms: list[dict[str, float]]  # [n]: each sample's logged reward terms and metrics
    group_size: int  # G
    rows: slice  # this process's n rows among the N
    sample_seconds: float
    questions: list = field(default_factory=list)  # [b]: this process's questions (gold answers)

    def batch(self, rows: Tensor, device) -> tuple[Tensor, ...]:
        """Model inputs of `rows` ([m] long, indices into the n rows) on `device`: question
        ids and mask [m, Lq], response ids and mask [m, Lr]. No width trimming here:
        `response_logprobs` drops all-padding columns per bucket."""
        inputs = (self.question_ids, self.question_mask, self.response_ids, self.response_mask)
        return tuple(t[rows].to(device) for t in inputs)


def generate_and_score(
    model, task, reward_fn, examples, cfg, sampling, generator, world: World = SINGLE
) -> Rollout:
    """G responses to each of this process's share of `examples` (a function of `generator`
    and the row's place in the whole step alone), each decoded once, described once for the
    log (`task.train_metrics`, the task's cheap per-sample terms: for video no second LPIPS
    network; else `task.score`) and rewarded once by `reward_fn` (the training signal: a named
    or user reward, per response, span or token). A sequence reward that names one of those
    terms (`reward.term`, e.g. the text game's `binary`) is read from them, not recomputed."""
    timer, group_size = time.perf_counter(), cfg.group_size
    mode = CREDIT_MODES[cfg.credit]
    local = examples[world.share(len(examples))]
    rows = world.rows(len(examples), group_size)  # this process's rows of the step's B*G
    model.eval()
    with world.gathered(model):  # FSDP: ranks sample different lengths, without collectives
        samples = task.generate(
            model,
            local,
            sampling,
            group_size=group_size,
            generator=generator,
            batch_rows=(rows.start, len(examples) * group_size),
        )
    sample_seconds = time.perf_counter() - timer
    expanded = [e for e in local for _ in range(group_size)]  # [n], group-contiguous
    predictions = [task.decode(r, e.context) for r, e in zip(samples.responses(), expanded)]
    terms = getattr(task, "train_metrics", task.score)(predictions, expanded)
    term = getattr(reward_fn, "term", None)  # a reward that is one of the logged terms
    if cfg.credit == "sequence" and terms and term in terms[0]:
        scored = [t[term] for t in terms]  # the same values: each sample is scored once
    else:
        scored = reward_fn(
            predictions, [e.reference for e in expanded], [e.context for e in expanded]
        )
    returns = world.gather_rows(mode.returns(scored))  # [n, R...] -> the whole step's [N, R...]
    loss_mask = samples.loss_mask  # [n, Lr]
    if cfg.mask_truncated:
        loss_mask = truncation_mask(samples.finished, loss_mask)
    return Rollout(
        question_ids=samples.question_ids,
        question_mask=samples.question_mask,
        response_ids=samples.response_ids,
        response_mask=samples.response_mask,
        chosen_mask=samples.loss_mask,
        loss_mask=loss_mask,
        finished=samples.finished,
        span_index=None if mode.spread is None else _span_index(task, samples),
        returns=returns,
        rewards=mode.reward(returns),
        terms=terms,
        group_size=group_size,
        rows=rows,
        sample_seconds=sample_seconds,
        questions=list(local),
    )


def assign_credit(
    credit: str, rollout: Rollout, scale: str = "group", baseline: str = "mean"
) -> Tensor:
    """This process's advantages, group-relative over the whole step's returns, as the credit
    mode says (`core.grpo.CREDIT_MODES`; scale and baseline as `core.grpo.group_advantages`):
    [n] one per sequence, or [n, Lr] one per token."""
    mode = CREDIT_MODES[credit]
    advantages = mode.advantages(rollout.returns, rollout.group_size, scale, baseline)  # [N, R...]
    local = advantages[rollout.rows]  # [n, R...]
    return local if mode.spread is None else mode.spread(local, rollout.span_index)


@dataclass(frozen=True)
class Minibatch:
    """This process's part of one optimiser step's mini-batch."""

    rows: Tensor | None  # [m] long: its rows of the mini-batch (indices into its n); None: none
    denominator: float  # the loss aggregation's denominator over the whole mini-batch
    gold_tokens: float = 0.0  # the whole mini-batch's gold-answer tokens (`rlvr.mle_coef`)


@dataclass
class Update:
    """What `policy_update` did: optimiser steps, their mean gradient norm, and the means of
    `grpo_loss`'s stats over this process's mini-batch losses."""

    updates: int
    grad_norm: float
    stats: dict[str, float]


def minibatches(rollout: Rollout, cfg, world: World = SINGLE) -> list[Minibatch]:
    """The step's groups (without zero-variance ones under `cfg.skip_zero_variance`) cut into
    mini-batches of `cfg.mini_batch_size` questions, the same on every process."""
    group_size = rollout.group_size
    questions = len(rollout.rewards) // group_size
    flat = zero_variance_groups(rollout.rewards, group_size)  # [N]
    groups = list(range(questions))
    if cfg.skip_zero_variance:
        groups = [g for g in groups if not bool(flat[g * group_size])]
    every_loss_mask = world.gather_rows(rollout.loss_mask)  # [N, Lr'] for the denominators
    aggregation, normalizer = cfg.loss.loss_aggregation, cfg.loss.constant_normalizer
    gold = None  # [B] each question's gold-answer tokens, the whole step's
    if cfg.mle_coef > 0:
        counts = [[float(trained_tokens(e))] for e in rollout.questions]
        gold = world.gather_rows(torch.tensor(counts).view(-1, 1))[:, 0]
    out = []
    for start in range(0, len(groups), cfg.mini_batch_size):
        chosen = groups[start : start + cfg.mini_batch_size]
        mask = every_loss_mask[rows_of(chosen, group_size)]  # [m', Lr'] the whole mini-batch's
        denominator = aggregation_denominator(mask, aggregation, normalizer)
        local = world.local_groups(chosen, questions)
        tokens = 0.0 if gold is None else float(gold[chosen].sum())
        out.append(Minibatch(rows_of(local, group_size) if local else None, denominator, tokens))
    return out


def mle_term(model, rollout: Rollout, part: Minibatch, coef: float, device) -> dict:
    """Joint MLE + RL (`rlvr.mle_coef`): `coef` x the teacher-forced NLL of the gold answers of
    this process's questions in the mini-batch, per gold token of the whole mini-batch,
    backpropagated beside the GRPO loss -> its stat (`mle_loss`, per token of these answers)."""
    questions = sorted({int(r) // rollout.group_size for r in part.rows})  # rows are grouped
    batch = collate([rollout.questions[q] for q in questions], pad_id=0)  # padding is masked
    *inputs, loss_mask = (t.to(device) for t in batch)
    nll, tokens = mle_loss(model, *inputs, loss_mask=loss_mask)
    (coef * nll / max(part.gold_tokens, 1.0)).backward()
    return {"mle_loss": float(nll.detach()) / max(float(tokens), 1.0)}


@torch.no_grad()
def frozen_logprobs(model, reference, rollout, parts, with_old: bool, device, world=SINGLE):
    """(logp_ref, logp_old) [m, Lr] of this process's rows of each mini-batch, before any
    update; logp_ref None without a reference, logp_old None unless `with_old` (a step of one
    update takes logp_old = logp.detach(), exact: the policy has not moved yet)."""
    fixed = []
    with world.gathered(model, reference):
        for part in parts:
            if part.rows is None:
                fixed.append((None, None))
                continue
            batch = rollout.batch(part.rows, device)
            ref = response_logprobs(reference, *batch)[0] if reference is not None else None
            fixed.append((ref, response_logprobs(model, *batch)[0] if with_old else None))
    return fixed


def minibatch_loss(model, rollout, advantages, part, fixed, loss_cfg, device, world) -> dict:
    """The GRPO loss of this process's rows of one mini-batch, backpropagated -> its stats."""
    batch = rollout.batch(part.rows, device)
    logp, entropy = world.update_logprobs(model, batch, with_entropy=loss_cfg.entropy_coef > 0)
    logp_ref, logp_old = fixed
    loss, stats = grpo_loss(
        logp,
        logp.detach() if logp_old is None else logp_old,
        advantages[part.rows].to(device),
        rollout.loss_mask[part.rows].to(device),
        loss_cfg,
        logp_ref=logp_ref,
        entropy=entropy,
        denominator=part.denominator,
    )
    loss.backward()
    return stats


def policy_update(
    model, reference, optimizer, rollout, advantages, cfg, device, world: World = SINGLE
) -> Update:
    """`cfg.epochs` passes of clipped updates over the step's mini-batches. Every process
    takes the same optimiser steps; one without rows in a mini-batch adds zero gradients."""
    parts = minibatches(rollout, cfg, world)
    with_old = cfg.epochs * len(parts) != 1
    fixed = frozen_logprobs(model, reference, rollout, parts, with_old, device, world)
    model.train()
    stats_sum: dict[str, float] = {}
    updates, grad_norm = 0, 0.0
    for _ in range(cfg.epochs):
        for part, frozen in zip(parts, fixed):
            optimizer.zero_grad(set_to_none=True)
            if part.rows is None:
                world.backward_without_rows(model, rollout.batch(torch.tensor([0]), device))
            else:
                stats = minibatch_loss(
                    model, rollout, advantages, part, frozen, cfg.loss, device, world
                )
                if cfg.mle_coef > 0:
                    stats.update(mle_term(model, rollout, part, cfg.mle_coef, device))
                for key, value in stats.items():
                    stats_sum[key] = stats_sum.get(key, 0.0) + float(value)
            world.all_reduce_grads(model)
            grad_norm += float(torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip))
            optimizer.step()
            updates += 1
    losses = cfg.epochs * sum(part.rows is not None for part in parts)
    stats = {k: v / max(losses, 1) for k, v in stats_sum.items()}
    return Update(updates, grad_norm / max(updates, 1), stats)


def step_metrics(rollout: Rollout, update: Update, seconds: float, world=SINGLE) -> dict:
    """The logged figures of one step: rewards and lengths of the whole step's B*G rows, the
    update's, and the means of the logged terms of this process's samples."""
    rewards = rollout.rewards
    tokens, truncated = world.sum(
        [float(rollout.chosen_mask.sum()), float((~rollout.finished).sum())]
    )  # over the whole step's B*G rows
    flat = zero_variance_groups(rewards, rollout.group_size)
    metrics = {
        "reward_mean": float(rewards.mean()),
        "reward_std": float(rewards.std()) if len(rewards) > 1 else 0.0,
        "zero_std_fraction": float(flat.float().mean()),
        "response_length": tokens / len(rewards),
        "truncated_fraction": truncated / len(rewards),
        "updates": update.updates,
        "grad_norm": update.grad_norm,
        "sample_seconds": rollout.sample_seconds,
        "step_seconds": seconds,
        "tokens_per_second": tokens / rollout.sample_seconds,  # of all ranks together
    }
    terms = rollout.terms
    for key in terms[0] if terms else ():
        values = [t[key] for t in terms if not math.isnan(t[key])]
        metrics[f"term_{key}"] = sum(values) / len(values) if values else math.nan
    return {**metrics, **update.stats}


def grpo_step(
    model,
    reference,
    optimizer,
    task,
    reward_fn,
    examples,
    cfg,
    sampling,
    generator,
    device,
    world: World = SINGLE,
) -> dict:
    """One RL step on the B questions `examples`: generate and score, advantages, mini-batch
    clipped updates. -> metrics. Data-parallel, each process samples its share of them."""
    timer = time.perf_counter()
    rollout = generate_and_score(model, task, reward_fn, examples, cfg, sampling, generator, world)
    advantages = assign_credit(cfg.credit, rollout, cfg.advantage_scale, cfg.baseline)
    update = policy_update(model, reference, optimizer, rollout, advantages, cfg, device, world)
    return step_metrics(rollout, update, time.perf_counter() - timer, world)


# --------------------------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------------------------


def sampling_config(cfg) -> SamplingConfig:
    """How training samples its responses (`rlvr.temperature`, `top_k`, `top_p`, length)."""
    return SamplingConfig(
        max_new_tokens=cfg.max_new_tokens,
        temperature=cfg.temperature,
        top_k=cfg.top_k,
        top_p=cfg.top_p,
    )


def frozen_reference(ctx: Context):
    """The KL reference: None when kl_coef = 0; else the context's (e.g. the base model with
    LoRA adapters off) or a frozen copy of the initial model."""
    if ctx.config.rlvr.loss.kl_coef <= 0:
        return None
    if ctx.reference is not None:
        return ctx.reference
    return copy.deepcopy(ctx.model).eval().requires_grad_(False)


def train_rlvr(ctx: Context) -> dict:
    """Run (or resume) GRPO; returns {"step", "best_score", "best_step"}."""
    cfg, model, world, task = ctx.config.rlvr, ctx.model, ctx.world, ctx.task
    train = task.examples("train")
    reward_fn = reward_function(task, cfg)
    reference = frozen_reference(ctx)
    kept = reference if isinstance(reference, torch.nn.Module) else None  # saved in checkpoints
    optimizer = adamw(model, cfg.lr, cfg.weight_decay)
    sampling = sampling_config(cfg)
    stream = question_stream(task, cfg, ctx.config.seed)
    state = {"step": 0, "best_score": -math.inf, "best_step": 0}
    start_training(ctx, "rlvr", optimizer, stream, state, reference=kept)
    log_clock, eval_clock, save_clock = map(Every, (cfg.log_every, cfg.eval_every, cfg.save_every))

    def checkpoint(step: int, tag: str | None = None) -> None:  # every rank calls it
        trainer_state = {"stream": stream.state_dict(), "rng": rng_state(), "loop": dict(state)}
        frozen = {"reference": kept} if kept is not None and tag is None else None
        save_training_checkpoint(ctx, step, optimizer, trainer_state, tag=tag, frozen=frozen)

    if ctx.resume_from is None and cfg.keep_best:  # the starting point is the first "best"
        state["best_score"] = heldout_selection(ctx, "rlvr", 0)
        checkpoint(0, tag="best")
    show = ctx.config.progress and world.main
    bar = tqdm(total=cfg.steps, initial=state["step"], desc="rlvr", disable=not show)
    for step in range(state["step"] + 1, cfg.steps + 1):
        examples = [train[i] for i in stream.next_batch()]
        generator = step_generator(ctx.config.seed, step)
        with ctx.precision():
            metrics = grpo_step(
                model,
                reference,
                optimizer,
                task,
                reward_fn,
                examples,
                cfg,
                sampling,
                generator,
                ctx.device,
                world,
            )
        check_finite(
            model, "rlvr", step, world, loss=metrics.get("loss"), grad_norm=metrics["grad_norm"]
        )
        state["step"] = step
        bar.update(1)
        if log_clock(step):
            ctx.logger.log("rlvr", step, metrics)
            bar.set_postfix(reward=f"{metrics['reward_mean']:.3f}")
        last = step == cfg.steps
        if eval_clock(step) or last:
            score = heldout_selection(ctx, "rlvr", step)
            if world.broadcast_flag(world.main and cfg.keep_best and score > state["best_score"]):
                state.update(best_score=score, best_step=step)
                checkpoint(step, tag="best")
        if save_clock(step) or last:
            checkpoint(step)
    bar.close()
    return {k: state[k] for k in ("step", "best_score", "best_step")}
