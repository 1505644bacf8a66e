"""GRPO post-training on a verifiable reward (SPEC §2), modality-agnostic.

for step in 1..steps:
    questions = next B from the stream (changed + N unchanged per epoch)
    samples   = G responses each (KV-cache sampler)                      [B*G, Lr]
    rewards   = reward(decode(samples), references)                      [B*G]
    A         = group_advantages(rewards)                                [B*G]
    drop zero-variance groups; logp_ref, logp_old under no_grad
    for epoch in epochs: for mini-batch of questions:
        loss = clipped surrogate + kl_coef * KL - entropy_coef * H      (token-mean)
        AdamW step (grad-norm clip, constant LR)
    on clocks: log, evaluate held-out (keep best), checkpoint
"""

from __future__ import annotations

import copy
import math
import time

import torch
from tqdm.auto import tqdm

from rlvr_world.core.checkpoint import load_trainer_state, save_checkpoint
from rlvr_world.core.grpo import (
    group_advantages,
    grpo_loss,
    truncation_mask,
    zero_variance_groups,
)
from rlvr_world.core.losses import response_logprobs
from rlvr_world.core.sampler import SamplingConfig
from rlvr_world.core.seeding import rng_state, set_rng_state
from rlvr_world.train.context import Context, plain
from rlvr_world.train.mle import evaluate_heldout
from rlvr_world.train.run import Every, truncate_metrics
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


def train_rlvr(ctx: Context) -> dict:
    cfg, model, device, task = ctx.config.rlvr, ctx.model, ctx.device, ctx.task
    train = task.examples("train")
    reward_fn = task.reward(cfg.reward)
    reference = None
    if cfg.loss.kl_coef > 0:  # the frozen initial model; beta = 0 needs none
        reference = copy.deepcopy(model).eval().requires_grad_(False)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=cfg.lr, betas=(0.9, 0.999), weight_decay=cfg.weight_decay
    )
    sampling = SamplingConfig(
        max_new_tokens=cfg.max_new_tokens,
        temperature=cfg.temperature,
        top_k=cfg.top_k,
        top_p=cfg.top_p,
    )
    generator = torch.Generator().manual_seed(ctx.config.seed)
    stream = question_stream(task, cfg, ctx.config.seed)
    state = {"step": 0, "best_score": -math.inf, "best_step": 0}
    if ctx.resume_from is not None:
        saved = load_trainer_state(ctx.resume_from)
        optimizer.load_state_dict(saved["optimizer"])
        stream.load_state_dict(saved["stream"])
        generator.set_state(saved["generator"])
        set_rng_state(saved["rng"])
        if reference is not None:
            reference.load_state_dict(saved["reference"])
        state.update(saved["loop"])
        truncate_metrics(ctx.logger.path, "rlvr", state["step"])
    log_clock, eval_clock, save_clock = (
        Every(cfg.log_every),
        Every(cfg.eval_every),
        Every(cfg.save_every),
    )

    def checkpoint(step: int, tag: str | None = None) -> None:
        trainer_state = {
            "optimizer": optimizer.state_dict(),
            "stream": stream.state_dict(),
            "generator": generator.get_state(),
            "rng": rng_state(),
            "loop": dict(state),
        }
        if reference is not None and tag is None:
            trainer_state["reference"] = reference.state_dict()
        save_checkpoint(
            ctx.run_dir / "checkpoints", step, model, trainer_state, plain(ctx.config), tag=tag
        )

    if ctx.resume_from is None and cfg.keep_best:  # the starting point is the first "best"
        state["best_score"] = evaluate_heldout(ctx, "rlvr", 0)["selection"]
        checkpoint(0, tag="best")
    bar = tqdm(total=cfg.steps, initial=state["step"], desc="rlvr", disable=not ctx.config.progress)
    for step in range(state["step"] + 1, cfg.steps + 1):
        metrics = grpo_step(
            model,
            reference,
            optimizer,
            task,
            reward_fn,
            [train[i] for i in stream.next_batch()],
            cfg,
            sampling,
            generator,
            device,
        )
        state["step"] = step
        bar.update(1)
        if log_clock(step):
            ctx.logger.log("rlvr", step, metrics)
            bar.set_postfix(reward=f"{metrics['reward_mean']:.3f}")
        last = step == cfg.steps
        if eval_clock(step) or last:
            score = evaluate_heldout(ctx, "rlvr", step)["selection"]
            if cfg.keep_best and score > state["best_score"]:
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
) -> dict:
    """One RL step: sample, score, advantages, mini-batch clipped updates. Returns metrics."""
    loss_cfg, group_size = cfg.loss, cfg.group_size
    timer = time.perf_counter()
    model.eval()
    samples = task.generate(model, examples, sampling, group_size=group_size, generator=generator)
    sample_seconds = time.perf_counter() - timer
    expanded = [e for e in examples for _ in range(group_size)]  # [B*G], group-contiguous
    predictions = [task.decode(r, e.context) for r, e in zip(samples.responses(), expanded)]
    rewards = torch.tensor(
        reward_fn(predictions, [e.reference for e in expanded], [e.context for e in expanded]),
        dtype=torch.float,
    )  # [B*G]
    # logged per-sample terms: a task's cheap training metrics if it has them (video: no
    # second LPIPS network), else its full scores
    terms = getattr(task, "train_metrics", task.score)(predictions, expanded)
    advantages = group_advantages(rewards, group_size, cfg.advantage_scale, cfg.baseline)  # [B*G]
    # the forward attends to every response token; loss, entropy and KL only count the tokens
    # the model chose (not inserted ones) of responses that are not masked as truncated
    mask = samples.response_mask  # [B*G, Lr]
    loss_mask = samples.loss_mask
    if cfg.mask_truncated:
        loss_mask = truncation_mask(samples.finished, loss_mask)
    flat = zero_variance_groups(rewards, group_size)  # [B*G]
    groups = list(range(len(examples)))
    if cfg.skip_zero_variance:
        groups = [g for g in groups if not bool(flat[g * group_size])]
    minibatches = [
        groups[i : i + cfg.mini_batch_size] for i in range(0, len(groups), cfg.mini_batch_size)
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

    # logp_ref and logp_old of every kept row, before any update: [rows, width]
    fixed: dict[int, tuple] = {}
    with torch.no_grad():
        for index, mb in enumerate(minibatches):
            batch = tensors(rows_of(mb, group_size))
            ref = response_logprobs(reference, *batch)[0] if reference is not None else None
            # with one update the policy has not moved yet: logp_old = logp.detach() (exact)
            old = None if single_update else response_logprobs(model, *batch)[0]
            fixed[index] = (ref, old)
    model.train()
    stats_sum: dict[str, float] = {}
    updates, grad_norm = 0, 0.0
    for _ in range(cfg.epochs):
        for index, mb in enumerate(minibatches):
            rows = rows_of(mb, group_size)
            batch = tensors(rows)
            logp, entropy = response_logprobs(model, *batch, with_entropy=loss_cfg.entropy_coef > 0)
            logp_ref, logp_old = fixed[index]
            loss, stats = grpo_loss(
                logp,
                logp.detach() if logp_old is None else logp_old,
                advantages[rows].to(device),
                loss_mask[rows].to(device),
                loss_cfg,
                logp_ref=logp_ref,
                entropy=entropy,
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm += float(torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip))
            optimizer.step()
            updates += 1
            for key, value in stats.items():
                stats_sum[key] = stats_sum.get(key, 0.0) + float(value)
    seconds = time.perf_counter() - timer
    lengths = samples.loss_mask.sum(1)
    metrics = {
        "reward_mean": float(rewards.mean()),
        "reward_std": float(rewards.std()) if len(rewards) > 1 else 0.0,
        "zero_std_fraction": float(flat.float().mean()),
        "response_length": float(lengths.mean()),
        "truncated_fraction": float((~samples.finished).float().mean()),
        "updates": updates,
        "grad_norm": grad_norm / max(updates, 1),
        "sample_seconds": sample_seconds,
        "step_seconds": seconds,
        "tokens_per_second": float(lengths.sum()) / sample_seconds,
    }
    for key in terms[0] if terms else ():
        values = [t[key] for t in terms if not math.isnan(t[key])]
        metrics[f"term_{key}"] = sum(values) / len(values) if values else math.nan
    metrics.update({k: v / max(updates, 1) for k, v in stats_sum.items()})
    return metrics
