"""`rlvr-world bench distributed`: data-parallel GRPO equals single-process GRPO.

1. A small text-game MLE run (single process) gives a model whose samples earn varied rewards.
2. The same RLVR run from it, launched three times through the real CLI: one plain process,
   two gloo processes under `torchrun` (each samples half of every step's questions), and
   two processes with FSDP (`fsdp=true`: weights, gradients and optimiser state sharded).
3. The final checkpoints are compared parameter by parameter. The claim: the largest absolute
   difference is <= 1e-4 while training moved the parameters by orders of magnitude more.
   Steps per second are reported for both, one thread a process (on 2 cores no speed-up is
   expected: the two processes share the machine with everything else).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import torch

from rlvr_world.core.checkpoint import write_json
from rlvr_world.train.run_folder import read_metrics

TARGET_MAX_DIFF = 1e-4

INIT = [
    "--preset",
    "textgame-debug",
    "mle.steps=300",
    "mle.lr=1e-2",
    "mle.eval_every=100",
    "mle.save_every=300",
]
"""A tiny MLE run whose samples parse often enough for the task-specific reward to vary."""


def rlvr_overrides(steps: int) -> list[str]:
    """The RL run both world sizes execute: 8 questions x 4 samples, 2 mini-batches a step,
    zero-variance groups skipped (so ranks can hold uneven shares of a mini-batch)."""
    return [
        "--preset",
        "textgame-debug",
        f"rlvr.steps={steps}",
        "rlvr.questions_per_step=8",
        "rlvr.group_size=4",
        "rlvr.mini_batch_size=4",
        "rlvr.max_new_tokens=64",
        "rlvr.reward=task_specific",
        "rlvr.lr=1e-3",
        "rlvr.eval_every=0",
        f"rlvr.save_every={steps}",
    ]


def command(args: list[str], processes: int = 1) -> list[str]:
    """`rlvr-world ARGS` in this interpreter, under `torchrun --standalone` for processes > 1."""
    if processes == 1:
        return [sys.executable, "-m", "rlvr_world.cli", *args]
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={processes}",
        "-m",
        "rlvr_world.cli",
        *args,
    ]


def launch(args: list[str], processes: int = 1, log: Path | None = None) -> float:
    """Run the CLI to completion, one thread a process (the tiny model gains nothing from
    more, and oversubscribed cores distort timings badly); -> seconds. Raises with the log's
    tail when it fails."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    start = time.perf_counter()
    done = subprocess.run(
        command([*args, "threads=1"], processes),
        env=env,
        capture_output=True,
        text=True,
    )
    if log is not None:
        log.write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(args[:3])} with {processes} process(es) failed:\n{done.stderr[-3000:]}"
        )
    return time.perf_counter() - start


def load_parameters(checkpoint: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(checkpoint / "model" / "model.safetensors"))


def max_abs_diff(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    """Over the parameters both hold (a checkpoint gathered from FSDP shards also names tied
    weights twice)."""
    common = a.keys() & b.keys()
    if len(common) < max(len(a), len(b)) - 1:
        raise ValueError("the checkpoints hold different parameters")
    return max(float((a[k].float() - b[k].float()).abs().max()) for k in common)


def steps_per_second(run: Path) -> float:
    """RL steps over the seconds the steps themselves took (start-up and evaluation excluded)."""
    rows = [r for r in read_metrics(run) if r["phase"] == "rlvr"]
    return len(rows) / sum(r["step_seconds"] for r in rows)


def bench_distributed(out: Path, quick: bool = False) -> dict:
    """Run the benchmark; writes `out` (JSON) and the run folders beside it."""
    work = out.parent / f"{out.stem}-runs"
    if work.exists():
        raise FileExistsError(f"{work} exists; remove it or choose another --out")
    work.mkdir(parents=True)
    steps = 3 if quick else 20
    start = time.perf_counter()
    launch(["train", "mle", *INIT, "--out", str(work / "mle")], log=work / "mle.log")
    runs, seconds = {}, {}
    for name, size, extra in ((1, 1, []), (2, 2, []), ("fsdp", 2, ["fsdp=true"])):
        run = work / f"rlvr-{name}"
        args = [*rlvr_overrides(steps), *extra, "--init", str(work / "mle"), "--out", str(run)]
        seconds[name] = launch(
            ["train", "rlvr", *args], processes=size, log=work / f"rlvr-{name}.log"
        )
        runs[name] = run
    final = f"step_{steps:06d}"
    params = {name: load_parameters(runs[name] / "checkpoints" / final) for name in runs}
    initial = load_parameters(work / "mle" / "checkpoints" / "best")
    diff = max_abs_diff(params[1], params[2])
    fsdp_diff = max_abs_diff(params[1], params["fsdp"])
    result = {
        "world_sizes": [1, 2],
        "steps_per_second": [steps_per_second(runs[1]), steps_per_second(runs[2])],
        "max_abs_param_diff": diff,
        "fsdp": {
            "steps_per_second": steps_per_second(runs["fsdp"]),
            "max_abs_param_diff": fsdp_diff,
            "run_seconds": seconds["fsdp"],
        },
        "max_abs_param_change": max_abs_diff(params[1], initial),
        "rl_steps": steps,
        "run_seconds": [seconds[1], seconds[2]],
        "target_max_abs_param_diff": TARGET_MAX_DIFF,
        "target_met": max(diff, fsdp_diff) <= TARGET_MAX_DIFF,
        "backend": "gloo",
        "wall_seconds": time.perf_counter() - start,
    }
    write_json(out, result)
    return result
