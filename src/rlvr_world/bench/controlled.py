"""The experiment behind the language benchmarks: MLE, RLVR from it, and a fair control.

1. MLE until validation stops improving (early stopping; best checkpoint kept).
2. RLVR (GRPO) from that checkpoint.
3. Control `mle_more`: MLE continued from the same checkpoint for the same wall time as RLVR
   (constant LR at the end of MLE's schedule), best validation checkpoint kept, as for RLVR.
4. Optionally `rlvr_mle`: joint MLE + RL (`rlvr.mle_coef`) from the same checkpoint.
5. All evaluated on the test split, which no selection step ever saw.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from rlvr_world.train.config import RunConfig
from rlvr_world.train.pipeline import evaluate_run, run_mle, run_rlvr
from rlvr_world.train.run_folder import read_metrics

RUNS = ("mle", "rlvr", "mle_more")


def mle_rlvr_control(config: RunConfig, work: Path, joint: float = 0.0) -> dict:
    """Run the three (four with `joint` > 0: `rlvr_mle`, RLVR with `rlvr.mle_coef=joint`) into
    `work/<name>`; -> {"runs": name -> folder, "eval": name -> test summary, "rl_steps",
    "mle_more_steps", "rl_seconds"}."""
    mle_run = run_mle(config, work / "mle")
    rl_start = time.perf_counter()
    rlvr_run = run_rlvr(config, mle_run, work / "rlvr")
    rl_seconds = time.perf_counter() - rl_start
    more = continued_mle(config, rl_seconds)
    mle_more_run = run_mle(more, work / "mle_more", init=mle_run)
    runs = {"mle": mle_run, "rlvr": rlvr_run, "mle_more": mle_more_run}
    if joint > 0:
        both = dataclasses.replace(config, rlvr=dataclasses.replace(config.rlvr, mle_coef=joint))
        runs["rlvr_mle"] = run_rlvr(both, mle_run, work / "rlvr_mle")
    rl_rows = [r for r in read_metrics(rlvr_run) if r["phase"] == "rlvr"]
    more_rows = [r for r in read_metrics(mle_more_run) if r["phase"] == "mle"]
    return {
        "runs": runs,
        "eval": {name: evaluate_run(run, progress=config.progress) for name, run in runs.items()},
        "rl_steps": max((r["step"] for r in rl_rows), default=0),
        "mle_more_steps": max((r["step"] for r in more_rows), default=0),
        "rl_seconds": rl_seconds,
    }


def continued_mle(config: RunConfig, seconds: float) -> RunConfig:
    """The control `mle_more`'s config: MLE continued for `seconds` (RLVR's wall time) at the
    learning rate MLE's schedule ended on, no warm-up and no early stopping, selected on
    validation every `mle.eval_every` steps as MLE was."""
    final_lr = config.mle.lr * (0.1 if config.mle.schedule == "cosine" else 1.0)
    mle = dataclasses.replace(
        config.mle,
        lr=final_lr,
        warmup_steps=0,
        schedule="constant",
        patience=0,
        steps=10**6,
        max_seconds=seconds,
    )
    return dataclasses.replace(config, mle=mle)


def count_lines(path: Path) -> int:
    return sum(1 for line in path.open() if line.strip()) if path.exists() else 0
