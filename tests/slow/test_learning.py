"""End-to-end learning checks (slow marker; CI runs them under a time bound)."""

import pytest

from rlvr_world.train.config import parse_override
from rlvr_world.train.pipeline import evaluate_run, run_mle, run_rlvr
from rlvr_world.train.presets import build_config
from rlvr_world.train.run_folder import read_metrics

pytestmark = pytest.mark.slow


def test_mle_then_rlvr_learn_the_text_games(tmp_path):
    """A ~1M-parameter model learns to emit parseable state differences and to get most
    unchanged transitions exactly right; RLVR then runs on real reward variance."""
    config = build_config(
        "textgame-quickstart",
        parse_override("mle.steps=200"),
        parse_override("rlvr.steps=6"),
        parse_override("rlvr.eval_every=0"),
        parse_override("progress=false"),
    )
    mle = run_mle(config, tmp_path / "mle")
    summary = evaluate_run(mle, progress=False)
    assert summary["parsed"] > 0.9
    assert summary["accuracy"]["unchanged"] > 0.5
    losses = [r["loss"] for r in read_metrics(mle) if r["phase"] == "mle"]
    assert losses[-1] < 0.5 * losses[0]

    rlvr = run_rlvr(config, mle, tmp_path / "rlvr")
    rows = [r for r in read_metrics(rlvr) if r["phase"] == "rlvr"]
    assert len(rows) == 6
    assert all(0 < r["reward_mean"] < 1 for r in rows)  # mixed outcomes: a learning signal
    assert any(r["zero_std_fraction"] < 1 for r in rows)
    assert all(r["kl"] >= 0 for r in rows)
