"""`rlvr-world quickstart`: the embedded default, end to end in a few minutes on a CPU.

simulate -> MLE (best held-out checkpoint) -> RLVR from it -> evaluate both -> report.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from rlvr_world.core.checkpoint import write_json
from rlvr_world.domains import get_domain
from rlvr_world.eval.report import write_report
from rlvr_world.train.config import parse_override
from rlvr_world.train.pipeline import evaluate_run, run_mle, run_rlvr
from rlvr_world.train.presets import build_config


def quickstart(
    out: str | Path,
    domain: str = "textgame",
    overrides: Sequence[str] = (),
    preset: str | None = None,
) -> dict:
    """Run the whole pipeline into `out`; returns (and writes) `out/summary.json`."""
    bundle = get_domain(domain)
    preset = preset or bundle.quickstart_preset
    if preset is None:
        raise ValueError(f"the {domain} domain has no quickstart preset; name one with --preset")
    out = Path(out)
    config = build_config(preset, *(parse_override(o) for o in overrides))
    start = time.perf_counter()
    mle_run = run_mle(config, out / "mle")
    rlvr_run = run_rlvr(config, mle_run, out / "rlvr")
    summary: dict = {}
    for name, run in (("mle", mle_run), ("rlvr", rlvr_run)):
        result = evaluate_run(run, progress=config.progress)
        # the held-out figures (accuracy for text, pixel metrics for video), not bookkeeping
        summary[name] = {
            k: v for k, v in result.items() if k not in ("split", "checkpoint", "seconds")
        }
        summary[name]["run"] = str(run)
    summary["wall_seconds"] = time.perf_counter() - start
    write_json(out / "summary.json", summary)
    write_report(
        [mle_run, rlvr_run], out / "report.html", title="rlvr-world quickstart", summary=summary
    )
    return summary
