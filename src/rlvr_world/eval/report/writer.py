"""`write_report`: run folders -> one HTML page.

A run folder (see `rlvr_world.train.run_folder`) gives: `config.yaml` (preset, init run,
`data.domain`), `metrics.jsonl` (training curves), `eval.json` (the comparison table) and what
its domain adds (sample predictions, frames). Every file but `config.yaml` may be missing: its
section then says so instead of failing. The page has no external CSS or JavaScript; everything
taken from the data is HTML-escaped.

The page: the title, the headline (when a summary gives one), the table of runs, then the
sections of each domain (its
bundle's `report_sections` hook, `rlvr_world.domains.reporting`), domains in the order their
first run comes, and last every figure of the summary. Runs of one domain are compared among
themselves, the first being the baseline.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rlvr_world.core.html import PAGE_CSS, escape, html_page
from rlvr_world.domains import DomainError, get_domain
from rlvr_world.domains.reporting import DomainReport, RunView, read_run, run_names
from rlvr_world.eval.report.sections import (
    HEADLINE_CSS,
    MIXED_DOMAINS_NOTE,
    headline_section,
    runs_section,
    summary_section,
)

MAX_SAMPLES = 12
"""Sample predictions shown by default."""
MAX_FRAME_SAMPLES = 6
"""Samples shown by default where a sample is a strip of frames (and an animation)."""


def write_report(
    runs: list[Path],
    out: Path,
    title: str | None = None,
    summary: dict | None = None,
    max_samples: int = MAX_SAMPLES,
    max_frame_samples: int = MAX_FRAME_SAMPLES,
) -> Path:
    """Write one self-contained HTML report comparing `runs` (run folders) to `out`.

    summary: its `headline` (`core.stats.headline` with a `sentence`) opens the page; the
    whole mapping is shown at the bottom as a flat table (e.g. quickstart's
    `{"headline": {...}, "mle": {"accuracy": {...}}, "rlvr": {...}}`). The first run is the baseline for the
    relative gains. Runs without `eval.json`, `metrics.jsonl` or their samples
    (`samples.jsonl`, or their domain's own such as `predictions.npz`) still render, with a
    note. Runs of different domains (`data.domain` in `config.yaml`) are compared among
    their own domain; max_samples and max_frame_samples (where samples are frames) bound the
    samples shown. Returns `out`.
    """
    if not runs:
        raise ValueError("runs: expected at least one run folder")
    paths = [Path(run) for run in runs]
    missing = [str(path) for path in paths if not path.is_dir()]
    if missing:
        raise FileNotFoundError(f"runs: no such folder: {', '.join(missing)}")
    loaded = [read_run(path, name) for path, name in zip(paths, run_names(paths))]
    title = title or "rlvr-world report: " + ", ".join(run.name for run in loaded)
    by_domain: dict[str, list[RunView]] = {}
    for run in loaded:
        by_domain.setdefault(run.domain, []).append(run)
    reports = [
        _domain_report(domain, group, max_samples, max_frame_samples)
        for domain, group in by_domain.items()
    ]
    # The table of runs shows what each domain read of its runs (phase, notes).
    read = {run.name: run for report in reports for run in report.runs}
    sections = [f"<h1>{escape(title)}</h1>"]
    if summary and summary.get("headline"):
        sections.append(headline_section(summary["headline"]))
    sections.append(runs_section([read.get(run.name, run) for run in loaded]))
    if len(reports) > 1:
        sections.append(MIXED_DOMAINS_NOTE)
    for report in reports:
        sections += report.sections
    if summary:  # every figure, as keys: the bottom of the page, after the answer
        sections.append(summary_section(summary))
    css = PAGE_CSS + HEADLINE_CSS + "".join(report.css for report in reports)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html_page(title, css, sections), encoding="utf-8")
    return out


def _domain_report(
    domain: str, runs: Sequence[RunView], max_samples: int, max_frame_samples: int
) -> DomainReport:
    """The domain's sections of its runs; a domain that is unknown here or has no report
    sections gets a note instead."""
    try:
        report_sections = get_domain(domain).hook("report_sections")
    except (DomainError, ImportError) as error:
        note = f"{domain}: {error}; its runs have no sections here."
        return DomainReport(list(runs), [f'<p class="note">{escape(note)}</p>'])
    return report_sections(runs, max_samples, max_frame_samples)
