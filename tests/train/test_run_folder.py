"""Run-folder pieces on their own: the lock, metrics repairs, TensorBoard cuts, manifests."""

import json

import pytest

from rlvr_world.train.run_folder import (
    Logger,
    RunFolderWarning,
    RunLock,
    RunLockedError,
    config_differences,
    drop_torn_tail,
    manifest_problem,
    truncate_events,
    write_manifest,
)


def test_one_lock_per_folder_even_within_a_process(tmp_path):
    with RunLock(tmp_path / "run") as first:
        holder = json.loads(first.path.read_text())
        with pytest.raises(RunLockedError, match=f"process {holder['pid']} on {holder['host']}"):
            RunLock(tmp_path / "run").acquire()
    assert not (tmp_path / "run").exists()  # made for the lock, left empty: removed
    (tmp_path / "kept").mkdir()
    with RunLock(tmp_path / "kept"):
        pass
    assert (tmp_path / "kept").is_dir() and not (tmp_path / "kept" / ".lock").exists()


def test_an_unnamed_holder_is_still_refused(tmp_path):
    """A holder that has locked but not yet written its name."""
    import fcntl

    (tmp_path / ".lock").touch()
    with (tmp_path / ".lock").open("a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(RunLockedError, match="its lock file names none yet"):
            RunLock(tmp_path).acquire()


@pytest.mark.parametrize(
    "text, kept, warned",
    [
        ('{"step": 1}\n{"step": 2', '{"step": 1}\n', True),  # torn: dropped
        ('{"step": 1}\n{"step": 2}', '{"step": 1}\n{"step": 2}\n', False),  # whole: kept
        ('{"st', "", True),  # the only line, torn
        ('{"step": 1}\n', '{"step": 1}\n', False),  # nothing to repair
    ],
)
def test_drop_torn_tail(tmp_path, recwarn, text, kept, warned):
    path = tmp_path / "metrics.jsonl"
    path.write_text(text)
    drop_torn_tail(path)
    assert path.read_text() == kept
    assert [w.category for w in recwarn] == ([RunFolderWarning] if warned else [])


def test_truncate_events_keeps_other_phases(tmp_path):
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    logger = Logger(tmp_path)
    for step in (1, 2, 3):
        logger.log("tokenizer", step, {"loss": 1.0})
        logger.log("mle", step, {"loss": 1.0})
        logger.log("mle/eval", step, {"score": 0.5})
    logger.close()
    truncate_events(tmp_path / "tb", "mle", 1)
    (path,) = (tmp_path / "tb").glob("events.out.tfevents.*")
    points = [
        (value.tag, event.step)
        for event in EventFileLoader(str(path)).Load()
        for value in event.summary.value
    ]
    assert sorted(points) == [
        ("mle/eval/score", 1),
        ("mle/loss", 1),
        ("tokenizer/loss", 1),
        ("tokenizer/loss", 2),
        ("tokenizer/loss", 3),
    ]


def test_manifest_names_what_differs(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "tokenizer").mkdir()
    for name in ("a", "b", "c", "d"):
        (tmp_path / "data" / f"{name}.jsonl").write_text(name * 10)
    write_manifest(tmp_path)
    assert manifest_problem(tmp_path) is None
    for name in ("a", "b", "c", "d"):
        (tmp_path / "data" / f"{name}.jsonl").unlink()
    assert manifest_problem(tmp_path) == (
        "data/a.jsonl is missing; data/b.jsonl is missing; data/c.jsonl is missing and 1 more"
    )
    (tmp_path / "manifest.json").write_text("{")
    assert manifest_problem(tmp_path).startswith("manifest.json is unreadable")


def test_config_differences_name_nested_and_one_sided_fields():
    old = {"seed": 0, "mle": {"lr": 0.1, "steps": 4}, "rlvr": {"reward": "exact"}}
    new = {"seed": 0, "mle": {"lr": 0.2}, "rlvr": "x", "lora": {"r": 8}}
    assert config_differences(old, new) == ["mle.lr", "mle.steps", "rlvr", "lora"]
