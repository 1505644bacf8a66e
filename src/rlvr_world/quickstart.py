"""`rlvr-world quickstart`: the embedded default, end to end in a few minutes on a CPU.

simulate -> MLE (best held-out checkpoint) -> RLVR from it -> evaluate both -> report, which
opens on the headline: RLVR against MLE on the domain's metric (`Domain.headline`), with its
paired-bootstrap 95% interval over the test examples.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from rlvr_world.core.checkpoint import write_json
from rlvr_world.core.stats import headline, headline_sentence
from rlvr_world.domains import get_domain
from rlvr_world.eval.report import write_report
from rlvr_world.train.config import parse_override
from rlvr_world.train.pipeline import evaluate_run, run_mle, run_rlvr
from rlvr_world.train.presets import build_config
from rlvr_world.train.run_folder import paired_scores


def quickstart(
    out: str | Path,
    domain: str = "robot",
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
    summary: dict = {"headline": None}
    for name, run in (("mle", mle_run), ("rlvr", rlvr_run)):
        result = evaluate_run(run, progress=config.progress)
        # the held-out figures (accuracy for text, pixel metrics for video), not bookkeeping
        summary[name] = {
            k: v for k, v in result.items() if k not in ("split", "checkpoint", "seconds")
        }
        summary[name]["run"] = str(run)
    summary["wall_seconds"] = time.perf_counter() - start
    summary["headline"] = run_headline(bundle.headline, mle_run, rlvr_run)
    write_json(out / "summary.json", summary)
    write_report(
        [mle_run, rlvr_run], out / "report.html", title="rlvr-world quickstart", summary=summary
    )
    return summary


def run_headline(spec, mle_run: Path, rlvr_run: Path) -> dict | None:
    """The headline of two evaluated runs (`core.stats.headline` on the per-example scores of
    their `samples.jsonl`, paired by example id), with its `sentence`; None when the domain
    names no headline metric."""
    if not spec:
        return None
    mle, rlvr = paired_scores(mle_run, rlvr_run, spec["metric"])
    out = headline(spec["metric"], spec["higher_is_better"], mle, rlvr)
    out["sentence"] = headline_sentence(out, spec["name"], spec["examples"])
    return out
