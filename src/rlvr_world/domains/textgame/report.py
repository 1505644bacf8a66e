"""The report's sections for text-game world models: the held-out accuracy table, training
curves, and sample predictions with the fields each run got wrong.

Sample predictions come from each run's `samples.jsonl` and the transitions from
`data/<split>.jsonl` (the run's or its init run's): each prediction is rebuilt into a full
state and compared field by field with the gold next state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rlvr_world.core.html import (
    MISSING,
    colors_by_name,
    escape,
    finite_number,
    format_percent,
    format_plain,
    metric_series,
    plot_grid,
    png_image,
    short_json,
    truncate,
)
from rlvr_world.domains.reporting import DomainReport, RunView, lookup, with_samples
from rlvr_world.domains.textgame.data import Transition, load_transitions
from rlvr_world.domains.textgame.rewards import parse_answer, rebuild_state, values_equal
from rlvr_world.domains.textgame.state import SCORE_KEYS, by_uuid, changed_fields, split_state

__all__ = ["choose_samples", "report_sections"]

MAX_FIELD_ROWS = 24
"""Field rows shown per run and sample."""

_ACCURACY_SPLITS = ("unchanged", "changed", "overall")
_RLVR_PANELS = (
    ("reward_mean", "reward mean ± std"),
    ("kl", "KL to reference"),
    ("entropy", "entropy"),
    ("clip_fraction", "clip fraction"),
    ("response_length", "response length (tokens)"),
    ("zero_std_fraction", "zero-std group fraction"),
)


def report_sections(
    runs: Sequence[RunView], max_samples: int, max_frame_samples: int
) -> DomainReport:
    """The accuracy table, the curves and up to `max_samples` sample predictions."""
    runs = [with_samples(run) for run in runs]
    sections = [_comparison_html(runs), _curves_html(runs), _samples_html(runs, max_samples)]
    return DomainReport(runs, sections)


def _comparison_html(runs: Sequence[RunView]) -> str:
    columns: list[tuple[str, Callable[[dict], Any], Callable[[Any], str]]] = [
        *(
            (f"{split} %", lambda e, s=split: lookup(e, "accuracy", s), format_percent)
            for split in _ACCURACY_SPLITS
        ),
        ("parsed %", lambda e: e.get("parsed"), format_percent),
        ("item_acc", lambda e: e.get("item_acc"), format_plain),
        ("task_specific", lambda e: e.get("task_specific"), format_plain),
    ]
    values = [[getter(run.eval) if run.eval else None for _, getter, _ in columns] for run in runs]
    best = []
    for j in range(len(columns)):
        finite = [finite_number(row[j]) for row in values if finite_number(row[j]) is not None]
        # Bold only where there is something to compare: two values or more, not all equal.
        best.append(max(finite) if len(set(finite)) > 1 else None)
    base = finite_number(lookup(runs[0].eval, "accuracy", "overall"))
    head = "<tr><th>run</th><th>phase</th>" + "".join(f"<th>{escape(c[0])}</th>" for c in columns)
    head += f"<th>overall vs {escape(runs[0].name)}</th><th>examples</th></tr>"
    rows = []
    for run, row in zip(runs, values):
        cells = []
        for j, (_, _, fmt) in enumerate(columns):
            text = escape(fmt(row[j]))
            bold = best[j] is not None and finite_number(row[j]) == best[j]
            cells.append(f"<td><b>{text}</b></td>" if bold else f"<td>{text}</td>")
        overall = finite_number(lookup(run.eval, "accuracy", "overall"))
        gain = f"x{overall / base:.2f}" if overall is not None and base else "–"
        examples = escape(run.eval.get("examples", "–")) if run.eval else "not evaluated"
        rows.append(
            f"<tr><td><b>{escape(run.name)}</b></td><td>{run.phase}</td>{''.join(cells)}"
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


def _curves_html(runs: Sequence[RunView]) -> str:
    colors = colors_by_name([run.name for run in runs])
    return "\n".join(
        [
            "<h2>Training curves</h2>",
            _loss_html(runs, colors),
            _accuracy_html(runs),
            _rlvr_html(runs, colors),
        ]
    )


def _loss_html(runs: Sequence[RunView], colors: dict[str, str]) -> str:
    loss = [(run, metric_series(run.rows("mle"), "loss")) for run in runs]
    loss = [(run, s) for run, s in loss if s[0]]
    if not loss:
        return '<p class="note">No MLE loss logged.</p>'
    figure, (axis,) = plot_grid(1)
    for run, (steps, values) in loss:
        axis.plot(steps, values, color=colors[run.name], label=run.name)
    axis.set(title="MLE loss", xlabel="step", ylabel="cross-entropy")
    axis.legend(fontsize=8)
    return f"<h3>MLE loss</h3>{png_image(figure)}"


def _accuracy_html(runs: Sequence[RunView]) -> str:
    evaluated = []
    for run in runs:
        rows = [r for r in run.metrics if str(r.get("phase", "")).endswith("/eval")]
        lines = {s: metric_series(rows, f"accuracy_{s}") for s in _ACCURACY_SPLITS}
        if any(steps for steps, _ in lines.values()):
            evaluated.append((run, lines))
    if not evaluated:
        return '<p class="note">No held-out evaluation logged during training.</p>'
    figure, axes = plot_grid(len(evaluated))
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
                axis.plot(steps, values, style, color=color, marker="o", markersize=3, label=split)
        axis.set(title=f"{run.name} ({run.phase})", xlabel="step", ylabel="accuracy %")
        axis.set_ylim(-2, 102)
        axis.legend(fontsize=8)
    return f"<h3>Held-out accuracy</h3>{png_image(figure)}"


def _rlvr_html(runs: Sequence[RunView], colors: dict[str, str]) -> str:
    panels = []
    for key, title in _RLVR_PANELS:
        lines = [(run, metric_series(run.rows("rlvr"), key)) for run in runs]
        lines = [(run, s) for run, s in lines if s[0]]
        if lines:
            panels.append((key, title, lines))
    if not panels:
        return '<p class="note">No RLVR training logged.</p>'
    figure, axes = plot_grid(len(panels))
    for axis, (key, title, lines) in zip(axes, panels):
        for run, (steps, values) in lines:
            color = colors[run.name]
            axis.plot(steps, values, color=color, label=run.name)
            if key == "reward_mean":
                std_steps, std = metric_series(run.rows("rlvr"), "reward_std")
                if std_steps == steps:
                    low = [v - s for v, s in zip(values, std)]
                    high = [v + s for v, s in zip(values, std)]
                    axis.fill_between(steps, low, high, color=color, alpha=0.2)
        axis.set(title=title, xlabel="step")
        axis.legend(fontsize=8)
    return f"<h3>RLVR</h3>{png_image(figure)}"


# ---------------------------------------------------------------------------------------------
# Sample predictions


def _load_transitions(runs: Sequence[RunView]) -> tuple[dict[str, Transition], list[str]]:
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


def _exact(sample: dict) -> float | None:
    scores = sample.get("scores") if isinstance(sample.get("scores"), dict) else {}
    return finite_number(scores.get("exact", scores.get("binary")))


def choose_samples(
    runs: Sequence[RunView], transitions: dict[str, Transition], limit: int
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
            lines.append(f"+ {name} {short_json(obj.get('properties', {}))}")
            continue
        before = cur[uuid].get("properties") or {}
        after = obj.get("properties") or {}
        for key in sorted(set(before) | set(after), key=str):
            old, value = before.get(key, MISSING), after.get(key, MISSING)
            if old != value:
                lines.append(f"{name}.{key}: {short_json(old)} → {short_json(value)}")
        old_contains = sorted(map(str, cur[uuid].get("contains", []) or []))
        new_contains = sorted(map(str, obj.get("contains", []) or []))
        if old_contains != new_contains:
            lines.append(
                f"{name}.contains: {short_json(old_contains)} → {short_json(new_contains)}"
            )
    for uuid, obj in cur.items():
        if uuid not in new:
            lines.append(f"− {obj.get('name', uuid)}")
    for key in SCORE_KEYS:
        if cur_score.get(key) != gold_score.get(key):
            lines.append(
                f"{key}: {short_json(cur_score.get(key))} → {short_json(gold_score.get(key))}"
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
            guess = pred_props.get(key, MISSING)
            correct = guess is not MISSING and values_equal(value, guess)
            if not correct or (uuid, key) in changes:
                rows.append((f"{name}.{key}", short_json(guess), short_json(value), correct))
        gold_contains = sorted(map(str, obj.get("contains", []) or []))
        if "contains" in pred[uuid]:
            guess = sorted(map(str, pred[uuid].get("contains") or []))
        else:
            guess = MISSING
        correct = guess is not MISSING and guess == gold_contains
        if not correct or (uuid, "contains") in changes:
            rows.append((f"{name}.contains", short_json(guess), short_json(gold_contains), correct))
    for key in SCORE_KEYS:
        if key not in gold_score:
            continue
        guess = pred_score.get(key, MISSING)
        correct = guess is not MISSING and values_equal(gold_score[key], guess)
        if not correct or cur_score.get(key) != gold_score[key]:
            rows.append((key, short_json(guess), short_json(gold_score[key]), correct))
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
        text = f"{escape(key)} {escape(format_plain(value, 3))}"
        if key in ("exact", "binary") and finite_number(value) is not None:
            text = f'<span class="{"good" if finite_number(value) == 1 else "bad"}">{text}</span>'
        chips.append(text)
    return " · ".join(chips) or "no scores"


def _fields_html(transition: Transition, predicted: list[dict]) -> list[str]:
    """The verdict and the table of wrong or changed fields of one rebuilt prediction."""
    try:
        rows = _field_rows(transition.current, predicted, transition.next)
    except Exception as error:  # a malformed prediction must not break the report
        return [f'<p class="bad">fields not comparable ({escape(type(error).__name__)})</p>']
    parts = []
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
            f'<tr class="{css}"><td>{escape(name)}</td><td>{escape(guess)}</td>'
            f"<td>{escape(gold)}</td></tr>"
        )
    if len(rows) > MAX_FIELD_ROWS:
        more = len(rows) - MAX_FIELD_ROWS
        table.append(f'<tr><td colspan="3">… {more} more</td></tr>')
    if table:
        head = "<tr><th>field</th><th>predicted</th><th>gold</th></tr>"
        parts.append(f'<table class="fields">{head}{"".join(table)}</table>')
    return parts


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
            parts.append(f'<p class="bad">{escape(why)}</p>')
        else:
            parts += _fields_html(transition, predicted)
    parts.append(
        "<details open><summary>response</summary>"
        f"<pre>{escape(truncate(response))}</pre></details>"
    )
    return "".join(parts)


def _samples_html(runs: Sequence[RunView], limit: int) -> str:
    parts = ["<h2>Sample predictions</h2>"]
    if not any(run.samples for run in runs):
        parts.append('<p class="note">No samples.jsonl in any run: no predictions to show.</p>')
        return "\n".join(parts)
    transitions, notes = _load_transitions(runs)
    parts += [f'<p class="note">{escape(note)}</p>' for note in notes]
    if not transitions:
        parts.append('<p class="note">No data/test.jsonl found: fields are not compared.</p>')
    chosen, per_run = choose_samples(runs, transitions, limit)
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
        header = f"<h3>{escape(sample_id)} <small>({escape(split)})</small></h3>"
        if transition is not None:
            changes = _gold_changes(transition.current, transition.next) or ["(no change)"]
            header += f"<p><b>action:</b> {escape(transition.action)}</p>"
            header += '<p><b>gold changes:</b></p><ul class="changes">'
            header += "".join(f"<li>{escape(line)}</li>" for line in changes) + "</ul>"
        columns = "".join(
            f'<div class="prediction"><h4>{escape(run.name)}</h4>'
            f"{_prediction_html(per_run[run.name].get(sample_id), transition)}</div>"
            for run in runs
        )
        parts.append(f'<div class="sample">{header}<div class="predictions">{columns}</div></div>')
    return "\n".join(parts)
