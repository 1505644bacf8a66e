"""Checkpoints hold no pickles, survive damage and kills, and are pruned as configured.

The states a kill leaves behind are built here file by file (a folder renamed aside, a
temporary folder half written, a truncated file); tests/train/test_fault_injection.py kills
real training processes at each write."""

import json
import os
import pickle
import random

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from rlvr_world.core.checkpoint import (
    CheckpointError,
    atomic_write_text,
    best_checkpoint,
    checkpoint_problem,
    latest_checkpoint,
    load_trainer_state,
    non_finite_weights,
    recover_checkpoints,
    save_checkpoint,
)
from rlvr_world.core.seeding import rng_state, set_rng_state
from rlvr_world.core.trainer_state import read_trainer_state, write_trainer_state


def trained_state(model):
    """A real trainer state: AdamW after one step, RNG states, loop counters."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.999))
    model(torch.tensor([[1, 3, 4]])).logits.sum().backward()
    optimizer.step()
    loop = {"step": 1, "best_score": -float("inf"), "best_step": 0}
    return {"optimizer": optimizer.state_dict(), "rng": rng_state(), "loop": loop}


def assert_same(a, b):
    """Equal values of equal types, tensors and arrays bit for bit."""
    assert type(a) is type(b), (a, b)
    if isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and torch.equal(a, b)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    else:
        assert a == b or (a != a and b != b)


def test_trainer_state_round_trips_every_type_without_pickles(tmp_path, make_model):
    state = trained_state(make_model())
    state["odd"] = {"keys": {0: "int", "0": "str", (1, 2): None}, "nan": float("nan")}
    state["numpy"] = [np.float32(0.5), np.int64(3), np.zeros(2, dtype=np.uint32)]
    state["__tuple__"] = True  # a key spelled like a tag is still a key
    write_trainer_state(tmp_path, state)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "trainer_state.json",
        "trainer_state.safetensors",
    ]
    assert_same(read_trainer_state(tmp_path), state)
    assert "optimizer/state/0/exp_avg" in load_file(str(tmp_path / "trainer_state.safetensors"))


def test_restored_rng_states_draw_the_same_numbers(tmp_path):
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    write_trainer_state(tmp_path, {"rng": rng_state()})
    draws = (random.random(), np.random.rand(), torch.rand(1))
    set_rng_state(read_trainer_state(tmp_path)["rng"])
    assert (random.random(), np.random.rand(), torch.rand(1)) == draws


def test_checkpoint_holds_no_pickle(tmp_path, make_model):
    model = make_model()
    path = save_checkpoint(tmp_path, 1, model, trained_state(model), {"seed": 0})
    files = sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file())
    assert not [f for f in files if f.endswith((".pt", ".bin", ".pkl"))], files
    assert load_trainer_state(path)["step"] == 1


def test_older_trainer_state_pt_loads_without_running_code(tmp_path, make_model):
    """A folder written before safetensors trainer states: its pickle holds numpy RNG arrays,
    read through an allow-list."""
    state = {"step": 2, **trained_state(make_model())}
    torch.save(state, tmp_path / "trainer_state.pt")
    assert_same(load_trainer_state(tmp_path), state)


class Payload:
    """Unpickling this runs `Path.touch`: what a crafted run folder would do."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        from pathlib import Path

        return Path.touch, (Path(self.marker),)


@pytest.mark.parametrize("writer", ["torch.save", "pickle.dump"])
def test_crafted_trainer_state_pt_is_refused_and_runs_nothing(tmp_path, writer):
    marker = tmp_path / "code-ran"
    state = {"step": 1, "loop": Payload(marker)}
    if writer == "torch.save":
        torch.save(state, tmp_path / "trainer_state.pt")
    else:  # a bare pickle, not torch's zip archive
        (tmp_path / "trainer_state.pt").write_bytes(pickle.dumps(state, protocol=2))
    with pytest.raises(CheckpointError, match="trainer_state.pt: refused to load") as error:
        load_trainer_state(tmp_path)
    assert "\n" not in str(error.value)
    assert not marker.exists()


def write_steps(folder, model, steps, **options):
    return [save_checkpoint(folder, s, model, {"loop": {"step": s}}, {}, **options) for s in steps]


@pytest.mark.parametrize("pointer", [None, "", "step_000009\n", "../elsewhere\n"])
def test_missing_empty_or_dangling_latest_is_rebuilt(tmp_path, make_model, pointer):
    write_steps(tmp_path, make_model(), [1, 2])
    if pointer is None:
        (tmp_path / "latest").unlink()
    else:
        (tmp_path / "latest").write_text(pointer)
    with pytest.warns(UserWarning, match="latest is missing, empty or dangling: using .*2"):
        found = latest_checkpoint(tmp_path)
    assert found == tmp_path / "step_000002"
    recover_checkpoints(tmp_path, found)
    assert (tmp_path / "latest").read_text() == "step_000002\n"


def truncate(path, keep=0.5):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


DAMAGE = {
    "truncated weights": lambda p: truncate(p / "model" / "model.safetensors"),
    "empty weights": lambda p: truncate(p / "model" / "model.safetensors", 0),
    "missing weights": lambda p: (p / "model" / "model.safetensors").unlink(),
    "truncated tensors": lambda p: truncate(p / "trainer_state.safetensors", 0.9),
    "missing tensors": lambda p: (p / "trainer_state.safetensors").unlink(),
    "empty state": lambda p: truncate(p / "trainer_state.json", 0),
    "truncated state": lambda p: truncate(p / "trainer_state.json"),
    "missing config": lambda p: (p / "config.json").unlink(),
    "missing model config": lambda p: (p / "model" / "config.json").unlink(),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_newest_checkpoint_is_skipped_with_a_warning(tmp_path, make_model, damage):
    _, newest = write_steps(tmp_path, make_model(), [1, 2])
    DAMAGE[damage](newest)
    assert checkpoint_problem(newest) is not None
    with pytest.warns(UserWarning, match=f"skipping damaged checkpoint {newest}"):
        assert latest_checkpoint(tmp_path) == tmp_path / "step_000001"


def test_best_is_found_and_restored_after_a_kill_in_its_swap(tmp_path, make_model):
    """A kill between the swap's two renames leaves `.best.previous` (whole) and the new
    folder under its temporary name: readers still find a best, start-up puts it back."""
    model = make_model()
    save_checkpoint(tmp_path, 1, model, {}, {}, tag="best")
    os.replace(tmp_path / "best", tmp_path / ".best.previous")
    (tmp_path / ".best.1a2b3c4d").mkdir()  # the replacement, not yet renamed in
    (tmp_path / ".step_000003.5e6f7a8b" / "model").mkdir(parents=True)  # a write cut short
    (tmp_path / ".latest.x1.tmp").write_text("step_000003\n")
    assert best_checkpoint(tmp_path) == tmp_path / ".best.previous"
    with pytest.warns(UserWarning, match="restored .*best"):
        recover_checkpoints(tmp_path, None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best"]
    assert load_trainer_state(tmp_path / "best")["step"] == 1


def test_best_is_replaced_whole(tmp_path, make_model):
    model = make_model()
    save_checkpoint(tmp_path, 1, model, {}, {}, tag="best")
    save_checkpoint(tmp_path, 2, model, {}, {}, tag="best")
    (tmp_path / ".best.previous").mkdir()  # left half removed by a kill after a swap
    save_checkpoint(tmp_path, 3, model, {}, {}, tag="best")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best"]
    assert load_trainer_state(tmp_path / "best")["step"] == 3


def test_retention_keeps_the_last_n_and_best(tmp_path, make_model):
    model = make_model()
    save_checkpoint(tmp_path, 1, model, {}, {}, tag="best")
    write_steps(tmp_path, model, [1, 2, 3, 4], keep_last=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "best",
        "latest",
        "step_000003",
        "step_000004",
    ]
    # resumed from step 3 (step 4 damaged): writing step 4 again replaces it, step 3 stays
    truncate(tmp_path / "step_000004" / "model" / "model.safetensors")
    write_steps(tmp_path, model, [4], keep_last=2)
    assert checkpoint_problem(tmp_path / "step_000004") is None
    assert (tmp_path / "step_000003").is_dir()
    write_steps(tmp_path, model, [1, 2, 3, 4])  # keep_last 0 or None: all
    assert len(list(tmp_path.glob("step_*"))) == 4


def test_non_finite_weights_are_named(tmp_path, make_model):
    model = make_model()
    path = save_checkpoint(tmp_path, 1, model, {}, {})
    assert non_finite_weights(path / "model") == []
    with torch.no_grad():
        model.model.norm.weight[0] = float("nan")
    path = save_checkpoint(tmp_path, 2, model, {}, {})
    assert non_finite_weights(path / "model") == ["model.norm.weight"]


def test_files_take_the_users_umask(tmp_path, make_model):
    old = os.umask(0o022)
    try:
        path = save_checkpoint(tmp_path, 1, make_model(), {}, {"seed": 0})
        atomic_write_text(tmp_path / "note.txt", "x")
    finally:
        os.umask(old)
    for file in [*path.rglob("*"), tmp_path / "latest", tmp_path / "note.txt"]:
        mode = file.stat().st_mode & 0o777
        assert mode == (0o755 if file.is_dir() else 0o644), (file, oct(mode))
    assert json.loads((path / "config.json").read_text()) == {"seed": 0}
