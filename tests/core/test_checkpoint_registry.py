import json
import math
import os

import pytest
import torch

from rlvr_world.core.checkpoint import (
    atomic_write_text,
    latest_checkpoint,
    load_trainer_state,
    save_checkpoint,
)
from rlvr_world.core.model import ModelConfig, build_llama, load_model
from rlvr_world.core.registry import Registry


def tiny_model():
    torch.manual_seed(0)
    return build_llama(
        ModelConfig(
            hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32, max_positions=32
        ),
        vocab_size=10,
        pad_id=0,
        bos_id=1,
        eos_id=2,
    )


def test_checkpoint_round_trip_and_latest(tmp_path):
    model = tiny_model()
    save_checkpoint(tmp_path, 3, model, {"data": {"epoch": 1}}, {"seed": 0})
    path = save_checkpoint(tmp_path, 5, model, {"data": {"epoch": 2}}, {"seed": 0}, keep_last=1)
    assert latest_checkpoint(tmp_path) == path
    assert not (tmp_path / "step_000003").exists()  # pruned by keep_last
    state = load_trainer_state(path)
    assert state["step"] == 5 and state["data"] == {"epoch": 2}
    assert json.loads((path / "config.json").read_text()) == {"seed": 0}
    loaded = load_model(path / "model")
    for a, b in zip(model.state_dict().values(), loaded.state_dict().values()):
        assert torch.equal(a, b)


def test_failed_save_leaves_no_partial_checkpoint(tmp_path):
    model = tiny_model()
    good = save_checkpoint(tmp_path, 1, model, {}, {})

    with pytest.raises(TypeError, match="trainer state at bad: a object cannot be saved"):
        save_checkpoint(tmp_path, 2, model, {"bad": object()}, {})
    assert latest_checkpoint(tmp_path) == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest", "step_000001"]


def test_atomic_write_text_replaces_whole_file(tmp_path):
    target = tmp_path / "a" / "f.txt"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert os.listdir(target.parent) == ["f.txt"]


def test_registry_lazy_names_and_errors():
    registry = Registry("reward", {"sqrt": "math:sqrt", "direct": abs})
    assert registry.get("sqrt")(16.0) == 4.0
    assert registry.get("direct")(-2) == 2
    assert registry.get("math:floor")(2.5) == math.floor(2.5)
    with pytest.raises(KeyError, match="known: direct, sqrt"):
        registry.get("nope")
    with pytest.raises(KeyError, match="cannot load"):
        registry.get("math:no_such_function")
