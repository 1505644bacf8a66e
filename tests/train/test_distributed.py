"""Data-parallel training: 2 gloo processes under torchrun == 1 process, same global batch."""

import shutil

import pytest
import torch

from rlvr_world.bench.distributed import (
    INIT,
    launch,
    load_parameters,
    max_abs_diff,
    rlvr_overrides,
)
from rlvr_world.core.checkpoint import atomic_write_text
from rlvr_world.core.grpo import aggregate_loss, aggregation_denominator
from rlvr_world.train.distributed import SINGLE, World

TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def init_run(tmp_path_factory):
    """A tiny MLE run whose samples earn varied task-specific rewards."""
    run = tmp_path_factory.mktemp("dist") / "mle"
    launch(["train", "mle", *INIT, "--out", str(run)])
    return run


@pytest.fixture(scope="module")
def rlvr_args(init_run):
    return ["train", "rlvr", *rlvr_overrides(3), "rlvr.save_every=1", "--init", str(init_run)]


@pytest.fixture(scope="module")
def single_run(rlvr_args, init_run):
    """The RLVR run in one plain process (checkpoints every step)."""
    run = init_run.parent / "single"
    launch([*rlvr_args, "--out", str(run)])
    return run


def test_single_world_is_the_identity():
    assert SINGLE.main and not SINGLE.active
    assert SINGLE.share(6) == slice(0, 6)
    assert SINGLE.sum([1.5, 2.0]) == [1.5, 2.0]
    rows = torch.arange(6.0).reshape(3, 2)
    assert SINGLE.gather_rows(rows) is rows
    assert SINGLE.broadcast_flag(True) is True


def test_shares_are_contiguous_and_must_divide():
    assert [World(rank=r, size=2).share(8) for r in range(2)] == [slice(0, 4), slice(4, 8)]
    with pytest.raises(ValueError, match="does not split"):
        World(rank=0, size=2).share(5)


def test_a_rank_holds_the_rows_and_groups_of_its_share():
    # 4 questions of 3 samples over 2 ranks: rank 1 holds questions 2, 3 = rows 6..11
    worlds = [World(rank=r, size=2) for r in range(2)]
    assert [w.rows(4, 3) for w in worlds] == [slice(0, 6), slice(6, 12)]
    assert [w.local_groups([0, 2, 3], 4) for w in worlds] == [[0], [0, 1]]
    assert SINGLE.local_groups([1, 3], 4) == [1, 3]


@pytest.mark.parametrize("mode", ["token-mean", "sequence-mean", "constant"])
def test_shares_of_a_minibatch_sum_to_the_whole_loss(mode):
    generator = torch.Generator().manual_seed(0)
    loss = torch.randn(6, 5, generator=generator)
    mask = (torch.rand(6, 5, generator=generator) > 0.4).float()
    mask[2] = 0  # an empty row
    whole = aggregate_loss(loss, mask, mode)
    denominator = aggregation_denominator(mask, mode)
    parts = sum(
        aggregate_loss(loss[rows], mask[rows], mode, denominator=denominator)
        for rows in (slice(0, 2), slice(2, 6))
    )
    assert torch.allclose(parts, whole, atol=1e-6)


def _final(run, step):
    return load_parameters(run / "checkpoints" / f"step_{step:06d}")


def test_grpo_two_processes_equal_one(single_run, rlvr_args, init_run, tmp_path):
    launch([*rlvr_args, "--out", str(tmp_path / "two")], processes=2)
    launch([*rlvr_args, "fsdp=true", "--out", str(tmp_path / "fsdp")], processes=2)
    one, two = _final(single_run, 3), _final(tmp_path / "two", 3)
    moved = max_abs_diff(one, load_parameters(init_run / "checkpoints" / "best"))
    assert max_abs_diff(one, two) <= TOLERANCE
    # FSDP checkpoints are whole models (tied embeddings saved under both names)
    assert max_abs_diff(one, _final(tmp_path / "fsdp", 3)) <= TOLERANCE
    assert moved > 100 * TOLERANCE  # the runs trained: equality is not two untouched models
    # rank 0 alone writes the run folder's log, one row per step
    rows = [line for line in (tmp_path / "two" / "metrics.jsonl").read_text().splitlines()]
    assert sum('"phase": "rlvr"' in r for r in rows) == 3


def test_mle_two_processes_equal_one(tmp_path):
    args = [
        "train",
        "mle",
        "--preset",
        "textgame-debug",
        "mle.steps=4",
        "mle.batch_size=8",
        "mle.micro_batch_size=2",
        "mle.save_every=4",
    ]
    launch([*args, "--out", str(tmp_path / "one")])
    launch([*args, "--out", str(tmp_path / "two")], processes=2)
    launch([*args, "fsdp=true", "--out", str(tmp_path / "fsdp")], processes=2)
    one = _final(tmp_path / "one", 4)
    assert max_abs_diff(one, _final(tmp_path / "two", 4)) <= TOLERANCE
    assert max_abs_diff(one, _final(tmp_path / "fsdp", 4)) <= TOLERANCE


@pytest.mark.parametrize("sharded", [False, True], ids=["replicated", "fsdp"])
def test_resume_under_another_world_size(single_run, rlvr_args, tmp_path, sharded):
    """2 processes (FSDP or not) stop after step 2; 1 process resumes (optimiser state by
    parameter name from FSDP); the result is the uninterrupted single-process run."""
    cut = tmp_path / "cut"
    launch([*rlvr_args, f"fsdp={str(sharded).lower()}", "--out", str(cut)], processes=2)
    shutil.rmtree(cut / "checkpoints" / "step_000003")
    atomic_write_text(cut / "checkpoints" / "latest", "step_000002\n")
    launch(["train", "rlvr", "--resume", "--out", str(cut)])
    assert max_abs_diff(_final(single_run, 3), _final(cut, 3)) <= TOLERANCE
