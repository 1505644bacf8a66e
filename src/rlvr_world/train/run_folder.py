"""Run folders: what they hold, their lock, metric logging (JSONL + TensorBoard) and clocks.

One run = one folder:
    config.yaml      the resolved config          metrics.jsonl   one JSON object per log event
    run.json         the config's digest          tb/             TensorBoard events
    tokenizer/       the tokenizer                data/           the transitions used
    manifest.json    data/ and tokenizer/ files   checkpoints/    step_*/, best/, latest
    samples.jsonl    held-out predictions         eval.json       final evaluation
    .lock            the process training in it (pid, host), while it runs

A run folder's life: a new run claims an empty (or new) folder, writes `config.yaml` and
`run.json` first, then its data and tokenizer, then `manifest.json` (each file's size and
sha256, written atomically once both are complete), then trains. A folder that holds anything
is refused to a new run; `--force` clears the files a run writes (and nothing else) and starts
over. Inputs a manifest does not vouch for are never used: on resume they are made again while
no checkpoint depends on them, else refused. One process at a time trains in a folder
(`RunLock`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import socket
import time
import warnings
from pathlib import Path
from typing import Any

import yaml

from rlvr_world.core.checkpoint import atomic_write_text, plain_number
from rlvr_world.core.config import ConfigError

RUN_RECORD = "run.json"
MANIFEST = "manifest.json"
LOCK = ".lock"
INPUTS = ("data", "tokenizer")
"""The folders a manifest vouches for: what a run's checkpoints were trained on."""
RUN_FILES = frozenset(
    {
        "config.yaml",
        RUN_RECORD,
        MANIFEST,
        LOCK,
        *INPUTS,
        "metrics.jsonl",
        "tb",
        "checkpoints",
        "train_result.json",
        "eval.json",
        "samples.jsonl",
        "predictions.npz",
        "best_of.json",
        "report.html",
        "base_model.json",
        "base_adapters",
        "policy-eval",
    }
)
"""The names a run (and the commands that read it: eval, report, policy-eval) write at the top
of its folder; `--force` deletes these and nothing else."""
TRAINING_PHASES = ("mle", "rlvr")
"""Metric phases a training loop logs (with their `/eval` rows); `tokenizer` rows belong to the
inputs."""


class RunFolderWarning(UserWarning):
    """Something about a run folder was repaired or taken over (a torn metrics line, a stale
    lock, inputs made again, a folder from before manifests)."""


def _warn(message: str) -> None:
    warnings.warn(message, RunFolderWarning, stacklevel=3)


class Every:
    """A clock: `every(step)` is true every `n` steps (never when n <= 0)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __call__(self, step: int) -> bool:
        return self.n > 0 and step % self.n == 0


class Logger:
    """Writes scalars to `metrics.jsonl` and TensorBoard (`enabled=False`: writes nothing, e.g.
    on data-parallel ranks other than 0). A torn last line left by a killed writer is dropped
    (with a warning) before anything is appended."""

    def __init__(self, folder: Path, tensorboard: bool = True, enabled: bool = True) -> None:
        self.folder = Path(folder)
        self.path = self.folder / "metrics.jsonl"
        self.enabled = enabled
        self._tensorboard = tensorboard and enabled
        self._writer = None  # opened on the first row, after any `truncate` of old events
        if enabled:
            drop_torn_tail(self.path)

    def log(self, phase: str, step: int, metrics: dict[str, Any]) -> None:
        if not self.enabled:
            return
        row = {"phase": phase, "step": step, "time": time.time()}
        row.update({k: plain_number(v) for k, v in metrics.items()})
        with self.path.open("a") as handle:
            handle.write(json.dumps(row) + "\n")
        if self._tensorboard and self._writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(log_dir=str(self.folder / "tb"))
        if self._writer is not None:
            for key, value in row.items():
                if key not in ("phase", "step", "time") and isinstance(value, (int, float)):
                    self._writer.add_scalar(f"{phase}/{key}", value, step)
            self._writer.flush()

    def truncate(self, phase: str | tuple[str, ...], after_step: int) -> None:
        """On resume, drop this log's rows of `phase` (a phase name or several; `mle` covers
        `mle/eval`) written after the checkpoint's step, in `metrics.jsonl` and TensorBoard
        alike; `after_step=-1` drops them all (a resume with no checkpoint starts over)."""
        if self.enabled:
            truncate_metrics(self.path, phase, after_step)
            truncate_events(self.folder / "tb", phase, after_step)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


def _metric_rows(path: Path) -> list[tuple[str, dict]]:
    """(line, row) for each well-formed line of a metrics file; a torn or malformed line (e.g.
    the last one, cut by a kill mid-write) is left out with a warning naming it."""
    rows = []
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            row = None
        if not isinstance(row, dict):
            _warn(f"{path}, line {number}: not a JSON object (a torn write?); left out")
            continue
        rows.append((line, row))
    return rows


def drop_torn_tail(path: Path) -> None:
    """End a metrics file on a whole line: a last line without its newline (its writer was
    killed mid-write) is dropped with a warning, or completed when it is a whole row."""
    if not path.is_file():
        return
    data = path.read_bytes()
    if not data or data.endswith(b"\n"):
        return
    head, _, tail = data.rpartition(b"\n")
    try:
        whole = isinstance(json.loads(tail), dict)
    except ValueError:
        whole = False
    if whole:
        head = data
    else:
        _warn(f"{path}: its last line is torn ({len(tail)} bytes without a newline); dropped")
    atomic_write_text(path, (head + b"\n").decode(errors="replace") if head else "")


def _in_phase(name: str, phase: str | tuple[str, ...]) -> bool:
    phases = (phase,) if isinstance(phase, str) else phase
    return any(name == p or name.startswith(p + "/") for p in phases)


def truncate_metrics(path: Path, phase: str | tuple[str, ...], after_step: int) -> None:
    """On resume, drop log rows of `phase` written after the checkpoint's step (and any torn
    line, with a warning)."""
    if not path.exists():
        return
    keep = [
        line
        for line, row in _metric_rows(path)
        if not (_in_phase(str(row.get("phase", "")), phase) and row.get("step", 0) > after_step)
    ]
    atomic_write_text(path, "".join(line + "\n" for line in keep))


def truncate_events(folder: Path, phase: str | tuple[str, ...], after_step: int) -> None:
    """On resume, drop TensorBoard scalars of `phase` (tags `<phase>/...`) logged after the
    checkpoint's step, so the resumed run's points are not drawn twice. Each events file that
    loses some is rewritten atomically; other phases' points (e.g. the tokenizer's) stay."""
    if not folder.is_dir():
        return
    from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.summary.writer.record_writer import RecordWriter

    for path in sorted(folder.glob("events.out.tfevents.*")):
        records = list(RawEventFileLoader(str(path)).Load())
        keep = []
        for record in records:
            event = Event.FromString(record)
            tags = [value.tag.rpartition("/")[0] for value in event.summary.value]
            late = event.step > after_step and any(_in_phase(t, phase) for t in tags)
            if not late:
                keep.append(record)
        if len(keep) == len(records):
            continue
        tmp = path.with_name(f".{path.name}.tmp")
        with tmp.open("wb") as handle:
            writer = RecordWriter(handle)
            for record in keep:
                writer.write(record)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)


def read_metrics(folder: str | Path) -> list[dict]:
    """The rows of a run's `metrics.jsonl` (a torn line is left out with a warning)."""
    path = Path(folder) / "metrics.jsonl"
    if not path.exists():
        return []
    return [row for _, row in _metric_rows(path)]


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


def config_digest(config: dict) -> str:
    """sha256 of a plain config (JSON types) without its `init`, independent of key order.

    >>> config_digest({"seed": 0, "init": "runs/a"}) == config_digest({"seed": 0})
    True
    """
    values = {k: v for k, v in config.items() if k != "init"}
    text = json.dumps(values, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def config_differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    """The dotted names of the fields whose values differ between two plain configs (a field
    only one of them has counts as differing), in the first one's order.

    >>> old = {"seed": 0, "mle": {"lr": 0.001, "steps": 4}, "init": None}
    >>> config_differences(old, {"seed": 0, "mle": {"lr": 0.001, "steps": 8}, "init": None})
    ['mle.steps']
    """
    names = []
    for key in [*old, *(k for k in new if k not in old)]:
        a, b = old.get(key, _ABSENT), new.get(key, _ABSENT)
        if isinstance(a, dict) and isinstance(b, dict):
            names += config_differences(a, b, f"{prefix}{key}.")
        elif a != b:
            names.append(f"{prefix}{key}")
    return names


_ABSENT = object()


def write_config(folder: Path, config: dict) -> None:
    """`config.yaml` (the resolved config and its `init`) and `run.json` (its domain, init and
    digest, `config_digest`), each written atomically."""
    atomic_write_text(folder / "config.yaml", yaml.safe_dump(config, sort_keys=False))
    record = {
        "format": 1,
        "domain": (config.get("data") or {}).get("domain"),
        "init": config.get("init"),
        "config_sha256": config_digest(config),
    }
    atomic_write_text(folder / RUN_RECORD, json.dumps(record, indent=2) + "\n")


def read_config(folder: str | Path) -> dict:
    path = Path(folder) / "config.yaml"
    if not path.exists():
        raise FileNotFoundError(f"{folder} is not a run folder (no config.yaml)")
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as error:
        reason = " ".join(str(error).split())[:200]
        raise ConfigError(f"{path}: not a readable YAML config ({reason})") from None
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: expected a mapping of config fields, got {values!r:.80}")
    return values


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _input_paths(folder: Path) -> list[Path]:
    return sorted(p for name in INPUTS for p in (folder / name).rglob("*") if p.is_file())


def write_manifest(folder: Path) -> None:
    """`manifest.json`: every file under `data/` and `tokenizer/` with its size and sha256,
    written atomically once both are complete (its presence says they are)."""
    files = {}
    for path in _input_paths(folder):
        files[path.relative_to(folder).as_posix()] = {
            "bytes": path.stat().st_size,
            "sha256": _sha256(path),
        }
    text = json.dumps({"format": 1, "files": files}, indent=1) + "\n"
    atomic_write_text(folder / MANIFEST, text)


def predates_manifests(folder: Path) -> bool:
    """A run folder written before runs recorded themselves (no `run.json`, no manifest)."""
    return not (folder / RUN_RECORD).exists() and not (folder / MANIFEST).exists()


def manifest_problem(folder: Path) -> str | None:
    """None when `data/` and `tokenizer/` hold exactly the files `manifest.json` records (sizes
    and sha256); else what differs, in words (at most three files named)."""
    try:
        recorded = json.loads((folder / MANIFEST).read_text())["files"]
    except FileNotFoundError:
        return "no manifest.json: its data and tokenizer were never completed"
    except (OSError, ValueError, KeyError, TypeError) as error:
        return f"manifest.json is unreadable ({error})"
    problems = []
    actual = {p.relative_to(folder).as_posix(): p for p in _input_paths(folder)}
    for name, entry in recorded.items():
        path = actual.get(name)
        if path is None:
            problems.append(f"{name} is missing")
        elif path.stat().st_size != entry.get("bytes"):
            size = path.stat().st_size
            problems.append(f"{name} has {size} bytes where {entry.get('bytes')} were written")
        elif _sha256(path) != entry.get("sha256"):
            problems.append(f"{name} changed (sha256 differs)")
    problems += [f"{name} was added" for name in actual if name not in recorded]
    if not problems:
        return None
    more = f" and {len(problems) - 3} more" if len(problems) > 3 else ""
    return "; ".join(problems[:3]) + more


def check_inputs(folder: Path, role: str = "--init") -> None:
    """Refuse a run's data and tokenizer unless its manifest vouches for them (`role` names
    where the folder came from, for the message). A run folder from before manifests is used
    as it is, with a warning."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{role} {folder}: no such run folder")
    if predates_manifests(folder):
        _warn(f"{role} {folder} predates input manifests: its data and tokenizer are unverified")
        return
    problem = manifest_problem(folder)
    if problem is not None:
        raise ValueError(f"{role} {folder}: its data and tokenizer cannot be used: {problem}")


def remove_inputs(folder: Path) -> None:
    """Delete a run's `data/`, `tokenizer/` and manifest (to make them again)."""
    (folder / MANIFEST).unlink(missing_ok=True)
    for name in INPUTS:
        shutil.rmtree(folder / name, ignore_errors=True)


def _written_by_runs(name: str) -> bool:
    """A top-level name a run writes, or the temporary file of one's atomic write."""
    temporary = re.fullmatch(r"\.(.+?)\.[^.]+\.tmp", name)
    return name in RUN_FILES or (temporary is not None and temporary.group(1) in RUN_FILES)


def run_contents(folder: Path) -> list[str]:
    """The names at the top of `folder` (none when it does not exist), its lock left out."""
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.name != LOCK)


def _looks_like_run(folder: Path) -> bool:
    if (folder / RUN_RECORD).is_file():
        return True
    try:
        config = read_config(folder)
    except (OSError, yaml.YAMLError):
        return False
    return isinstance(config, dict) and {"data", "model"} <= set(config)


def _run_phase(folder: Path) -> str | None:
    """The phase a run folder's run trained (`tokenizer`, `mle`, `rlvr`), from its
    train_result.json or its first training row in metrics.jsonl; None when neither tells."""
    try:
        return json.loads((folder / "train_result.json").read_text()).get("phase")
    except (OSError, ValueError, AttributeError):
        pass
    path = folder / "metrics.jsonl"
    for line in path.read_text(errors="replace").splitlines() if path.is_file() else []:
        try:
            root = str(json.loads(line).get("phase", "")).split("/")[0]
        except (ValueError, AttributeError):
            continue
        if root in TRAINING_PHASES:
            return root
    return None


def _run_kind(folder: Path) -> str:
    """'a textgame MLE run', as far as the folder tells (domain from its config)."""
    try:
        domain = (read_config(folder).get("data") or {}).get("domain")
    except (OSError, yaml.YAMLError, AttributeError):
        domain = None
    phase = _run_phase(folder)
    words = [w for w in (domain, phase.upper() if phase in TRAINING_PHASES else phase) if w]
    return " ".join(["a", *words, "run"])


def describe_run_folder(folder: Path) -> str:
    """What a folder holds, in words: 'a textgame MLE run (config, data, tokenizer, 3
    checkpoints, best, metrics)'; files no run writes are counted apart."""
    names = run_contents(folder)
    others = [n for n in names if not _written_by_runs(n)]
    parts = ["config"] if "config.yaml" in names else []
    complete = (folder / MANIFEST).exists() or predates_manifests(folder)
    parts += [n if complete else f"incomplete {n}" for n in INPUTS if n in names]
    steps = sum(p.is_dir() for p in (folder / "checkpoints").glob("step_*"))
    if steps:
        parts.append(f"{steps} checkpoint{'s' if steps != 1 else ''}")
    if (folder / "checkpoints" / "best").is_dir():
        parts.append("best")
    parts += [word for name, word in _OUTPUT_WORDS if name in names]
    if others:
        shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
        parts.append(f"{len(others)} other file{'s' if len(others) != 1 else ''}: {shown}")
    if not _looks_like_run(folder):
        return f"files ({', '.join(names[:5])}{', ...' if len(names) > 5 else ''})"
    return f"{_run_kind(folder)} ({', '.join(parts)})"


_OUTPUT_WORDS = (("metrics.jsonl", "metrics"), ("eval.json", "an evaluation"))


def claim_run_folder(folder: Path, config: dict, force: bool = False) -> None:
    """Make sure a new run may write into `folder` (its plain `config`, with `init`): new or
    empty, or with `force` holding only what runs write, which is deleted (`clear_run_folder`).
    Anything else is refused before anything changes, saying what the folder holds and what to
    do; a folder holding a run names the fields its config differs in."""
    if folder.exists() and not folder.is_dir():
        raise FileExistsError(f"{folder} is a file, not a run folder; choose another --out")
    if not run_contents(folder):
        return
    if force:
        clear_run_folder(folder)
        return
    run = _looks_like_run(folder)
    compared = _compared(folder, config) if run else ""
    resume = "pass --resume to continue it, " if run and _run_phase(folder) != "tokenizer" else ""
    if run and not _foreign_files(folder):
        advice = f"{resume}choose another --out, or pass --force to delete it and start over"
    else:
        advice = "choose another --out" + (f" (or {resume.removesuffix(', ')})" if resume else "")
    raise FileExistsError(f"{folder} holds {describe_run_folder(folder)}{compared}; {advice}")


def _compared(folder: Path, config: dict) -> str:
    """'; its config differs in seed, mle.lr' (or '; same config'): the folder's config
    against a new run's."""
    try:
        differences = config_differences(read_config(folder), config)
    except (OSError, yaml.YAMLError, AttributeError, TypeError):
        return "; its config.yaml is unreadable"
    shown = ", ".join(differences[:6]) + (", ..." if len(differences) > 6 else "")
    return f"; its config differs in {shown}" if differences else "; same config"


def _foreign_files(folder: Path) -> list[str]:
    return [n for n in run_contents(folder) if not _written_by_runs(n)]


def clear_run_folder(folder: Path) -> None:
    """`--force`: delete what runs write in `folder` (`RUN_FILES` and the temporary files of
    their atomic writes; a link is removed, never followed). Refused, before anything is
    deleted, when the folder does not look like a run's (no run.json, no config.yaml of a run)
    or also holds files no run writes."""
    others = _foreign_files(folder)
    if others:
        shown = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
        raise FileExistsError(
            f"--force: {folder} also holds {shown}, which no run writes; nothing was deleted: "
            "move them away or choose another --out"
        )
    if not _looks_like_run(folder):
        raise FileExistsError(
            f"--force: {folder} does not look like a run folder (no run.json, no config.yaml "
            "of a run); nothing was deleted: choose another --out"
        )
    for name in run_contents(folder):
        path = folder / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


class RunLockedError(FileExistsError):
    """Another process trains in this run folder."""


class RunLock:
    """One process per run folder: an advisory lock (`fcntl.flock`) on `<run>/.lock`, held
    while a run trains, the file naming its holder as JSON (`pid`, `host`, `since`).

    The kernel releases a flock when its process ends, however it ends (SIGKILL included), so a
    lock file left by a dead process is free: the next run takes it over, with a warning that
    names the process that left it. `release` removes the file. Needs a filesystem with
    working `flock` (local disks; NFSv4)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK
        self._handle = None
        self._made_folder = False

    def acquire(self) -> RunLock:
        import fcntl

        if self.folder.exists() and not self.folder.is_dir():
            raise FileExistsError(
                f"{self.folder} is a file, not a run folder; choose another --out"
            )
        self._made_folder = not self.folder.exists()
        self.folder.mkdir(parents=True, exist_ok=True)
        while True:
            handle = self.path.open("a+")  # not truncated: a holder's name stays readable
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = _holder(handle.read())
                handle.close()
                raise RunLockedError(
                    f"{self.folder} is in use by {holder}; one process at a time runs in a run "
                    "folder: wait for it to end (or stop it), or choose another --out"
                ) from None
            if self._same_file(handle):
                break
            handle.close()  # its holder removed that file as it released it: lock the new one
        handle.seek(0)
        previous = handle.read()
        if previous.strip():
            _warn(f"{self.folder}: taking over the lock left by {_holder(previous)}, which ended")
        handle.seek(0)
        handle.truncate()
        since = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": since}))
        handle.flush()
        self._handle = handle
        return self

    def _same_file(self, handle) -> bool:
        try:
            return os.stat(self.path).st_ino == os.fstat(handle.fileno()).st_ino
        except FileNotFoundError:
            return False

    def release(self) -> None:
        """Remove the lock file, then unlock (a process waiting on the removed file retries);
        a folder made for the lock and left empty (a run refused early) is removed too."""
        if self._handle is None:
            return
        if self._same_file(self._handle):
            self.path.unlink(missing_ok=True)
        self._handle.close()
        self._handle = None
        if self._made_folder:
            with contextlib.suppress(OSError):  # not empty: it stays
                self.folder.rmdir()

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc_info) -> None:
        self.release()


def _holder(text: str) -> str:
    """'process 123 on host x (since ...)' from a lock file's text."""
    try:
        info = json.loads(text)
        return f"process {info['pid']} on {info['host']} (since {info.get('since', '?')})"
    except (ValueError, KeyError, TypeError):
        return "another process (its lock file names none yet)"
