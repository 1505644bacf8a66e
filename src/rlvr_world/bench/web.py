"""`rlvr-world bench web`: the paper's web-page claim at tiny scale, with a fair control.

A fixed-size training set of simulated browsing transitions; MLE until validation F1 stops
improving; RLVR (GRPO on the item-F1 reward) from the best MLE checkpoint; the control
`mle_more` (MLE continued for RLVR's wall time); all scored on the test split
(`bench.controlled`). The claim holds when RLVR's test F1 is >= MLE's + 0.15 (the paper:
49.94 -> 65.11) and above `mle_more`'s.

`no_change` scores the constant answer "nothing changes" (`None` in all three sections) on the
same test split: the F1 a world model earns without reading the page. The reward counts a
matching `None` as an item (SPEC §4), so this floor is well above zero wherever actions often
leave a section empty, and a model below it predicts changes worse than predicting none.
"""

from __future__ import annotations

import time
from pathlib import Path

from rlvr_world.bench.controlled import RUNS, count_lines, mle_rlvr_control
from rlvr_world.core.checkpoint import write_json
from rlvr_world.core.stats import headline, headline_sentence, mean_difference, paired_bootstrap
from rlvr_world.domains.web.diff import format_sections
from rlvr_world.train.pipeline import load_run_task
from rlvr_world.train.presets import build_config
from rlvr_world.train.run_folder import paired_scores

TARGET_GAIN = 0.15
SCORES = ("f1", "precision", "recall", "f1_by_split", "examples")
"""What the JSON keeps of each test summary."""
NO_CHANGE = format_sections([], [], [])
"""The answer "nothing changes": `None` in each section."""


def no_change_scores(run: Path, split: str = "test") -> dict:
    """The constant `NO_CHANGE` answer scored on a run's split like a model's answers (the
    task's F1, precision, recall and per-split F1)."""
    task, _ = load_run_task(run)
    examples = task.examples(split)
    summary = task.summarize(task.score([NO_CHANGE] * len(examples), examples), examples)
    return {key: summary[key] for key in SCORES}


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
        name: {key: done["eval"][name][key] for key in (*SCORES, "checkpoint")} for name in RUNS
    }
    result["no_change"] = no_change_scores(done["runs"]["mle"])
    gain = result["rlvr"]["f1"] - result["mle"]["f1"]
    # the same test transitions for both: a paired bootstrap over transitions
    before, after = paired_scores(done["runs"]["mle"], done["runs"]["rlvr"], "f1")
    top = headline("f1", True, before, after)
    top["sentence"] = headline_sentence(top, "item F1", "test transitions")
    result.update(
        headline=top,
        rl_steps=done["rl_steps"],
        mle_more_steps=done["mle_more_steps"],
        rl_seconds=done["rl_seconds"],
        wall_seconds=time.perf_counter() - start,
        f1_gain=gain,
        f1_gain_ci95=paired_bootstrap(before, after, mean_difference),
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
