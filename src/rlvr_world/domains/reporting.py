"""What a domain's report sections are given and give back (the `report_sections` hook).

`rlvr-world report` reads each run folder into a `RunView` (`read_run`): `config.yaml`,
`metrics.jsonl` and `eval.json`, each optional but `config.yaml`, with a note for each file that
is missing or broken. It groups the views by their domain and hands each group to that
domain's `report_sections(runs, max_samples, max_frame_samples) -> DomainReport`, which reads
the files its runs add (samples, frames), says what each run is (its phase, more notes) and
writes its HTML sections. Every reader here is forgiving: a run that lacks a file still shows.

>>> lookup({"data": {"domain": "web"}}, "data", "domain"), lookup({"data": None}, "data", "x")
('web', None)
>>> run_names([Path("a/run"), Path("b/run"), Path("c/other")])
['a/run', 'b/run', 'other']
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

DEFAULT_DOMAIN = "textgame"
"""The domain of a run whose `config.yaml` names none (`data.domain`'s default)."""


@dataclass
class RunView:
    """One run folder as the report reads it."""

    path: Path
    name: str
    """The name the report shows (unique among the runs of one report, `run_names`)."""
    config: dict
    """`config.yaml` (empty if missing or broken)."""
    metrics: list[dict]
    """The rows of `metrics.jsonl`, each with its `phase` (`mle`, `rlvr`, `mle/eval`, ...)."""
    eval: dict | None
    """`eval.json`: the held-out figures, or None if not evaluated."""
    samples: list[dict] | None = None
    """`samples.jsonl` (`with_samples`), or None."""
    notes: list[str] = field(default_factory=list)
    """What the run lacks, shown beside it."""
    result: dict | None = None
    """`train_result.json`, for a domain that reads it."""
    phase: str = "MLE"
    """What trained it, as shown: `MLE`, `RLVR`, or a domain's own (e.g. `tokenizer`)."""
    domain: str = DEFAULT_DOMAIN
    """`data.domain` of its config."""

    def rows(self, phase: str) -> list[dict]:
        """The metric rows logged under `phase`."""
        return [row for row in self.metrics if row.get("phase") == phase]


@dataclass
class DomainReport:
    """What a domain's `report_sections` gives back."""

    runs: list[RunView]
    """The runs it was given, in the same order, with what it read of them (samples, notes,
    phase); the report's table of runs shows these."""
    sections: list[str]
    """HTML sections (each starting with its `<h2>`), in page order."""
    css: str = ""
    """Style rules its sections need beyond the page's own."""


def lookup(mapping: Any, *keys: str) -> Any:
    """`mapping[k1][k2]...`, or None where a level is missing or not a mapping."""
    for key in keys:
        if not isinstance(mapping, dict):
            return None
        mapping = mapping.get(key)
    return mapping


def read_jsonl(path: Path) -> list[dict]:
    """Rows of a JSON-lines file; blank, broken (e.g. a half-written last line) and non-object
    lines are skipped."""
    rows = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def read_config(folder: Path) -> dict:
    """A run folder's `config.yaml`, or {} if missing or broken."""
    try:
        loaded = yaml.safe_load((folder / "config.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def resolve_init(folder: Path, init: Any) -> Path | None:
    """The init run folder as written, else a sibling of `folder` with its name (runs moved
    together); None if neither exists."""
    if not init:
        return None
    path = Path(str(init))
    for candidate in (path, folder.parent / path.name):
        if candidate.is_dir():
            return candidate
    return None


def run_names(paths: Sequence[Path]) -> list[str]:
    """Folder names, with the parent folder prefixed where two runs share a name."""
    names = [path.name or str(path) for path in paths]
    names = [
        f"{path.parent.name}/{name}" if names.count(name) > 1 else name
        for path, name in zip(paths, names)
    ]
    # The same folder given twice still needs distinct names (they key colours and samples).
    return [f"{name} #{i + 1}" if names.count(name) > 1 else name for i, name in enumerate(names)]


def read_run(path: Path, name: str) -> RunView:
    """The files every run folder has. Phase: `RLVR` if it logged RLVR steps or started from
    another run, else `MLE`."""
    notes: list[str] = []
    config: dict = {}
    config_path = path / "config.yaml"
    if config_path.is_file():
        try:
            loaded = yaml.safe_load(config_path.read_text(encoding="utf-8"))
            config = loaded if isinstance(loaded, dict) else {}
        except yaml.YAMLError:
            notes.append("config.yaml could not be parsed.")
    else:
        notes.append("no config.yaml: not a run folder?")
    metrics_path = path / "metrics.jsonl"
    metrics = read_jsonl(metrics_path) if metrics_path.is_file() else []
    if not metrics:
        notes.append("no metrics.jsonl rows: no training curves.")
    evaluation = None
    eval_path = path / "eval.json"
    if eval_path.is_file():
        try:
            loaded = json.loads(eval_path.read_text(encoding="utf-8"))
            evaluation = loaded if isinstance(loaded, dict) else None
        except json.JSONDecodeError:
            notes.append("eval.json could not be parsed.")
    if evaluation is None:
        notes.append(f"no eval.json: not evaluated yet (run `rlvr-world eval {path}`).")
    run = RunView(path, name, config, metrics, evaluation, notes=notes)
    run.domain = str(lookup(config, "data", "domain") or DEFAULT_DOMAIN)
    run.phase = "RLVR" if logged_rlvr(run) or config.get("init") else "MLE"
    return run


def logged_rlvr(run: RunView) -> bool:
    """Whether the run logged RLVR steps (any `rlvr...` phase in its metrics)."""
    return any(str(row.get("phase", "")).startswith("rlvr") for row in run.metrics)


def with_samples(run: RunView) -> RunView:
    """The run with its `samples.jsonl` (the sample predictions of `rlvr-world eval`), or a
    note that it has none."""
    samples_path = run.path / "samples.jsonl"
    samples = read_jsonl(samples_path) if samples_path.is_file() else None
    if samples is None:
        return replace(run, notes=[*run.notes, "no samples.jsonl: no sample predictions."])
    return replace(run, samples=samples)
