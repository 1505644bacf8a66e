"""Policy evaluation with trained video world models (SPEC §6), run-level.

`compare_policies` measures every (task, policy) pair's true success rate in the simulator and
its estimate inside each world model, and how well the estimates agree with the truth (MAE,
Pearson correlation, MMRV: `core.agreement`). `estimate_policy` does one pair with one world
model and keeps the imagined rollouts as GIFs in the run folder
(`policy-eval/<task>-<policy>/`), which the run's report shows.

Start states come from a seed stream no data split uses (`SEED_OFFSET`), so every first frame
is new to the world models. The imagined episodes of a policy start from the first frames of
its first `episodes` true episodes, with the same policy seeds.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from rlvr_world.core.agreement import mean_absolute_error, mmrv, pearson
from rlvr_world.core.checkpoint import write_json
from rlvr_world.core.sampler import SamplingConfig
from rlvr_world.core.stats import rate_mae_intervals
from rlvr_world.domains.robot.policy_success import (
    EVAL_TASKS,
    POLICIES,
    Episode,
    action_probe,
    decode_episode,
    episode_seeds,
    imagine,
    judge_success,
    make_frame_policy,
    run_true,
)
from rlvr_world.domains.robot.sim import TASKS

__all__ = ["SEED_OFFSET", "compare_policies", "estimate_policy", "save_gif"]

SEED_OFFSET = 4_000_037  # policy-evaluation starts: apart from every data split's seeds
NUM_OBJECTS = 2  # as the simulated training episodes
PROBE_STARTS = 8  # first frames per task for the action probe
BOUNDS = {"decoded": True, "decoded_real_contexts": False}
"""The tokenizer bounds `compare_policies` reports -> `decode_episode`'s `chained`."""


def _require_multi(config) -> None:
    if config.video.mode != "multi":
        raise ValueError(
            "policy evaluation needs a multi-step world model (video.mode=multi): it imagines "
            "frame after frame with the policy's actions inserted"
        )


def _imagine(
    world_model: tuple, starts: list, max_steps: int, seed: int, progress=None
) -> list[Episode]:
    """`imagine` with a (model, frame tokenizer, run config) world model: chunks of its
    training window, sampling and batch size as its `eval` settings."""
    model, tokenizer, config = world_model
    _require_multi(config)
    return imagine(
        model,
        tokenizer,
        starts,
        max_steps=max_steps,
        chunk=config.video.rollout_frames - 1,
        sampling=SamplingConfig(temperature=config.eval.temperature, top_k=config.eval.top_k),
        seed=seed,
        batch_size=config.eval.batch_size,
        progress=progress,
    )


def _weights_digest(module: torch.nn.Module) -> str:
    """SHA-256 of a module's parameter and buffer names and values: equal digests, equal
    weights."""
    digest = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def _bounds(tokenizer, chunk: int, groups: list[list[Episode]]) -> dict[str, list[float]]:
    """Each bound of `BOUNDS` -> per group of real episodes, the share the detector judges
    successful after the round trip through `tokenizer` (`decode_episode`)."""
    return {
        name: [
            _mean(
                judge_success(e.task, decode_episode(tokenizer, e.frames, chunk, chained))
                for e in group
            )
            for group in groups
        ]
        for name, chained in BOUNDS.items()
    }


def _mean(flags) -> float:
    flags = list(flags)
    return sum(flags) / len(flags) if flags else 0.0


def _rate(episodes: Sequence[Episode], key: str = "success") -> float:
    return _mean(getattr(e, key) for e in episodes)


def _seeds(seed: int, task: str, count: int) -> list[tuple[int, int]]:
    """The (simulator, policy) seeds of a task's policy-evaluation episodes."""
    return episode_seeds(seed + SEED_OFFSET + 7919 * sorted(TASKS).index(task), count)


def save_gif(frames: np.ndarray, path: Path, milliseconds: int = 150, scale: int = 3) -> None:
    """uint8 [T, H, W, 3] -> a looping GIF `scale` times larger (nearest neighbour)."""
    from PIL import Image

    big = np.repeat(np.repeat(np.asarray(frames), scale, axis=1), scale, axis=2)
    images = [Image.fromarray(frame) for frame in big]
    path.parent.mkdir(parents=True, exist_ok=True)
    images[0].save(
        path, format="GIF", save_all=True, append_images=images[1:], duration=milliseconds, loop=0
    )


def _agreement(true: list[float], estimated: list[float]) -> dict:
    return {
        "mae": mean_absolute_error(true, estimated),
        "pearson": pearson(true, estimated),
        "mmrv": mmrv(true, estimated),
    }


def compare_policies(
    world_models: dict[str, tuple],
    tasks: Sequence[str] = EVAL_TASKS,
    policies: Sequence[str] = tuple(POLICIES),
    episodes: int = 24,
    true_episodes: int = 50,
    max_steps: int = 24,
    seed: int = 0,
    progress: bool = False,
) -> dict:
    """world_models: name -> (model, frame tokenizer, run config). Returns
    {"policies": [{"task", "name", "true", <each world model>, "true_detected"}],
    "mae"/"pearson"/"mmrv": {model: value}, "all_zero_mae" (the MAE of estimating 0 for every
    policy: where a world model that never shows success sits),
    "by_task": {task: {model: {mae, pearson, mmrv}}}, "detector": {"accuracy",
    "false_positive", "false_negative"} of the pixel detector on the true episodes' real
    frames, "action_probe": {model: {task: `action_probe` from `PROBE_STARTS` first frames}}
    (whether the model moves the gripper as the inserted action says), "decoded": {model:
    {"mae", "pearson"}} of the rates judged on the estimate's real episodes round-tripped
    through the model's tokenizer (`decode_episode`, each row's "decoded": {model: rate}): the
    best a world model could do through that tokenizer and detector, "decoded_real_contexts"
    (the same with each chunk decoded given the real frame before it: the part of the bound
    lost within chunks, before decoded contexts compound it), "episodes_per_policy",
    "true_episodes_per_policy", "max_steps", "seconds", "mae_ci95": {model: (low, high)} and
    "mae_difference_ci95": {"<model> - <first model>": (low, high)} (`core.stats.
    rate_mae_intervals`: a paired bootstrap over the imagined episodes, true rates fixed)}.
    Pearson pools every (task, policy); MMRV ranks the policies of each task among
    themselves (as SIMPLER) and averages over tasks; MAE pools."""
    if true_episodes < episodes:
        raise ValueError(f"true_episodes ({true_episodes}) must be >= episodes ({episodes})")
    start = time.perf_counter()
    for _, _, config in world_models.values():
        _require_multi(config)
    sizes = {config.video.frame_size for _, _, config in world_models.values()}
    if len(sizes) != 1:
        raise ValueError(f"the world models see frames of different sizes: {sorted(sizes)}")
    size = sizes.pop()
    rows, truth, outcomes = [], {}, {}
    pairs = [(task, name) for task in tasks for name in policies]
    for task, name in tqdm(pairs, desc="simulator", disable=not progress):
        seeds = _seeds(seed, task, true_episodes)
        policy = make_frame_policy(name, task, NUM_OBJECTS)
        truth[task, name] = run_true(task, policy, seeds, max_steps, size, NUM_OBJECTS)
        rows.append({"task": task, "name": name, "true": _rate(truth[task, name])})
    every = [e for episodes_ in truth.values() for e in episodes_]
    positives = [e for e in every if e.success]
    negatives = [e for e in every if not e.success]
    detector = {
        "accuracy": sum(e.detected == e.success for e in every) / len(every),
        "false_negative": sum(not e.detected for e in positives) / max(1, len(positives)),
        "false_positive": sum(e.detected for e in negatives) / max(1, len(negatives)),
        "episodes": len(every),
    }
    for row in rows:
        row["true_detected"] = _rate(truth[row["task"], row["name"]], "detected")
    probes: dict = {}
    bounds: dict[tuple[str, int], dict[str, list[float]]] = {}
    for label, (model, tokenizer, config) in world_models.items():
        starts = [
            (task, make_frame_policy(name, task, NUM_OBJECTS), e.seeds, e.frames[0])
            for task in tasks
            for name in policies
            for e in truth[task, name][:episodes]
        ]
        with tqdm(total=len(starts), desc=f"imagine ({label})", disable=not progress) as bar:
            imagined = _imagine((model, tokenizer, config), starts, max_steps, seed, bar.update)
        chunk = config.video.rollout_frames - 1
        # the bound depends on the tokenizer's weights and the chunk only: world models that
        # share their tokenizer (RLVR keeps its MLE start's) share it
        key = (_weights_digest(tokenizer.future or tokenizer.autoencoder), chunk)
        if key not in bounds:
            real = [truth[row["task"], row["name"]][:episodes] for row in rows]
            bounds[key] = _bounds(tokenizer, chunk, real)
        for i, row in enumerate(rows):
            mine = [e for e in imagined if e.task == row["task"] and e.policy == row["name"]]
            row[label] = _rate(mine)
            outcomes.setdefault(label, []).append([int(e.success) for e in mine])
            for name in BOUNDS:
                row.setdefault(name, {})[label] = bounds[key][name][i]
        probes[label] = {
            task: action_probe(
                model,
                tokenizer,
                task,
                [simulator_seed for simulator_seed, _ in _seeds(seed, task, PROBE_STARTS)],
                size,
                NUM_OBJECTS,
            )
            for task in tasks
        }
    out: dict = {
        "policies": rows,
        "all_zero_mae": mean_absolute_error([r["true"] for r in rows], [0.0] * len(rows)),
    }
    for metric in ("mae", "pearson", "mmrv", *BOUNDS):
        out[metric] = {}
    by_task: dict = {task: {} for task in tasks}
    for label in world_models:
        pooled = _agreement([r["true"] for r in rows], [r[label] for r in rows])
        per_task = {}
        for task in tasks:
            mine = [r for r in rows if r["task"] == task]
            per_task[task] = _agreement([r["true"] for r in mine], [r[label] for r in mine])
            by_task[task][label] = per_task[task]
        out["mae"][label] = pooled["mae"]
        out["pearson"][label] = pooled["pearson"]
        out["mmrv"][label] = sum(v["mmrv"] for v in per_task.values()) / len(per_task)
        for name in BOUNDS:
            ceiling = _agreement([r["true"] for r in rows], [r[name][label] for r in rows])
            out[name][label] = {"mae": ceiling["mae"], "pearson": ceiling["pearson"]}
    # imagined episode i of a policy starts from the same real frame for every world model
    intervals = rate_mae_intervals([r["true"] for r in rows], outcomes)
    out.update(
        mae_ci95=intervals["mae"],
        mae_difference_ci95=intervals["difference"],
        by_task=by_task,
        action_probe=probes,
        detector=detector,
        episodes_per_policy=episodes,
        true_episodes_per_policy=true_episodes,
        max_steps=max_steps,
        seconds=time.perf_counter() - start,
    )
    return out


def estimate_policy(
    run: str | Path,
    world_model: tuple,
    task: str,
    policy: str,
    episodes: int = 8,
    max_steps: int = 24,
    seed: int = 0,
    checkpoint: str = "best",
    gifs: int = 4,
    progress: bool = False,
) -> dict:
    """One policy's true and estimated success with one world model (a multi-step video run).
    Writes `RUN/policy-eval/<task>-<policy>/`: `result.json` and, for the first `gifs`
    episodes, `episode_<i>.gif` (real | imagined, side by side); returns result.json's
    contents plus "folder". world_model: the run's (model, frame tokenizer, config), as
    `train.pipeline.load_video_world_model` loads them."""
    run = Path(run)
    model, tokenizer, config = world_model
    _require_multi(config)
    size = config.video.frame_size
    seeds = _seeds(seed, task, episodes)
    true = run_true(task, make_frame_policy(policy, task, NUM_OBJECTS), seeds, max_steps, size)
    starts = [
        (task, make_frame_policy(policy, task, NUM_OBJECTS), e.seeds, e.frames[0]) for e in true
    ]
    with tqdm(total=len(starts), desc=f"imagine {task}/{policy}", disable=not progress) as bar:
        imagined = _imagine((model, tokenizer, config), starts, max_steps, seed, bar.update)
    folder = run / "policy-eval" / f"{task}-{policy}"
    folder.mkdir(parents=True, exist_ok=True)
    shown = []
    for index, (real, dream) in enumerate(zip(true[:gifs], imagined[:gifs])):
        length = max(len(real.frames), len(dream.frames))
        pad = [
            np.concatenate([f, f[-1:].repeat(length - len(f), 0)])
            for f in (real.frames, dream.frames)
        ]
        gap = np.full((length, size, 2, 3), 255, dtype=np.uint8)
        save_gif(np.concatenate([pad[0], gap, pad[1]], axis=2), folder / f"episode_{index}.gif")
        shown.append(
            {
                "gif": f"episode_{index}.gif",
                "true": bool(real.success),
                "imagined": bool(dream.success),
                "true_steps": len(real.frames) - 1,
                "imagined_steps": len(dream.frames) - 1,
            }
        )
    result = {
        "task": task,
        "policy": policy,
        "checkpoint": checkpoint,
        "episodes": episodes,
        "max_steps": max_steps,
        "true": _rate(true),
        "estimated": _rate(imagined),
        "true_detected": _rate(true, "detected"),
        "samples": shown,
    }
    write_json(folder / "result.json", result)
    return {**result, "folder": str(folder)}
