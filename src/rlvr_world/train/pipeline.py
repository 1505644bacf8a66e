"""The user's path as functions: MLE run, RLVR run, evaluation of a run, quickstart."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import yaml
from tqdm.auto import tqdm

from rlvr_world.core.checkpoint import write_json
from rlvr_world.domains import get_domain
from rlvr_world.integrations.hf import load_world_model
from rlvr_world.train.config import ConfigError, RunConfig, check_device, config_from_dict
from rlvr_world.train.context import check_phase, initial_checkpoint, plain, prepare
from rlvr_world.train.run_folder import (
    Logger,
    RunLock,
    claim_run_folder,
    read_config,
    write_config,
    write_manifest,
)


def run_mle(
    config: RunConfig,
    out: str | Path,
    resume: bool = False,
    init: str | Path | None = None,
    force: bool = False,
) -> Path:
    """MLE from scratch, or continued from the best checkpoint of `init` (a previous run)."""
    from rlvr_world.train.mle import train_mle

    check_phase(config, "mle")
    ctx = prepare(config, out, init=init, resume=resume, force=force)
    try:
        result = train_mle(ctx)
        if ctx.world.main:
            write_json(ctx.run_dir / "train_result.json", {"phase": "mle", **result})
        ctx.world.barrier()  # no rank tears the process group down while another still uses it
    finally:
        ctx.close()
    return ctx.run_dir


def run_rlvr(
    config: RunConfig,
    init: str | Path | None,
    out: str | Path,
    resume: bool = False,
    force: bool = False,
) -> Path:
    from rlvr_world.train.rlvr import train_rlvr

    if init is None and not resume:
        raise ValueError("train rlvr needs --init RUN (an MLE run to start from)")
    check_phase(config, "rlvr")
    ctx = prepare(
        config,
        out,
        init=init,
        resume=resume,
        with_reference=config.rlvr.loss.kl_coef > 0,
        force=force,
    )
    try:
        result = train_rlvr(ctx)
        if ctx.world.main:
            write_json(ctx.run_dir / "train_result.json", {"phase": "rlvr", **result})
        ctx.world.barrier()  # no rank tears the process group down while another still uses it
    finally:
        ctx.close()
    return ctx.run_dir


def run_tokenizer(config: RunConfig, out: str | Path, force: bool = False) -> Path:
    """Episodes and the frame tokenizer of a video domain, no world model yet: a run that
    `train mle --init` can start from. Writes `train_result.json` with the reconstruction
    figures on held-out frames. The folder is claimed and locked as a training run's is
    (`train.run_folder`; `force` deletes an earlier run's files first)."""
    out = Path(out)
    check_phase(config, "tokenizer")
    with RunLock(out):
        record = {**plain(config), "init": None}
        claim_run_folder(out, record, force)
        write_config(out, record)
        logger = Logger(out)
        try:
            get_domain(config.data.domain).hook("prepare_task")(
                config, out, log=lambda step, metrics: logger.log("tokenizer", step, metrics)
            )
        finally:
            logger.close()
        write_manifest(out)  # last: the data and tokenizer are complete
        figures = json.loads((out / "tokenizer" / "eval.json").read_text())
        write_json(out / "train_result.json", {"phase": "tokenizer", **figures})
    return out


def load_run_config(run: str | Path) -> RunConfig:
    """A run folder's config (`config.yaml`), checked as a new one is; a file that is not a
    config, or a `device` this machine lacks, is a `ConfigError` naming the file."""
    path = Path(run) / "config.yaml"
    values = read_config(run)  # a ConfigError naming the file when unreadable or no mapping
    values.pop("init", None)
    try:
        config = config_from_dict(values)
        check_device(config.device)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None
    return config


PHASE_NAMES = {"tokenizer": "a tokenizer", "mle": "an MLE", "rlvr": "an RLVR"}


def check_resume_phase(run: str | Path, phase: str) -> None:
    """Refuse `train PHASE --resume` on a run folder that another phase wrote (an MLE run
    resumed as RLVR, ...), saying what the folder holds and how to continue it. A run whose
    phase its folder does not tell yet (stopped before its first log) passes, except that an
    RLVR run always records the `--init` run it started from."""
    run = Path(run)
    trained = _trained_phase(run)
    if trained is None and phase == "rlvr":
        try:
            init = read_config(run).get("init")
        except (OSError, ValueError, AttributeError, yaml.YAMLError):
            return  # load_run_config reports an unreadable config
        trained = None if init else "mle"
    if trained is None or trained == phase:
        return
    if trained == "tokenizer":
        what = f"start a world model from it with `train mle --init {run} --out NEW_RUN`"
    else:
        what = f"continue it with `train {trained} --resume --out {run}`"
    raise ConfigError(
        f"--resume: {run} holds {PHASE_NAMES.get(trained, trained)} run, not "
        f"{PHASE_NAMES.get(phase, phase)} one; {what}"
    )


def _trained_phase(run: Path) -> str | None:
    """The phase a run folder's run trained: its `train_result.json`'s, else that of the first
    training row of `metrics.jsonl`; None when neither tells."""
    try:
        phase = json.loads((run / "train_result.json").read_text()).get("phase")
        if phase in PHASE_NAMES:
            return phase
    except (OSError, ValueError, AttributeError):
        pass
    try:
        with (run / "metrics.jsonl").open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                try:
                    root = str(json.loads(line).get("phase", "")).split("/")[0]
                except (ValueError, AttributeError):
                    continue  # a torn or foreign line
                if root in ("mle", "rlvr"):
                    return root
    except OSError:
        pass
    return None


def checkpoint_path(run: Path, checkpoint: str = "best") -> Path:
    """`best` (what the run hands on), `latest`, or a checkpoint folder's name. A damaged
    checkpoint, or one whose weights hold NaN or inf (a run that diverged before runs stopped
    at divergence), is a `CheckpointError` saying so."""
    from rlvr_world.core.checkpoint import (
        CheckpointError,
        checkpoint_problem,
        latest_checkpoint,
        non_finite_weights,
    )

    if checkpoint == "best":
        path = initial_checkpoint(run)
    elif checkpoint == "latest":
        path = latest_checkpoint(run / "checkpoints")
    else:
        path = run / "checkpoints" / checkpoint
    if path is None or not path.is_dir():
        raise FileNotFoundError(f"{run}: no checkpoint {checkpoint!r}")
    problem = checkpoint_problem(path, resumable=False)
    if problem is not None:
        raise CheckpointError(f"{path} is damaged: {problem}")
    bad = non_finite_weights(path / "model")
    if bad:
        more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
        raise CheckpointError(
            f"{path}: its weights are not finite (NaN or inf in {', '.join(bad[:3])}{more}): "
            "the run diverged; choose an earlier checkpoint (--checkpoint step_...)"
        )
    return path


def export_run(run: str | Path, out: str | Path, checkpoint: str = "best") -> Path:
    """A run's checkpoint as one standard Hugging Face folder (LoRA adapters merged into their
    base) with the run's tokenizer beside it: loads with `AutoModelForCausalLM` anywhere."""
    from rlvr_world.integrations.hf import export_merged

    run, out = Path(run), Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty; choose another --out")
    export_merged(checkpoint_path(run, checkpoint) / "model", out)
    tokenizer = run / "tokenizer"
    if (tokenizer / "tokenizer.json").exists():  # a text tokenizer: AutoTokenizer reads it here
        shutil.copytree(tokenizer, out, dirs_exist_ok=True)
    elif tokenizer.is_dir():  # a frame tokenizer keeps its own folder
        shutil.copytree(tokenizer, out / "tokenizer")
    return out


def load_text_world_model(run: str | Path, checkpoint: str = "best"):
    """A language run's checkpoint as a `text.world_model.TextWorldModel` (greedy answers, its
    config's `eval` length and batch size) -> (world model, the run's config)."""
    from rlvr_world.text.tokenizer import load_text_tokenizer
    from rlvr_world.text.world_model import TextWorldModel

    run = Path(run)
    config = load_run_config(run)
    if not (run / "tokenizer" / "tokenizer.json").is_file():
        raise ValueError(f"{run}: a {config.data.domain} run is not a language world model")
    model = load_world_model(checkpoint_path(run, checkpoint) / "model").to(config.device)
    answer = TextWorldModel(
        model,
        load_text_tokenizer(run / "tokenizer"),
        max_new_tokens=config.eval.max_new_tokens,
        batch_size=config.eval.batch_size,
        max_positions=config.model.max_positions,
    )
    return answer, config


def load_video_world_model(run: str | Path, checkpoint: str = "best"):
    """A video run's checkpoint -> (model on the config's device, its frame tokenizer, the
    run's config)."""
    from rlvr_world.video.tokenizer import VideoTokenizer

    run = Path(run)
    config = load_run_config(run)
    if (run / "tokenizer" / "tokenizer.json").is_file() or not (run / "tokenizer").is_dir():
        raise ValueError(f"{run}: a {config.data.domain} run is not a video world model")
    model = load_world_model(checkpoint_path(run, checkpoint) / "model").to(config.device)
    tokenizer = VideoTokenizer.load(run / "tokenizer")
    tokenizer.to(config.device)
    return model.eval(), tokenizer, config


def load_run_task(run: str | Path):
    """A run folder's task (its domain's, built from the run's config, data and tokenizer) ->
    (task, the run's config)."""
    config = load_run_config(run)
    return get_domain(config.data.domain).hook("prepare_task")(config, Path(run)), config


def _checkpoint_model(run: Path, checkpoint: str):
    """A run's task, config, checkpoint folder and model (on the config's device)."""
    task, config = load_run_task(run)
    path = checkpoint_path(run, checkpoint)
    return task, config, path, load_world_model(path / "model").to(config.device)


def evaluate_run(
    run: str | Path,
    split: str = "test",
    checkpoint: str = "best",
    progress: bool = True,
    *,
    decoding: dict | None = None,
    out: str | Path | None = None,
    max_examples: int = 0,
) -> dict:
    """Evaluation of a run's checkpoint on a split, decoding as `eval` in its config says or
    as `decoding` ({"temperature", "top_k"}) overrides; `max_examples` > 0 takes that many
    examples spread over the split (as validation during training does). Writes `eval.json`,
    `samples.jsonl` (and the task's saved predictions) into `out`, by default the run."""
    from rlvr_world.core.subsets import spread
    from rlvr_world.train.heldout import evaluate

    run = Path(run)
    out = Path(out) if out is not None else run
    task, config, path, model = _checkpoint_model(run, checkpoint)
    examples = task.examples(split)
    examples = spread(examples, max_examples) if max_examples > 0 else examples
    sampling = {"temperature": config.eval.temperature, "top_k": config.eval.top_k}
    sampling.update(decoding or {})
    start = time.perf_counter()
    with tqdm(total=len(examples), desc=f"eval {run.name}", disable=not progress) as bar:
        summary, records, predictions = evaluate(
            model,
            task,
            examples,
            batch_size=config.eval.batch_size,
            max_new_tokens=config.eval.max_new_tokens,
            seed=config.eval.seed,
            progress=bar,
            **sampling,
        )
    summary.update(split=split, checkpoint=path.name, seconds=time.perf_counter() - start)
    if decoding:
        summary["decoding"] = sampling
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "eval.json", summary)
    with (out / "samples.jsonl").open("w") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")
    save_predictions = getattr(task, "save_predictions", None)  # e.g. frames for the report
    if save_predictions is not None:
        count = config.eval.num_samples_saved
        save_predictions(predictions[:count], examples[:count], out / "predictions.npz")
    return summary


def best_of_run(
    run: str | Path,
    k: int,
    split: str = "test",
    checkpoint: str = "best",
    temperature: float = 1.0,
    progress: bool = True,
) -> dict:
    """How much a run's checkpoint could gain by sharpening alone: `k` answers sampled per
    question of a split (`temperature`; top-k and seed from the run's `eval`), each scored by
    the training reward (`rlvr.reward`). -> {"k", "temperature", "reward", "sample_mean" (the
    mean reward of one sampled answer), "best_of_k" (the mean over questions of the best of
    the k), "examples"}; also written to `best_of.json`. RLVR that only learned to give the best
    of the model's own k answers would score `best_of_k`."""
    from rlvr_world.train.heldout import evaluate
    from rlvr_world.train.rlvr import task_reward

    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0 to sample, got {temperature}")
    run = Path(run)
    task, config, path, model = _checkpoint_model(run, checkpoint)
    examples = task.examples(split)
    if not examples:
        raise ValueError(f"{run}: the {split!r} split has no examples")
    reward = task_reward(task, config.rlvr.reward)
    references, contexts = [e.reference for e in examples], [e.context for e in examples]
    draws = []
    with tqdm(total=k * len(examples), desc=f"best of {k}", disable=not progress) as bar:
        for draw in range(k):
            _, _, predictions = evaluate(
                model,
                task,
                examples,
                batch_size=config.eval.batch_size,
                max_new_tokens=config.eval.max_new_tokens,
                temperature=temperature,
                top_k=config.eval.top_k,
                seed=config.eval.seed + draw,
                progress=bar,
            )
            draws.append(reward(predictions, references, contexts))
    per_question = list(zip(*draws))
    summary = {
        "k": k,
        "temperature": temperature,
        "reward": config.rlvr.reward,
        "sample_mean": sum(sum(r) / k for r in per_question) / len(per_question),
        "best_of_k": sum(max(r) for r in per_question) / len(per_question),
        "examples": len(per_question),
        "split": split,
        "checkpoint": path.name,
    }
    write_json(run / "best_of.json", summary)
    return summary
