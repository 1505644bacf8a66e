"""SIGKILL inside each checkpoint write, through the real CLI, then `--resume`: the run ends
with the same weights as an uninterrupted one, bit for bit, and a `best` exists throughout.

Each killed run is `python -c` of a wrapper that wraps one write (`os.replace`, the model's
safetensors writer) to kill its own process at the Nth matching call, then calls
`rlvr_world.cli.main`. Held-out selection is replaced by the step number in every run here
(killed, resumed, uninterrupted), so that each evaluation improves and `best` is replaced,
not only written once.
"""

import json
import os
import signal
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from rlvr_world.cli import main
from rlvr_world.train.pipeline import checkpoint_path

pytestmark = pytest.mark.slow

WRAPPER = """
import json, os, signal, sys

import transformers.modeling_utils as modeling_utils

import rlvr_world.core.checkpoint as checkpoint
import rlvr_world.train.mle as mle
import rlvr_world.train.rlvr as rlvr
from rlvr_world.cli import main

rule = json.loads(sys.argv[1])
mle.heldout_selection = rlvr.heldout_selection = lambda ctx, phase, step: float(step)
seen = 0


def wrap(real, argument):
    def wrapper(*args, **kwargs):
        global seen
        path = str(args[argument])
        seen += os.path.basename(path) == rule["name"]
        due = os.path.basename(path) == rule["name"] and seen == rule["nth"]
        if due and rule["when"] == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        result = real(*args, **kwargs)
        if due and rule["when"] == "torn":  # the file half written
            os.truncate(path, os.path.getsize(path) // 2)
        if due:
            os.kill(os.getpid(), signal.SIGKILL)
        return result
    return wrapper


if rule["write"] == "model":
    modeling_utils.safe_save_file = wrap(modeling_utils.safe_save_file, 1)
else:
    side = {"src": 0, "dst": 1}[rule["write"]]
    os.replace = wrap(os.replace, side)
sys.exit(main(sys.argv[2:]))
"""

DEBUG = ["--preset", "textgame-debug", "progress=false", "keep_checkpoints=2"]
MLE = ["train", "mle", *DEBUG, "mle.save_every=1"]
RLVR = [*DEBUG, "rlvr.steps=3", "rlvr.skip_zero_variance=false"]

MLE_KILLS = {  # the run: step_1, best@2, step_2, step_3 (-step_1), best@4, step_4 (-step_2)
    "inside the model file of step 3": {
        "write": "model",
        "name": "model.safetensors",
        "nth": 4,
        "when": "torn",
        "left": ".step_000003.*",
    },
    "renaming step 3 into place": {
        "write": "dst",
        "name": "step_000003",
        "nth": 1,
        "when": "before",
        "left": ".step_000003.*",
    },
    "between the renames of the best swap": {
        "write": "src",
        "name": "best",
        "nth": 1,
        "left": ".best.previous",
    },
    "before latest names step 4": {
        "write": "dst",
        "name": "latest",
        "nth": 4,
        "when": "before",
        "left": ".latest.*.tmp",
    },
    "removing step 2 (retention)": {
        "write": "dst",
        "name": ".step_000002.removed",
        "nth": 1,
        "left": ".step_000002.removed",
    },
}
RLVR_KILLS = {  # the run: best@0, best@1, step_1, best@2, step_2, best@3, step_3 (-step_1)
    "between the renames of the best swap": {
        "write": "src",
        "name": "best",
        "nth": 2,
        "left": ".best.previous",
    },
    "before latest names step 3": {
        "write": "dst",
        "name": "latest",
        "nth": 3,
        "when": "before",
        "left": ".latest.*.tmp",
    },
}


def selection_by_step(monkeypatch):
    step = lambda ctx, phase, step: float(step)  # noqa: E731
    monkeypatch.setattr("rlvr_world.train.mle.heldout_selection", step)
    monkeypatch.setattr("rlvr_world.train.rlvr.heldout_selection", step)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    runs = tmp_path_factory.mktemp("uninterrupted")
    with pytest.MonkeyPatch.context() as monkeypatch:
        selection_by_step(monkeypatch)
        assert main([*MLE, "--out", str(runs / "mle")]) == 0
        rlvr = ["train", "rlvr", *RLVR, "--init", str(runs / "mle")]
        assert main([*rlvr, "--out", str(runs / "rlvr")]) == 0
    return runs


def killed(rule: dict, argv: list[str], run) -> None:
    """Run the CLI with `rule`'s kill; it must die there, leaving `rule["left"]` behind."""
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, json.dumps({"when": "after", **rule}), *argv],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        timeout=600,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    assert list((run / "checkpoints").glob(rule["left"])), rule
    best = checkpoint_path(run, "best")  # a `best` exists even in the middle of its swap
    assert best.name == ("best" if rule["left"] != ".best.previous" else ".best.previous")


def assert_same_checkpoints(run, reference):
    names = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert names == sorted(p.name for p in (reference / "checkpoints").iterdir())
    for name in names:
        if name == "latest":
            continue
        a = load_file(str(run / "checkpoints" / name / "model" / "model.safetensors"))
        b = load_file(str(reference / "checkpoints" / name / "model" / "model.safetensors"))
        assert a.keys() == b.keys()
        for key in a:
            assert torch.equal(a[key], b[key]), (name, key)
    result = json.loads((run / "train_result.json").read_text())
    assert result == json.loads((reference / "train_result.json").read_text())


@pytest.mark.parametrize("where", sorted(MLE_KILLS))
def test_mle_killed_inside_a_write_resumes_bit_for_bit(tmp_path, uninterrupted, where, monkeypatch):
    run = tmp_path / "mle"
    killed(MLE_KILLS[where], [*MLE, "--out", str(run)], run)
    selection_by_step(monkeypatch)
    assert main(["train", "mle", "--out", str(run), "--resume"]) == 0
    assert_same_checkpoints(run, uninterrupted / "mle")


@pytest.mark.parametrize("where", sorted(RLVR_KILLS))
def test_rlvr_killed_inside_a_write_resumes_bit_for_bit(
    tmp_path, uninterrupted, where, monkeypatch
):
    run = tmp_path / "rlvr"
    init = uninterrupted / "mle"
    killed(RLVR_KILLS[where], ["train", "rlvr", *RLVR, "--init", str(init), "--out", str(run)], run)
    selection_by_step(monkeypatch)
    assert main(["train", "rlvr", "--out", str(run), "--resume"]) == 0
    assert_same_checkpoints(run, uninterrupted / "rlvr")
