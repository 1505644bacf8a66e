"""Held-out evaluation: decode every question (greedy for language), score, summarise.

The training loops select their best checkpoint (and stop early) on the validation split with
`heldout_selection`; `evaluate` also gives a run's final figures on the test split.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from rlvr_world.core.protocols import Example
from rlvr_world.core.sampler import SamplingConfig
from rlvr_world.core.subsets import spread
from rlvr_world.train.context import Context


def generate(
    model: torch.nn.Module,
    task,
    examples: Sequence[Example],
    *,
    batch_size: int = 64,
    config: SamplingConfig | None = None,
    generator: torch.Generator | None = None,
    progress=None,
) -> list[list[int]]:
    """Response ids for each example, in order, drawn by `task.generate`; batches group
    questions of similar length."""
    config = config or SamplingConfig(max_new_tokens=160, temperature=0.0)
    order = sorted(range(len(examples)), key=lambda i: len(examples[i].question_ids))
    out: list[list[int]] = [[] for _ in examples]
    was_training = model.training
    model.eval()
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        samples = task.generate(model, [examples[i] for i in chunk], config, generator=generator)
        for i, response in zip(chunk, samples.responses()):
            out[i] = response
        if progress is not None:
            progress.update(len(chunk))
    model.train(was_training)
    return out


def evaluate(
    model: torch.nn.Module,
    task,
    examples: Sequence[Example],
    *,
    batch_size: int = 64,
    max_new_tokens: int = 160,
    temperature: float = 0.0,
    top_k: int = 0,
    seed: int = 1234,
    progress=None,
) -> tuple[dict, list[dict], list]:
    """Decode `examples` (greedy by default; sampled from a fixed seed with temperature > 0),
    score them with the task.

    -> (summary metrics from `task.summarize`, one record per example:
    {"id", "split", "response", "scores"} (response: `task.describe(prediction)` when the task
    defines it, for predictions that are not plain data), the predictions themselves).
    """
    generator = torch.Generator().manual_seed(seed) if temperature > 0 else None
    responses = generate(
        model,
        task,
        examples,
        batch_size=batch_size,
        config=SamplingConfig(max_new_tokens=max_new_tokens, temperature=temperature, top_k=top_k),
        generator=generator,
        progress=progress,
    )
    predictions = [task.decode(r, e.context) for r, e in zip(responses, examples)]
    scores = task.score(predictions, examples)
    describe = getattr(task, "describe", lambda prediction: prediction)
    records = [
        {
            "id": e.context.get("id"),
            "split": e.context.get("split"),
            "response": describe(p),
            "scores": s,
        }
        for e, p, s in zip(examples, predictions, scores)
    ]
    return task.summarize(scores, examples), records, predictions


def evaluate_heldout(ctx: Context, phase: str, step: int) -> dict:
    """Evaluation (decoding as the `eval` config says) on the validation split, or
    `eval.max_examples` of its examples spread evenly over it, logged under `<phase>/eval`.

    Model selection (best checkpoint, early stopping) only ever sees this split; the test
    split is kept for the final figures (`rlvr-world eval`)."""
    examples = spread(ctx.task.examples("valid"), ctx.config.eval.max_examples)
    with ctx.precision():
        summary, _, _ = evaluate(
            ctx.model,
            ctx.task,
            examples,
            batch_size=ctx.config.eval.batch_size,
            max_new_tokens=ctx.config.eval.max_new_tokens,
            temperature=ctx.config.eval.temperature,
            top_k=ctx.config.eval.top_k,
            seed=ctx.config.eval.seed,
        )
    flat = {
        f"{group}_{k}": v
        for group, values in summary.items()
        if isinstance(values, dict)
        for k, v in values.items()
        if isinstance(v, float)
    }
    flat.update({k: v for k, v in summary.items() if isinstance(v, float)})
    ctx.logger.log(f"{phase}/eval", step, flat)
    return summary


def heldout_selection(ctx: Context, phase: str, step: int) -> float | None:
    """`evaluate_heldout`'s selection score on rank 0 (None on the others). Every rank calls
    it: with FSDP they all gather the weights rank 0 evaluates with."""
    with ctx.world.gathered(ctx.model):
        return evaluate_heldout(ctx, phase, step)["selection"] if ctx.world.main else None
