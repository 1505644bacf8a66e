"""Everything a training loop needs, prepared once: run folder, task, model, logger."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from rlvr_world.core.checkpoint import (
    best_checkpoint,
    latest_checkpoint,
    load_trainer_state,
    recover_checkpoints,
    save_checkpoint,
)
from rlvr_world.core.model import DTYPES, build_llama
from rlvr_world.core.seeding import seed_everything, set_rng_state
from rlvr_world.domains import get_domain
from rlvr_world.integrations.hf import (
    is_adapted,
    load_pretrained,
    load_world_model,
    reference_model,
    start_adapters,
)
from rlvr_world.train.config import ConfigError, RunConfig, to_dict
from rlvr_world.train.distributed import World, init_world, shutdown
from rlvr_world.train.divergence import check_finite
from rlvr_world.train.presets import check_required
from rlvr_world.train.run_folder import (
    MANIFEST,
    TRAINING_PHASES,
    Logger,
    RunFolderWarning,
    RunLock,
    check_inputs,
    claim_run_folder,
    manifest_problem,
    predates_manifests,
    read_config,
    remove_inputs,
    write_config,
    write_manifest,
)


@dataclass
class Context:
    config: RunConfig
    run_dir: Path
    task: object
    model: torch.nn.Module
    logger: Logger
    device: torch.device
    resume_from: Path | None = None
    init_dir: Path | None = None
    world: World = World()
    reference: object | None = None
    """The frozen KL reference: None (build a frozen copy when needed), or e.g. the base model
    with the LoRA adapters switched off (`integrations.hf.reference_model`)."""
    lock: RunLock | None = None
    """The run folder's lock, held by rank 0 until `close`."""

    def close(self) -> None:
        self.logger.close()
        shutdown(self.world)
        if self.lock is not None:
            self.lock.release()

    def precision(self):
        """The mixed-precision context forwards run in (`model.autocast`), or a no-op."""
        dtype = self.config.model.autocast
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=DTYPES[dtype])


def plain(config: RunConfig) -> dict:
    """The config as plain JSON types (tuples -> lists)."""
    return json.loads(json.dumps(to_dict(config)))


def save_training_checkpoint(
    ctx: Context,
    step: int,
    optimizer: torch.optim.Optimizer,
    trainer_state: dict,
    tag: str | None = None,
    frozen: dict[str, torch.nn.Module] | None = None,
) -> None:
    """A resumable checkpoint of the run's model, optimiser and `trainer_state` (plus the
    `frozen` models' weights under their keys, e.g. the KL reference). Every rank calls it:
    with FSDP the whole weights and optimiser state are gathered from the shards; rank 0
    writes, and removes step checkpoints beyond the config's `keep_checkpoints`."""
    world = ctx.world
    weights = world.full_state(ctx.model)
    state = {"optimizer": world.optimizer_state(ctx.model, optimizer), **trainer_state}
    for key, module in (frozen or {}).items():
        state[key] = world.full_state(module) or module.state_dict()
    if world.main:
        save_checkpoint(
            ctx.run_dir / "checkpoints",
            step,
            ctx.model,
            state,
            plain(ctx.config),
            keep_last=ctx.config.keep_checkpoints,
            tag=tag,
            state_dict=weights,
        )


def start_training(
    ctx: Context, phase: str, optimizer, stream, state: dict, scheduler=None, reference=None
) -> None:
    """The start of a training loop, the other half of `save_training_checkpoint`: the
    checkpoints folder recovered from a kill (rank 0), then on resume the optimiser, the
    `scheduler` (MLE's), the data position (`stream`), RNG states, the `reference` copy (RLVR's,
    when checkpoints keep one) and the loop `state` from the checkpoint, with the metrics cut
    back to its step; the starting parameters must be finite (an init run may have diverged)."""
    if ctx.world.main:
        recover_checkpoints(ctx.run_dir / "checkpoints", ctx.resume_from)
    if ctx.resume_from is not None:
        saved = load_trainer_state(ctx.resume_from)
        ctx.world.load_optimizer_state(ctx.model, optimizer, saved["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(saved["scheduler"])
        stream.load_state_dict(saved["stream"])
        set_rng_state(saved["rng"])
        if reference is not None:
            ctx.world.load_model_state(reference, saved["reference"])
        state.update(saved["loop"])
        ctx.logger.truncate(phase, state["step"])
    check_finite(ctx.model, phase, state["step"], ctx.world)


def adamw(model: torch.nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW (0.9, 0.999) over the weights that train (all, or only LoRA adapters)."""
    params = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.999), weight_decay=weight_decay)


def handed_on(run: Path) -> Path | None:
    """The checkpoint a run hands on: `best` if kept (`core.checkpoint.best_checkpoint`: also
    while a kill left it half replaced), else the latest one, else None (e.g. a tokenizer run,
    which has data and a tokenizer but no model)."""
    best = best_checkpoint(run / "checkpoints")
    return best if best is not None else latest_checkpoint(run / "checkpoints")


def initial_checkpoint(run: Path) -> Path:
    """`handed_on`, required."""
    checkpoint = handed_on(run)
    if checkpoint is None:
        raise FileNotFoundError(f"{run} holds no checkpoint (checkpoints/best or latest)")
    return checkpoint


def check_phase(config: RunConfig, phase: str) -> None:
    """Refuse, before anything is written, a config its domain cannot run in `phase`
    (`tokenizer`, `mle`, `rlvr`): the domain's `check_phase` hook; without one, a domain has no
    tokenizer-only phase (a text tokenizer is trained with the data of every run)."""
    domain = get_domain(config.data.domain)
    if domain.has("check_phase"):
        domain.hook("check_phase")(config, phase)
    elif phase == "tokenizer":
        raise ConfigError(
            f"train tokenizer is not a phase of the {domain.name} domain: its tokenizer is "
            "trained with the data of every run"
        )


def prepare(
    config: RunConfig,
    run_dir: str | Path,
    init: str | Path | None = None,
    resume: bool = False,
    with_reference: bool = False,
    force: bool = False,
) -> Context:
    """Create (or reopen, with `resume`) a run folder and build its task and model.

    init: a previous run whose data, tokenizer and best checkpoint this run starts from.
    with_reference: also a frozen KL reference (LoRA: the model with adapters off; FSDP: a
    whole copy made before sharding; otherwise left to the trainer, None).
    force: a new run into a folder that holds an earlier run deletes that run's files first.
    The folder's lock (`train.run_folder.RunLock`) is held from here until `Context.close`.
    """
    run_dir = Path(run_dir)
    check_required(config)
    if config.fsdp and config.lora.r:
        raise ConfigError("fsdp with lora adapters is not supported; use one or the other")
    if config.fsdp and config.rlvr.mle_coef:
        raise ConfigError("fsdp with rlvr.mle_coef is not supported (one forward per update)")
    if resume and force:
        raise ValueError("--force starts a run over; it does not go with --resume")
    if resume and not (run_dir / "config.yaml").exists():
        raise FileNotFoundError(f"--resume: {run_dir} is not a run folder (no config.yaml)")
    world = init_world(config.device)
    world = dataclasses.replace(world, fsdp=config.fsdp and world.active)
    lock = RunLock(run_dir).acquire() if world.main else None  # rank 0 holds it for all ranks
    try:
        return _prepare_locked(config, run_dir, init, resume, with_reference, force, world, lock)
    except BaseException:
        if lock is not None:
            lock.release()
        raise


def _prepare_locked(config, run_dir, init, resume, with_reference, force, world, lock) -> Context:
    """`prepare` once the run folder is this process's."""
    torch.set_num_threads(config.threads)
    seed_everything(config.seed)
    init = _open_run_dir(run_dir, config, init, resume, force, world.main)
    init_dir = Path(init) if init else None
    if not world.main:  # rank 0 writes the data and tokenizer first; the others read them back
        world.barrier()
    logger = Logger(run_dir, enabled=world.main)
    resume_from = latest_checkpoint(run_dir / "checkpoints") if resume else None
    if resume and resume_from is None:  # nothing to continue from: the run starts over
        logger.truncate(TRAINING_PHASES, -1)
    if resume and world.main:
        _check_resumed_inputs(run_dir, init_dir, resume_from, logger)
    task = get_domain(config.data.domain).hook("prepare_task")(
        config,
        run_dir,
        init_dir=init_dir if not (run_dir / "tokenizer").exists() else None,
        log=lambda step, metrics: logger.log("tokenizer", step, metrics),
    )
    if world.main:
        if not (run_dir / MANIFEST).exists():  # last: the data and tokenizer are complete
            write_manifest(run_dir)
        world.barrier()
    device = torch.device(world.device)
    model = _build_model(config, task.tokenizer, run_dir, init_dir, resume_from).to(device)
    world.broadcast_parameters(model)
    reference = reference_model(model) if with_reference else None
    if with_reference and world.fsdp:  # a whole frozen copy (see train.distributed)
        reference = copy.deepcopy(model).eval().requires_grad_(False)
    model = world.shard(model)
    if world.main:
        write_config(run_dir, {**plain(config), "init": str(init_dir) if init_dir else None})
    return Context(
        config, run_dir, task, model, logger, device, resume_from, init_dir, world, reference, lock
    )


def _open_run_dir(
    run_dir: Path, config: RunConfig, init: str | Path | None, resume: bool, force: bool, main: bool
) -> str | Path | None:
    """The run's init (read back from the folder on `resume`). A new run (rank 0) checks the
    init run's data and tokenizer, claims the folder (`train.run_folder.claim_run_folder`: one
    that holds anything is refused, or with `force` cleared) and writes its config first."""
    if resume:
        return read_config(run_dir).get("init")
    if main:
        if init is not None:
            check_inputs(Path(init))
        record = {**plain(config), "init": str(Path(init)) if init else None}
        claim_run_folder(run_dir, record, force)
        write_config(run_dir, record)
    return init


def _check_resumed_inputs(run_dir: Path, init_dir, resume_from, logger: Logger) -> None:
    """On resume, the run's data and tokenizer are used only as its manifest records them.
    Incomplete or changed ones (a run stopped while writing them) are made again while no
    checkpoint depends on them, and refused once one does; a run folder from before manifests
    is used as it is, with a warning (its manifest is written now)."""
    if predates_manifests(run_dir):
        warnings.warn(
            f"{run_dir} predates input manifests: its data and tokenizer are used unverified",
            RunFolderWarning,
            stacklevel=3,
        )
        return
    problem = manifest_problem(run_dir)
    if problem is None:
        return
    if resume_from is not None:
        raise ValueError(
            f"--resume: {run_dir}: its data and tokenizer are not as the run wrote them "
            f"({problem}) and {resume_from.name} was trained on them; start over with --force "
            "or choose another --out"
        )
    warnings.warn(
        f"{run_dir}: its data and tokenizer are incomplete ({problem}); no checkpoint depends "
        "on them yet, so they are made again",
        RunFolderWarning,
        stacklevel=3,
    )
    remove_inputs(run_dir)
    logger.truncate("tokenizer", -1)
    if init_dir is not None:
        check_inputs(init_dir)


def _build_model(config, tokenizer, run_dir: Path, init_dir, resume_from) -> torch.nn.Module:
    """The run's model: its latest checkpoint on resume (LoRA: adapters back on the run's own
    base), else the init run's handed-on checkpoint, a pretrained model, or a new one."""
    if resume_from is not None:
        model = load_world_model(resume_from / "model", trainable=True)
    else:
        start = handed_on(init_dir) if init_dir is not None else None
        if start is not None:
            model = load_world_model(start / "model")
        elif config.model.path:
            model = load_pretrained(config.model)
        else:  # a new model (an init run without one, e.g. a tokenizer run, gives data + tokenizer)
            model = build_llama(
                config.model,
                tokenizer.vocab_size,
                tokenizer.pad_id,
                tokenizer.bos_id,
                tokenizer.eos_id,
            )
        if config.lora.r or is_adapted(model):
            model = start_adapters(
                model, config.lora, run_dir, config.model, start / "model" if start else None
            )
        model.to(DTYPES[config.model.dtype])
    if config.model.gradient_checkpointing:
        options = {"use_reentrant": False}
        if hasattr(model, "activation_checkpointing_enable"):  # the newer transformers name
            model.activation_checkpointing_enable(activation_checkpointing_kwargs=options)
        else:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=options)
    return model
