"""Checkpoints written atomically, found again after a crash, and loaded without pickles.

Layout of one checkpoint folder (`<run>/checkpoints/step_000100/`):
    model/                       `save_pretrained` output: a standard Hugging Face folder
    trainer_state.json           optimiser hyperparameters, RNG states, data position, step,
    trainer_state.safetensors    ... and their tensors (`core.trainer_state`: no pickles)
    config.json                  the run config, for reading without torch
Older folders hold `trainer_state.pt` instead; it is read with `weights_only=True` and an
allow-list of numpy types (`core.trainer_state.load_legacy_trainer_state`).

A checkpoint is written whole into a temporary folder (`.step_000100.<random>`) and renamed
into place; then `<run>/checkpoints/latest` is replaced atomically to name it. A folder that
already exists (`best`, or a step written again after a resume) is first renamed aside
(`.best.previous`), the new one renamed in, and the old one removed: at every instant one
whole copy exists under one of the two names, and `best_checkpoint` finds it.
`recover_checkpoints`, on start, puts back a folder a kill left aside, removes unfinished
temporary folders and rebuilds `latest`. `latest_checkpoint` skips damaged checkpoints (a
missing, empty or truncated file) with a warning naming them.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
import uuid
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch

from rlvr_world.core.trainer_state import (
    LEGACY_FILE,
    STATE_FILE,
    TENSORS_FILE,
    TrainerStateError,
    load_legacy_trainer_state,
    read_trainer_state,
    tensor_keys,
    write_trainer_state,
)

STEP = re.compile(r"step_(\d+)")
TEMPORARY = re.compile(r"\.(step_\d+|best|latest)\..+")
"""Names of unfinished writes: a checkpoint folder being written (`.step_000100.<random>`), one
set aside by a swap (`.best.previous`) or being removed (`.step_000100.removed`), the temporary
file of `latest`."""


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: missing or damaged files, a trainer state that would
    run code, or weights that are not finite."""


class CheckpointWarning(UserWarning):
    """A damaged checkpoint skipped, `latest` rebuilt, or a folder a kill left aside restored."""


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write a text file via a temporary file in the same folder and `os.replace`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.chmod(handle.fileno(), 0o666 & ~_umask())  # mkstemp's files are 0600
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

    trainer_state: tensors, numpy arrays and plain values in dicts, lists and tuples
    (optimiser state dict, RNG states, data position, ...; `core.trainer_state`). keep_last:
    keep only this many `step_*` checkpoints, the newest up to this one (None or 0: all).
    state_dict: the model's weights when `model` holds only a shard of them (gathered by the
    caller). A tagged checkpoint (`best`) leaves `latest` alone.
    """
    if keep_last is not None and keep_last < 0:
        raise ValueError(f"keep_last must be >= 0 (0: keep all), got {keep_last}")
    checkpoints_dir = Path(checkpoints_dir)
    checkpoints_dir.mkdir(parents=True, exist_ok=True)
    name = tag or f"step_{step:06d}"
    final = checkpoints_dir / name
    tmp = checkpoints_dir / f".{name}.{uuid.uuid4().hex[:8]}"
    tmp.mkdir()  # not mkdtemp: the folder gets the user's umask, not 0700
    try:
        extra = {} if state_dict is None else {"state_dict": state_dict}
        model.save_pretrained(tmp / "model", safe_serialization=True, **extra)
        write_trainer_state(tmp, {"step": step, **trainer_state})
        (tmp / "config.json").write_text(json.dumps(config, indent=2, default=str))
        _sync_tree(tmp)
        _swap_in(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if tag is None:
        atomic_write_text(checkpoints_dir / "latest", name + "\n")
        if keep_last:
            _prune(checkpoints_dir, keep_last, newest=step)
    return final


def _swap_in(new: Path, final: Path) -> None:
    """Rename the whole folder `new` to `final`; an existing `final` is renamed aside first and
    removed after, so one whole copy exists at every instant."""
    aside = final.parent / f".{final.name}.previous"
    if final.exists():
        if aside.exists():  # half removed by an earlier kill: `final` is the whole copy
            shutil.rmtree(aside)
        os.replace(final, aside)
    os.replace(new, final)
    _sync_dir(final.parent)
    shutil.rmtree(aside, ignore_errors=True)


def _prune(checkpoints_dir: Path, keep_last: int, newest: int) -> None:
    """Remove `step_*` checkpoints older than the `keep_last` newest up to step `newest` (one
    left from before a resume, newer than `newest`, is kept: the run writes it again)."""
    steps = sorted((step, path) for step, path in _step_folders(checkpoints_dir) if step <= newest)
    for _, path in steps[:-keep_last]:
        doomed = checkpoints_dir / f".{path.name}.removed"
        os.replace(path, doomed)  # a kill mid-removal leaves a hidden folder, not a torn one
        shutil.rmtree(doomed, ignore_errors=True)


def _step_folders(checkpoints_dir: Path) -> list[tuple[int, Path]]:
    if not checkpoints_dir.is_dir():
        return []
    found = []
    for path in checkpoints_dir.iterdir():
        match = STEP.fullmatch(path.name)
        if match and path.is_dir():
            found.append((int(match.group(1)), path))
    return found


def latest_checkpoint(checkpoints_dir: str | Path) -> Path | None:
    """The checkpoint to resume from: the one `latest` names when it is whole; else (`latest`
    missing, empty or dangling, or naming a damaged checkpoint) the newest whole `step_*`,
    with a warning for each damaged checkpoint skipped. None when there is none."""
    checkpoints_dir = Path(checkpoints_dir)
    pointer = checkpoints_dir / "latest"
    named = _read_pointer(pointer)
    if named is not None:
        problem = checkpoint_problem(named)
        if problem is None:
            return named
        warnings.warn(
            f"skipping damaged checkpoint {named}: {problem}", CheckpointWarning, stacklevel=2
        )
    for _, path in sorted(_step_folders(checkpoints_dir), reverse=True):
        if path == named:
            continue
        problem = checkpoint_problem(path)
        if problem is None:
            if named is None:
                warnings.warn(
                    f"{pointer} is missing, empty or dangling: using {path}",
                    CheckpointWarning,
                    stacklevel=2,
                )
            return path
        warnings.warn(
            f"skipping damaged checkpoint {path}: {problem}", CheckpointWarning, stacklevel=2
        )
    return None


def _read_pointer(pointer: Path) -> Path | None:
    """The folder `latest` names, if it names one (a bare folder name)."""
    try:
        name = pointer.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not name or "/" in name or name.startswith("."):
        return None
    path = pointer.parent / name
    return path if path.is_dir() else None


def best_checkpoint(checkpoints_dir: str | Path, name: str = "best") -> Path | None:
    """`best`, or the copy of it a kill left aside in the middle of replacing it; None when
    the run kept none."""
    for path in (Path(checkpoints_dir) / name, Path(checkpoints_dir) / f".{name}.previous"):
        if path.is_dir():
            return path
    return None


def recover_checkpoints(checkpoints_dir: str | Path, latest: Path | None) -> None:
    """On start, undo what a kill left behind: a folder set aside by `_swap_in` whose
    replacement never arrived is put back (with a warning), other unfinished temporary
    folders and files are removed, and `latest` is pointed at `latest` (the checkpoint the
    run resumes from) when it names another or none."""
    checkpoints_dir = Path(checkpoints_dir)
    if not checkpoints_dir.is_dir():
        return
    for path in sorted(checkpoints_dir.iterdir()):
        match = TEMPORARY.fullmatch(path.name)
        if match is None:
            continue
        original = checkpoints_dir / match.group(1)
        if path.name.endswith(".previous") and not original.exists():
            warnings.warn(
                f"restored {original} from {path.name} (a kill interrupted its replacement)",
                CheckpointWarning,
                stacklevel=2,
            )
            os.replace(path, original)
        elif path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    pointer = checkpoints_dir / "latest"
    if latest is not None and _read_pointer(pointer) != Path(latest):
        atomic_write_text(pointer, Path(latest).name + "\n")


def checkpoint_problem(folder: str | Path, resumable: bool = True) -> str | None:
    """Why `folder` is not a whole checkpoint (a file missing, empty, truncated or unreadable),
    or None. Reads file headers only: safetensors headers against the file sizes, the JSON
    files, the trainer state's tensor names. resumable=False: the model alone (what evaluation
    and export read)."""
    folder = Path(folder)
    if not folder.is_dir():
        return "no such folder"
    try:
        _check_model(folder / "model")
        if not resumable:
            return None
        _read_json(folder / "config.json")
        if (folder / STATE_FILE).exists() or not (folder / LEGACY_FILE).exists():
            document = _read_json(folder / STATE_FILE)
            missing = tensor_keys(document) - _safetensors_names(folder / TENSORS_FILE)
            if missing:
                raise CheckpointError(f"{TENSORS_FILE} lacks {sorted(missing)[:3]}")
        elif not zipfile.is_zipfile(folder / LEGACY_FILE):
            raise CheckpointError(f"{LEGACY_FILE} is empty or truncated")
    except (OSError, CheckpointError) as error:
        return str(error)
    return None


def _check_model(folder: Path) -> None:
    if not folder.is_dir():
        raise CheckpointError("model/ is missing")
    configs = [folder / n for n in ("config.json", "adapter_config.json") if (folder / n).exists()]
    if not configs:
        raise CheckpointError("model/config.json is missing")
    for path in sorted(folder.glob("*.json")):
        document = _read_json(path)
        shards = document.get("weight_map") if isinstance(document, dict) else None
        for shard in set(shards.values()) if isinstance(shards, dict) else ():
            if not (folder / str(shard)).is_file():
                raise CheckpointError(f"model/{shard} is missing")
    weights = sorted(folder.glob("*.safetensors"))
    if not weights:
        raise CheckpointError("model/ holds no .safetensors weights")
    for path in weights:
        _safetensors_names(path)


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise CheckpointError(f"{path.parent.name}/{path.name} is missing")
    try:
        return json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError):
        size = path.stat().st_size
        raise CheckpointError(
            f"{path.parent.name}/{path.name} is empty or damaged ({size} bytes)"
        ) from None


def _safetensors_names(path: Path) -> set[str]:
    """The tensor names of a safetensors file whose header and size agree (a truncated or
    empty file does not)."""
    name = f"{path.parent.name}/{path.name}"
    if not path.is_file():
        raise CheckpointError(f"{name} is missing")
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(8)
        length = int.from_bytes(head, "little") if len(head) == 8 else size
        try:
            if 8 + length > size:
                raise ValueError
            header = json.loads(handle.read(length))
            end = max(
                (t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"), default=0
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            raise CheckpointError(f"{name} is truncated or damaged ({size} bytes)") from None
    if size != 8 + length + end:
        raise CheckpointError(f"{name} is truncated ({size} of {8 + length + end} bytes)")
    return set(header) - {"__metadata__"}


def load_trainer_state(checkpoint: str | Path) -> dict[str, Any]:
    """A checkpoint's trainer state (`trainer_state.json` + `.safetensors`; an older folder's
    `trainer_state.pt` read without running code). Any failure is a one-line
    `CheckpointError` naming the file."""
    checkpoint = Path(checkpoint)
    try:
        if (checkpoint / STATE_FILE).exists() or not (checkpoint / LEGACY_FILE).exists():
            return read_trainer_state(checkpoint)
        return load_legacy_trainer_state(checkpoint / LEGACY_FILE)
    except TrainerStateError as error:
        raise CheckpointError(str(error)) from None


def non_finite_weights(folder: str | Path) -> list[str]:
    """The names of the floating-point tensors holding NaN or inf in the `.safetensors` files
    of a model folder (empty: all finite)."""
    from safetensors import safe_open

    bad = []
    for path in sorted(Path(folder).glob("*.safetensors")):
        with safe_open(str(path), framework="pt") as handle:
            for key in handle.keys():
                tensor = handle.get_tensor(key)
                if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
                    bad.append(key)
    return bad


def _sync_tree(folder: Path) -> None:
    """Flush every file under `folder` to disk before it is renamed into place, each with the
    user's umask (safetensors writes its files 0600)."""
    mode = 0o666 & ~_umask()
    for root, _, files in os.walk(folder):
        for name in files:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.chmod(fd, mode)
                os.fsync(fd)
            finally:
                os.close(fd)
        _sync_dir(Path(root))


def _umask() -> int:
    """The process's umask (read from /proc where it can be, so as not to change it)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
