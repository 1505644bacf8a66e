"""The report's sections for web-page world models: F1 / precision / recall table, curves,
and sample predictions beside the gold diff with every item marked right or wrong."""

from __future__ import annotations

from collections.abc import Sequence

from rlvr_world.core.html import (
    colors_by_name,
    escape,
    finite_number,
    format_percent,
    metric_series,
    plot_grid,
    png_image,
    truncate,
)
from rlvr_world.domains.reporting import DomainReport, RunView, lookup, with_samples
from rlvr_world.domains.web.data import WebTransition, load_transitions
from rlvr_world.domains.web.rewards import SECTION_HEADERS, parse_sections

__all__ = ["report_sections"]

_METRICS = ("f1", "precision", "recall")


def report_sections(
    runs: Sequence[RunView], max_samples: int, max_frame_samples: int
) -> DomainReport:
    """The F1 table, the curves and up to `max_samples` sample predictions."""
    runs = [with_samples(run) for run in runs]
    return DomainReport(runs, [_comparison(runs), _curves(runs), _samples(runs, max_samples)])


def _comparison(runs: Sequence[RunView]) -> str:
    head = "".join(f"<th>{m} %</th>" for m in _METRICS)
    head += "<th>F1 unchanged %</th><th>F1 changed %</th><th>F1 vs first</th>"
    base = finite_number(lookup(runs[0].eval, "f1"))
    rows = []
    for run in runs:
        f1 = finite_number(lookup(run.eval, "f1"))
        cells = "".join(f"<td>{format_percent(lookup(run.eval, m))}</td>" for m in _METRICS)
        cells += "".join(
            f"<td>{format_percent(lookup(run.eval, 'f1_by_split', s))}</td>"
            for s in ("unchanged", "changed")
        )
        gain = f"{100 * (f1 - base):+.2f} pts" if f1 is not None and base is not None else "-"
        rows.append(
            f"<tr><td>{escape(run.name)}</td><td>{run.phase}</td>{cells}<td>{gain}</td></tr>"
        )
    return (
        "<h2>Held-out item F1</h2><p class='note'>F1, precision and recall of the predicted "
        "New / Deleted / Updated items (SPEC §4), greedy decoding, as in the paper's table.</p>"
        f"<table class='numbers'><tr><th>run</th><th>phase</th>{head}</tr>{''.join(rows)}</table>"
    )


def _curves(runs: Sequence[RunView]) -> str:
    colors = colors_by_name([run.name for run in runs])
    panels = [
        ("mle", "loss", "MLE loss"),
        ("eval", "f1", "held-out F1"),
        ("rlvr", "reward_mean", "RLVR reward (training F1)"),
        ("rlvr", "zero_std_fraction", "zero-variance groups"),
    ]
    drawn = []
    for phase, key, title in panels:
        lines = []
        for run in runs:
            rows = (
                [r for r in run.metrics if str(r.get("phase", "")).endswith("/eval")]
                if phase == "eval"
                else run.rows(phase)
            )
            steps, values = metric_series(rows, key)
            if steps:
                lines.append((run, steps, values))
        if lines:
            drawn.append((title, lines))
    if not drawn:
        return "<h2>Training curves</h2><p class='note'>No training logged.</p>"
    figure, axes = plot_grid(len(drawn))
    for axis, (title, lines) in zip(axes, drawn):
        for run, steps, values in lines:
            axis.plot(steps, values, color=colors[run.name], marker=".", label=run.name)
        axis.set(title=title, xlabel="step")
        axis.legend(fontsize=8)
    return f"<h2>Training curves</h2>{png_image(figure)}"


def _marked(text: str, gold: str) -> str:
    """The sections of `text`, each item green when the gold has it, red otherwise."""
    ours, theirs = parse_sections(text), parse_sections(gold)
    parts = []
    for header, key in SECTION_HEADERS.items():
        items = "".join(
            f"<li class='{'good' if item in theirs[key] else 'bad'}'>{escape(item)}</li>"
            for item in sorted(ours[key])
        )
        parts.append(f"<b>{header}</b><ul class='changes'>{items or '<li>(nothing)</li>'}</ul>")
    return "".join(parts)


def _samples(runs: Sequence[RunView], limit: int) -> str:
    transitions: dict[str, WebTransition] = {}
    for run in runs:
        path = run.path / "data" / "test.jsonl"
        if path.is_file():
            transitions.update({t.id: t for t in load_transitions(path)})
    by_id = [{s["id"]: s for s in run.samples or []} for run in runs]
    ids = [s["id"] for s in runs[0].samples or [] if s["id"] in transitions]
    if not ids:
        return "<h2>Sample predictions</h2><p class='note'>No samples with their data.</p>"

    # the samples where the runs disagree most come first
    def spread(i: str) -> float:
        scores = [finite_number(lookup(s.get(i), "scores", "f1")) or 0.0 for s in by_id]
        return max(scores) - min(scores)

    parts = [
        "<h2>Sample predictions</h2><p class='note'>Items in green are in the gold diff; "
        "red ones are not.</p>"
    ]
    for i in sorted(ids, key=spread, reverse=True)[:limit]:
        t = transitions[i]
        columns = [f"<div class='prediction'><h4>gold</h4>{_marked(t.answer, t.answer)}</div>"]
        for run, samples in zip(runs, by_id):
            sample = samples.get(i)
            if sample is not None:
                f1 = format_percent(lookup(sample, "scores", "f1"))
                columns.append(
                    f"<div class='prediction'><h4>{escape(run.name)} (F1 {f1})</h4>"
                    f"{_marked(sample.get('response', ''), t.answer)}</div>"
                )
        parts.append(
            f"<div class='sample'><h3>{escape(i)}</h3><p><b>{escape(t.url)}</b> &mdash; "
            f"{escape(t.objective)}<br>action: <code>{escape(t.action)}</code></p>"
            f"<details><summary>page before the action</summary>"
            f"<pre>{escape(truncate(t.tree))}</pre></details>"
            f"<div class='predictions'>{''.join(columns)}</div></div>"
        )
    return "\n".join(parts)
