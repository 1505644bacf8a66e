"""One self-contained HTML report of one or more run folders.

    write_report([mle_run, rlvr_run], Path("report.html"), title="quickstart")

A run folder (see `rlvr_world.train.run`) gives: `config.yaml` (preset, init run), `metrics.jsonl`
(training curves), `eval.json` (the comparison table), `samples.jsonl` and `data/<split>.jsonl`
(sample predictions with the fields each run got wrong). Every file but `config.yaml` may be
missing: its section then says so instead of failing. Curves are PNGs drawn with matplotlib's
object API (no pyplot, so no global backend is touched) and embedded as base64; the page has
no external CSS or JavaScript. Everything taken from the data is HTML-escaped.

Runs of a video world model (`data.domain` other than `textgame` in `config.yaml`) get their
own sections instead: the frame metrics of `eval.json` (MSE, MAE, PSNR, SSIM, LPIPS, repetition)
against the first run, per-task LPIPS, the frame tokenizer's reconstruction figures (from
`tokenizer/eval.json` in the run or along its `init` chain), tokenizer/MLE/RLVR curves, and frame
strips with an animated GIF per sample from `predictions.npz`, matched by example id across runs.
Frames are drawn with numpy and Pillow only (no torch).
"""

from __future__ import annotations

import base64
import io
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

import yaml

from rlvr_world.domains.textgame.data import Transition, load_transitions
from rlvr_world.domains.textgame.rewards import parse_answer, rebuild_state, values_equal
from rlvr_world.domains.textgame.state import SCORE_KEYS, by_uuid, changed_fields, split_state
from rlvr_world.train.streams import spread

__all__ = ["write_report"]

MAX_SAMPLES = 12
"""Sample predictions shown by default."""
MAX_RESPONSE_CHARS = 1500
"""Longer responses keep their head and tail (the answer is at the end)."""
MAX_VALUE_CHARS = 120
"""Longer JSON values in the sample tables are cut."""
MAX_FIELD_ROWS = 24
"""Field rows shown per run and sample."""

_ACCURACY_SPLITS = ("unchanged", "changed", "overall")
# Colour per run, reused across every plot so that a run keeps its colour.
_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
_RLVR_PANELS = (
    ("reward_mean", "reward mean ± std"),
    ("kl", "KL to reference"),
    ("entropy", "entropy"),
    ("clip_fraction", "clip fraction"),
    ("response_length", "response length (tokens)"),
    ("zero_std_fraction", "zero-std group fraction"),
)
_MISSING = object()


# ---------------------------------------------------------------------------------------------
# Reading run folders: every reader is forgiving and records what it could not read.


@dataclass
class _Run:
    path: Path
    name: str
    config: dict
    metrics: list[dict]
    eval: dict | None
    samples: list[dict] | None
    notes: list[str] = field(default_factory=list)
    result: dict | None = None
    """`train_result.json` of a video run (its `phase` names a tokenizer-only run)."""

    @property
    def domain(self) -> str:
        return str(_get(self.config, "data", "domain") or "textgame")

    @property
    def video(self) -> bool:
        return self.domain not in ("textgame", "web")

    @property
    def web(self) -> bool:
        return self.domain == "web"

    @property
    def phase(self) -> str:
        if any(str(row.get("phase", "")).startswith("rlvr") for row in self.metrics):
            return "RLVR"
        if self.video:
            return self._video_phase()
        if self.config.get("init"):
            return "RLVR"
        return "MLE"

    def _video_phase(self) -> str:
        # A video MLE run usually has an init too (the tokenizer run it takes frames from).
        phases = {str(row.get("phase", "")) for row in self.metrics}
        if "mle" in phases:
            return "MLE"
        logged = str((self.result or {}).get("phase", "")).lower()
        if logged in ("mle", "rlvr", "tokenizer"):
            return "tokenizer" if logged == "tokenizer" else logged.upper()
        if "tokenizer" in phases:
            return "tokenizer"
        init = _resolve_init(self.path, self.config.get("init"))
        return "RLVR" if init is not None and (init / "checkpoints").is_dir() else "MLE"

    def rows(self, phase: str) -> list[dict]:
        return [row for row in self.metrics if row.get("phase") == phase]


def _read_jsonl(path: Path) -> list[dict]:
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


def _load_run(path: Path, name: str) -> _Run:
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
    metrics = _read_jsonl(metrics_path) if metrics_path.is_file() else []
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
    run = _Run(path, name, config, metrics, evaluation, None, notes)
    if run.video:
        if not (path / "predictions.npz").is_file():
            notes.append("no predictions.npz: no frames to show.")
        result_path = path / "train_result.json"
        try:
            loaded = json.loads(result_path.read_text(encoding="utf-8"))
            run.result = loaded if isinstance(loaded, dict) else None
        except (OSError, json.JSONDecodeError):
            pass  # optional: the phase is then read from metrics.jsonl and config.yaml
        return run
    samples_path = path / "samples.jsonl"
    run.samples = _read_jsonl(samples_path) if samples_path.is_file() else None
    if run.samples is None:
        notes.append("no samples.jsonl: no sample predictions.")
    return run


def _run_names(paths: Sequence[Path]) -> list[str]:
    """Folder names, with the parent folder prefixed where two runs share a name."""
    names = [path.name or str(path) for path in paths]
    names = [
        f"{path.parent.name}/{name}" if names.count(name) > 1 else name
        for path, name in zip(paths, names)
    ]
    # The same folder given twice still needs distinct names (they key colours and samples).
    return [f"{name} #{i + 1}" if names.count(name) > 1 else name for i, name in enumerate(names)]


def _load_transitions(runs: Sequence[_Run]) -> tuple[dict[str, Transition], list[str]]:
    """Held-out transitions by id, from each run's `data/<split>.jsonl` (or its init run's)."""
    by_id: dict[str, Transition] = {}
    notes: list[str] = []
    tried: set[Path] = set()
    for run in runs:
        split = str((run.eval or {}).get("split") or "test")
        folders = [run.path]
        if run.config.get("init"):
            folders.append(Path(str(run.config["init"])))
        for folder in folders:
            for name in dict.fromkeys([f"{split}.jsonl", "test.jsonl"]):
                path = folder / "data" / name
                if path in tried or not path.is_file():
                    continue
                tried.add(path)
                try:
                    transitions = load_transitions(path)
                except (ValueError, OSError) as error:
                    notes.append(f"{path} could not be loaded: {error}")
                    continue
                for transition in transitions:
                    by_id.setdefault(transition.id, transition)
    return by_id, notes


# ---------------------------------------------------------------------------------------------
# Formatting


def _number(value: Any) -> float | None:
    """A finite float, or None for missing, null, NaN, booleans and non-numbers."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _percent(value: Any) -> str:
    number = _number(value)
    return "–" if number is None else f"{100 * number:.2f}"


def _plain(value: Any, digits: int = 4) -> str:
    number = _number(value)
    if number is None:
        return "–" if value is None or isinstance(value, (int, float)) else str(value)
    if isinstance(value, int):
        return str(value)
    return f"{number:.{digits}f}"


def _json_short(value: Any, limit: int = MAX_VALUE_CHARS) -> str:
    if value is _MISSING:
        return "(missing)"
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _truncate(text: str, limit: int = MAX_RESPONSE_CHARS) -> str:
    if len(text) <= limit:
        return text
    head = limit // 4
    tail = limit - head
    omitted = len(text) - head - tail
    return f"{text[:head]}\n… [{omitted} characters omitted] …\n{text[-tail:]}"


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _get(mapping: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(mapping, dict):
            return None
        mapping = mapping.get(key)
    return mapping


# ---------------------------------------------------------------------------------------------
# Sections


def _summary_html(summary: dict) -> str:
    def flatten(value: Any, prefix: str) -> Iterable[tuple[str, Any]]:
        if isinstance(value, dict) and value:
            for key, item in value.items():
                yield from flatten(item, f"{prefix} / {key}" if prefix else str(key))
        else:
            yield prefix, value

    rows = []
    for key, value in flatten(summary, ""):
        shown = _plain(value) if _number(value) is not None or value is None else value
        if isinstance(shown, (list, dict)):
            shown = _json_short(shown)
        rows.append(f"<tr><th>{_e(key)}</th><td>{_e(shown)}</td></tr>")
    return f'<h2>Summary</h2>\n<table class="summary">{"".join(rows)}</table>'


def _runs_html(runs: Sequence[_Run]) -> str:
    rows = []
    for run in runs:
        init = run.config.get("init")
        init_cell = f'<span title="{_e(init)}">{_e(Path(str(init)).name)}</span>' if init else "–"
        evaluation = run.eval or {}
        evaluated = (
            f"{_e(evaluation.get('split', '?'))} / {_e(evaluation.get('checkpoint', '?'))}"
            if run.eval
            else "–"
        )
        notes = "".join(f'<div class="note">{_e(note)}</div>' for note in run.notes)
        rows.append(
            f'<tr><td title="{_e(run.path)}"><b>{_e(run.name)}</b></td>'
            f"<td>{_e(run.config.get('preset', '–'))}</td><td>{run.phase}</td>"
            f"<td>{init_cell}</td><td>{_e(run.config.get('seed', '–'))}</td>"
            f"<td>{evaluated}</td><td>{notes}</td></tr>"
        )
    head = "<tr><th>run</th><th>preset</th><th>phase</th><th>init run</th><th>seed</th>"
    head += "<th>evaluated (split / checkpoint)</th><th>notes</th></tr>"
    return f"<h2>Runs</h2>\n<table>{head}{''.join(rows)}</table>"


def _comparison_html(runs: Sequence[_Run]) -> str:
    columns: list[tuple[str, Callable[[dict], Any], Callable[[Any], str]]] = [
        *(
            (f"{split} %", lambda e, s=split: _get(e, "accuracy", s), _percent)
            for split in _ACCURACY_SPLITS
        ),
        ("parsed %", lambda e: e.get("parsed"), _percent),
        ("item_acc", lambda e: e.get("item_acc"), _plain),
        ("task_specific", lambda e: e.get("task_specific"), _plain),
    ]
    values = [[getter(run.eval) if run.eval else None for _, getter, _ in columns] for run in runs]
    best = []
    for j in range(len(columns)):
        finite = [_number(row[j]) for row in values if _number(row[j]) is not None]
        # Bold only where there is something to compare: two values or more, not all equal.
        best.append(max(finite) if len(set(finite)) > 1 else None)
    base = _number(_get(runs[0].eval, "accuracy", "overall"))
    head = "<tr><th>run</th><th>phase</th>" + "".join(f"<th>{_e(c[0])}</th>" for c in columns)
    head += f"<th>overall vs {_e(runs[0].name)}</th><th>examples</th></tr>"
    rows = []
    for run, row in zip(runs, values):
        cells = []
        for j, (_, _, fmt) in enumerate(columns):
            text = _e(fmt(row[j]))
            bold = best[j] is not None and _number(row[j]) == best[j]
            cells.append(f"<td><b>{text}</b></td>" if bold else f"<td>{text}</td>")
        overall = _number(_get(run.eval, "accuracy", "overall"))
        gain = f"x{overall / base:.2f}" if overall is not None and base else "–"
        examples = _e(run.eval.get("examples", "–")) if run.eval else "not evaluated"
        rows.append(
            f"<tr><td><b>{_e(run.name)}</b></td><td>{run.phase}</td>{''.join(cells)}"
            f"<td>{gain}</td><td>{examples}</td></tr>"
        )
    caption = (
        "Exact-state accuracy under greedy decoding (%), as in the paper's table; best per "
        "column in bold."
    )
    return (
        f"<h2>Held-out comparison</h2>\n<p>{caption}</p>\n"
        f'<table class="numbers">{head}{"".join(rows)}</table>'
    )


# ---------------------------------------------------------------------------------------------
# Curves


def _series(rows: Sequence[dict], key: str) -> tuple[list[float], list[float]]:
    """(steps, values) for `key`; null/NaN values become NaN (gaps); None if the key is absent
    or never finite."""
    steps, values = [], []
    for row in rows:
        if key not in row or _number(row.get("step")) is None:
            continue
        number = _number(row[key])
        steps.append(float(row["step"]))
        values.append(math.nan if number is None else number)
    if not any(math.isfinite(v) for v in values):
        return [], []
    return steps, values


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="plot" src="data:image/png;base64,{data}">'


def _figure(panels: int, columns: int = 3):
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    columns = min(columns, panels)
    rows = math.ceil(panels / columns)
    figure = Figure(figsize=(4.2 * columns, 3.0 * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for axis in axes:
        axis.xaxis.set_major_locator(
            MaxNLocator(integer=True, min_n_ticks=1)
        )  # steps are whole numbers
    for extra in axes[panels:]:
        extra.set_visible(False)
    return figure, axes[:panels]


def _curves_html(runs: Sequence[_Run]) -> str:
    colors = {run.name: _COLORS[i % len(_COLORS)] for i, run in enumerate(runs)}
    parts = ["<h2>Training curves</h2>"]

    loss = [(run, _series(run.rows("mle"), "loss")) for run in runs]
    loss = [(run, s) for run, s in loss if s[0]]
    if loss:
        figure, (axis,) = _figure(1)
        for run, (steps, values) in loss:
            axis.plot(steps, values, color=colors[run.name], label=run.name)
        axis.set(title="MLE loss", xlabel="step", ylabel="cross-entropy")
        axis.legend(fontsize=8)
        parts.append(f"<h3>MLE loss</h3>{_png(figure)}")
    else:
        parts.append('<p class="note">No MLE loss logged.</p>')

    evaluated = []
    for run in runs:
        rows = [r for r in run.metrics if str(r.get("phase", "")).endswith("/eval")]
        lines = {s: _series(rows, f"accuracy_{s}") for s in _ACCURACY_SPLITS}
        if any(steps for steps, _ in lines.values()):
            evaluated.append((run, lines))
    if evaluated:
        figure, axes = _figure(len(evaluated))
        styles = {
            "overall": ("-", "#222222"),
            "changed": ("--", "#d62728"),
            "unchanged": (":", "#1f77b4"),
        }
        for axis, (run, lines) in zip(axes, evaluated):
            for split, (steps, values) in lines.items():
                if steps:
                    values = [100 * v for v in values]
                    style, color = styles[split]
                    axis.plot(
                        steps, values, style, color=color, marker="o", markersize=3, label=split
                    )
            axis.set(title=f"{run.name} ({run.phase})", xlabel="step", ylabel="accuracy %")
            axis.set_ylim(-2, 102)
            axis.legend(fontsize=8)
        parts.append(f"<h3>Held-out accuracy</h3>{_png(figure)}")
    else:
        parts.append('<p class="note">No held-out evaluation logged during training.</p>')

    panels = []
    for key, title in _RLVR_PANELS:
        lines = [(run, _series(run.rows("rlvr"), key)) for run in runs]
        lines = [(run, s) for run, s in lines if s[0]]
        if lines:
            panels.append((key, title, lines))
    if panels:
        figure, axes = _figure(len(panels))
        for axis, (key, title, lines) in zip(axes, panels):
            for run, (steps, values) in lines:
                color = colors[run.name]
                axis.plot(steps, values, color=color, label=run.name)
                if key == "reward_mean":
                    std_steps, std = _series(run.rows("rlvr"), "reward_std")
                    if std_steps == steps:
                        low = [v - s for v, s in zip(values, std)]
                        high = [v + s for v, s in zip(values, std)]
                        axis.fill_between(steps, low, high, color=color, alpha=0.2)
            axis.set(title=title, xlabel="step")
            axis.legend(fontsize=8)
        parts.append(f"<h3>RLVR</h3>{_png(figure)}")
    else:
        parts.append('<p class="note">No RLVR training logged.</p>')
    return "\n".join(parts)


# ---------------------------------------------------------------------------------------------
# Sample predictions


def _exact(sample: dict) -> float | None:
    scores = sample.get("scores") if isinstance(sample.get("scores"), dict) else {}
    return _number(scores.get("exact", scores.get("binary")))


def _choose_samples(
    runs: Sequence[_Run], transitions: dict[str, Transition], limit: int
) -> tuple[list[str], dict[str, dict[str, dict]]]:
    """Up to `limit` ids, half changed and half unchanged where possible, preferring ids on
    which the runs disagree (some exact, some not); -> (ids, {run name: {id: sample}})."""
    per_run: dict[str, dict[str, dict]] = {}
    order: dict[str, int] = {}
    split_of: dict[str, str] = {}
    for run in runs:
        samples = {}
        for sample in run.samples or []:
            sample_id = str(sample.get("id"))
            samples.setdefault(sample_id, sample)
            order.setdefault(sample_id, len(order))
            if sample.get("split") in ("changed", "unchanged"):
                split_of.setdefault(sample_id, sample["split"])
        per_run[run.name] = samples

    def split(sample_id: str) -> str:
        if sample_id in split_of:
            return split_of[sample_id]
        transition = transitions.get(sample_id)
        return transition.split if transition is not None else "unchanged"

    def disagree(sample_id: str) -> bool:
        exact = {_exact(s[sample_id]) for s in per_run.values() if sample_id in s}
        return len(exact) > 1

    ranked = sorted(order, key=lambda i: (not disagree(i), order[i]))
    changed = [i for i in ranked if split(i) == "changed"]
    unchanged = [i for i in ranked if split(i) != "changed"]
    take_changed = min(len(changed), max(limit // 2, limit - len(unchanged)))
    chosen = changed[:take_changed] + unchanged[: limit - take_changed]
    return chosen, per_run


def _gold_changes(current: list[dict], gold: list[dict]) -> list[str]:
    """The gold difference, one short line per changed field, added/removed object, score key."""
    cur_objects, cur_score = split_state(current)
    gold_objects, gold_score = split_state(gold)
    cur, new = by_uuid(cur_objects), by_uuid(gold_objects)
    lines = []
    for uuid, obj in new.items():
        name = obj.get("name", uuid)
        if uuid not in cur:
            lines.append(f"+ {name} {_json_short(obj.get('properties', {}))}")
            continue
        before = cur[uuid].get("properties") or {}
        after = obj.get("properties") or {}
        for key in sorted(set(before) | set(after), key=str):
            old, value = before.get(key, _MISSING), after.get(key, _MISSING)
            if old != value:
                lines.append(f"{name}.{key}: {_json_short(old)} → {_json_short(value)}")
        old_contains = sorted(map(str, cur[uuid].get("contains", []) or []))
        new_contains = sorted(map(str, obj.get("contains", []) or []))
        if old_contains != new_contains:
            lines.append(
                f"{name}.contains: {_json_short(old_contains)} → {_json_short(new_contains)}"
            )
    for uuid, obj in cur.items():
        if uuid not in new:
            lines.append(f"− {obj.get('name', uuid)}")
    for key in SCORE_KEYS:
        if cur_score.get(key) != gold_score.get(key):
            lines.append(
                f"{key}: {_json_short(cur_score.get(key))} → {_json_short(gold_score.get(key))}"
            )
    return lines


def _field_rows(current: list[dict], predicted: list[dict], gold: list[dict]) -> list[tuple]:
    """(field, predicted, gold, correct) for every gold field that is wrong or that the action
    changed, gold objects in order, then the score keys."""
    changes = set(changed_fields(current, gold))
    cur_score = split_state(current)[1]
    pred_objects, pred_score = split_state(predicted)
    gold_objects, gold_score = split_state(gold)
    pred = by_uuid(pred_objects)
    rows = []
    for obj in gold_objects:
        uuid, name = obj.get("uuid"), obj.get("name", obj.get("uuid"))
        if uuid not in pred:
            rows.append((f"{name}", "(object missing)", "(present)", False))
            continue
        pred_props = pred[uuid].get("properties")
        if not isinstance(pred_props, dict):
            rows.append((f"{name}.properties", "(missing)", "(present)", False))
            pred_props = {}
        for key, value in (obj.get("properties") or {}).items():
            guess = pred_props.get(key, _MISSING)
            correct = guess is not _MISSING and values_equal(value, guess)
            if not correct or (uuid, key) in changes:
                rows.append((f"{name}.{key}", _json_short(guess), _json_short(value), correct))
        gold_contains = sorted(map(str, obj.get("contains", []) or []))
        if "contains" in pred[uuid]:
            guess = sorted(map(str, pred[uuid].get("contains") or []))
        else:
            guess = _MISSING
        correct = guess is not _MISSING and guess == gold_contains
        if not correct or (uuid, "contains") in changes:
            rows.append(
                (f"{name}.contains", _json_short(guess), _json_short(gold_contains), correct)
            )
    for key in SCORE_KEYS:
        if key not in gold_score:
            continue
        guess = pred_score.get(key, _MISSING)
        correct = guess is not _MISSING and values_equal(gold_score[key], guess)
        if not correct or cur_score.get(key) != gold_score[key]:
            rows.append((key, _json_short(guess), _json_short(gold_score[key]), correct))
    return rows


def _rebuild(response: str, current: list[dict]) -> tuple[list[dict] | None, str | None]:
    """The predicted full state, or (None, why not)."""
    try:
        answer = parse_answer(response)
        if answer is None:
            return None, "unparseable response: no valid answer JSON"
        return rebuild_state(current, answer, compat="fixed"), None
    except Exception as error:  # scoring code must never break the report
        return None, f"unparseable response ({type(error).__name__})"


def _scores_html(sample: dict) -> str:
    scores = sample.get("scores") if isinstance(sample.get("scores"), dict) else {}
    chips = []
    for key, value in scores.items():
        text = f"{_e(key)} {_e(_plain(value, 3))}"
        if key in ("exact", "binary") and _number(value) is not None:
            text = f'<span class="{"good" if _number(value) == 1 else "bad"}">{text}</span>'
        chips.append(text)
    return " · ".join(chips) or "no scores"


def _prediction_html(sample: dict | None, transition: Transition | None) -> str:
    if sample is None:
        return '<p class="note">no prediction for this example</p>'
    response = str(sample.get("response", ""))
    parts = [f'<div class="scores">{_scores_html(sample)}</div>']
    if transition is None:
        parts.append('<p class="note">transition not found in data/: no field comparison</p>')
    else:
        predicted, why = _rebuild(response, transition.current)
        if predicted is None:
            parts.append(f'<p class="bad">{_e(why)}</p>')
        else:
            try:
                rows = _field_rows(transition.current, predicted, transition.next)
            except Exception as error:  # a malformed prediction must not break the report
                rows = None
                parts.append(
                    f'<p class="bad">fields not comparable ({_e(type(error).__name__)})</p>'
                )
            if rows is not None:
                wrong = sum(not correct for *_, correct in rows)
                if wrong == 0:
                    parts.append('<p class="good">exact: every field right</p>')
                else:
                    parts.append(f'<p class="bad">{wrong} wrong field(s)</p>')
                table = []
                rows = sorted(rows, key=lambda row: row[3])  # wrong ones first, then gold order
                for name, guess, gold, correct in rows[:MAX_FIELD_ROWS]:
                    css = "good" if correct else "bad"
                    table.append(
                        f'<tr class="{css}"><td>{_e(name)}</td><td>{_e(guess)}</td>'
                        f"<td>{_e(gold)}</td></tr>"
                    )
                if len(rows) > MAX_FIELD_ROWS:
                    more = len(rows) - MAX_FIELD_ROWS
                    table.append(f'<tr><td colspan="3">… {more} more</td></tr>')
                if table:
                    head = "<tr><th>field</th><th>predicted</th><th>gold</th></tr>"
                    parts.append(f'<table class="fields">{head}{"".join(table)}</table>')
    parts.append(
        f"<details open><summary>response</summary><pre>{_e(_truncate(response))}</pre></details>"
    )
    return "".join(parts)


def _samples_html(runs: Sequence[_Run], limit: int) -> str:
    parts = ["<h2>Sample predictions</h2>"]
    if not any(run.samples for run in runs):
        parts.append('<p class="note">No samples.jsonl in any run: no predictions to show.</p>')
        return "\n".join(parts)
    transitions, notes = _load_transitions(runs)
    parts += [f'<p class="note">{_e(note)}</p>' for note in notes]
    if not transitions:
        parts.append('<p class="note">No data/test.jsonl found: fields are not compared.</p>')
    chosen, per_run = _choose_samples(runs, transitions, limit)
    parts.append(
        f"<p>{len(chosen)} held-out examples, balanced between changed and unchanged, "
        "preferring those where runs disagree. Red: a wrong or missing field (predicted vs "
        "gold); green: a changed field predicted right.</p>"
    )
    for sample_id in chosen:
        transition = transitions.get(sample_id)
        split = next(
            (s[sample_id].get("split") for s in per_run.values() if sample_id in s), None
        ) or (transition.split if transition is not None else "?")
        header = f"<h3>{_e(sample_id)} <small>({_e(split)})</small></h3>"
        if transition is not None:
            changes = _gold_changes(transition.current, transition.next) or ["(no change)"]
            header += f"<p><b>action:</b> {_e(transition.action)}</p>"
            header += '<p><b>gold changes:</b></p><ul class="changes">'
            header += "".join(f"<li>{_e(line)}</li>" for line in changes) + "</ul>"
        columns = "".join(
            f'<div class="prediction"><h4>{_e(run.name)}</h4>'
            f"{_prediction_html(per_run[run.name].get(sample_id), transition)}</div>"
            for run in runs
        )
        parts.append(f'<div class="sample">{header}<div class="predictions">{columns}</div></div>')
    return "\n".join(parts)


# ---------------------------------------------------------------------------------------------
# Video runs (data.domain other than textgame): frame metrics, tokenizer, curves, frame strips.

MAX_FRAME_SAMPLES = 6
"""Samples shown as frame strips and GIFs by default."""
FRAME_PIXELS = 128
"""Frames are upscaled (nearest neighbour) to at least this height so 64 px frames are visible."""
PSNR_MAX = 100.0
"""PSNR of identical frames, as capped in `rlvr_world.video.metrics` (not imported: torch)."""

_FRAME_GAP = 2  # white pixels between frames in strips and GIF panels
# (key in eval.json "metrics", header, short label, scale, digits, lower is better)
_FRAME_COLUMNS = (
    ("mse", "MSE ×100", "MSE", 100.0, 2, True),
    ("mae", "MAE", "MAE", 1.0, 4, True),
    ("psnr", "PSNR (dB)", "PSNR", 1.0, 2, False),
    ("ssim", "SSIM ×100", "SSIM", 100.0, 2, False),
    ("lpips", "LPIPS ×100", "LPIPS", 100.0, 2, True),
)
_REPETITION_COLUMN = ("repetition", "repetition %", "repetition", 100.0, 2, True)


def _scaled(value: Any, scale: float, digits: int) -> str:
    number = _number(value)
    return "–" if number is None else f"{scale * number:.{digits}f}"


def _relative(value: Any, base: Any) -> float | None:
    """(value - base) / |base|, or None where either is missing or the base is 0."""
    value, base = _number(value), _number(base)
    if value is None or base is None or base == 0:
        return None
    return (value - base) / abs(base)


def _change_html(label: str, change: float | None, lower_is_better: bool) -> str:
    if change is None:
        return ""
    better = change < 0 if lower_is_better else change > 0
    css = "" if change == 0 else f' class="{"good" if better else "bad"}"'
    label = f"{_e(label)} " if label else ""
    return f"<span{css}>{label}{100 * change:+.1f}%</span>"


def _best(values: Sequence[Any], lower_is_better: bool) -> float | None:
    """The best finite value, or None unless there are two different ones to compare."""
    finite = [_number(v) for v in values if _number(v) is not None]
    if len(set(finite)) < 2:
        return None
    return min(finite) if lower_is_better else max(finite)


def _cell(text: str, bold: bool, extra: str = "") -> str:
    text = f"<b>{text}</b>" if bold else text
    return f"<td>{text}{extra}</td>"


def _mode(run: _Run) -> str:
    return str(_get(run.config, "video", "mode") or "single")


def _video_comparison_html(runs: Sequence[_Run]) -> str:
    multi = any(_mode(run) == "multi" for run in runs)
    columns = [*_FRAME_COLUMNS, *([_REPETITION_COLUMN] if multi else [])]

    def value(run: _Run, key: str) -> Any:
        if key == "repetition":  # a single-step rollout cannot repeat: no value to compare
            return (run.eval or {}).get(key) if _mode(run) == "multi" else None
        return _get(run.eval, "metrics", key)

    values = [[value(run, column[0]) for column in columns] for run in runs]
    best = [_best([row[j] for row in values], column[5]) for j, column in enumerate(columns)]
    head = "<tr><th>run</th><th>phase</th><th>mode</th>"
    head += "".join(f"<th>{_e(column[1])}</th>" for column in columns)
    head += f"<th>change vs {_e(runs[0].name)}</th><th>examples</th></tr>"
    rows = []
    for i, (run, row) in enumerate(zip(runs, values)):
        cells = [
            _cell(
                _e(_scaled(row[j], scale, digits)),
                best[j] is not None and _number(row[j]) == best[j],
            )
            for j, (_, _, _, scale, digits, _) in enumerate(columns)
        ]
        if i == 0:
            changes = "baseline"
        else:
            chips = [
                _change_html(label, _relative(row[j], values[0][j]), lower)
                for j, (_, _, label, _, _, lower) in enumerate(columns)
            ]
            changes = " · ".join(chip for chip in chips if chip) or "–"
        examples = _e(run.eval.get("examples", "–")) if run.eval else "not evaluated"
        rows.append(
            f"<tr><td><b>{_e(run.name)}</b></td><td>{_e(run.phase)}</td><td>{_e(_mode(run))}</td>"
            f"{''.join(cells)}<td>{changes}</td><td>{examples}</td></tr>"
        )
    caption = (
        "Frame metrics of the predicted frames against the true ones on the held-out split, "
        "following the paper's convention: MSE, SSIM and LPIPS ×100, PSNR in dB, MAE on pixels "
        "in [0, 1]"
        + (", repetition = % of multi-step rollouts whose last two frames repeat" if multi else "")
        + ". Lower is better except PSNR and SSIM; best per column in bold; changes are relative "
        f"to the first run ({runs[0].name})."
    )
    return (
        f"<h2>Held-out comparison</h2>\n<p>{_e(caption)}</p>\n"
        f'<table class="numbers">{head}{"".join(rows)}</table>'
    )


def _by_task_html(runs: Sequence[_Run]) -> str:
    tables = [
        (run, run.eval.get("by_task"))
        for run in runs
        if run.eval and isinstance(run.eval.get("by_task"), dict)
    ]
    if not tables:
        return '<p class="note">No per-task figures (no by_task in any eval.json).</p>'
    tasks = list(dict.fromkeys(str(task) for _, by_task in tables for task in by_task))
    base = runs[0].eval.get("by_task") if runs[0].eval else None
    base = base if isinstance(base, dict) else {}
    head = "<tr><th>task</th>" + "".join(f"<th>{_e(run.name)}</th>" for run in runs) + "</tr>"
    rows = []
    for task in tasks:
        values = [_get(run.eval, "by_task", task) if run.eval else None for run in runs]
        best = _best(values, lower_is_better=True)
        cells = []
        for i, value in enumerate(values):
            change = None if i == 0 else _relative(value, base.get(task))
            extra = (
                f" <small>{_change_html('', change, True)}</small>" if change is not None else ""
            )
            bold = best is not None and _number(value) == best
            cells.append(_cell(_e(_scaled(value, 100.0, 2)), bold, extra))
        rows.append(f"<tr><td>{_e(task)}</td>{''.join(cells)}</tr>")
    return (
        "<h3>LPIPS ×100 per task</h3>\n<p>Lower is better; best per task in bold, change "
        f"relative to {_e(runs[0].name)}.</p>\n"
        f'<table class="numbers">{head}{"".join(rows)}</table>'
    )


def _resolve_init(folder: Path, init: Any) -> Path | None:
    """The init run folder as written, else a sibling of `folder` with its name (runs moved
    together); None if neither exists."""
    if not init:
        return None
    path = Path(str(init))
    for candidate in (path, folder.parent / path.name):
        if candidate.is_dir():
            return candidate
    return None


def _read_config(folder: Path) -> dict:
    try:
        loaded = yaml.safe_load((folder / "config.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _tokenizer_figures(run: _Run) -> tuple[Path, dict] | None:
    """(the `eval.json` path, its figures) of the run's frame tokenizer: the run's own, the one
    `video.tokenizer_path` names, or the first along its `init` chain."""
    candidates = [run.path / "tokenizer" / "eval.json"]
    tokenizer_path = _get(run.config, "video", "tokenizer_path")
    if tokenizer_path:
        candidates.append(Path(str(tokenizer_path)) / "eval.json")
    folder, config, seen = run.path, run.config, {run.path.resolve()}
    while (folder := _resolve_init(folder, config.get("init"))) is not None:
        if folder.resolve() in seen:  # an init cycle: stop rather than loop
            break
        seen.add(folder.resolve())
        candidates.append(folder / "tokenizer" / "eval.json")
        config = _read_config(folder)
    for path in candidates:
        try:
            figures = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        if isinstance(figures, dict):
            return path, figures
    return None


def _tokenizer_html(runs: Sequence[_Run]) -> tuple[str, list[Path]]:
    """The tokenizer table, and the run folders whose tokenizer it shows (for the curves)."""
    sources: dict[Path, tuple[Path, dict, list[str]]] = {}
    without = []
    for run in runs:
        found = _tokenizer_figures(run)
        if found is None:
            without.append(run.name)
            continue
        path, figures = found
        sources.setdefault(path.resolve(), (path, figures, []))[2].append(run.name)
    parts = ["<h3>Frame tokenizer</h3>"]
    if sources:
        parts.append(
            "<p>Reconstruction of held-out frames by the frame tokenizer (encode then decode), "
            "from tokenizer/eval.json in the run or along its init chain: an upper bound for "
            "any world model on its tokens. <i>future frames</i>: the multi-step future-frame "
            "tokenizer, each frame encoded and decoded given a frame 1 to rollout_frames - 1 "
            "steps before it. "
            "SSIM and LPIPS ×100, PSNR in dB.</p>"
        )
        head = "<tr><th>tokenizer of</th><th>used by</th><th>PSNR (dB)</th><th>SSIM ×100</th>"
        head += "<th>LPIPS ×100</th><th>steps</th><th>frames</th><th>seconds</th></tr>"
        rows = []
        for path, figures, users in sources.values():
            folder = path.parent.parent if path.parent.name == "tokenizer" else path.parent
            parts_of = [(folder.name, figures)]
            if isinstance(figures.get("future"), dict):  # the multi-step future-frame tokenizer
                parts_of.append((f"{folder.name} (future frames)", figures["future"]))
            for name, values in parts_of:
                rows.append(
                    f'<tr><td title="{_e(path)}">{_e(name)}</td><td>{_e(", ".join(users))}</td>'
                    f"<td>{_e(_scaled(values.get('psnr'), 1.0, 2))}</td>"
                    f"<td>{_e(_scaled(values.get('ssim'), 100.0, 2))}</td>"
                    f"<td>{_e(_scaled(values.get('lpips'), 100.0, 2))}</td>"
                    f"<td>{_e(_plain(values.get('steps')))}</td>"
                    f"<td>{_e(_plain(values.get('frames')))}</td>"
                    f"<td>{_e(_plain(values.get('seconds'), 1))}</td></tr>"
                )
        parts.append(f'<table class="numbers">{head}{"".join(rows)}</table>')
    if without:
        parts.append(
            f'<p class="note">No tokenizer/eval.json for {_e(", ".join(without))} '
            "(nor along its init chain): no tokenizer figures.</p>"
        )
    folders = [
        path.parent.parent for path, _, _ in sources.values() if path.parent.name == "tokenizer"
    ]
    return "\n".join(parts), folders


# Curves: (title, phase, key, scale); `term_*` panels are added for whatever RLVR logged.
_TOKENIZER_PANELS = (
    ("tokenizer loss", "tokenizer", "loss", 1.0),
    ("held-out PSNR (dB)", "tokenizer", "valid_psnr", 1.0),
    ("held-out LPIPS ×100", "tokenizer", "valid_lpips", 100.0),
)
_VIDEO_MLE_PANELS = (
    ("MLE loss", "mle", "loss", 1.0),
    ("held-out LPIPS ×100", "mle/eval", "metrics_lpips", 100.0),
    ("held-out MSE ×100", "mle/eval", "metrics_mse", 100.0),
)
_VIDEO_RLVR_PANELS = (
    ("reward mean ± std", "rlvr", "reward_mean", 1.0),
    ("held-out LPIPS ×100", "rlvr/eval", "metrics_lpips", 100.0),
    ("held-out MSE ×100", "rlvr/eval", "metrics_mse", 100.0),
    ("KL to reference", "rlvr", "kl", 1.0),
    ("clip fraction", "rlvr", "clip_fraction", 1.0),
)


def _panels_html(
    heading: str,
    panels: Sequence[tuple[str, str, str, float]],
    runs: Sequence[_Run],
    colors: dict[str, str],
    missing: str,
) -> str:
    drawn = []
    for title, phase, key, scale in panels:
        lines = []
        for run in runs:
            steps, values = _series(run.rows(phase), key)
            if not steps:
                continue
            band = None
            if key == "reward_mean":
                std_steps, std = _series(run.rows(phase), "reward_std")
                band = std if std_steps == steps else None
            lines.append((run, steps, [scale * v for v in values], band))
        if lines:
            drawn.append((title, lines))
    if not drawn:
        return f'<p class="note">{_e(missing)}</p>'
    figure, axes = _figure(len(drawn))
    for axis, (title, lines) in zip(axes, drawn):
        for run, steps, values, band in lines:
            color = colors[run.name]
            marker = "o" if len(steps) <= 30 else None  # lone eval points must stay visible
            axis.plot(steps, values, color=color, label=run.name, marker=marker, markersize=3)
            if band is not None:
                low = [v - s for v, s in zip(values, band)]
                high = [v + s for v, s in zip(values, band)]
                axis.fill_between(steps, low, high, color=color, alpha=0.2)
        axis.set(title=title, xlabel="step")
        axis.legend(fontsize=8)
    return f"<h3>{_e(heading)}</h3>{_png(figure)}"


def _video_curves_html(runs: Sequence[_Run], tokenizer_folders: Sequence[Path]) -> str:
    # Tokenizer curves may live in another run (the init a run took its tokenizer from).
    shown = {run.path.resolve() for run in runs}
    extra = []
    for folder in tokenizer_folders:
        if folder.resolve() not in shown and (folder / "metrics.jsonl").is_file():
            shown.add(folder.resolve())
            extra.append(folder)
    names = _run_names([*(run.path for run in runs), *extra])[len(runs) :]
    sources = [*runs, *(_load_run(folder, name) for folder, name in zip(extra, names))]
    colors = {run.name: _COLORS[i % len(_COLORS)] for i, run in enumerate(sources)}
    terms = sorted(
        {
            str(key)
            for run in runs
            for row in run.rows("rlvr")
            for key in row
            if str(key).startswith("term_")
        }
    )
    rlvr_panels = [
        _VIDEO_RLVR_PANELS[0],
        *((f"reward term {key[5:]}", "rlvr", key, 1.0) for key in terms),
        *_VIDEO_RLVR_PANELS[1:],
    ]
    return "\n".join(
        [
            "<h2>Training curves</h2>",
            _panels_html(
                "Frame tokenizer",
                _TOKENIZER_PANELS,
                sources,
                colors,
                "No tokenizer training logged.",
            ),
            _panels_html("MLE", _VIDEO_MLE_PANELS, runs, colors, "No MLE training logged."),
            _panels_html("RLVR", rlvr_panels, runs, colors, "No RLVR training logged."),
        ]
    )


# Frames: numpy arrays uint8 [H, W, 3]; F predicted frames, C context frames, N examples.


@dataclass
class _Predictions:
    context: Any  # uint8 [N, C, H, W, 3]
    target: Any  # uint8 [N, F, H, W, 3]
    prediction: Any  # uint8 [N, F, H, W, 3]
    index: dict[str, int]  # example id -> row


def _load_predictions(path: Path) -> tuple[_Predictions | None, str | None]:
    """A run's `predictions.npz`, or (None, why not)."""
    import numpy as np

    file = path / "predictions.npz"
    if not file.is_file():
        return None, "no predictions.npz"
    try:
        with np.load(file, allow_pickle=False) as data:
            arrays = {key: data[key] for key in ("context", "target", "prediction", "ids")}
    except Exception as error:  # a broken or foreign file must not break the report
        return None, f"predictions.npz could not be read ({type(error).__name__})"
    context, target, prediction, ids = (
        arrays[k] for k in ("context", "target", "prediction", "ids")
    )
    frames_ok = all(
        a.dtype == np.uint8 and a.ndim == 5 and a.shape[-1] == 3
        for a in (context, target, prediction)
    )
    if not frames_ok or prediction.shape != target.shape:
        shapes = ", ".join(f"{k} {a.dtype} {list(a.shape)}" for k, a in arrays.items())
        return None, f"predictions.npz has unexpected arrays ({shapes})"
    if not (ids.ndim == 1 and len(ids) == len(context) == len(target)):
        return None, f"predictions.npz: {len(ids)} ids for {len(target)} examples"
    index: dict[str, int] = {}
    for row, example_id in enumerate(ids.tolist()):
        index.setdefault(str(example_id), row)
    return _Predictions(context, target, prediction, index), None


def _frame_errors(prediction, target) -> tuple[list[float], list[float]]:
    """Per frame MAE and PSNR (dB, capped at PSNR_MAX) of uint8 [F, H, W, 3] on [0, 1] pixels."""
    import numpy as np

    difference = prediction.astype(np.float64) / 255.0 - target.astype(np.float64) / 255.0
    mae = np.abs(difference).mean(axis=(1, 2, 3))
    mse = (difference**2).mean(axis=(1, 2, 3))
    with np.errstate(divide="ignore"):
        psnr = np.minimum(10.0 * np.log10(1.0 / mse), PSNR_MAX)
    return [float(v) for v in mae], [float(v) for v in psnr]


def _upscale(frame, height: int):
    """Nearest-neighbour resize of uint8 [H, W, 3] to [height, W * height / H, 3]."""
    import numpy as np

    h, w = frame.shape[:2]
    width = max(1, round(w * height / h))
    return frame[
        (np.arange(height) * h // height)[:, None], (np.arange(width) * w // width)[None, :]
    ]


def _side_by_side(frames: Sequence[Any], height: int):
    """Frames uint8 [H, W, 3] upscaled to `height` and joined left to right with a white gap."""
    import numpy as np

    gap = np.full((height, _FRAME_GAP, 3), 255, dtype=np.uint8)
    pieces = []
    for frame in frames:
        pieces += [_upscale(frame, height), gap]
    return np.concatenate(pieces[:-1], axis=1)


def _png_frames(image, alt: str) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")  # optimize=True: -2% for 4x the time
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img class="frames" alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def _gif(images: Sequence[Any], milliseconds: int, scale: float) -> str:
    """An endlessly looping GIF of uint8 [H, W, 3] images, one palette shared by all so that
    colours do not flicker between frames, shown `scale` times larger (pixelated).

    Stored at the frames' own size: GIF compression gains nothing from repeated pixels, so an
    upscaled GIF of noisy predictions costs about 2.5x more for the same picture."""
    import numpy as np
    from PIL import Image

    stacked = Image.fromarray(np.concatenate(images, axis=0))
    palette = stacked.quantize(colors=255, dither=Image.Dither.NONE)
    frames = [
        Image.fromarray(image).quantize(palette=palette, dither=Image.Dither.NONE)
        for image in images
    ]
    buffer = io.BytesIO()
    frames[0].save(
        buffer, format="GIF", save_all=True, append_images=frames[1:], duration=milliseconds, loop=0
    )
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    height, width = images[0].shape[:2]
    size = f'width="{round(width * scale)}" height="{round(height * scale)}"'
    return f'<img class="frames" alt="animation" {size} src="data:image/gif;base64,{data}">'


def _frame_sample_html(
    sample_id: str, shown: Sequence[tuple[_Run, _Predictions]], colors: dict[str, str]
) -> str:
    reference = shown[0][1]
    row = reference.index[sample_id]
    context, truth = reference.context[row], reference.target[row]  # [C, H, W, 3], [F, H, W, 3]
    height = max(FRAME_PIXELS, truth.shape[1])
    predictions = [(run, frames.prediction[frames.index[sample_id]]) for run, frames in shown]
    label = '<th style="color:{}">{}</th>'
    strip = [
        f"<tr><th>context</th><td>{_png_frames(_side_by_side(context, height), 'context')}</td></tr>",
        f"<tr><th>ground truth</th><td>{_png_frames(_side_by_side(truth, height), 'ground truth')}</td></tr>",
        *(
            f"<tr>{label.format(colors[run.name], _e(run.name))}"
            f"<td>{_png_frames(_side_by_side(frames, height), run.name)}</td></tr>"
            for run, frames in predictions
        ),
    ]
    # The animation: ground truth | each run, side by side; one step alternates the last
    # context frame with the predicted one so that the motion shows.
    panels = [truth, *(frames for _, frames in predictions)]
    native = max(panel.shape[1] for panel in panels)
    if len(truth) == 1:
        images = [_side_by_side([context[-1]] * len(panels), native)]
        images.append(_side_by_side([panel[0] for panel in panels], native))
        milliseconds = 600
    else:
        images = [
            _side_by_side([panel[min(t, len(panel) - 1)] for panel in panels], native)
            for t in range(len(truth))
        ]
        milliseconds = 400
    order = ", ".join(["ground truth", *(run.name for run, _ in predictions)])
    animation = (
        f"<figure>{_gif(images, milliseconds, height / native)}<figcaption>left to right: {_e(order)}"
        f"{' (alternating with the last context frame)' if len(truth) == 1 else ''}"
        "</figcaption></figure>"
    )
    # Per-frame errors, each run against its own stored ground truth for this id.
    longest = max(len(frames) for _, frames in predictions)
    head = "<tr><th></th><th>frame</th>" + "".join(f"<th>{t + 1}</th>" for t in range(longest))
    head += "<th>mean</th></tr>"
    rows, notes = [], []
    for run, frames in shown:
        target = frames.target[frames.index[sample_id]]
        if target.shape != truth.shape or not (target == truth).all():
            notes.append(f"{run.name}'s ground truth differs for this id: scored against its own.")
        mae, psnr = _frame_errors(frames.prediction[frames.index[sample_id]], target)
        rows.append(
            f'<tr><th rowspan="2" style="color:{colors[run.name]}">{_e(run.name)}</th><th>MAE</th>'
            f"{''.join(f'<td>{v:.4f}</td>' for v in mae)}"
            f"<td>{sum(mae) / len(mae):.4f}</td></tr>"
        )
        rows.append(
            f"<tr><th>PSNR (dB)</th>{''.join(f'<td>{v:.2f}</td>' for v in psnr)}"
            f"<td>{sum(psnr) / len(psnr):.2f}</td></tr>"
        )
    notes_html = "".join(f'<p class="note">{_e(note)}</p>' for note in notes)
    return (
        f'<div class="sample"><h3>{_e(sample_id)} <small>({len(context)} context, '
        f"{len(truth)} predicted frame{'s' if len(truth) != 1 else ''})</small></h3>"
        f'<div class="frames-row"><table class="strip">{"".join(strip)}</table>{animation}</div>'
        f'{notes_html}<table class="numbers">{head}{"".join(rows)}</table></div>'
    )


def _frames_html(runs: Sequence[_Run], limit: int) -> str:
    parts = ["<h2>Predicted frames</h2>"]
    colors = {run.name: _COLORS[i % len(_COLORS)] for i, run in enumerate(runs)}
    shown = []
    for run in runs:
        frames, why = _load_predictions(run.path)
        if frames is None:
            parts.append(f'<p class="note">{_e(run.name)}: {_e(why)}, left out of the frames.</p>')
        else:
            shown.append((run, frames))
    if not shown:
        parts.append(
            '<p class="note">No readable predictions.npz in any run: no frames to show.</p>'
        )
        return "\n".join(parts)
    common = [i for i in shown[0][1].index if all(i in frames.index for _, frames in shown[1:])]
    if not common:
        parts.append(
            '<p class="note">No example id is in every run\'s predictions.npz (evaluated on '
            "different splits?): no frames to compare.</p>"
        )
        return "\n".join(parts)
    chosen = spread(common, limit) if limit > 0 else []  # examples are stored task by task
    parts.append(
        f"<p>{len(chosen)} of {len(common)} held-out examples, spread over the split, matched by "
        "id across runs: the true context frames, the true future frames and each run's "
        f"prediction (upscaled to {FRAME_PIXELS} px, nearest neighbour), an animation, and "
        "per-frame MAE and PSNR against the true frame.</p>"
    )
    parts += [_frame_sample_html(sample_id, shown, colors) for sample_id in chosen]
    return "\n".join(parts)


def _policy_eval_html(runs: Sequence[_Run]) -> str:
    """`rlvr-world policy-eval` results kept in the runs: true vs estimated success and the
    imagined rollouts (real | imagined GIFs)."""
    parts = []
    for run in runs:
        for path in sorted((run.path / "policy-eval").glob("*/result.json")):
            folder = path.parent
            try:
                result = json.loads(path.read_text())
            except (OSError, ValueError) as error:
                parts.append(f'<p class="note">{_e(path)}: unreadable ({_e(error)})</p>')
                continue
            parts.append(
                f"<h3>{_e(run.name)}: {_e(result['task'])} / {_e(result['policy'])}</h3>"
                f"<p>true success {_percent(result.get('true'))}% (simulator), estimated "
                f"{_percent(result.get('estimated'))}% (imagined), over "
                f"{_e(result.get('episodes'))} episodes of at most {_e(result.get('max_steps'))} "
                f"steps; the pixel detector on the real frames: "
                f"{_percent(result.get('true_detected'))}%. Each GIF: real | imagined.</p>"
            )
            figures = []
            for sample in result.get("samples", []):
                path = folder / str(sample.get("gif", ""))
                if not path.is_file():
                    continue
                data = base64.b64encode(path.read_bytes()).decode("ascii")
                caption = (
                    f"real: {'success' if sample['true'] else 'failure'} in "
                    f"{sample['true_steps']} steps | imagined: "
                    f"{'success' if sample['imagined'] else 'failure'} in "
                    f"{sample['imagined_steps']} steps"
                )
                figures.append(
                    f'<figure><img class="frames" alt="rollout" '
                    f'src="data:image/gif;base64,{data}"><figcaption>{_e(caption)}'
                    "</figcaption></figure>"
                )
            parts.append('<div class="frames-row">' + "".join(figures) + "</div>")
    if not parts:
        return ""
    return "<h2>Policy evaluation in the world model</h2>" + "\n".join(parts)


def _video_sections(runs: Sequence[_Run], max_samples: int) -> list[str]:
    tokenizer, folders = _tokenizer_html(runs)
    sections = [
        _video_comparison_html(runs) + "\n" + _by_task_html(runs) + "\n" + tokenizer,
        _video_curves_html(runs, folders),
        _frames_html(runs, max_samples),
    ]
    policy_eval = _policy_eval_html(runs)
    return sections + ([policy_eval] if policy_eval else [])


# ---------------------------------------------------------------------------------------------

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1400px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
table.numbers td { text-align: right; }
table.numbers td:first-child, table.numbers td:nth-child(2) { text-align: left; }
.note { color: #777; font-style: italic; margin: 0.2em 0; }
.good { color: #17692a; } tr.good { background: #e6f4e9; }
.bad { color: #b3261e; } tr.bad { background: #fbe9e7; }
.sample { border-top: 2px solid #ddd; margin-top: 1.5em; }
.predictions { display: flex; gap: 1em; flex-wrap: wrap; }
.prediction { flex: 1 1 380px; min-width: 0; }
.scores { font-size: 0.9em; margin-bottom: 0.3em; }
table.fields { font-size: 0.85em; }
ul.changes { font-family: monospace; font-size: 0.85em; }
pre { white-space: pre-wrap; word-break: break-word; background: #f7f7f7; padding: 0.5em;
      font-size: 0.8em; max-height: 30em; overflow: auto; }
img { max-width: 100%; }
"""
_VIDEO_CSS = """
.frames-row { display: flex; gap: 1.5em; flex-wrap: wrap; align-items: flex-start; }
table.strip th { white-space: nowrap; vertical-align: middle; }
img.frames { image-rendering: pixelated; max-width: none; }
figure { margin: 0; } figcaption { font-size: 0.85em; color: #555; }
"""


def write_report(
    runs: list[Path],
    out: Path,
    title: str | None = None,
    summary: dict | None = None,
    max_samples: int = MAX_SAMPLES,
    max_frame_samples: int = MAX_FRAME_SAMPLES,
) -> Path:
    """Write one self-contained HTML report comparing `runs` (run folders) to `out`.

    summary: shown at the top as a flat table (e.g. quickstart's
    `{"mle": {"accuracy": {...}}, "rlvr": {...}}`). The first run is the baseline for the
    relative gains. Runs without `eval.json`, `metrics.jsonl` or `samples.jsonl` (video runs:
    `predictions.npz`) still render, with a note. Text-game and video runs (`data.domain` in
    `config.yaml`) are compared among their own kind; max_samples and max_frame_samples bound
    the samples shown of each. Returns `out`.
    """
    if not runs:
        raise ValueError("runs: expected at least one run folder")
    paths = [Path(run) for run in runs]
    missing = [str(path) for path in paths if not path.is_dir()]
    if missing:
        raise FileNotFoundError(f"runs: no such folder: {', '.join(missing)}")
    loaded = [_load_run(path, name) for path, name in zip(paths, _run_names(paths))]
    title = title or "rlvr-world report: " + ", ".join(run.name for run in loaded)
    sections = [f"<h1>{_e(title)}</h1>"]
    if summary:
        sections.append(_summary_html(summary))
    text_runs = [run for run in loaded if not run.video and not run.web]
    web_runs = [run for run in loaded if run.web]
    video_runs = [run for run in loaded if run.video]
    sections.append(_runs_html(loaded))
    if sum(bool(kind) for kind in (text_runs, web_runs, video_runs)) > 1:
        sections.append(
            '<p class="note">These runs mix kinds of world models: each kind is compared '
            "among its own runs, the first of each kind being its baseline.</p>"
        )
    if text_runs:
        sections += [
            _comparison_html(text_runs),
            _curves_html(text_runs),
            _samples_html(text_runs, max_samples),
        ]
    if web_runs:
        from rlvr_world.eval.report_web import web_sections

        sections += web_sections(web_runs, max_samples)
    if video_runs:
        sections += _video_sections(video_runs, max_frame_samples)
    css = _CSS + (_VIDEO_CSS if video_runs else "")
    page = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_e(title)}</title>\n<style>{css}</style>\n</head>\n<body>\n"
        + "\n".join(sections)
        + "\n</body>\n</html>\n"
    )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out
