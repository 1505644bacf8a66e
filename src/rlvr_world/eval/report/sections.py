"""The sections every report has, whatever the domains of its runs: the summary and the table
of runs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from rlvr_world.core.html import escape, finite_number, format_plain, short_json
from rlvr_world.domains.reporting import RunView

MIXED_DOMAINS_NOTE = (
    '<p class="note">These runs mix kinds of world models: each kind is compared '
    "among its own runs, the first of each kind being its baseline.</p>"
)
"""Shown when the runs of one report come from more than one domain."""

HEADLINE_CSS = (
    "p.headline{font-size:1.25em;font-weight:600;border-left:4px solid #2a6;"
    "padding:.4em .8em;background:#f3faf5}"
)
"""The headline's look: the first thing a reader sees."""


def headline_section(headline: dict) -> str:
    """The answer first: the headline's sentence and a small MLE-vs-RLVR table with the
    relative gain and its 95% interval (`core.stats.headline`)."""
    gain, ci = headline.get("relative_gain"), headline.get("ci95")
    better = "higher" if headline.get("higher_is_better") else "lower"
    interval = f"{ci[0]:+.1%} to {ci[1]:+.1%}" if ci else "–"
    cells = [
        escape(headline.get("metric", "?")) + f" ({better} is better)",
        format_plain(headline.get("mle")),
        format_plain(headline.get("rlvr")),
        "–" if gain is None else f"{gain:+.1%}",
        interval,
        escape(headline.get("examples", "?")),
    ]
    head = "".join(
        f"<th>{h}</th>"
        for h in ("metric", "MLE", "RLVR", "RLVR's gain", "95% CI (paired bootstrap)", "examples")
    )
    row = "".join(f"<td>{c}</td>" for c in cells)
    return (
        f'<p class="headline" id="headline">{escape(headline.get("sentence", ""))}</p>\n'
        f'<table class="headline"><tr>{head}</tr><tr>{row}</tr></table>'
    )


def summary_section(summary: dict) -> str:
    """A nested mapping as a flat two-column table, keys joined with ` / `."""

    def flatten(value: Any, prefix: str) -> Iterable[tuple[str, Any]]:
        if isinstance(value, dict) and value:
            for key, item in value.items():
                yield from flatten(item, f"{prefix} / {key}" if prefix else str(key))
        else:
            yield prefix, value

    rows = []
    for key, value in flatten(summary, ""):
        shown = format_plain(value) if finite_number(value) is not None or value is None else value
        if isinstance(shown, (list, dict)):
            shown = short_json(shown)
        rows.append(f"<tr><th>{escape(key)}</th><td>{escape(shown)}</td></tr>")
    return f'<h2>All figures</h2>\n<table class="summary">{"".join(rows)}</table>'


def runs_section(runs: Sequence[RunView]) -> str:
    """One row per run: preset, phase, init run, seed, what was evaluated, its notes."""
    rows = []
    for run in runs:
        init = run.config.get("init")
        init_cell = (
            f'<span title="{escape(init)}">{escape(Path(str(init)).name)}</span>' if init else "–"
        )
        evaluation = run.eval or {}
        evaluated = (
            f"{escape(evaluation.get('split', '?'))} / {escape(evaluation.get('checkpoint', '?'))}"
            if run.eval
            else "–"
        )
        notes = "".join(f'<div class="note">{escape(note)}</div>' for note in run.notes)
        rows.append(
            f'<tr><td title="{escape(run.path)}"><b>{escape(run.name)}</b></td>'
            f"<td>{escape(run.config.get('preset', '–'))}</td><td>{run.phase}</td>"
            f"<td>{init_cell}</td><td>{escape(run.config.get('seed', '–'))}</td>"
            f"<td>{evaluated}</td><td>{notes}</td></tr>"
        )
    head = "<tr><th>run</th><th>preset</th><th>phase</th><th>init run</th><th>seed</th>"
    head += "<th>evaluated (split / checkpoint)</th><th>notes</th></tr>"
    return f"<h2>Runs</h2>\n<table>{head}{''.join(rows)}</table>"
