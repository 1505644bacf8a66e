"""Smoke runs of the video world model through the real CLI (robot-debug preset: seconds)."""

import copy
import json

import numpy as np
import pytest
import torch

from rlvr_world.bench.robot import CONTROLS, DECODINGS
from rlvr_world.cli import main
from rlvr_world.core.stats import paired_bootstrap, relative_reduction
from rlvr_world.domains.robot import policy_estimates
from rlvr_world.domains.robot.data import load_episodes
from rlvr_world.train.pipeline import load_video_world_model

METRICS = {"mae", "mse", "psnr", "ssim", "lpips"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("robot")
    debug = ["--preset", "robot-debug"]
    assert main(["train", "tokenizer", *debug, "--out", str(root / "tok")]) == 0
    assert (
        main(["train", "mle", *debug, "--init", str(root / "tok"), "--out", str(root / "mle")]) == 0
    )
    assert (
        main(["train", "rlvr", *debug, "--init", str(root / "mle"), "--out", str(root / "rl")]) == 0
    )
    multi = ["video.mode=multi"]
    assert (
        main(
            [
                "train",
                "mle",
                *debug,
                "--init",
                str(root / "mle"),
                "--out",
                str(root / "mmle"),
                *multi,
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "train",
                "rlvr",
                *debug,
                "--init",
                str(root / "mmle"),
                "--out",
                str(root / "mrl"),
                *multi,
            ]
        )
        == 0
    )
    policy = [
        "video.rl_rollouts=policy",
        "video.rollout_starts=1",
        "video.rollout_start_steps=[0,2]",
    ]
    rl = ["train", "rlvr", *debug, "--init", str(root / "mmle"), "--out", str(root / "prl")]
    assert main([*rl, *multi, *policy]) == 0
    return root


def test_tokenizer_run(runs):
    result = json.loads((runs / "tok" / "train_result.json").read_text())
    assert result["phase"] == "tokenizer" and {"psnr", "ssim", "lpips"} <= set(result)
    bins = json.loads((runs / "tok" / "tokenizer" / "action_bins.json").read_text())
    assert len(bins["minimum"]) == 4 and bins["num_bins"] == 256
    # the episodes were saved in the RT-1 npz layout and load back
    episodes = load_episodes(runs / "tok" / "data" / "train")
    assert (
        episodes and episodes[0]["image"].dtype == np.uint8 and episodes[0]["action"].shape[1] == 4
    )
    # later runs reuse the same data and tokenizer
    assert (runs / "mle" / "tokenizer" / "autoencoder.safetensors").exists()


def test_multi_step_runs_add_the_future_frame_tokenizer(runs):
    # single-step runs have none; the first multi-step run trains one beside the frame
    # tokenizer it took over, and runs started from it copy it
    assert not (runs / "mle" / "tokenizer" / "future.json").exists()
    figures = json.loads((runs / "mmle" / "tokenizer" / "eval.json").read_text())
    assert {"psnr", "ssim", "lpips", "steps"} <= set(figures["future"])
    assert (
        figures["psnr"]
        == json.loads((runs / "mle" / "tokenizer" / "eval.json").read_text())["psnr"]
    )
    for run in ("mmle", "mrl"):
        assert (runs / run / "tokenizer" / "future.safetensors").exists()
    rows = [json.loads(line) for line in (runs / "mmle" / "metrics.jsonl").read_text().splitlines()]
    assert any("future_valid_lpips" in r for r in rows if r["phase"] == "tokenizer")


@pytest.mark.parametrize("run, multi", [("rl", False), ("mrl", True), ("prl", True)])
def test_eval_and_report(runs, run, multi, tmp_path):
    assert main(["eval", str(runs / run)]) == 0
    evaluation = json.loads((runs / run / "eval.json").read_text())
    assert set(evaluation["metrics"]) == METRICS and evaluation["split"] == "test"
    assert 0.0 <= evaluation["repetition"] <= 1.0
    saved = np.load(runs / run / "predictions.npz")
    frames = 2 if multi else 1  # rollout_frames - 1 predicted in multi-step, 1 in single-step
    assert saved["prediction"].shape[1:] == (frames, 32, 32, 3)
    assert saved["prediction"].shape == saved["target"].shape
    rows = [json.loads(line) for line in (runs / run / "metrics.jsonl").read_text().splitlines()]
    rl = [r for r in rows if r["phase"] == "rlvr"]
    assert rl and {"reward_mean", "zero_std_fraction", "term_mae", "term_lpips"} <= set(rl[0])
    out = tmp_path / "report.html"
    assert main(["report", str(runs / "mle"), str(runs / run), "--out", str(out)]) == 0
    html = out.read_text()
    assert "data:image/gif;base64," in html and "LPIPS" in html
    assert ("(future frames)" in html) == multi


def test_quickstart_robot(tmp_path):
    out = tmp_path / "qs"
    assert (
        main(["quickstart", "--domain", "robot", "--preset", "robot-debug", "--out", str(out)]) == 0
    )
    summary = json.loads((out / "summary.json").read_text())
    for phase in ("mle", "rlvr"):
        assert set(summary[phase]["metrics"]) == METRICS
    assert (out / "report.html").exists()


def test_quickstart_defaults_to_the_multi_step_robot_world_on_the_shipped_tokenizers(tmp_path):
    """`rlvr-world quickstart` with no --domain / --preset runs `robot-quickstart` (shrunk
    here to seconds by overrides): multi-step video on the tokenizers shipped in the package."""
    import yaml

    from rlvr_world.domains.robot import pretrained

    out = tmp_path / "qs"
    shrink = [
        "video.tasks=[push]",
        "video.train_episodes_per_task=1",
        "video.valid_episodes_per_task=1",
        "video.test_episodes_per_task=1",
        "model.num_layers=1",
        "mle.steps=2",
        "mle.batch_size=2",
        "mle.micro_batch_size=2",
        "rlvr.steps=1",
        "rlvr.questions_per_step=1",
        "rlvr.group_size=2",
        "rlvr.mini_batch_size=1",
        "eval.max_examples=2",
        "eval.num_samples_saved=2",
        "progress=false",
    ]
    assert main(["quickstart", "--out", str(out), *shrink]) == 0
    config = yaml.safe_load((out / "mle" / "config.yaml").read_text())
    assert config["data"]["domain"] == "robot" and config["video"]["mode"] == "multi"
    assert config["video"]["tokenizer_path"] == "pretrained:robot-tiny"
    shipped = pretrained.folder("pretrained:robot-tiny")
    for name in ("autoencoder.safetensors", "future.safetensors", "eval.json"):
        for run in ("mle", "rlvr"):
            assert (out / run / "tokenizer" / name).read_bytes() == (shipped / name).read_bytes()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["headline"]["metric"] == "lpips"
    assert len(summary["mle"]["lpips_by_step"]) == config["video"]["rollout_frames"] - 1
    html = (out / "report.html").read_text()
    assert "LPIPS along the rollout" in html and "LPIPS ×100</th>" in html


def test_bench_robot_quick(tmp_path, headline_of):
    out = tmp_path / "bench.json"
    assert main(["bench", "robot", "--quick", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    for setup in ("single_step", "multi_step"):
        assert set(result[setup]["mle"]) >= METRICS and set(result[setup]["rlvr"]) >= METRICS
    assert "repetition" in result["multi_step"]["mle"]
    assert set(result["rl_steps"]) == {"single_step", "multi_step"} and result["wall_seconds"] > 0
    # the gain's interval: a paired bootstrap over the test windows both models scored
    runs = tmp_path / "bench-runs"
    mle, rlvr = (
        [json.loads(line)["scores"]["lpips"] for line in (runs / name / "samples.jsonl").open()]
        for name in ("multi-mle", "multi-rlvr")
    )
    assert len(mle) == len(rlvr) > 0
    low, high = result["multi_step_lpips_gain_ci95"]
    assert (low, high) == pytest.approx(paired_bootstrap(mle, rlvr, relative_reduction))
    assert low <= high
    assert result["multi_step_lpips_gain"] == pytest.approx(1 - np.mean(rlvr) / np.mean(mle))
    # the controls, each scored on the same test windows, and RLVR against the strongest
    multi = result["multi_step"]
    for name in (*CONTROLS, "rlvr_best_decoding"):
        assert set(multi[name]) >= METRICS | {"repetition", "lpips_by_step"}
    strongest = min(CONTROLS, key=lambda name: multi[name]["lpips"])
    gain = multi["gain_over_best_mle"]
    assert gain["against"] == strongest
    folders = {"mle_more": runs / "multi-mle-more", **{n: runs / "test" / n for n in CONTROLS[:2]}}
    control = [
        json.loads(line)["scores"]["lpips"]
        for line in (folders[strongest] / "samples.jsonl").open()
    ]
    assert np.mean(control) == pytest.approx(multi[strongest]["lpips"])
    assert gain["relative"] == pytest.approx(1 - np.mean(rlvr) / np.mean(control))
    assert gain["ci95"] == pytest.approx(list(paired_bootstrap(control, rlvr, relative_reduction)))
    greedy = json.loads((runs / "test" / "mle_greedy" / "eval.json").read_text())
    assert greedy["decoding"]["temperature"] == 0 and greedy["split"] == "test"
    for name in ("mle_best_decoding", "rlvr_best_decoding"):
        chosen = multi[name]["decoding"]
        tried = chosen["valid_lpips"]
        assert len(tried) == len(DECODINGS)
        assert tried[f"T={chosen['temperature']:g},k={chosen['top_k']}"] == min(tried.values())
    assert result["mle_more_steps"] > 0
    head = headline_of(result)
    assert head["metric"] == "lpips" and not head["higher_is_better"]
    assert head["against"] == strongest and strongest in head["sentence"]
    assert head["relative_gain"] == pytest.approx(gain["relative"])
    assert head["ci95"] == pytest.approx(gain["ci95"])


def test_tokenizer_path_is_copied_into_the_run(runs, tmp_path):
    source = runs / "tok" / "tokenizer"
    out = tmp_path / "reuse"
    args = ["--preset", "robot-debug", "--out", str(out), f"video.tokenizer_path={source}"]
    assert main(["train", "tokenizer", *args]) == 0
    for name in ("autoencoder.safetensors", "action_bins.json", "eval.json"):
        assert (out / "tokenizer" / name).read_bytes() == (source / name).read_bytes()


def test_policy_eval_command_keeps_gifs_for_the_report(runs, capsys):
    from PIL import Image

    run = runs / "mrl"
    args = ["--task", "lift", "--policy", "expert", "--episodes", "2", "--max-steps", "4"]
    assert main(["policy-eval", "--world-model", str(run), *args]) == 0
    assert "lift/expert: true" in capsys.readouterr().out
    folder = run / "policy-eval" / "lift-expert"
    result = json.loads((folder / "result.json").read_text())
    assert result["task"] == "lift" and result["policy"] == "expert" and result["episodes"] == 2
    assert 0.0 <= result["true"] <= 1.0 and 0.0 <= result["estimated"] <= 1.0
    assert len(result["samples"]) == 2
    for sample in result["samples"]:
        with Image.open(folder / sample["gif"]) as gif:
            # real | imagined side by side, one GIF frame per step of the longer episode
            steps = max(sample["true_steps"], sample["imagined_steps"])
            assert gif.n_frames == steps + 1 and gif.size[0] > 2 * gif.size[1]
    out = runs / "policy-eval-report.html"
    assert main(["report", str(run), "--out", str(out)]) == 0
    html = out.read_text()
    assert "Policy evaluation in the world model" in html and "lift / expert" in html


def test_policy_eval_needs_a_multi_step_world_model(runs, capsys):
    assert main(["policy-eval", "--world-model", str(runs / "rl"), "--episodes", "1"]) == 2
    assert "multi-step world model" in capsys.readouterr().err
    args = ["--world-model", str(runs / "mrl"), "--policy", "oracle"]
    assert main(["policy-eval", *args]) == 2
    assert "unknown policy 'oracle'" in capsys.readouterr().err


POLICY_EVAL_KEYS = {"policies", "mae", "pearson", "mmrv", "episodes_per_policy", "wall_seconds"}


def test_bench_policy_eval_quick_on_given_runs(runs, tmp_path):
    folder = tmp_path / "bench-robot-runs"
    folder.mkdir()
    (folder / "multi-mle").symlink_to(runs / "mmle")
    (folder / "multi-rlvr").symlink_to(runs / "mrl")
    out = tmp_path / "pe.json"
    assert main(["bench", "policy-eval", "--quick", "--runs", str(folder), "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert POLICY_EVAL_KEYS <= set(result)
    assert len(result["policies"]) == 3 * 4  # push, lift, place x 4 policies
    for row in result["policies"]:
        assert {"task", "name", "true", "mle", "rlvr"} <= set(row)
        for bound in ("decoded", "decoded_real_contexts"):
            assert set(row[bound]) == {"mle", "rlvr"}
            assert all(0.0 <= rate <= 1.0 for rate in row[bound].values())
    for metric in ("mae", "mmrv", "decoded", "decoded_real_contexts", "mae_ci95"):
        assert set(result[metric]) == {"mle", "rlvr"}
    for model in ("mle", "rlvr"):  # the bootstrap interval holds values an MAE can take
        low, high = result["mae_ci95"][model]
        assert 0.0 <= low <= high <= 1.0
    low, high = result["mae_difference_ci95"]["rlvr - mle"]
    assert -1.0 <= low <= high <= 1.0
    assert result["episodes_per_policy"] == 2 and 0.0 <= result["detector"]["accuracy"] <= 1.0
    probe = result["action_probe"]["rlvr"]["lift"]
    assert probe["starts"] == 8 and probe["static_error"] > 0
    assert main(["bench", "textgame", "--quick", "--episodes", "3", "--out", str(out)]) == 2


def test_bench_policy_eval_quick_trains_its_world_models(tmp_path):
    out = tmp_path / "pe.json"
    assert main(["bench", "policy-eval", "--quick", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert POLICY_EVAL_KEYS <= set(result)
    assert (tmp_path / "pe-runs" / "multi-rlvr" / "train_result.json").exists()


def test_policy_eval_bound_is_computed_once_per_tokenizer(runs, monkeypatch):
    """The tokenizer bounds depend on the tokenizer only: RLVR keeps its MLE start's tokenizer,
    so the two world models share one computation; a tokenizer with other weights gets its own."""
    calls = []
    real = policy_estimates.decode_episode

    def counting(tokenizer, frames, chunk=7, chained=True):
        calls.append(id(tokenizer))
        return real(tokenizer, frames, chunk, chained)

    monkeypatch.setattr(policy_estimates, "decode_episode", counting)
    mle, rlvr = load_video_world_model(runs / "mmle"), load_video_world_model(runs / "mrl")
    kwargs = dict(tasks=("lift",), episodes=1, true_episodes=1, max_steps=2)
    shared = policy_estimates.compare_policies({"mle": mle, "rlvr": rlvr}, **kwargs)
    bounds = len(policy_estimates.BOUNDS)  # one episode per policy, once per bound
    assert len(calls) == bounds * len(policy_estimates.POLICIES)
    for row in shared["policies"]:
        assert all(row[name]["mle"] == row[name]["rlvr"] for name in policy_estimates.BOUNDS)

    other = copy.deepcopy(rlvr[1])
    with torch.no_grad():
        next(other.future.parameters()).add_(1.0)
    calls.clear()
    policy_estimates.compare_policies({"mle": mle, "rlvr": (rlvr[0], other, rlvr[2])}, **kwargs)
    assert len(calls) == 2 * bounds * len(policy_estimates.POLICIES)
    assert calls[-1] == id(other)


def test_policy_rollouts_are_for_rlvr_only(runs, tmp_path, capsys):
    # MLE pre-trains on the episodes' windows: a policy's rollouts have no teacher-forced frames
    args = ["train", "mle", "--preset", "robot-debug", "--init", str(runs / "mmle")]
    args += ["--out", str(tmp_path / "x"), "video.mode=multi", "video.rl_rollouts=policy"]
    assert main(args) != 0
    assert "video.rl_rollouts=policy is for train rlvr" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    # and they need a multi-step model
    args = ["train", "rlvr", "--preset", "robot-debug", "--init", str(runs / "mmle")]
    assert main([*args, "--out", str(tmp_path / "y"), "video.rl_rollouts=policy"]) != 0
    assert "video.rl_rollouts=policy needs video.mode=multi" in capsys.readouterr().err
