"""Run folders, metric logging (JSONL + TensorBoard) and clocks.

One run = one folder:
    config.yaml      the resolved config          metrics.jsonl   one JSON object per log event
    tb/              TensorBoard events           checkpoints/    step_*/, best/, latest
    tokenizer/       the tokenizer                data/           the transitions used
    samples.jsonl    held-out predictions         eval.json       final evaluation
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import yaml

from rlvr_world.core.checkpoint import atomic_write_text, plain_number


class Every:
    """A clock: `every(step)` is true every `n` steps (never when n <= 0)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __call__(self, step: int) -> bool:
        return self.n > 0 and step % self.n == 0


class Logger:
    """Writes scalars to `metrics.jsonl` and TensorBoard (`enabled=False`: writes nothing, e.g.
    on data-parallel ranks other than 0)."""

    def __init__(self, folder: Path, tensorboard: bool = True, enabled: bool = True) -> None:
        self.path = folder / "metrics.jsonl"
        self.enabled = enabled
        self._writer = None
        if tensorboard and enabled:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(log_dir=str(folder / "tb"))

    def log(self, phase: str, step: int, metrics: dict[str, Any]) -> None:
        if not self.enabled:
            return
        row = {"phase": phase, "step": step, "time": time.time()}
        row.update({k: plain_number(v) for k, v in metrics.items()})
        with self.path.open("a") as handle:
            handle.write(json.dumps(row) + "\n")
        if self._writer is not None:
            for key, value in row.items():
                if key not in ("phase", "step", "time") and isinstance(value, (int, float)):
                    self._writer.add_scalar(f"{phase}/{key}", value, step)
            self._writer.flush()

    def truncate(self, phase: str, after_step: int) -> None:
        """On resume, drop this log's rows of `phase` written after the checkpoint's step."""
        if self.enabled:
            truncate_metrics(self.path, phase, after_step)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


def truncate_metrics(path: Path, phase: str, after_step: int) -> None:
    """On resume, drop log rows of `phase` written after the checkpoint's step."""
    if not path.exists():
        return
    keep = []
    for line in path.read_text().splitlines():
        row = json.loads(line)
        if not (row.get("phase", "").startswith(phase) and row.get("step", 0) > after_step):
            keep.append(line)
    atomic_write_text(path, "".join(line + "\n" for line in keep))


def read_metrics(folder: str | Path) -> list[dict]:
    path = Path(folder) / "metrics.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def sample_scores(folder: str | Path, key: str) -> dict[str, float]:
    """Example id -> its `key` score in a run's `samples.jsonl` (the last evaluation's)."""
    path = Path(folder) / "samples.jsonl"
    out = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        record = json.loads(line)
        try:
            out[str(record["id"])] = float(record["scores"][key])
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{path}, line {number}: no numeric scores.{key} ({error})") from None
    return out


def paired_scores(first: str | Path, second: str | Path, key: str) -> tuple[list, list]:
    """The `key` scores of two runs' last evaluations on the examples both scored, in one
    order: (first's, second's)."""
    a, b = sample_scores(first, key), sample_scores(second, key)
    ids = [i for i in a if i in b]
    if not ids:
        raise ValueError(f"{first} and {second} scored no example in common")
    return [a[i] for i in ids], [b[i] for i in ids]


def write_config(folder: Path, config: dict) -> None:
    atomic_write_text(folder / "config.yaml", yaml.safe_dump(config, sort_keys=False))


def read_config(folder: str | Path) -> dict:
    path = Path(folder) / "config.yaml"
    if not path.exists():
        raise FileNotFoundError(f"{folder} is not a run folder (no config.yaml)")
    return yaml.safe_load(path.read_text())
