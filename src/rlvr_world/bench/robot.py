"""`rlvr-world bench robot`: the paper's video claim at tiny scale (SPEC §5), with the controls
a reviewer asks for.

1. Simulated robot episodes (scripted experts of several noise levels, four tasks) and the
   frame and future-frame tokenizers shipped for them (`video.tokenizer_path`).
2. A single-step world model by MLE (best validation checkpoint), RLVR single-step from it
   (reward -(MAE + LPIPS) on decoded frames).
3. A multi-step world model: MLE continued from the single-step model on 8-frame windows
   (interactive rollouts with the true actions inserted), then RLVR multi-step from it.
4. The multi-step MLE model's controls, each scored like RLVR on the same test windows:
   `mle_greedy` (greedy decoding), `mle_best_decoding` (the temperature / top-k of
   `DECODINGS` with the lowest validation LPIPS) and `mle_more` (MLE continued for RLVR's
   wall time, `bench.controlled.continued_mle`). RLVR is also scored at its own best decoding
   on validation.
5. The headline, `multi_step.gain_over_best_mle`: RLVR (decoded as SPEC §2 says) against the
   strongest control, the one with the lowest test LPIPS (picking it on test favours the
   control, so the gain is if anything understated), with a paired-bootstrap 95% interval.

The paper's claim holds when multi-step RLVR's LPIPS is >= 9.2% lower than its MLE base's
(both sampled), its MSE is lower and its repetition rate is not higher.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from rlvr_world.bench.controlled import continued_mle
from rlvr_world.core.checkpoint import write_json
from rlvr_world.core.stats import headline, headline_sentence, paired_bootstrap, relative_reduction
from rlvr_world.train.pipeline import evaluate_run, run_mle, run_rlvr
from rlvr_world.train.presets import build_config
from rlvr_world.train.run_folder import paired_scores, read_metrics

TARGET_LPIPS_GAIN = 0.092
"""The paper's multi-step LPIPS improvement (14.8 -> 13.4, x100)."""
METRICS = ("mae", "mse", "psnr", "ssim", "lpips")
DECODINGS = ((0.0, 0), (0.5, 100), (0.8, 100), (1.0, 100))
"""(temperature, top-k) tried on validation for the best decoding; temperature 0 is greedy."""
CONTROLS = ("mle_greedy", "mle_best_decoding", "mle_more")


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
        out["lpips_by_step"] = summary.get("lpips_by_step", [])
    return out


def best_decoding(run: Path, folder: Path, max_examples: int, progress: bool) -> dict:
    """The decoding of `DECODINGS` under which `run` has the lowest LPIPS on `max_examples`
    validation windows (the ones its checkpoint was chosen on) -> {"temperature", "top_k",
    "valid_lpips": {"T=..,k=..": LPIPS}}; each evaluation kept in `folder/t<T>-k<k>`."""
    tried = {}
    for temperature, top_k in DECODINGS:
        label = f"T={temperature:g},k={top_k}"
        summary = evaluate_run(
            run,
            split="valid",
            progress=progress,
            decoding={"temperature": temperature, "top_k": top_k},
            out=folder / f"t{temperature:g}-k{top_k}",
            max_examples=max_examples,
        )
        tried[label] = ((temperature, top_k), summary["metrics"]["lpips"])
    (temperature, top_k), _ = min(tried.values(), key=lambda item: item[1])
    return {
        "temperature": temperature,
        "top_k": top_k,
        "valid_lpips": {label: lpips for label, (_, lpips) in tried.items()},
    }


def _train(single, multi, work: Path) -> tuple[dict, float]:
    """The four runs and the control `mle_more` -> (name -> folder, multi-step RL seconds)."""
    runs = {}
    runs["single_mle"] = run_mle(single, work / "single-mle")
    runs["single_rlvr"] = run_rlvr(single, runs["single_mle"], work / "single-rlvr")
    runs["multi_mle"] = run_mle(multi, work / "multi-mle", init=runs["single_mle"])
    start = time.perf_counter()
    runs["multi_rlvr"] = run_rlvr(multi, runs["multi_mle"], work / "multi-rlvr")
    rl_seconds = time.perf_counter() - start
    more = continued_mle(multi, rl_seconds)
    runs["multi_mle_more"] = run_mle(more, work / "multi-mle-more", init=runs["multi_mle"])
    return runs, rl_seconds


def _controls(runs: dict, work: Path, multi) -> tuple[dict, dict]:
    """The multi-step models on test: name -> (folder holding samples.jsonl, test summary),
    and the decodings chosen on validation."""
    progress, count = multi.progress, multi.eval.max_examples
    chosen = {
        "mle": best_decoding(runs["multi_mle"], work / "decoding" / "mle", count, progress),
        "rlvr": best_decoding(runs["multi_rlvr"], work / "decoding" / "rlvr", count, progress),
    }
    evaluated = {}
    for name in ("mle", "rlvr", "mle_more"):  # decoded as their config's `eval` says
        run = runs[f"multi_{name}"]
        evaluated[name] = (run, evaluate_run(run, progress=progress))
    decodings = {
        "mle_greedy": ("multi_mle", {"temperature": 0.0, "top_k": 0}),
        "mle_best_decoding": ("multi_mle", chosen["mle"]),
        "rlvr_best_decoding": ("multi_rlvr", chosen["rlvr"]),
    }
    for name, (run, decoding) in decodings.items():
        folder = work / "test" / name
        sampling = {"temperature": decoding["temperature"], "top_k": decoding["top_k"]}
        summary = evaluate_run(runs[run], progress=progress, decoding=sampling, out=folder)
        evaluated[name] = (folder, summary)
    return evaluated, chosen


def _versus(evaluated: dict, model: str, against: str) -> dict:
    """`core.stats.headline` of `model` against `against` on the test windows both scored."""
    before, after = paired_scores(evaluated[against][0], evaluated[model][0], "lpips")
    return {**headline("lpips", False, before, after), "against": against}


def _gain(versus: dict) -> dict:
    return {
        "relative": versus["relative_gain"],
        "ci95": versus["ci95"],
        "against": versus["against"],
    }


def bench_robot(out: Path, quick: bool = False, preset: str = "robot-bench") -> dict:
    """Run the benchmark; writes `out` (JSON) and the run folders beside it."""
    work = out.parent / f"{out.stem}-runs"
    if work.exists():
        raise FileExistsError(f"{work} exists; remove it or choose another --out")
    preset = "robot-debug" if quick else preset
    single = build_config(preset)
    multi = _multi(single)
    start = time.perf_counter()
    runs, rl_seconds = _train(single, multi, work)
    result: dict = {"single_step": {}, "multi_step": {}}
    for phase in ("mle", "rlvr"):
        summary = evaluate_run(runs[f"single_{phase}"], progress=single.progress)
        result["single_step"][phase] = _figures(summary, False)
    evaluated, chosen = _controls(runs, work, multi)
    for name, (_, summary) in evaluated.items():
        result["multi_step"][name] = _figures(summary, True)
    for name in ("mle_best_decoding", "rlvr_best_decoding"):
        result["multi_step"][name]["decoding"] = chosen[name.split("_")[0]]
    strongest = min(CONTROLS, key=lambda name: result["multi_step"][name]["lpips"])
    over_best = _versus(evaluated, "rlvr", strongest)
    result["multi_step"]["gain_over_best_mle"] = _gain(over_best)
    at_best = _versus(evaluated, "rlvr_best_decoding", strongest)
    result["multi_step"]["rlvr_best_decoding_gain_over_best_mle"] = _gain(at_best)
    sentence = headline_sentence(over_best, "multi-step LPIPS", "test windows", strongest)
    top = {**over_best, "sentence": sentence}
    result.update(_paper_target(result, evaluated), headline=top)
    result.update(
        rl_steps=_rl_steps(runs),
        rl_seconds_multi_step=rl_seconds,
        mle_more_steps=_last_step(runs["multi_mle_more"], "mle"),
        wall_seconds=time.perf_counter() - start,
        setup={
            "preset": preset,
            "runs": str(work),
            "decodings_tried": [list(d) for d in DECODINGS],
        },
    )
    write_json(out, result)
    return result


def _paper_target(result: dict, evaluated: dict) -> dict:
    """The paper's comparison: multi-step RLVR against its MLE base, both sampled."""
    mle, rlvr = result["multi_step"]["mle"], result["multi_step"]["rlvr"]
    gain = 1 - rlvr["lpips"] / mle["lpips"] if mle["lpips"] else 0.0
    before, after = paired_scores(evaluated["mle"][0], evaluated["rlvr"][0], "lpips")
    return {
        "multi_step_lpips_gain": gain,
        "multi_step_lpips_gain_ci95": paired_bootstrap(before, after, relative_reduction),
        "target": {
            "lpips_gain": TARGET_LPIPS_GAIN,
            "met": gain >= TARGET_LPIPS_GAIN
            and rlvr["mse"] < mle["mse"]
            and rlvr["repetition"] <= mle["repetition"],
        },
    }


def _last_step(run: Path, phase: str) -> int:
    return max((r["step"] for r in read_metrics(run) if r["phase"] == phase), default=0)


def _rl_steps(runs: dict) -> dict:
    return {f"{s}_step": _last_step(runs[f"{s}_rlvr"], "rlvr") for s in ("single", "multi")}
