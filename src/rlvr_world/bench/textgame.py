"""`rlvr-world bench textgame`: the paper's text-game claim at tiny scale, with a fair control.

1. A fixed-size training set (as with real data) from the simulator.
2. MLE until validation accuracy stops improving (early stopping; best checkpoint kept).
3. RLVR (GRPO on the binary exact-state reward) from that checkpoint.
4. Control `mle_more`: MLE continued from the same checkpoint for the same wall time as RLVR
   (constant LR at the end of MLE's schedule), best validation checkpoint kept, as for RLVR.
5. All three scored on the test split, which no selection step ever saw.

The claim holds when RLVR's overall accuracy is >= 1.30 x MLE's and above `mle_more`'s.
"""

from __future__ import annotations

import time
from pathlib import Path

from rlvr_world.bench.controlled import RUNS, count_lines, mle_rlvr_control
from rlvr_world.core.checkpoint import write_json
from rlvr_world.core.stats import headline, headline_sentence, paired_comparison
from rlvr_world.train.presets import build_config
from rlvr_world.train.run_folder import paired_scores

TARGET_RATIO = 1.30
JOINT_MLE_COEF = 0.1
"""`rlvr_mle`'s weight of the gold answers' NLL beside the GRPO loss (`rlvr.mle_coef`)."""


def bench_textgame(out: Path, quick: bool = False, preset: str = "textgame-bench") -> dict:
    """Run the benchmark; writes `out` (JSON) and the run folders beside it."""
    work = out.parent / f"{out.stem}-runs"
    if work.exists():
        raise FileExistsError(f"{work} exists; remove it or choose another --out")
    config = build_config("textgame-debug" if quick else preset)
    start = time.perf_counter()
    done = mle_rlvr_control(config, work, joint=JOINT_MLE_COEF)
    result: dict = {}
    for name in (*RUNS, "rlvr_mle"):
        summary = done["eval"][name]
        result[name] = {
            "accuracy": summary["accuracy"],
            "item_acc": summary["item_acc"],
            "examples": summary["examples"],
            "checkpoint": summary["checkpoint"],
        }
    overall = {k: result[k]["accuracy"]["overall"] for k in RUNS}
    ratio = overall["rlvr"] / overall["mle"] if overall["mle"] else float("inf")
    # the same test transitions for both: which only one of them predicts exactly
    mle, rlvr = paired_scores(done["runs"]["mle"], done["runs"]["rlvr"], "exact")
    joint = {  # the third arm against MLE and against MLE continued, on the same transitions
        f"rlvr_mle_vs_{base}": headline(
            "exact", True, *paired_scores(done["runs"][base], done["runs"]["rlvr_mle"], "exact")
        )
        for base in ("mle", "mle_more")
    }
    top = headline("exact", True, mle, rlvr)
    top["sentence"] = headline_sentence(top, "next-state accuracy", "test transitions")
    result.update(
        headline=top,
        **joint,
        rlvr_mle_coef=JOINT_MLE_COEF,
        rl_steps=done["rl_steps"],
        mle_more_steps=done["mle_more_steps"],
        rl_seconds=done["rl_seconds"],
        wall_seconds=time.perf_counter() - start,
        rlvr_over_mle=ratio,
        rlvr_vs_mle=paired_comparison(rlvr, mle),
        target={
            "ratio": TARGET_RATIO,
            "met": ratio >= TARGET_RATIO and overall["rlvr"] > overall["mle_more"],
        },
        setup={
            "preset": "textgame-debug" if quick else preset,
            "runs": str(work),
            "train_examples": count_lines(work / "mle" / "data" / "train.jsonl"),
            "test_examples": result["mle"]["examples"],
        },
    )
    write_json(out, result)
    return result


__all__ = ["bench_textgame"]
