"""Smoke runs of every command through the real CLI entry point (debug preset: seconds)."""

import json
import os
import subprocess
import sys

import pytest

from rlvr_world.cli import main
from rlvr_world.domains.textgame.data import load_transitions
from rlvr_world.domains.textgame.prompts import answer_text


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory):
    out = tmp_path_factory.mktemp("qs") / "quickstart"
    assert main(["quickstart", "--preset", "textgame-debug", "--out", str(out)]) == 0
    return out


def test_quickstart_writes_summary_and_report(quickstart):
    summary = json.loads((quickstart / "summary.json").read_text())
    for phase in ("mle", "rlvr"):
        assert set(summary[phase]["accuracy"]) == {"overall", "changed", "unchanged"}
        assert 0 <= summary[phase]["accuracy"]["overall"] <= 1
    html = (quickstart / "report.html").read_text()
    assert 'src="data:image/png;base64,' in html and "quickstart" in html
    for run in ("mle", "rlvr"):
        assert (quickstart / run / "checkpoints" / "best" / "model" / "config.json").exists()
        assert list((quickstart / run / "tb").iterdir())


def test_quickstart_opens_on_its_headline(quickstart):
    """summary.json's headline is RLVR against MLE on the test transitions (exact accuracy,
    paired by id), the report states it before anything else and keeps the raw keys last."""
    summary = json.loads((quickstart / "summary.json").read_text())
    head = summary["headline"]
    keys = {"metric", "higher_is_better", "mle", "rlvr", "relative_gain", "ci95", "examples"}
    assert keys <= set(head) and head["metric"] == "exact" and head["higher_is_better"]
    scores = {}
    for run in ("mle", "rlvr"):
        rows = [json.loads(line) for line in (quickstart / run / "samples.jsonl").open()]
        scores[run] = {row["id"]: row["scores"]["exact"] for row in rows}
    assert head["examples"] == len(scores["mle"]) == len(scores["rlvr"])
    assert head["mle"] == pytest.approx(sum(scores["mle"].values()) / head["examples"])
    assert head["rlvr"] == pytest.approx(sum(scores["rlvr"].values()) / head["examples"])
    assert head["rlvr"] == pytest.approx(summary["rlvr"]["accuracy"]["overall"])
    if head["mle"] > 0:  # a relative gain and its interval, the point inside it
        assert head["ci95"][0] <= head["relative_gain"] <= head["ci95"][1]
    html = (quickstart / "report.html").read_text()
    assert head["sentence"].startswith("RLVR ") and head["sentence"] in html
    assert html.index('id="headline"') < html.index("<h2>Runs</h2>") < html.index("All figures")


def test_train_eval_report_resume(tmp_path, quickstart, capsys):
    mle = quickstart / "mle"
    rlvr = tmp_path / "rlvr"
    assert (
        main(
            [
                "train",
                "rlvr",
                "--preset",
                "textgame-debug",
                "--init",
                str(mle),
                "--out",
                str(rlvr),
                "rlvr.steps=1",
            ]
        )
        == 0
    )
    assert main(["train", "rlvr", "--out", str(rlvr), "--resume"]) == 0  # already done: no-op
    assert main(["eval", str(rlvr), "--checkpoint", "latest"]) == 0
    evaluation = json.loads((rlvr / "eval.json").read_text())
    assert evaluation["split"] == "test" and evaluation["examples"] > 0
    assert len((rlvr / "samples.jsonl").read_text().splitlines()) == evaluation["examples"]
    assert main(["report", str(mle), str(rlvr), "--out", str(tmp_path / "r.html")]) == 0
    assert (tmp_path / "r.html").stat().st_size > 1000


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_data_then_score(tmp_path, fmt, capsys):
    assert (
        main(["data", "--preset", "textgame-debug", "--out", str(tmp_path), "--format", fmt]) == 0
    )
    data = tmp_path / f"test.{fmt}"
    transitions = load_transitions(data)
    predictions = tmp_path / "pred.jsonl"
    with predictions.open("w") as handle:
        for i, t in enumerate(transitions):  # gold answers, except the first is garbage
            response = "no idea" if i == 0 else f"The final answer is: {answer_text(t)}"
            handle.write(json.dumps({"id": t.id, "response": response}) + "\n")
    out = tmp_path / "scores.jsonl"
    capsys.readouterr()
    assert (
        main(
            [
                "score",
                "textgame",
                "--data",
                str(data),
                "--predictions",
                str(predictions),
                "--reward",
                "binary",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["reward"] for r in rows] == [0.0] + [1.0] * (len(transitions) - 1)
    assert {r["split"] for r in rows} <= {"changed", "unchanged"}
    assert summary["accuracy"]["overall"] == pytest.approx(1 - 1 / len(transitions))


def test_score_names_bad_prediction_line(tmp_path, capsys):
    main(["data", "--preset", "textgame-debug", "--out", str(tmp_path)])
    bad = tmp_path / "pred.jsonl"
    bad.write_text('{"id": "x", "response": "a"}\n{"id": "y"}\n')
    code = main(
        [
            "score",
            "textgame",
            "--data",
            str(tmp_path / "test.jsonl"),
            "--predictions",
            str(bad),
            "--out",
            str(tmp_path / "o.jsonl"),
        ]
    )
    assert code == 2
    assert "pred.jsonl:2: field 'response'" in capsys.readouterr().err


def test_config_describe_and_bad_override(capsys):
    assert main(["config", "--preset", "textgame-tiny", "--describe"]) == 0
    assert "rlvr.group_size" in capsys.readouterr().out
    assert main(["config", "rlvr.group_sise=3"]) == 2
    assert "unknown config field 'rlvr.group_sise'" in capsys.readouterr().err


def test_bench_textgame_quick(tmp_path, headline_of):
    out = tmp_path / "bench.json"
    assert main(["bench", "textgame", "--quick", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    for name in ("mle", "rlvr", "mle_more", "rlvr_mle"):
        assert set(result[name]["accuracy"]) == {"overall", "changed", "unchanged"}
    # the joint MLE + RL arm logs its MLE term, and is compared with both MLE arms
    rows = [
        json.loads(line) for line in (tmp_path / "bench-runs" / "rlvr_mle" / "metrics.jsonl").open()
    ]
    updated = [row for row in rows if row["phase"] == "rlvr" and row.get("updates", 0) > 0]
    assert all("mle_loss" in row for row in updated)  # (math: tests/train/test_rlvr.py)
    for base in ("mle", "mle_more"):
        versus = result[f"rlvr_mle_vs_{base}"]
        assert versus["rlvr"] == pytest.approx(result["rlvr_mle"]["accuracy"]["overall"])
        assert versus["mle"] == pytest.approx(result[base]["accuracy"]["overall"])
    assert result["rl_steps"] > 0 and result["wall_seconds"] > 0
    # RLVR against MLE on the same test transitions: the paired counts add up to the accuracies
    paired, n = result["rlvr_vs_mle"], result["mle"]["examples"]
    assert sum(paired[k] for k in ("both", "first_only", "second_only", "neither")) == n
    both = paired["both"]
    assert (both + paired["first_only"]) / n == pytest.approx(result["rlvr"]["accuracy"]["overall"])
    assert (both + paired["second_only"]) / n == pytest.approx(result["mle"]["accuracy"]["overall"])
    assert 0 < paired["p_value"] <= 1
    head = headline_of(result)
    assert head["metric"] == "exact" and head["examples"] == n
    assert head["rlvr"] == pytest.approx(result["rlvr"]["accuracy"]["overall"])


def test_a_torchrun_worker_leaves_with_its_exit_code_and_flushed_output():
    """Under torchrun (WORLD_SIZE > 1) the CLI ends the process itself after the command:
    its output must still be complete and its exit code the command's."""
    env = {**os.environ, "WORLD_SIZE": "2"}
    done = subprocess.run(
        [sys.executable, "-m", "rlvr_world.cli", "config", "--preset", "textgame-debug"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0
    alone = subprocess.run(
        [sys.executable, "-m", "rlvr_world.cli", "config", "--preset", "textgame-debug"],
        capture_output=True,
        text=True,
    )
    assert done.stdout == alone.stdout and done.stdout.startswith("preset: textgame-debug")
    failed = subprocess.run(  # a config error: main returns 2, the worker leaves with it
        [sys.executable, "-m", "rlvr_world.cli", "config", "--preset", "textgame-debug"]
        + ["rlvr.steps=0"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert failed.returncode == 2 and "rlvr.steps must be > 0" in failed.stderr


def test_console_script_is_installed():
    done = subprocess.run(
        [sys.executable, "-m", "rlvr_world.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "quickstart" in done.stdout
