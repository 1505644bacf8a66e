"""A diverged run stops: a non-finite loss, gradient norm or parameter ends training at once,
before the step is logged, evaluated or checkpointed, so no NaN ever becomes `best`."""

from __future__ import annotations

import math

import torch

from rlvr_world.train.distributed import World

LABELS = {"loss": "loss", "grad_norm": "gradient norm"}


class DivergenceError(RuntimeError):
    """Training diverged: a loss, gradient norm or parameter is NaN or infinite."""


def finite_parameters(model: torch.nn.Module) -> bool:
    """Whether every trainable parameter of `model` (this process's shard of it) is finite."""
    norms = []
    for parameter in model.parameters():
        if parameter.requires_grad:
            local = parameter.to_local() if hasattr(parameter, "to_local") else parameter
            # the max-norm is NaN or inf exactly when an element is, without a copy of it
            norms.append(torch.linalg.vector_norm(local.detach(), ord=math.inf).float())
    return not norms or bool(torch.isfinite(torch.stack([n.cpu() for n in norms])).all())


def check_finite(
    model: torch.nn.Module, phase: str, step: int, world: World, **quantities: float | None
) -> None:
    """Raise `DivergenceError` naming `step` and the first non-finite one of `quantities`
    (e.g. loss, grad_norm; None: not measured this step), then of the model's trainable
    parameters. Every process calls it; all of them stop together."""
    names = [name for name, value in quantities.items() if value is not None]
    flags = [float(not math.isfinite(quantities[name])) for name in names]
    flags.append(float(not finite_parameters(model)))
    flags = world.sum(flags)  # a NaN on any process stops every process
    for name, flag in zip([*names, "parameters"], flags):
        if not flag:
            continue
        if name == "parameters":
            what = "the parameters are not finite (NaN or inf)"
        else:
            value = float(quantities[name])
            shown = value if not math.isfinite(value) else "not finite on another process"
            what = f"the {LABELS.get(name, name)} is {shown}"
        raise DivergenceError(
            f"training diverged at {phase} step {step}: {what}; stopped before logging or "
            f"saving this step (try a lower {phase}.lr)"
        )
