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


def test_grpo_two_processes_equal_one(init_run, tmp_path):
    args = ["train", "rlvr", *rlvr_overrides(3), "--init", str(init_run)]
    launch([*args, "--out", str(tmp_path / "one")])
    launch([*args, "--out", str(tmp_path / "two")], processes=2)
    one, two = _final(tmp_path / "one", 3), _final(tmp_path / "two", 3)
    moved = max_abs_diff(one, load_parameters(init_run / "checkpoints" / "best"))
    assert max_abs_diff(one, two) <= TOLERANCE
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
    assert max_abs_diff(_final(tmp_path / "one", 4), _final(tmp_path / "two", 4)) <= TOLERANCE


def test_resume_under_another_world_size(init_run, tmp_path):
    """2 processes stop after step 2; 1 process resumes; the result is the uninterrupted run."""
    args = ["train", "rlvr", *rlvr_overrides(3), "rlvr.save_every=1", "--init", str(init_run)]
    launch([*args, "--out", str(tmp_path / "whole")])
    launch([*args, "--out", str(tmp_path / "cut")], processes=2)
    cut = tmp_path / "cut"
    shutil.rmtree(cut / "checkpoints" / "step_000003")
    atomic_write_text(cut / "checkpoints" / "latest", "step_000002\n")
    launch(["train", "rlvr", "--resume", "--out", str(cut)])
    assert max_abs_diff(_final(tmp_path / "whole", 3), _final(cut, 3)) <= TOLERANCE
