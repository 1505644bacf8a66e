"""Run folders through the real CLI (textgame-debug and robot-debug: seconds).

A new run never reuses or overwrites another run's files; `--force` starts over deleting only
what runs write; a resume never uses incomplete or changed inputs and never duplicates
metrics (JSONL or TensorBoard); one process at a time trains in a folder.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rlvr_world.cli import main
from rlvr_world.train.run_folder import RunFolderWarning, read_metrics

DEBUG = ["--preset", "textgame-debug", "progress=false"]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished textgame-debug MLE run (4 steps, checkpoints at 2 and 4)."""
    run = tmp_path_factory.mktemp("runs") / "mle"
    assert main(["train", "mle", *DEBUG, "--out", str(run)]) == 0
    return run


def snapshot(*folders: Path) -> dict[str, bytes]:
    """Every file under `folders` (or the file itself) -> its bytes."""
    out = {}
    for folder in folders:
        if folder.is_file():
            out[str(folder)] = folder.read_bytes()
        for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if path.is_file():
                out[str(path)] = path.read_bytes()
    return out


def copy_of(run: Path, tmp_path: Path, name: str = "run") -> Path:
    return Path(shutil.copytree(run, tmp_path / name))


def phase_steps(run: Path, phase: str = "mle") -> list[tuple[str, int]]:
    return [(r["phase"], r["step"]) for r in read_metrics(run) if r["phase"].startswith(phase)]


def events(run: Path) -> list[tuple[str, int]]:
    """Every TensorBoard scalar of a run as (tag, step), sorted."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    points = []
    for path in sorted((run / "tb").glob("events.out.tfevents.*")):
        for event in EventFileLoader(str(path)).Load():
            points += [(value.tag, event.step) for value in event.summary.value]
    return sorted(points)


def holds_lock(run: Path, pid: int) -> bool:
    try:
        return json.loads((run / ".lock").read_text())["pid"] == pid
    except (OSError, ValueError):
        return False


def dead_pid() -> int:
    """The pid of a process that has ended."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


# --- refused before anything changes ----------------------------------------------------


def _finished_copy(tmp_path, run):
    return copy_of(run, tmp_path), []


def _leftovers(tmp_path, run):
    """A run killed while writing its data: config, run.json and part of data/."""
    out = copy_of(run, tmp_path)
    for name in ("checkpoints", "tokenizer", "tb"):
        shutil.rmtree(out / name)
    for name in ("manifest.json", "metrics.jsonl", "train_result.json"):
        (out / name).unlink()
    valid = out / "data" / "valid.jsonl"
    valid.write_bytes(valid.read_bytes()[:1000])
    return out, []


def _users_folder(tmp_path, run):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    return out, []


def _run_and_user_file(tmp_path, run):
    out = copy_of(run, tmp_path)
    (out / "notes.txt").write_text("my notes")
    return out, []


def _users_data_folder(tmp_path, run):
    """data/ of the user's own (no config, no run.json): not a run, never deleted."""
    out = tmp_path / "mine"
    (out / "data").mkdir(parents=True)
    (out / "data" / "train.jsonl").write_text('{"mine": 1}\n')
    return out, []


def _a_file(tmp_path, run):
    out = tmp_path / "file.txt"
    out.write_text("not a folder")
    return out, []


def _init_changed(tmp_path, run):
    init = copy_of(run, tmp_path, "init")
    valid = init / "data" / "valid.jsonl"
    valid.write_bytes(valid.read_bytes()[:1000])
    return tmp_path / "new", ["--init", str(init)], init


def _init_incomplete(tmp_path, run):
    init = copy_of(run, tmp_path, "init")
    (init / "manifest.json").unlink()
    return tmp_path / "new", ["--init", str(init)], init


def _init_missing(tmp_path, run):
    return tmp_path / "new", ["--init", str(tmp_path / "nowhere")]


MLE, RLVR = ["train", "mle", *DEBUG], ["train", "rlvr", *DEBUG]

REFUSED = {
    # case: (set-up -> (--out, more arguments[, a folder to watch]), command, words)
    "new run into a finished run": (
        _finished_copy,
        MLE,
        ["a textgame MLE run", "2 checkpoints", "same config", "--resume", "--force"],
    ),
    "new run with another config": (
        _finished_copy,
        [*MLE, "seed=1", "mle.lr=0.01"],
        ["differs in seed, mle.lr", "--resume", "--force"],
    ),
    "new run into a killed run's leftovers": (
        _leftovers,
        MLE,
        ["a textgame run (config, incomplete data)", "--force"],
    ),
    "new run into a folder of the user's": (_users_folder, MLE, ["holds files (notes.txt)"]),
    "--force on a run beside a user's file": (
        _run_and_user_file,
        [*MLE, "--force"],
        ["notes.txt, which no run writes", "nothing was deleted"],
    ),
    "--force on a folder that is no run": (
        _users_data_folder,
        [*MLE, "--force"],
        ["does not look like a run folder", "nothing was deleted"],
    ),
    "--out is a file": (_a_file, MLE, ["is a file, not a run folder"]),
    "--init a run whose data changed": (
        _init_changed,
        RLVR,
        ["data/valid.jsonl has 1000 bytes where", "cannot be used"],
    ),
    "--init a run whose inputs never completed": (_init_incomplete, RLVR, ["no manifest.json"]),
    "--init a folder that does not exist": (_init_missing, RLVR, ["no such run folder"]),
    "--resume with --force": (
        _finished_copy,
        ["train", "mle", "--resume", "--force"],
        ["does not go with --resume"],
    ),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_refused_with_a_clear_error_and_nothing_changed(case, finished, tmp_path, capsys):
    set_up, command, words = REFUSED[case]
    out, extra, *watched = set_up(tmp_path, finished)
    before = snapshot(out, *watched)
    existed = out.exists()
    code = main([*command, "--out", str(out), *extra])
    error = capsys.readouterr().err
    assert code != 0 and error.startswith("error: ") and len(error.splitlines()) == 1, error
    for word in words:
        assert word in error
    assert out.exists() == existed  # a refused run leaves no folder (nor lock) behind
    assert snapshot(out, *watched) == before


RESUME_REFUSED = {
    # case: (what happened to the finished run, words)
    "truncated data file": (
        lambda run: (run / "data" / "valid.jsonl").write_bytes(b'{"id": '),
        ["data/valid.jsonl has 7 bytes", "step_000004 was trained on them", "--force"],
    ),
    "changed tokenizer": (
        lambda run: (run / "tokenizer" / "tokenizer.json").write_text("{}" * 10),
        ["tokenizer/tokenizer.json has 20 bytes"],
    ),
    "same size, other bytes": (
        lambda run: (run / "data" / "test.jsonl").write_bytes(
            (run / "data" / "test.jsonl").read_bytes().replace(b"a", b"b")
        ),
        ["data/test.jsonl changed (sha256 differs)"],
    ),
    "file added to data": (
        lambda run: (run / "data" / "extra.jsonl").write_text("{}\n"),
        ["data/extra.jsonl was added"],
    ),
    "manifest lost": (lambda run: (run / "manifest.json").unlink(), ["no manifest.json"]),
}


@pytest.mark.parametrize("case", list(RESUME_REFUSED))
def test_resume_refuses_inputs_not_as_written(case, finished, tmp_path, capsys):
    """Once a checkpoint was trained on the data and tokenizer, other ones are refused."""
    damage, words = RESUME_REFUSED[case]
    run = copy_of(finished, tmp_path)
    damage(run)
    before = snapshot(run)
    assert main(["train", "mle", "--out", str(run), "--resume"]) == 2
    error = capsys.readouterr().err
    assert all(word in error for word in words), error
    assert snapshot(run) == before


# --- recovered ------------------------------------------------------------------------------


def test_resume_before_the_first_checkpoint_remakes_inputs_and_metrics(finished, tmp_path):
    """Killed while writing the tokenizer (no manifest, no checkpoint, some rows logged):
    the inputs are made again (the same ones: seeded), the run starts from step 0, and every
    metric appears once, in metrics.jsonl and TensorBoard."""
    run = copy_of(finished, tmp_path)
    shutil.rmtree(run / "checkpoints")
    shutil.rmtree(run / "tokenizer")
    (run / "manifest.json").unlink()
    (run / "train_result.json").unlink()
    with pytest.warns(RunFolderWarning, match="made again"):
        assert main(["train", "mle", "--out", str(run), "--resume"]) == 0
    assert phase_steps(run) == phase_steps(finished)
    assert events(run) == events(finished)
    for name in ("data/valid.jsonl", "tokenizer/tokenizer.json", "manifest.json"):
        assert (run / name).read_bytes() == (finished / name).read_bytes()


def test_resume_after_a_crash_cuts_metrics_and_events_back(finished, tmp_path):
    """Crash after step 2's checkpoint, the last metrics line torn mid-write: rows and events
    after step 2 are rewritten once, the torn line dropped with a warning."""
    run = copy_of(finished, tmp_path)
    shutil.rmtree(run / "checkpoints" / "step_000004")
    (run / "checkpoints" / "latest").write_text("step_000002\n")
    with (run / "metrics.jsonl").open("a") as handle:
        handle.write('{"phase": "mle", "step": 5, "lo')
    with pytest.warns(RunFolderWarning, match="torn"):
        assert main(["train", "mle", "--out", str(run), "--resume"]) == 0
    assert phase_steps(run) == phase_steps(finished)
    assert events(run) == events(finished)


def test_resume_without_any_checkpoint_starts_over_once(finished, tmp_path):
    """Every checkpoint lost (inputs intact): step 0 again, the old rows gone."""
    run = copy_of(finished, tmp_path)
    shutil.rmtree(run / "checkpoints")
    assert main(["train", "mle", "--out", str(run), "--resume"]) == 0
    assert phase_steps(run) == phase_steps(finished)
    assert events(run) == events(finished)


def test_read_metrics_leaves_out_a_torn_line(finished, tmp_path):
    run = copy_of(finished, tmp_path)
    rows = (run / "metrics.jsonl").read_text()
    (run / "metrics.jsonl").write_text('{"phase": "ml\n' + rows + '{"phase": "mle", "st')
    with pytest.warns(RunFolderWarning) as caught:
        assert read_metrics(run) == read_metrics(finished)
    lines = len(rows.splitlines()) + 2
    named = [re.search(r"line \d+", str(w.message)).group() for w in caught]
    assert named == ["line 1", f"line {lines}"]


def test_old_run_folders_resume_and_start_runs(finished, tmp_path):
    """A run folder from before manifests (no run.json, no manifest.json) still resumes and
    still starts an RLVR run, with a warning; resuming records its manifest."""
    old = copy_of(finished, tmp_path, "old")
    (old / "run.json").unlink()
    (old / "manifest.json").unlink()
    with pytest.warns(RunFolderWarning, match="predates input manifests"):
        assert main([*RLVR, "--init", str(old), "--out", str(tmp_path / "rl")]) == 0
    assert (tmp_path / "rl" / "manifest.json").is_file()
    with pytest.warns(RunFolderWarning, match="predates input manifests"):
        assert main(["train", "mle", "--out", str(old), "--resume"]) == 0
    assert (old / "manifest.json").read_bytes() == (finished / "manifest.json").read_bytes()


def test_force_starts_over_deleting_only_run_files(finished, tmp_path):
    run = copy_of(finished, tmp_path)
    (run / "checkpoints" / "step_000099").mkdir()
    (run / "eval.json").write_text("{}")
    (run / ".config.yaml.abc123.tmp").write_text("a torn atomic write")
    assert main(["train", "mle", *DEBUG, "seed=1", "--out", str(run), "--force"]) == 0
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "best",
        "latest",
        "step_000002",
        "step_000004",
    ]
    assert not (run / "eval.json").exists() and not (run / ".config.yaml.abc123.tmp").exists()
    assert [s for _, s in phase_steps(run, "mle/eval")] == [2, 4]
    assert (
        json.loads((run / "run.json").read_text())["config_sha256"]
        != json.loads((finished / "run.json").read_text())["config_sha256"]
    )


# --- one process per run folder -----------------------------------------------------------


def test_a_second_process_is_refused_and_a_dead_ones_lock_taken_over(tmp_path, capsys):
    """A training process holds the folder: a new run, a resume and --force into it are
    refused at once, naming it (pid, host). Killed, it leaves its lock file, which the next
    run takes over with a warning."""
    run = tmp_path / "run"
    long = [*DEBUG, "mle.steps=100000", "mle.eval_every=0", "mle.save_every=0"]
    command = [sys.executable, "-m", "rlvr_world.cli", "train", "mle", *long, "--out", str(run)]
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        # the holder has the lock and has recorded its run (what a resume reads first)
        while not (holds_lock(run, first.pid) and (run / "config.yaml").exists()):
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        holder = f"process {first.pid} on {socket.gethostname()}"
        for arguments in (["mle", *DEBUG], ["mle", "--resume"], ["mle", *DEBUG, "--force"]):
            started = time.monotonic()
            assert main(["train", *arguments, "--out", str(run)]) == 2
            assert time.monotonic() - started < 60  # at once, not after the holder's run
            error = capsys.readouterr().err
            assert f"is in use by {holder}" in error, error
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert json.loads((run / ".lock").read_text())["pid"] == first.pid  # left behind
    with pytest.warns(RunFolderWarning, match=f"lock left by process {first.pid} on"):
        assert main(["train", "mle", *DEBUG, "--out", str(run), "--force"]) == 0
    assert not (run / ".lock").exists()  # released at the end
    assert [s for _, s in phase_steps(run, "mle/eval")] == [2, 4]


def test_a_stale_lock_file_is_taken_over_on_resume(finished, tmp_path):
    run = copy_of(finished, tmp_path)
    pid = dead_pid()
    lock = {"pid": pid, "host": socket.gethostname(), "since": "2020-01-01T00:00:00+0000"}
    (run / ".lock").write_text(json.dumps(lock))
    with pytest.warns(RunFolderWarning, match=f"process {pid} on"):
        assert main(["train", "mle", "--out", str(run), "--resume"]) == 0
    assert not (run / ".lock").exists()


def test_the_lock_is_released_when_training_fails(finished, tmp_path, capsys):
    run = tmp_path / "run"
    missing = ["data.train_path=nowhere.jsonl", "data.test_path=nowhere.jsonl"]
    assert main([*MLE, *missing, "--out", str(run)]) != 0
    assert not (run / ".lock").exists()
    assert os.listdir(run)  # its config stays: --resume or --force say what to do next


# --- the robot domain's episodes and frame tokenizer --------------------------------------


def test_robot_inputs_are_claimed_and_checked(tmp_path, capsys):
    tokenizer_run = tmp_path / "tok"
    robot = ["--preset", "robot-debug", "progress=false"]
    assert main(["train", "tokenizer", *robot, "--out", str(tokenizer_run)]) == 0
    manifest = json.loads((tokenizer_run / "manifest.json").read_text())["files"]
    assert "data/train/episode_000000.npz" in manifest
    assert "tokenizer/autoencoder.safetensors" in manifest
    assert main(["train", "tokenizer", *robot, "--out", str(tokenizer_run)]) == 2
    error = capsys.readouterr().err
    assert "a robot tokenizer run" in error and "--resume" not in error
    episode = tokenizer_run / "data" / "train" / "episode_000001.npz"
    episode.write_bytes(episode.read_bytes()[:100])
    before = snapshot(tokenizer_run)
    out = tmp_path / "mle"
    assert main(["train", "mle", *robot, "--init", str(tokenizer_run), "--out", str(out)]) == 2
    assert "data/train/episode_000001.npz has 100 bytes" in capsys.readouterr().err
    assert not out.exists() and snapshot(tokenizer_run) == before
