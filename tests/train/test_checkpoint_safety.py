"""Checkpoints through the real CLI: no code runs from a run folder, older folders resume, a
damaged or half-cleaned checkpoints folder is recovered, retention, and a diverged run stops
(exit code 1) without a non-finite checkpoint; eval and export refuse one.

One debug MLE run (4 steps, a checkpoint each step, `keep_checkpoints=2`) is copied and
damaged by each test."""

import re
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from rlvr_world.cli import main
from rlvr_world.core.checkpoint import load_trainer_state, non_finite_weights
from rlvr_world.train.run_folder import read_config

MODEL = ("model", "model.safetensors")
DEBUG = ("--preset", "textgame-debug", "progress=false")


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    run = tmp_path_factory.mktemp("safety") / "mle"
    argv = ["train", "mle", *DEBUG, "--out", str(run)]
    assert main([*argv, "mle.save_every=1", "keep_checkpoints=2"]) == 0
    return run


@pytest.fixture
def run(tmp_path, base):
    copy = tmp_path / "run"
    shutil.copytree(base, copy)
    return copy


def weights(checkpoint):
    return load_file(str(checkpoint.joinpath(*MODEL)))


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if line.startswith("error: ")]
    assert len(errors) == 1, err
    return errors[0]


def test_retention_keeps_best_and_the_last_two(base):
    names = sorted(p.name for p in (base / "checkpoints").iterdir())
    assert names == ["best", "latest", "step_000003", "step_000004"]
    assert read_config(base)["keep_checkpoints"] == 2


class Payload:
    """Unpickling this would create `marker`: a crafted run folder's payload."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        from pathlib import Path

        return Path.touch, (Path(self.marker),)


def test_crafted_trainer_state_runs_no_code_on_resume(run, tmp_path, capsys):
    checkpoint = run / "checkpoints" / "step_000004"
    marker = tmp_path / "code-ran"
    for name in ("trainer_state.json", "trainer_state.safetensors"):
        (checkpoint / name).unlink()
    torch.save({"step": 4, "loop": Payload(marker)}, checkpoint / "trainer_state.pt")
    code = main(["train", "mle", "--out", str(run), "--resume"])
    assert code != 0
    assert not marker.exists()
    error = one_line_error(capsys)
    assert "step_000004/trainer_state.pt: refused to load" in error


def test_older_run_folder_resumes_bit_for_bit(run, base):
    """A folder from before safetensors trainer states (`trainer_state.pt` pickles) resumes,
    through the allow-listed loader, to the same weights as the uninterrupted run."""
    for checkpoint in (run / "checkpoints").iterdir():
        if checkpoint.is_dir():
            torch.save(load_trainer_state(checkpoint), checkpoint / "trainer_state.pt")
            (checkpoint / "trainer_state.json").unlink()
            (checkpoint / "trainer_state.safetensors").unlink()
    shutil.rmtree(run / "checkpoints" / "step_000004")
    (run / "checkpoints" / "latest").write_text("step_000003\n")
    assert main(["train", "mle", "--out", str(run), "--resume"]) == 0
    newest = run / "checkpoints" / "step_000004"
    assert_same_weights(weights(newest), weights(base / "checkpoints" / "step_000004"))
    assert (newest / "trainer_state.json").exists()  # written in today's format


def test_damaged_checkpoints_folder_is_recovered_on_resume(run, base):
    """No `latest`, a truncated newest checkpoint, a temporary folder of a write cut short and
    a `best` set aside by a swap cut short: the run resumes from the newest whole checkpoint,
    puts `best` back, cleans up and ends as the uninterrupted run did."""
    checkpoints = run / "checkpoints"
    (checkpoints / "latest").unlink()
    path = checkpoints / "step_000004" / "model" / "model.safetensors"
    path.write_bytes(path.read_bytes()[:1000])
    (checkpoints / ".step_000005.0a1b2c3d" / "model").mkdir(parents=True)
    shutil.move(checkpoints / "best", checkpoints / ".best.previous")
    with pytest.warns(UserWarning) as caught:
        assert main(["train", "mle", "--out", str(run), "--resume"]) == 0
    messages = "\n".join(str(w.message) for w in caught)
    assert "skipping damaged checkpoint" in messages and "step_000004" in messages
    assert "restored" in messages and "best" in messages
    assert sorted(p.name for p in checkpoints.iterdir()) == sorted(
        p.name for p in (base / "checkpoints").iterdir()
    )
    assert (checkpoints / "latest").read_text() == "step_000004\n"
    for name in ("step_000004", "best"):
        assert_same_weights(weights(checkpoints / name), weights(base / "checkpoints" / name))


def poison(checkpoint):
    path = checkpoint.joinpath(*MODEL)
    tensors = load_file(str(path))
    tensors["model.norm.weight"][0] = float("nan")
    save_file(tensors, str(path), metadata={"format": "pt"})


def test_eval_and_export_refuse_a_non_finite_checkpoint(run, tmp_path, capsys):
    poison(run / "checkpoints" / "best")
    assert main(["eval", str(run)]) == 1
    assert "weights are not finite (NaN or inf in model.norm.weight)" in one_line_error(capsys)
    out = tmp_path / "export"
    assert main(["export", str(run), "--out", str(out)]) == 1
    assert "the run diverged" in one_line_error(capsys)
    assert not out.exists()
    assert main(["export", str(run), "--out", str(out), "--checkpoint", "step_000004"]) == 0


def assert_stopped_without_a_non_finite_checkpoint(out):
    checkpoints = out / "checkpoints"
    assert not list(checkpoints.glob("step_*"))
    assert non_finite_weights(checkpoints / "best" / "model") == []  # the step-0 start


def test_mle_divergence_stops_with_exit_code_1(base, tmp_path, capsys):
    out = tmp_path / "diverged"
    argv = ["train", "mle", *DEBUG, "--init", str(base), "--out", str(out), "mle.lr=inf"]
    assert main(argv) == 1
    error = one_line_error(capsys)
    assert "training diverged at mle step 1: the parameters are not finite" in error
    assert_stopped_without_a_non_finite_checkpoint(out)


def test_rlvr_divergence_stops_with_exit_code_1(base, tmp_path, capsys):
    out = tmp_path / "diverged"
    argv = ["train", "rlvr", *DEBUG, "--init", str(base), "--out", str(out), "rlvr.lr=inf"]
    assert main([*argv, "rlvr.skip_zero_variance=false"]) == 1  # every step updates
    error = one_line_error(capsys)  # after the first of two updates, the loss is NaN
    assert re.search(r"training diverged at rlvr step 1: the (loss|parameters) ", error), error
    assert_stopped_without_a_non_finite_checkpoint(out)
