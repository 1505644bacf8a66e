"""`rlvr-world bench robot`: the paper's video claim at tiny scale (SPEC §5).

1. Simulated robot episodes (scripted experts of several noise levels, four tasks).
2. The frame tokenizer and a single-step world model by MLE (best validation checkpoint).
3. RLVR single-step from it (reward -(MAE + LPIPS) on decoded frames).
4. A multi-step world model: MLE continued from the single-step model on 8-frame windows
   (interactive rollouts with the true actions inserted), then RLVR multi-step from it.
5. Every model scored on the test episodes, which no selection step sees.

The claim holds when multi-step RLVR's LPIPS is >= 9.2% lower than its MLE base's, its MSE is
lower and its repetition rate is not higher.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from rlvr_world.core.checkpoint import write_json
from rlvr_world.core.stats import (
    headline,
    headline_sentence,
    paired_bootstrap,
    relative_reduction,
)
from rlvr_world.train.pipeline import evaluate_run, run_mle, run_rlvr
from rlvr_world.train.presets import build_config
from rlvr_world.train.run_folder import paired_scores, read_metrics

TARGET_LPIPS_GAIN = 0.092
"""The paper's multi-step LPIPS improvement (14.8 -> 13.4, x100)."""
METRICS = ("mae", "mse", "psnr", "ssim", "lpips")


def _multi(config):
    """The multi-step variant of a run config: MLE continues from the single-step model for
    half as many steps, and RL draws half as many questions a step (a window is 7 predicted
    frames, ~1.6x the tokens of a single-step example and 7x its sampling)."""
    rlvr = config.rlvr
    questions = max(1, rlvr.questions_per_step // 2)
    return dataclasses.replace(
        config,
        video=dataclasses.replace(config.video, mode="multi"),
        mle=dataclasses.replace(config.mle, steps=max(1, config.mle.steps // 2)),
        rlvr=dataclasses.replace(
            rlvr, questions_per_step=questions, mini_batch_size=min(rlvr.mini_batch_size, questions)
        ),
    )


def _figures(summary: dict, multi: bool) -> dict:
    out = {k: summary["metrics"][k] for k in METRICS}
    if multi:
        out["repetition"] = summary["repetition"]
    return out


def bench_robot(out: Path, quick: bool = False, preset: str = "robot-bench") -> dict:
    """Run the benchmark; writes `out` (JSON) and the run folders beside it."""
    work = out.parent / f"{out.stem}-runs"
    if work.exists():
        raise FileExistsError(f"{work} exists; remove it or choose another --out")
    preset = "robot-debug" if quick else preset
    single = build_config(preset)
    multi = _multi(single)
    start = time.perf_counter()
    runs = {}
    runs["single_mle"] = run_mle(single, work / "single-mle")
    runs["single_rlvr"] = run_rlvr(single, runs["single_mle"], work / "single-rlvr")
    runs["multi_mle"] = run_mle(multi, work / "multi-mle", init=runs["single_mle"])
    runs["multi_rlvr"] = run_rlvr(multi, runs["multi_mle"], work / "multi-rlvr")

    result: dict = {"single_step": {}, "multi_step": {}}
    for key, run in runs.items():
        setup, phase = key.split("_")
        summary = evaluate_run(run, progress=single.progress)
        result[f"{setup}_step"][phase] = _figures(summary, setup == "multi")
    rl_steps = {}
    for setup in ("single", "multi"):
        rows = [r for r in read_metrics(runs[f"{setup}_rlvr"]) if r["phase"] == "rlvr"]
        rl_steps[f"{setup}_step"] = max((r["step"] for r in rows), default=0)
    mle, rlvr = result["multi_step"]["mle"], result["multi_step"]["rlvr"]
    gain = 1 - rlvr["lpips"] / mle["lpips"] if mle["lpips"] else 0.0
    # the same test windows for both: a paired bootstrap over windows
    before, after = paired_scores(runs["multi_mle"], runs["multi_rlvr"], "lpips")
    top = headline("lpips", False, before, after)
    top["sentence"] = headline_sentence(top, "multi-step LPIPS", "test windows")
    result.update(
        headline=top,
        rl_steps=rl_steps,
        wall_seconds=time.perf_counter() - start,
        multi_step_lpips_gain=gain,
        multi_step_lpips_gain_ci95=paired_bootstrap(before, after, relative_reduction),
        target={
            "lpips_gain": TARGET_LPIPS_GAIN,
            "met": gain >= TARGET_LPIPS_GAIN
            and rlvr["mse"] < mle["mse"]
            and rlvr["repetition"] <= mle["repetition"],
        },
        setup={"preset": preset, "runs": str(work)},
    )
    write_json(out, result)
    return result
