"""Maximum-likelihood pre-training: teacher-forced NLL on response tokens.

for step in 1..steps:
    batch = next shuffled examples (data-parallel: this rank's share of them)
    loss = sum NLL(response | question) / #response tokens   (accumulated over micro-batches)
    (data-parallel: gradients summed over ranks; #tokens counts the whole batch)
    AdamW step (grad-norm clip, warm-up + cosine LR)
    a NaN or inf loss, gradient norm or parameter: stop (`train.divergence`)
    on clocks: log, evaluate held-out (keep best), checkpoint, stop early   (rank 0)
"""

from __future__ import annotations

import math
import time

import torch
from tqdm.auto import tqdm

from rlvr_world.core.losses import mle_loss
from rlvr_world.core.seeding import rng_state
from rlvr_world.core.sequences import pad_left, pad_right
from rlvr_world.train.context import Context, adamw, save_training_checkpoint, start_training
from rlvr_world.train.divergence import check_finite
from rlvr_world.train.heldout import heldout_selection
from rlvr_world.train.run_folder import Every
from rlvr_world.train.streams import EpochStream, all_items


def lr_lambda(warmup: int, total: int, floor: float = 0.1, kind: str = "cosine"):
    def schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if kind == "constant":
            return 1.0
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))

    return schedule


def collate(examples, pad_id: int):
    """Examples -> question ids/mask [N, Lq] (left-padded), response ids/mask [N, Lr], loss mask
    [N, Lr] (the response tokens MLE trains on)."""
    q_ids, q_mask = pad_left([e.question_ids for e in examples], pad_id)
    r_ids, r_mask = pad_right([e.response_ids for e in examples], pad_id)
    loss_mask, _ = pad_right(
        [e.loss_mask if e.loss_mask is not None else [1] * len(e.response_ids) for e in examples],
        0,
        r_ids.shape[1],
    )
    return q_ids, q_mask, r_ids, r_mask, loss_mask.float()


def trained_tokens(example) -> int:
    return len(example.response_ids) if example.loss_mask is None else sum(example.loss_mask)


def mle_update(ctx: Context, batch: list, optimizer, scheduler) -> tuple[float, float, int]:
    """One optimiser step on `batch` (this rank: its share, in micro-batches) -> (the whole
    batch's mean NLL per trained token, the gradient norm, the whole batch's trained tokens)."""
    cfg, model, world = ctx.config.mle, ctx.model, ctx.world
    total_tokens = sum(trained_tokens(e) for e in batch)  # the whole batch, every rank
    local = batch[world.share(len(batch))]
    loss_sum = 0.0
    for start in range(0, len(local), cfg.micro_batch_size):
        micro = collate(local[start : start + cfg.micro_batch_size], ctx.task.tokenizer.pad_id)
        *inputs, loss_mask = (t.to(ctx.device) for t in micro)
        with ctx.precision():
            nll, _ = mle_loss(model, *inputs, loss_mask=loss_mask)
        (nll / total_tokens).backward()
        loss_sum += float(nll.detach())
    world.all_reduce_grads(model)
    (loss_sum,) = world.sum([loss_sum])
    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    return loss_sum / total_tokens, float(grad_norm), total_tokens


def _select(ctx: Context, state: dict, step: int, checkpoint) -> tuple[float | None, bool]:
    """Held-out evaluation at `step`: a better score becomes the `best` checkpoint. -> (the
    score, whether patience ran out); rank 0 decides, the others get (None, False)."""
    world = ctx.world
    score = heldout_selection(ctx, "mle", step)
    if world.broadcast_flag(world.main and score > state["best_score"]):
        state.update(best_score=score, best_step=step, bad_evals=0)
        checkpoint(step, tag="best")
        return score, False
    if not world.main:
        return score, False
    state["bad_evals"] += 1
    patience = ctx.config.mle.patience
    return score, patience > 0 and state["bad_evals"] >= patience


def train_mle(ctx: Context) -> dict:
    """Run (or resume) MLE training; returns {"step", "best_score", "best_step"}."""
    cfg, model, world = ctx.config.mle, ctx.model, ctx.world
    train = ctx.task.examples("train")
    optimizer = adamw(model, cfg.lr, cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lr_lambda(cfg.warmup_steps, cfg.steps, kind=cfg.schedule)
    )
    stream = EpochStream(all_items(len(train)), cfg.batch_size, ctx.config.seed)
    state = {"step": 0, "best_score": -math.inf, "best_step": 0, "bad_evals": 0}
    start_training(ctx, "mle", optimizer, stream, state, scheduler=scheduler)
    log_clock, eval_clock, save_clock = map(Every, (cfg.log_every, cfg.eval_every, cfg.save_every))

    def checkpoint(step: int, tag: str | None = None) -> None:  # every rank calls it
        trainer_state = {
            "scheduler": scheduler.state_dict(),
            "stream": stream.state_dict(),
            "rng": rng_state(),
            "loop": dict(state),
        }
        save_training_checkpoint(ctx, step, optimizer, trainer_state, tag=tag)

    if ctx.resume_from is None and ctx.init_dir is not None:  # continuing: the start is "best"
        state["best_score"] = heldout_selection(ctx, "mle", 0)
        checkpoint(0, tag="best")
    model.train()
    show = ctx.config.progress and world.main
    bar = tqdm(total=cfg.steps, initial=state["step"], desc="mle", disable=not show)
    tokens_seen, clock, started = 0, time.perf_counter(), time.perf_counter()
    for step in range(state["step"] + 1, cfg.steps + 1):
        batch = [train[i] for i in stream.next_batch()]
        loss, grad_norm, tokens = mle_update(ctx, batch, optimizer, scheduler)
        check_finite(model, "mle", step, world, loss=loss, grad_norm=grad_norm)
        state["step"] = step
        tokens_seen += tokens
        bar.update(1)
        if log_clock(step):
            speed = tokens_seen / (time.perf_counter() - clock)
            lr = scheduler.get_last_lr()[0]
            metrics = {"loss": loss, "grad_norm": grad_norm, "lr": lr, "tokens_per_second": speed}
            ctx.logger.log("mle", step, metrics)
            bar.set_postfix(loss=f"{loss:.3f}")
            tokens_seen, clock = 0, time.perf_counter()
        stop = cfg.max_seconds > 0 and time.perf_counter() - started >= cfg.max_seconds
        if cfg.max_seconds > 0:
            stop = world.broadcast_flag(stop)  # rank 0's clock decides for all
        last = step == cfg.steps or stop
        if eval_clock(step) or last:
            score, out_of_patience = _select(ctx, state, step, checkpoint)
            stop = stop or out_of_patience
            if world.main:
                bar.set_postfix(loss=f"{loss:.3f}", held_out=f"{score:.3f}")
        stop = world.broadcast_flag(stop)  # rank 0's patience decides for all
        if save_clock(step) or last or stop:
            checkpoint(step)
        if stop:
            break
    bar.close()
    return {k: state[k] for k in ("step", "best_score", "best_step")}
