"""Smoke runs of the web-page world model through the real CLI (web-debug: seconds)."""

import json

import pytest

from rlvr_world.bench.web import NO_CHANGE
from rlvr_world.cli import main
from rlvr_world.core.stats import mean_difference, paired_bootstrap
from rlvr_world.domains.web.data import load_transitions
from rlvr_world.domains.web.rewards import web_f1
from rlvr_world.train.pipeline import best_of_run


def test_web_pipeline_through_the_cli(tmp_path, capsys, headline_of):
    out = tmp_path / "quick"
    assert main(["quickstart", "--domain", "web", "--preset", "web-debug", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    for name in ("mle", "rlvr"):
        assert set(summary[name]) >= {"f1", "precision", "recall", "f1_by_split"}
    report = (out / "report.html").read_text()
    assert "Held-out item F1" in report and "Sample predictions" in report
    # the run folder's data are web transitions whose answers are diffs of their trees
    test = load_transitions(out / "mle" / "data" / "test.jsonl")
    assert test and all(t.answer.startswith("New items:") for t in test)
    rlvr = out / "rlvr"
    assert main(["eval", str(rlvr), "--checkpoint", "latest"]) == 0
    # the sharpening headroom: 2 sampled answers a question, scored by the training reward
    assert main(["eval", str(rlvr), "--best-of", "2", "--split", "valid"]) == 0
    best = json.loads((rlvr / "best_of.json").read_text())
    assert best["k"] == 2 and best["reward"] == "f1" and best["examples"] > 0
    assert 0.0 <= best["sample_mean"] <= best["best_of_k"] <= 1.0
    with pytest.raises(ValueError, match="k must be >= 1"):
        best_of_run(rlvr, 0)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        best_of_run(rlvr, 2, temperature=0.0)
    rows = [json.loads(line) for line in (rlvr / "metrics.jsonl").read_text().splitlines()]
    assert any(r["phase"] == "rlvr" and "term_f1" in r for r in rows)

    # the quickstart folder holds an MLE and an RLVR run: plan with them
    capsys.readouterr()
    bench = tmp_path / "mpc.json"
    assert main(["bench", "mpc", "--quick", "--runs", str(out), "--out", str(bench)]) == 0
    result = json.loads(bench.read_text())
    assert set(result["success"]) == {"random", "no_change", "mle", "rlvr", "oracle"}
    assert result["episodes"] == 2 and result["success"]["oracle"] == 1.0
    head = headline_of(result)
    assert head["mle"] == result["success"]["mle"] and head["rlvr"] == result["success"]["rlvr"]
    assert all(0 <= v <= 1 for v in result["success"].values())
    # per-episode outcomes, and the paired comparison of RLVR and MLE on the same episodes
    outcomes = {name: result["details"][name]["outcomes"] for name in ("mle", "rlvr")}
    assert [sum(o) / len(o) for o in outcomes.values()] == [
        result["success"]["mle"],
        result["success"]["rlvr"],
    ]
    paired = result["rlvr_vs_mle"]
    pairs = list(zip(outcomes["rlvr"], outcomes["mle"]))
    assert paired["both"] == pairs.count((1, 1)) and paired["neither"] == pairs.count((0, 0))
    assert paired["first_only"] == pairs.count((1, 0)) and 0 < paired["p_value"] <= 1
    capsys.readouterr()
    args = ["plan", "--world-model", str(rlvr), "--task", "open_product", "--max-steps", "3"]
    assert main(args) == 0
    shown = capsys.readouterr().out
    assert shown.startswith("objective: ") and "step 1" in shown and "chosen: " in shown


def test_bench_web_quick_with_the_no_change_floor(tmp_path, headline_of):
    out = tmp_path / "web.json"
    assert main(["bench", "web", "--quick", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    for name in ("mle", "rlvr", "mle_more", "no_change"):
        assert set(result[name]) >= {"f1", "precision", "recall", "f1_by_split", "examples"}
    assert result["rl_steps"] > 0 and result["wall_seconds"] > 0
    assert result["f1_gain"] == pytest.approx(result["rlvr"]["f1"] - result["mle"]["f1"])
    head = headline_of(result)
    assert head["metric"] == "f1" and head["rlvr"] == pytest.approx(result["rlvr"]["f1"])
    # the gain's interval: a paired bootstrap over the test transitions both models scored
    runs = tmp_path / "web-runs"
    mle, rlvr = (
        [json.loads(line)["scores"]["f1"] for line in (runs / name / "samples.jsonl").open()]
        for name in ("mle", "rlvr")
    )
    low, high = result["f1_gain_ci95"]
    assert (low, high) == pytest.approx(paired_bootstrap(mle, rlvr, mean_difference))
    assert -1 <= low <= high <= 1
    # the floor is the constant "nothing changes" answer scored on the models' test examples
    scored = {json.loads(line)["id"] for line in (runs / "mle" / "samples.jsonl").open()}
    test = [t for t in load_transitions(runs / "mle" / "data" / "test.jsonl") if t.id in scored]
    assert result["no_change"]["examples"] == result["mle"]["examples"] == len(test) > 0
    expected = [web_f1(NO_CHANGE, t.answer) for t in test]
    for key in ("f1", "precision", "recall"):
        assert result["no_change"][key] == pytest.approx(sum(e[key] for e in expected) / len(test))
    unchanged = [t for t in test if not t.changed]
    if unchanged:  # "nothing changes" is exactly right where nothing changed
        assert result["no_change"]["f1_by_split"]["unchanged"] == 1.0


def test_plan_command_with_the_oracle_and_random(capsys):
    assert main(["plan", "--world-model", "oracle", "--task", "open_product", "--seed", "3"]) == 0
    shown = capsys.readouterr().out
    assert "success: True" in shown and "value 0." in shown
    args = ["plan", "--domain", "textgame", "--world-model", "random", "--max-steps", "4"]
    assert main(args) == 0
    shown = capsys.readouterr().out
    assert "(random)" in shown and "won: " in shown
    assert main(["plan", "--world-model", "oracle", "--task", "fly"]) == 2
    assert "unknown web task" in capsys.readouterr().err


def test_web_data_command(tmp_path):
    for fmt in ("jsonl", "parquet"):
        folder = tmp_path / fmt
        assert main(["data", "--preset", "web-debug", "--out", str(folder), "--format", fmt]) == 0
        loaded = load_transitions(folder / f"train.{fmt}")
        assert loaded and all(t.answer for t in loaded)


def test_web_paper_preset_needs_a_model_path(tmp_path, capsys):
    assert (
        main(["train", "mle", "--preset", "web-paper", "device=cpu", "--out", str(tmp_path / "r")])
        != 0
    )
    assert "model.path" in capsys.readouterr().err
