"""Resume == uninterrupted, for both loops (a crash after step N/2 is a rolled-back `latest`)."""

import shutil

import pytest
import torch
from safetensors.torch import load_file

from rlvr_world.core.checkpoint import atomic_write_text
from rlvr_world.train.config import parse_override
from rlvr_world.train.pipeline import load_run_config, run_mle, run_rlvr
from rlvr_world.train.presets import build_config
from rlvr_world.train.run_folder import read_metrics

PINNED_LOSSES = [6.0038, 5.9295, 5.8211]


def weights(run):
    return load_file(str(run / "checkpoints" / "step_000004" / "model" / "model.safetensors"))


def crash_after_step_2(run):
    """Forget everything after step 2, as if the process died right after that checkpoint."""
    for path in (run / "checkpoints").glob("step_*"):
        if path.name > "step_000002":
            shutil.rmtree(path)
    atomic_write_text(run / "checkpoints" / "latest", "step_000002\n")


def assert_same(a, b):
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)


@pytest.fixture(scope="module")
def config():
    return build_config(
        "textgame-debug",
        parse_override("mle.steps=4"),
        parse_override("rlvr.steps=4"),
        parse_override("rlvr.save_every=2"),
        parse_override("mle.save_every=2"),
    )


@pytest.fixture(scope="module")
def mle_run(tmp_path_factory, config):
    return run_mle(config, tmp_path_factory.mktemp("mle") / "run")


def test_mle_resume_equals_uninterrupted(tmp_path, config, mle_run):
    interrupted = tmp_path / "interrupted"
    shutil.copytree(mle_run, interrupted)
    crash_after_step_2(interrupted)
    run_mle(load_run_config(interrupted), interrupted, resume=True)
    assert_same(weights(mle_run), weights(interrupted))
    steps = [r["step"] for r in read_metrics(interrupted) if r["phase"] == "mle"]
    assert steps == [1, 2, 3, 4]  # rows after the checkpoint were rewritten, not duplicated


def test_rlvr_resume_equals_uninterrupted(tmp_path, config, mle_run):
    straight = run_rlvr(config, mle_run, tmp_path / "straight")
    interrupted = tmp_path / "interrupted"
    shutil.copytree(straight, interrupted)
    crash_after_step_2(interrupted)
    run_rlvr(load_run_config(interrupted), None, interrupted, resume=True)
    assert_same(weights(straight), weights(interrupted))
    steps = [r["step"] for r in read_metrics(interrupted) if r["phase"] == "rlvr"]
    assert steps == [1, 2, 3, 4]


def test_new_run_refuses_to_overwrite(tmp_path, config, mle_run):
    with pytest.raises(FileExistsError, match="--resume"):
        run_mle(config, mle_run)


def test_first_losses_are_pinned(mle_run):
    """The debug run's first MLE losses, pinned: a change here means the data, tokenizer,
    initialisation or loss changed, which must be deliberate."""
    losses = [round(r["loss"], 4) for r in read_metrics(mle_run) if r["phase"] == "mle"][:3]
    assert losses == PINNED_LOSSES
