"""Checkpoints written atomically: a crash mid-write never leaves a half checkpoint behind.

Layout of one checkpoint folder (`<run>/checkpoints/step_000100/`):
    model/               `save_pretrained` output: a standard Hugging Face folder
    trainer_state.pt     optimiser, RNG states, data position, step, extra state
    config.json          the run config, for reading without torch
`<run>/checkpoints/latest` names the newest complete checkpoint; it is replaced atomically
after the folder is complete, so it always points at a whole checkpoint.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write a text file via a temporary file in the same folder and `os.replace`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_checkpoint(
    checkpoints_dir: str | Path,
    step: int,
    model: torch.nn.Module,
    trainer_state: dict[str, Any],
    config: dict[str, Any],
    keep_last: int | None = None,
    tag: str | None = None,
    state_dict: dict | None = None,
) -> Path:
    """Write `<checkpoints_dir>/<tag or step_%06d>/` atomically and point `latest` at it.

    trainer_state: anything `torch.save` takes (optimiser state dict, RNG states, data
    position, ...). keep_last: delete older `step_*` checkpoints beyond this many. state_dict:
    the model's weights when `model` holds only a shard of them (gathered by the caller).
    """
    checkpoints_dir = Path(checkpoints_dir)
    checkpoints_dir.mkdir(parents=True, exist_ok=True)
    name = tag or f"step_{step:06d}"
    final = checkpoints_dir / name
    tmp = Path(tempfile.mkdtemp(dir=checkpoints_dir, prefix=f".{name}."))
    try:
        extra = {} if state_dict is None else {"state_dict": state_dict}
        model.save_pretrained(tmp / "model", safe_serialization=True, **extra)
        torch.save({"step": step, **trainer_state}, tmp / "trainer_state.pt")
        (tmp / "config.json").write_text(json.dumps(config, indent=2, default=str))
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if tag is None:
        atomic_write_text(checkpoints_dir / "latest", name + "\n")
        if keep_last:
            steps = sorted(p for p in checkpoints_dir.glob("step_*") if p.is_dir())
            for old in steps[:-keep_last]:
                shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(checkpoints_dir: str | Path) -> Path | None:
    """The checkpoint `latest` names, or None when there is none."""
    pointer = Path(checkpoints_dir) / "latest"
    if not pointer.exists():
        return None
    path = Path(checkpoints_dir) / pointer.read_text().strip()
    return path if path.is_dir() else None


def load_trainer_state(checkpoint: str | Path) -> dict[str, Any]:
    # weights_only=False: the state holds numpy RNG states and plain Python objects that we
    # wrote ourselves; checkpoints from untrusted sources should not be resumed.
    return torch.load(Path(checkpoint) / "trainer_state.pt", weights_only=False)


def plain_number(value: Any) -> Any:
    """A JSON-safe scalar: tensors and numpy scalars as Python numbers, NaN and inf as None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):
        return plain_number(value.item())
    return value


def write_json(path: Path, value: Any) -> None:
    """`value` as indented JSON, written atomically; NaN and inf become null."""
    atomic_write_text(path, json.dumps(value, indent=2, default=plain_number) + "\n")
