"""`rlvr-world bench web`: the paper's web-page claim at tiny scale, with a fair control.

A fixed-size training set of simulated browsing transitions; MLE until validation F1 stops
improving; RLVR (GRPO on the item-F1 reward) from the best MLE checkpoint; the control
`mle_more` (MLE continued for RLVR's wall time); all scored on the test split
(`bench.controlled`). The claim holds when RLVR's test F1 is >= MLE's + 0.15 (the paper:
49.94 -> 65.11) and above `mle_more`'s.
"""

from __future__ import annotations

import time
from pathlib import Path

from rlvr_world.bench.controlled import RUNS, count_lines, mle_rlvr_control
from rlvr_world.train.presets import build_config
from rlvr_world.train.run import write_json

TARGET_GAIN = 0.15


def bench_web(out: Path, quick: bool = False, preset: str = "web-bench") -> dict:
    """Run the benchmark; writes `out` (JSON) and the run folders beside it."""
    work = out.parent / f"{out.stem}-runs"
    if work.exists():
        raise FileExistsError(f"{work} exists; remove it or choose another --out")
    preset = "web-debug" if quick else preset
    config = build_config(preset)
    start = time.perf_counter()
    done = mle_rlvr_control(config, work)
    result: dict = {
        name: {
            key: done["eval"][name][key]
            for key in ("f1", "precision", "recall", "f1_by_split", "examples", "checkpoint")
        }
        for name in RUNS
    }
    gain = result["rlvr"]["f1"] - result["mle"]["f1"]
    result.update(
        rl_steps=done["rl_steps"],
        mle_more_steps=done["mle_more_steps"],
        rl_seconds=done["rl_seconds"],
        wall_seconds=time.perf_counter() - start,
        f1_gain=gain,
        target={
            "f1_gain": TARGET_GAIN,
            "met": gain >= TARGET_GAIN and result["rlvr"]["f1"] > result["mle_more"]["f1"],
        },
        setup={
            "preset": preset,
            "runs": str(work),
            "train_examples": count_lines(work / "mle" / "data" / "train.jsonl"),
            "test_examples": result["mle"]["examples"],
        },
    )
    write_json(out, result)
    return result
