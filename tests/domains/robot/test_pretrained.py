"""The frame and future-frame tokenizers shipped in the package (`pretrained:robot-tiny`): they
load into their preset's architecture, reconstruct held-out frames to the figures they ship
with (and BENCHMARKS.md quotes), and a run only uses them for the recipe they were trained on."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.torch import load_file

from rlvr_world.core.config import ConfigError
from rlvr_world.domains.robot import pretrained
from rlvr_world.domains.robot.config import check_phase
from rlvr_world.domains.robot.setup import simulate, tokenizer_folder
from rlvr_world.train.config import parse_override
from rlvr_world.train.presets import build_config
from rlvr_world.video.autoencoder import FrameAutoencoder, FutureAutoencoder
from rlvr_world.video.tokenizer import VideoTokenizer
from rlvr_world.video.training import (
    _shape,
    future_metrics,
    future_pairs,
    reconstruction_metrics,
)

NAME = "pretrained:robot-tiny"
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def shipped():
    folder = pretrained.folder(NAME)
    config = build_config(pretrained.recipe(NAME)["preset"])
    return folder, config


def test_shipped_tokenizers_are_small_safetensors_with_their_recipe(shipped):
    folder, config = shipped
    files = {p.name: p.stat().st_size for p in folder.iterdir()}
    assert sum(files.values()) <= 20 * 2**20
    assert {"autoencoder.safetensors", "future.safetensors"} <= set(files)
    assert not [name for name in files if name.endswith((".pt", ".pkl", ".bin"))]
    recipe = pretrained.recipe(NAME)
    # `train tokenizer --preset <recipe preset>` is the recipe: the same sections
    assert recipe["preset"] == "robot-tokenizer"
    ours = json.loads(json.dumps(dataclasses.asdict(config.tokenizer)))
    assert recipe["tokenizer"] == ours
    assert recipe["video"] == json.loads(json.dumps(dataclasses.asdict(config.video)))
    assert recipe["seed"] == config.seed


def test_shipped_weights_load_into_the_presets_architecture(shipped):
    folder, config = shipped
    cfg, size = config.tokenizer, config.video.frame_size
    frame = FrameAutoencoder(_shape(cfg.levels, cfg.channels, cfg, size))
    frame.load_state_dict(load_file(str(folder / "autoencoder.safetensors")), strict=True)
    future = FutureAutoencoder(_shape(cfg.future_levels, cfg.future_channels, cfg, size))
    future.load_state_dict(load_file(str(folder / "future.safetensors")), strict=True)


def test_shipped_tokenizers_reconstruct_held_out_frames_as_recorded(shipped):
    folder, config = shipped
    tokenizer = VideoTokenizer.load(folder)
    recorded = json.loads((folder / "eval.json").read_text())
    video = dataclasses.replace(config.video, train_episodes_per_task=0, test_episodes_per_task=0)
    valid = simulate(video, config.seed)["valid"]  # the run's validation episodes, same seeds
    frames = np.concatenate([np.asarray(e["image"]) for e in valid])[: config.tokenizer.eval_frames]
    measured = reconstruction_metrics(tokenizer.autoencoder, frames)
    pairs = future_pairs(
        [np.asarray(e["image"]) for e in valid],
        config.video.rollout_frames,
        np.random.default_rng(config.seed + 1),
        config.tokenizer.eval_frames,
    )
    measured_future = future_metrics(tokenizer.future, *pairs)
    for got, want in ((measured, recorded), (measured_future, recorded["future"])):
        assert got["psnr"] == pytest.approx(want["psnr"], abs=0.02)
        assert got["ssim"] == pytest.approx(want["ssim"], abs=2e-3)
        assert got["lpips"] == pytest.approx(want["lpips"], abs=2e-3)
    # BENCHMARKS.md quotes these figures
    benchmarks = (ROOT / "BENCHMARKS.md").read_text()
    for figures in (recorded, recorded["future"]):
        assert f"PSNR {figures['psnr']:.1f} dB" in benchmarks
        assert f"LPIPS {figures['lpips']:.3f}" in benchmarks


def test_a_run_uses_a_shipped_tokenizer_only_for_its_recipe():
    config = build_config("robot-quickstart")
    assert tokenizer_folder(config.video.tokenizer_path) == pretrained.folder(NAME)
    check_phase(config, "mle")  # its recipe: passes
    other = build_config("robot-quickstart", parse_override("tokenizer.steps=10"))
    with pytest.raises(ConfigError, match=r"tokenizer\.steps.*tokenizer_path=null"):
        check_phase(other, "mle")
    small = build_config("robot-quickstart", parse_override("video.frame_size=32"))
    with pytest.raises(ConfigError, match=r"video\.frame_size"):
        check_phase(small, "mle")
    own = build_config("robot-quickstart", parse_override("video.tokenizer_path=null"))
    assert own.video.tokenizer_path is None
    check_phase(own, "mle")
    with pytest.raises(
        ConfigError, match="no such shipped tokenizer; known: pretrained:robot-tiny"
    ):
        build_config("robot-quickstart", parse_override("video.tokenizer_path=pretrained:nope"))
