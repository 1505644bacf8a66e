"""Build the robot task of a run: episodes (simulated or loaded), frame tokenizer, examples.

A run folder holds `data/{train,valid,test}/episode_*.npz` and `tokenizer/` (the FSQ
autoencoder, the action bins and, for multi-step runs that use one, the future-frame
autoencoder). A run started from another (`init_dir`) copies the data and the tokenizer; a new
run simulates (or loads `video.data_path`) and trains the tokenizer, unless
`video.tokenizer_path` names one to copy (a folder, or `pretrained:NAME`: one shipped in the
package).
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import numpy as np

from rlvr_world.core.checkpoint import atomic_write_text
from rlvr_world.domains.robot import pretrained
from rlvr_world.domains.robot.data import load_episodes, save_episodes
from rlvr_world.domains.robot.policies import collect_episodes, make_policy
from rlvr_world.domains.robot.policy_rollouts import PolicyRolloutTask, rollout_starts
from rlvr_world.domains.robot.sim import TASKS
from rlvr_world.domains.robot.task import RobotTask
from rlvr_world.video.autoencoder import FrameAutoencoder
from rlvr_world.video.tokenizer import VideoTokenizer
from rlvr_world.video.training import train_frame_tokenizer, train_future_tokenizer

SPLITS = ("train", "valid", "test")
# Each split's episodes come from their own seeds, so no episode is shared between splits.
SEED_OFFSETS = {"train": 0, "valid": 2_000_003, "test": 1_000_003}
VALID_FRACTION = 0.1


def simulate(video, seed: int) -> dict[str, list]:
    """Episodes of the scripted expert at each noise level in `video.policy_noise`, for each
    task: varied quality, as a dataset of real robot episodes has."""
    tasks = list(video.tasks) or sorted(TASKS)
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise ValueError(f"video.tasks: unknown tasks {unknown}; known: {', '.join(sorted(TASKS))}")
    counts = {
        "train": video.train_episodes_per_task,
        "valid": video.valid_episodes_per_task,
        "test": video.test_episodes_per_task,
    }
    noises = list(video.policy_noise) or [0.0]
    out: dict[str, list] = {}
    for split in SPLITS:
        episodes = []
        for task_index, task in enumerate(tasks):
            for noise_index, noise in enumerate(noises):
                # episodes of this task spread over the noise levels as evenly as possible
                count = counts[split] // len(noises) + (noise_index < counts[split] % len(noises))
                run_seed = seed + SEED_OFFSETS[split] + 10_007 * task_index + 101 * noise_index
                episodes += collect_episodes(
                    task,
                    count,
                    make_policy("expert", task, noise=noise),
                    seed=run_seed,
                    max_steps=video.max_episode_steps,
                    size=video.frame_size,
                )
        out[split] = episodes
    return out


def load_splits(video, seed: int) -> dict[str, list]:
    """Episodes from `video.data_path` (sorted files; every 100th is test; a fixed 10% of the
    rest is held out for validation), else simulated."""
    if not video.data_path:
        return simulate(video, seed)
    train = load_episodes(video.data_path, split="train")
    held = set(
        random.Random(seed).sample(range(len(train)), max(1, int(len(train) * VALID_FRACTION)))
    )
    return {
        "train": [e for i, e in enumerate(train) if i not in held],
        "valid": [e for i, e in enumerate(train) if i in held],
        "test": load_episodes(video.data_path, split="test"),
    }


def tokenizer_folder(path: str | None) -> Path | None:
    """`video.tokenizer_path` as a folder: `pretrained:NAME` is a tokenizer shipped in the
    package (`domains.robot.pretrained`), anything else a path; None when unset."""
    if not path:
        return None
    return pretrained.folder(path) if pretrained.is_pretrained(path) else Path(path)


def _frames(episodes: list[dict]) -> np.ndarray:
    return np.concatenate([np.asarray(e["image"]) for e in episodes]) if episodes else np.zeros(0)


def prepare_tokenizer(
    config, run_dir: Path, splits: dict[str, list], init_dir: Path | None = None, log=None
) -> VideoTokenizer:
    """The run's frame tokenizer, always kept in `run_dir/tokenizer`: copied from `init_dir`'s,
    reused from this run folder (resume) or `video.tokenizer_path`, else trained here on the
    training frames (reconstruction figures on validation frames -> `tokenizer/eval.json`).
    A multi-step run with `tokenizer.future_channels` also needs the future-frame tokenizer:
    trained here when the tokenizer it got has none (figures -> eval.json's "future")."""
    folder = run_dir / "tokenizer"
    sources = [init_dir / "tokenizer" if init_dir is not None else None, folder]
    sources.append(tokenizer_folder(config.video.tokenizer_path))
    tokenizer = None
    for source in sources:
        if source is not None and FrameAutoencoder.exists(source):
            if source != folder:  # with its eval.json, so later runs and reports see it
                shutil.copytree(source, folder, dirs_exist_ok=True)
            tokenizer = VideoTokenizer.load(folder)
            break
    if tokenizer is None:
        tokenizer, figures = train_frame_tokenizer(
            _frames(splits["train"]),
            _frames(splits["valid"] or splits["test"]),
            [np.asarray(e["action"]) for e in splits["train"]],
            config.tokenizer,
            frame_size=config.video.frame_size,
            seed=config.seed,
            log=log,
            progress=config.progress,
        )
        tokenizer.save(folder)
        atomic_write_text(folder / "eval.json", json.dumps(figures, indent=2))
    if (
        config.video.mode == "multi"
        and config.tokenizer.future_channels
        and tokenizer.future is None
    ):
        future, figures = train_future_tokenizer(
            [np.asarray(e["image"]) for e in splits["train"]],
            [np.asarray(e["image"]) for e in splits["valid"] or splits["test"]],
            config.tokenizer,
            frame_size=config.video.frame_size,
            horizon=config.video.rollout_frames,
            seed=config.seed,
            log=None if log is None else lambda step, m: log(step, _prefixed("future_", m)),
            progress=config.progress,
        )
        tokenizer.set_future(future)
        future.save(folder)
        path = folder / "eval.json"
        saved = json.loads(path.read_text()) if path.exists() else {}
        atomic_write_text(path, json.dumps({**saved, "future": figures}, indent=2))
    return tokenizer


def _prefixed(prefix: str, metrics: dict) -> dict:
    return {f"{prefix}{k}": v for k, v in metrics.items()}


def prepare_episodes(config, run_dir: Path, init_dir: Path | None = None) -> dict[str, list]:
    """The run's episodes: from `init_dir`, from this run folder (resume; only when every
    split's folder is there), or new."""
    for source in (init_dir, run_dir):
        if source is not None and all((source / "data" / s).is_dir() for s in SPLITS):
            splits = {s: load_episodes(source / "data" / s) for s in SPLITS}
            if source != run_dir:
                for split, episodes in splits.items():
                    save_episodes(episodes, run_dir / "data" / split)
            return splits
    splits = load_splits(config.video, config.seed)
    for split, episodes in splits.items():
        save_episodes(episodes, run_dir / "data" / split)
    return splits


def prepare_task(config, run_dir: Path, init_dir: Path | None = None, log=None) -> RobotTask:
    """The run's task (episodes + tokenizer + examples). `config` is a `RunConfig`."""
    run_dir = Path(run_dir)
    splits = prepare_episodes(config, run_dir, init_dir)
    tokenizer = prepare_tokenizer(config, run_dir, splits, init_dir, log=log)
    video = config.video
    if video.rl_rollouts == "policy":
        return _policy_task(config, tokenizer)
    return RobotTask(
        splits,
        tokenizer,
        mode=video.mode,
        context_frames=video.context_frames,
        rollout_frames=video.rollout_frames,
        stride=video.stride,
        reward_weights=dict(video.reward_weights),
        reward_aggregate=video.reward_aggregate,
        lpips_net=video.lpips_net,
        reward_lpips_net=video.reward_lpips_net,
    )


def _policy_task(config, tokenizer) -> PolicyRolloutTask:
    """RLVR's task on the policies' own rollouts (`video.rl_rollouts=policy`)."""
    video = config.video
    held = max(2, video.rollout_starts // 4)
    starts = rollout_starts(
        list(video.tasks) or sorted(TASKS),
        {"train": video.rollout_starts, "valid": held, "test": held},
        video.rollout_start_steps,
        seed=config.seed,
        size=video.frame_size,
        horizon=video.rollout_frames - 2,  # the actions between the predicted frames
    )
    return PolicyRolloutTask(
        starts,
        tokenizer,
        rollout_frames=video.rollout_frames,
        reward_weights=dict(video.reward_weights),
        reward_aggregate=video.reward_aggregate,
        lpips_net=video.lpips_net,
        reward_lpips_net=video.reward_lpips_net,
    )
