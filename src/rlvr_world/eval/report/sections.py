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
    return f'<h2>Summary</h2>\n<table class="summary">{"".join(rows)}</table>'


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
