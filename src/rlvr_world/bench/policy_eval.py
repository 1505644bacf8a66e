"""`rlvr-world bench policy-eval`: the paper's policy-evaluation claim at tiny scale (SPEC §6):
a policy's success rate estimated inside the RLVR video world model is closer to its true rate
than inside the MLE world model.

Policies act on pixels: the scripted expert reading frames at noise 0, 0.3 and 0.6, and random
motion, on push, lift and place (`domains.robot.policy_success`). True rates come from the
simulator; estimates from imagined rollouts judged by the pixel success detector
(`domains.robot.policy_success.judge_success`), which also judges each policy's real episodes
round-tripped through the tokenizer (the best estimate a world model could give). The world
models are the multi-step MLE model and RLVR from it: from `--runs DIR` (a `bench robot` runs
folder with `multi-mle/` and `multi-rlvr/`), or trained here first (the `robot-policy-eval`
preset: multi-step MLE from scratch on push, lift and place episodes, then RLVR). Target:
MAE(rlvr) < MAE(mle) and Pearson(rlvr) >= 0.9.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from rlvr_world.core.checkpoint import write_json

TARGET_PEARSON = 0.9
RUNS = {"mle": "multi-mle", "rlvr": "multi-rlvr"}


def _train(out: Path, quick: bool) -> Path:
    """A multi-step MLE world model from scratch and RLVR from it, in `<out>-runs/`."""
    from rlvr_world.train.pipeline import run_mle, run_rlvr
    from rlvr_world.train.presets import build_config

    work = out.parent / f"{out.stem}-runs"
    if work.exists():
        raise FileExistsError(
            f"{work} exists; remove it, pass it as --runs, or choose another --out"
        )
    if quick:
        config = build_config("robot-debug")
        config = dataclasses.replace(config, video=dataclasses.replace(config.video, mode="multi"))
    else:
        config = build_config("robot-policy-eval")
    # MLE pre-trains on the episodes' windows whatever RLVR's rollouts are
    data = dataclasses.replace(config.video, rl_rollouts="data")
    mle = run_mle(dataclasses.replace(config, video=data), work / RUNS["mle"])
    run_rlvr(config, mle, work / RUNS["rlvr"])
    return work


def bench_policy_eval(
    out: Path,
    quick: bool = False,
    runs: Path | None = None,
    episodes: int | None = None,
    true_episodes: int | None = None,
) -> dict:
    """Run the benchmark; writes `out` (JSON)."""
    from rlvr_world.domains.robot.policy_estimates import compare_policies
    from rlvr_world.train.pipeline import load_video_world_model

    start = time.perf_counter()
    runs = Path(runs) if runs is not None else _train(out, quick)
    world_models = {}
    for label, name in RUNS.items():
        if not (runs / name).is_dir():
            raise FileNotFoundError(f"{runs}: no {name}/ run (a `bench robot` runs folder has it)")
        world_models[label] = load_video_world_model(runs / name)
    episodes = episodes or (2 if quick else 24)
    true_episodes = max(episodes, true_episodes or (2 if quick else 50))
    result = compare_policies(
        world_models,
        episodes=episodes,
        true_episodes=true_episodes,
        max_steps=4 if quick else 24,
    )
    mae, correlation = result["mae"], result["pearson"]["rlvr"]
    result.update(
        target={
            "pearson": TARGET_PEARSON,
            "met": mae["rlvr"] < mae["mle"]
            and correlation is not None
            and correlation >= TARGET_PEARSON,
        },
        setup={"runs": str(runs), "quick": quick},
        wall_seconds=time.perf_counter() - start,
    )
    write_json(out, result)
    return result
