"""GRPO post-training on a verifiable reward (SPEC §2), modality-agnostic.

for step in 1..steps:
    questions = next B from the stream (changed + N unchanged per epoch)
                (data-parallel: each rank samples and scores its share of the B)
    samples   = G responses each (KV-cache sampler)                      [B*G, Lr]
    rewards   = reward(decode(samples), references)                      [B*G]
    A         = group_advantages(rewards)                                [B*G]
                (credit=reward-to-go: rewards per span [B*G, S], each span's tokens
                 get the group advantage of its reward-to-go; credit=token: rewards per
                 token [B*G, S, P], each token its own part of its span + reward-to-go)
    drop zero-variance groups; logp_ref, logp_old under no_grad
    for epoch in epochs: for mini-batch of questions:
        loss = clipped surrogate + kl_coef * KL - entropy_coef * H      (token-mean)
        (data-parallel: divided by the whole mini-batch's tokens; gradients summed over ranks)
        AdamW step (grad-norm clip, constant LR)
    on clocks: log, evaluate held-out (keep best), checkpoint   (rank 0)
"""

from __future__ import annotations

import copy
import math
import time

import torch
from tqdm.auto import tqdm

from rlvr_world.core.checkpoint import load_trainer_state
from rlvr_world.core.grpo import (
    aggregation_denominator,
    group_advantages,
    grpo_loss,
    reward_to_go,
    span_advantages,
    spread_over_spans,
    spread_over_tokens,
    token_advantages,
    token_returns,
    truncation_mask,
    zero_variance_groups,
)
from rlvr_world.core.losses import response_logprobs
from rlvr_world.core.sampler import SamplingConfig
from rlvr_world.core.seeding import rng_state, set_rng_state
from rlvr_world.train.context import Context, adamw, save_training_checkpoint
from rlvr_world.train.distributed import SINGLE, World
from rlvr_world.train.mle import heldout_selection
from rlvr_world.train.run import Every
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
    """The task's training reward for `cfg.credit`: per response (`task.reward`), for
    reward-to-go per generated span (`task.span_reward`: rewards [N][S] and weights [S]), for
    token per generated token (`task.token_reward`: rewards [N][S][P] and weights [S])."""
    if cfg.credit == "sequence":
        return task.reward(cfg.reward)
    if cfg.credit == "token":
        if not hasattr(task, "token_reward"):
            raise ValueError(
                "rlvr.credit=token needs a task that scores the part of its output each "
                f"generated token governs; the {task.name!r} task does not "
                "(use rlvr.credit=sequence)"
            )
        return task.token_reward(cfg.reward)
    if not hasattr(task, "span_reward"):
        raise ValueError(
            "rlvr.credit=reward-to-go needs a task that scores each generated span; "
            f"the {task.name!r} task does not (use rlvr.credit=sequence)"
        )
    return task.span_reward(cfg.reward)


def train_rlvr(ctx: Context) -> dict:
    cfg, model, device, task = ctx.config.rlvr, ctx.model, ctx.device, ctx.task
    world = ctx.world
    train = task.examples("train")
    reward_fn = reward_function(task, cfg)
    reference = None
    if cfg.loss.kl_coef > 0:  # the frozen initial model; beta = 0 needs none
        reference = ctx.reference
        if reference is None:
            reference = copy.deepcopy(model).eval().requires_grad_(False)
    keeps_reference = isinstance(reference, torch.nn.Module)  # a copy, saved in checkpoints
    optimizer = adamw(model, cfg.lr, cfg.weight_decay)
    sampling = SamplingConfig(
        max_new_tokens=cfg.max_new_tokens,
        temperature=cfg.temperature,
        top_k=cfg.top_k,
        top_p=cfg.top_p,
    )
    stream = question_stream(task, cfg, ctx.config.seed)
    state = {"step": 0, "best_score": -math.inf, "best_step": 0}
    if ctx.resume_from is not None:
        saved = load_trainer_state(ctx.resume_from)
        world.load_optimizer_state(model, optimizer, saved["optimizer"])
        stream.load_state_dict(saved["stream"])
        set_rng_state(saved["rng"])
        if keeps_reference:
            world.load_model_state(reference, saved["reference"])
        state.update(saved["loop"])
        ctx.logger.truncate("rlvr", state["step"])
    log_clock, eval_clock, save_clock = (
        Every(cfg.log_every),
        Every(cfg.eval_every),
        Every(cfg.save_every),
    )

    def checkpoint(step: int, tag: str | None = None) -> None:  # every rank calls it
        trainer_state = {"stream": stream.state_dict(), "rng": rng_state(), "loop": dict(state)}
        frozen = {"reference": reference} if keeps_reference and tag is None else None
        save_training_checkpoint(ctx, step, optimizer, trainer_state, tag=tag, frozen=frozen)

    if ctx.resume_from is None and cfg.keep_best:  # the starting point is the first "best"
        state["best_score"] = heldout_selection(ctx, "rlvr", 0)
        checkpoint(0, tag="best")
    bar = tqdm(
        total=cfg.steps,
        initial=state["step"],
        desc="rlvr",
        disable=not (ctx.config.progress and world.main),
    )
    for step in range(state["step"] + 1, cfg.steps + 1):
        with ctx.precision():
            metrics = grpo_step(
                model,
                reference,
                optimizer,
                task,
                reward_fn,
                [train[i] for i in stream.next_batch()],
                cfg,
                sampling,
                step_generator(ctx.config.seed, step),
                device,
                world,
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
    """One RL step: sample, score, advantages, mini-batch clipped updates. Returns metrics.

    examples: the step's B questions. Data-parallel, each rank samples its share and the
    mini-batches are cut from the whole step's kept groups, so every rank takes the same
    optimiser steps (a rank without rows in a mini-batch contributes zero gradients)."""
    loss_cfg, group_size = cfg.loss, cfg.group_size
    timer = time.perf_counter()
    model.eval()
    share = world.share(len(examples))
    local = examples[share]
    with world.gathered(model):  # FSDP: ranks sample different lengths, without collectives
        samples = task.generate(
            model,
            local,
            sampling,
            group_size=group_size,
            generator=generator,
            batch_rows=(share.start * group_size, len(examples) * group_size),
        )
    sample_seconds = time.perf_counter() - timer
    expanded = [e for e in local for _ in range(group_size)]  # [b*G], group-contiguous
    predictions = [task.decode(r, e.context) for r, e in zip(samples.responses(), expanded)]
    scored = reward_fn(predictions, [e.reference for e in expanded], [e.context for e in expanded])
    if cfg.credit == "reward-to-go":  # (rewards [b*G][S], weights [S] or None) -> [b*G, S]
        weights = None if scored[1] is None else torch.tensor(scored[1])
        local_returns = reward_to_go(torch.tensor(scored[0]), weights)
    elif cfg.credit == "token":  # (rewards [b*G][S][P], weights [S]) -> returns [b*G, S * P]
        per_token = token_returns(torch.tensor(scored[0]), torch.tensor(scored[1]))
        positions = per_token.shape[2]
        local_returns = per_token.flatten(1)
    else:
        local_returns = torch.tensor(scored, dtype=torch.float).unsqueeze(1)  # [b*G, 1]
    # logged per-sample terms: a task's cheap training metrics if it has them (video: no
    # second LPIPS network), else its full scores
    terms = getattr(task, "train_metrics", task.score)(predictions, expanded)
    # the forward attends to every response token; loss, entropy and KL only count the tokens
    # the model chose (not inserted ones) of responses that are not masked as truncated
    mask = samples.response_mask  # [b*G, Lr]
    loss_mask = samples.loss_mask
    if cfg.mask_truncated:
        loss_mask = truncation_mask(samples.finished, loss_mask)
    returns = world.gather_rows(local_returns)  # [B*G, S], the whole step's
    if cfg.credit == "token":  # the mean of the first span's token returns is the reward
        rewards = returns[:, :positions].mean(1)  # [B*G]
    else:  # a response's return from its first span is its reward
        rewards = returns[:, 0]  # [B*G]
    all_loss_mask = world.gather_rows(loss_mask)  # [B*G, Lr'] for the loss denominators
    local_rows = slice(share.start * group_size, share.stop * group_size)
    if cfg.credit == "reward-to-go":
        per_span = span_advantages(returns, group_size, cfg.advantage_scale, cfg.baseline)
        advantages = spread_over_spans(
            per_span[local_rows], _span_index(task, samples)
        )  # [b*G, Lr]
    elif cfg.credit == "token":
        per_token = token_advantages(
            returns.view(returns.shape[0], -1, positions),
            group_size,
            cfg.advantage_scale,
            cfg.baseline,
        )
        advantages = spread_over_tokens(per_token[local_rows], _span_index(task, samples))
    else:
        advantages = group_advantages(rewards, group_size, cfg.advantage_scale, cfg.baseline)
        advantages = advantages[local_rows]  # [b*G]
    flat = zero_variance_groups(rewards, group_size)  # [B*G]
    groups = list(range(len(examples)))
    if cfg.skip_zero_variance:
        groups = [g for g in groups if not bool(flat[g * group_size])]
    minibatches = [
        groups[i : i + cfg.mini_batch_size] for i in range(0, len(groups), cfg.mini_batch_size)
    ]
    # this rank's groups of each mini-batch, as indices into its own rows
    local_minibatches = [
        [g - share.start for g in mb if share.start <= g < share.stop] for mb in minibatches
    ]
    denominators = [
        aggregation_denominator(
            all_loss_mask[rows_of(mb, group_size)],
            loss_cfg.loss_aggregation,
            loss_cfg.constant_normalizer,
        )
        for mb in minibatches
    ]
    single_update = cfg.epochs * len(minibatches) == 1

    def tensors(rows: torch.Tensor):
        # no width trimming here: response_logprobs drops all-padding columns per bucket
        return (
            samples.question_ids[rows].to(device),
            samples.question_mask[rows].to(device),
            samples.response_ids[rows].to(device),
            mask[rows].to(device),
        )

    # logp_ref and logp_old of this rank's kept rows, before any update: [rows, width]
    fixed: dict[int, tuple] = {}
    with torch.no_grad(), world.gathered(model, reference):
        for index, mb in enumerate(local_minibatches):
            if not mb:
                continue
            batch = tensors(rows_of(mb, group_size))
            ref = response_logprobs(reference, *batch)[0] if reference is not None else None
            # with one update the policy has not moved yet: logp_old = logp.detach() (exact)
            old = None if single_update else response_logprobs(model, *batch)[0]
            fixed[index] = (ref, old)
    model.train()
    stats_sum: dict[str, float] = {}
    updates, grad_norm = 0, 0.0
    for _ in range(cfg.epochs):
        for index, mb in enumerate(local_minibatches):
            optimizer.zero_grad(set_to_none=True)
            if not mb and world.fsdp:  # FSDP: every rank runs one forward and backward
                logp, _ = response_logprobs(model, *tensors(rows_of([0], group_size)[:1]))
                (logp.sum() * 0.0).backward()
            if mb:
                rows = rows_of(mb, group_size)
                batch = tensors(rows)
                logp, entropy = response_logprobs(
                    model,
                    *batch,
                    with_entropy=loss_cfg.entropy_coef > 0,
                    # FSDP: exactly one forward per update on every rank
                    bucketed=not world.fsdp,
                    share_prefix=not world.fsdp,
                )
                logp_ref, logp_old = fixed[index]
                loss, stats = grpo_loss(
                    logp,
                    logp.detach() if logp_old is None else logp_old,
                    advantages[rows].to(device),
                    loss_mask[rows].to(device),
                    loss_cfg,
                    logp_ref=logp_ref,
                    entropy=entropy,
                    denominator=denominators[index],
                )
                loss.backward()
                for key, value in stats.items():
                    stats_sum[key] = stats_sum.get(key, 0.0) + float(value)
            world.all_reduce_grads(model)
            grad_norm += float(torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip))
            optimizer.step()
            updates += 1
    seconds = time.perf_counter() - timer
    tokens, truncated = world.sum(
        [float(samples.loss_mask.sum()), float((~samples.finished).sum())]
    )  # over the whole step's B*G rows
    metrics = {
        "reward_mean": float(rewards.mean()),
        "reward_std": float(rewards.std()) if len(rewards) > 1 else 0.0,
        "zero_std_fraction": float(flat.float().mean()),
        "response_length": tokens / len(rewards),
        "truncated_fraction": truncated / len(rewards),
        "updates": updates,
        "grad_norm": grad_norm / max(updates, 1),
        "sample_seconds": sample_seconds,
        "step_seconds": seconds,
        "tokens_per_second": tokens / sample_seconds,  # of all ranks together
    }
    for key in terms[0] if terms else ():
        values = [t[key] for t in terms if not math.isnan(t[key])]
        metrics[f"term_{key}"] = sum(values) / len(values) if values else math.nan
    local_updates = sum(1 for mb in local_minibatches if mb) * cfg.epochs
    metrics.update({k: v / max(local_updates, 1) for k, v in stats_sum.items()})
    return metrics
