"""One self-contained HTML report of one or more run folders.

    write_report([mle_run, rlvr_run], Path("report.html"), title="quickstart")

`writer` reads the run folders (`rlvr_world.domains.reporting.read_run`), groups them by
their domain and asks each domain's bundle for its sections (`report_sections`); `sections`
holds the parts every report has (summary, table of runs); the HTML pieces are
`rlvr_world.core.html`.
"""

from rlvr_world.eval.report.writer import MAX_FRAME_SAMPLES, MAX_SAMPLES, write_report

__all__ = ["MAX_FRAME_SAMPLES", "MAX_SAMPLES", "write_report"]
