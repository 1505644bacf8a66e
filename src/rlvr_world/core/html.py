"""Pieces of a self-contained HTML page: escaping, number formatting, figures, the page.

Everything shown from data goes through `escape`. Figures are PNGs drawn with matplotlib's
object API (no pyplot, so no global backend is touched; matplotlib loads only when a figure is
drawn) and embedded as base64, so a page needs no external file, CSS or JavaScript.

>>> escape("<b>")
'&lt;b&gt;'
>>> format_percent(0.5701), format_percent(None), format_plain(3), format_plain(0.25, 2)
('57.01', '–', '3', '0.25')
>>> short_json({"b": 1, "a": [True]}), short_json(MISSING)
('{"a": [true], "b": 1}', '(missing)')
>>> metric_series([{"step": 1, "loss": 2.0}, {"step": 2, "loss": None}], "loss")
([1.0, 2.0], [2.0, nan])
"""

from __future__ import annotations

import base64
import io
import json
import math
from collections.abc import Sequence
from html import escape as _escape
from typing import Any

MAX_RESPONSE_CHARS = 1500
"""Longer texts keep their head and tail (`truncate`; a response's answer is at its end)."""
MAX_VALUE_CHARS = 120
"""Longer JSON values are cut (`short_json`)."""
MISSING = object()
"""A value absent from its mapping; `short_json` shows it as `(missing)`."""
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
"""One colour per run, reused across every plot so that a run keeps its colour."""
EMPTY = "–"
"""A missing number."""


def escape(value: Any) -> str:
    """`str(value)` with `& < > " '` escaped, safe in text and in quoted attributes."""
    return _escape(str(value), quote=True)


def finite_number(value: Any) -> float | None:
    """A finite float, or None for missing, null, NaN, booleans and non-numbers."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def format_percent(value: Any) -> str:
    """A fraction as a percentage with two decimals (no % sign)."""
    number = finite_number(value)
    return EMPTY if number is None else f"{100 * number:.2f}"


def format_plain(value: Any, digits: int = 4) -> str:
    """Integers as they are, other numbers with `digits` decimals, text as it is."""
    number = finite_number(value)
    if number is None:
        return EMPTY if value is None or isinstance(value, (int, float)) else str(value)
    if isinstance(value, int):
        return str(value)
    return f"{number:.{digits}f}"


def format_scaled(value: Any, scale: float, digits: int) -> str:
    """`scale * value` with `digits` decimals (e.g. SSIM x100)."""
    number = finite_number(value)
    return EMPTY if number is None else f"{scale * number:.{digits}f}"


def short_json(value: Any, limit: int = MAX_VALUE_CHARS) -> str:
    """Compact JSON (sorted keys), cut to `limit` characters; `MISSING` as `(missing)`."""
    if value is MISSING:
        return "(missing)"
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def truncate(text: str, limit: int = MAX_RESPONSE_CHARS) -> str:
    """`text` if short enough, else its first quarter and the rest of the `limit` from its end,
    with the number of characters left out between them."""
    if len(text) <= limit:
        return text
    head = limit // 4
    tail = limit - head
    omitted = len(text) - head - tail
    return f"{text[:head]}\n… [{omitted} characters omitted] …\n{text[-tail:]}"


# Comparison tables: the best value per column in bold, changes against a baseline run.


def relative_change(value: Any, base: Any) -> float | None:
    """(value - base) / |base|, or None where either is missing or the base is 0."""
    value, base = finite_number(value), finite_number(base)
    if value is None or base is None or base == 0:
        return None
    return (value - base) / abs(base)


def change_chip(label: str, change: float | None, lower_is_better: bool) -> str:
    """`label +1.5%`, green when the change is an improvement, red when it is not."""
    if change is None:
        return ""
    better = change < 0 if lower_is_better else change > 0
    css = "" if change == 0 else f' class="{"good" if better else "bad"}"'
    label = f"{escape(label)} " if label else ""
    return f"<span{css}>{label}{100 * change:+.1f}%</span>"


def best_value(values: Sequence[Any], lower_is_better: bool) -> float | None:
    """The best finite value, or None unless there are two different ones to compare."""
    finite = [finite_number(v) for v in values if finite_number(v) is not None]
    if len(set(finite)) < 2:
        return None
    return min(finite) if lower_is_better else max(finite)


def table_cell(text: str, bold: bool, extra: str = "") -> str:
    """One `<td>` of already escaped `text`, bold if asked, followed by `extra` HTML."""
    text = f"<b>{text}</b>" if bold else text
    return f"<td>{text}{extra}</td>"


# Curves


def colors_by_name(names: Sequence[str]) -> dict[str, str]:
    """A colour per name, in order, cycling through `COLORS`."""
    return {name: COLORS[i % len(COLORS)] for i, name in enumerate(names)}


def metric_series(rows: Sequence[dict], key: str) -> tuple[list[float], list[float]]:
    """(steps, values) of `key` in metric rows; null/NaN values become NaN (gaps); two empty
    lists if the key is absent or never finite."""
    steps, values = [], []
    for row in rows:
        if key not in row or finite_number(row.get("step")) is None:
            continue
        number = finite_number(row[key])
        steps.append(float(row["step"]))
        values.append(math.nan if number is None else number)
    if not any(math.isfinite(v) for v in values):
        return [], []
    return steps, values


def plot_grid(panels: int, columns: int = 3):
    """A matplotlib figure of `panels` axes, `columns` a row, integer steps on every x axis;
    -> (figure, axes[:panels])."""
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


def png_image(figure) -> str:
    """The figure as an `<img>` holding its PNG."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="plot" src="data:image/png;base64,{data}">'


# The page

PAGE_CSS = """
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
"""The page's style: tables, notes, good/bad marks, side-by-side predictions."""


def html_page(title: str, css: str, sections: Sequence[str]) -> str:
    """A complete HTML document: `title` (escaped here), `css` and the `sections` (HTML)."""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n<style>{css}</style>\n</head>\n<body>\n"
        + "\n".join(sections)
        + "\n</body>\n</html>\n"
    )
