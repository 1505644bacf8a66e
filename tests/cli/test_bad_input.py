"""Bad input to every command that reads a file or a value, through the real CLI.

Each case runs `rlvr_world.cli.main([...])` and expects: a non-zero exit code (2: the command
or its inputs are wrong; 1: a run failed), exactly one `error: ...` line on stderr holding the
words that name the file or field, no traceback, and every file that existed before (the
inputs, the run folder) byte for byte as it was, with nothing new beside it.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from rlvr_world.cli import error_message, main

DEBUG = ["--preset", "textgame-debug", "progress=false"]
GOLD = "New items:\n[5] alert 'Saved'\n\nDeleted items:\nNone\n\nUpdated items:\nNone"


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A finished textgame-debug MLE run; its `data/test.jsonl` is the scorers' data."""
    run = tmp_path_factory.mktemp("runs") / "mle"
    assert main(["train", "mle", *DEBUG, "--out", str(run)]) == 0
    return run


def write(path: Path, content: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def jsonl(path: Path, rows: list) -> Path:
    return write(path, "".join(json.dumps(row) + "\n" for row in rows))


def npz(path: Path, **arrays) -> Path:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return write(path, buffer.getvalue())


def frames(n: int = 2) -> np.ndarray:
    return np.zeros((n, 8, 8, 3), dtype=np.uint8)


def declared(path: Path, shape: tuple[int, ...]) -> Path:
    """An npz whose `frames` header declares `shape` (uint8) over a few bytes of data."""
    member = io.BytesIO()
    header = {"descr": "|u1", "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(member, header)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("frames.npy", member.getvalue() + b"\0" * 16)
    return path


def copy_of(run: Path, tmp: Path) -> Path:
    return Path(shutil.copytree(run, tmp / "copy"))


def scorer_data(run: Path) -> Path:
    return run / "data" / "test.jsonl"


def first_ids(run: Path, count: int = 2) -> list[str]:
    rows = [json.loads(line) for line in scorer_data(run).read_text().splitlines()[:count]]
    return [f"{row['game']}/{row['state_id']}" for row in rows]


def predictions(tmp: Path, run: Path) -> Path:
    return jsonl(tmp / "p.jsonl", [{"id": i, "response": "x"} for i in first_ids(run)])


def score_textgame(data, preds, out) -> list[str]:
    return [
        "score",
        "textgame",
        "--data",
        str(data),
        "--predictions",
        str(preds),
        "--out",
        str(out),
    ]


def score_web(data, preds, out) -> list[str]:
    return ["score", "web", "--data", str(data), "--predictions", str(preds), "--out", str(out)]


def score_video(pred, target, out) -> list[str]:
    return ["score", "video", "--pred", str(pred), "--target", str(target), "--out", str(out)]


def gold(tmp: Path) -> Path:
    return jsonl(tmp / "gold.jsonl", [{"id": "a", "ground_truth": GOLD}])


def web_predictions(tmp: Path) -> Path:
    return jsonl(tmp / "wp.jsonl", [{"id": "a", "response": GOLD}])


def truncate(path: Path, size: int) -> None:
    path.write_bytes(path.read_bytes()[:size])


def damaged_best(tmp: Path, run: Path) -> Path:
    """A copy of the run whose `best` weights lost their tail."""
    copy = copy_of(run, tmp)
    truncate(copy / "checkpoints" / "best" / "model" / "model.safetensors", 1000)
    return copy


def with_config(tmp: Path, run: Path, content: bytes | str) -> Path:
    copy = copy_of(run, tmp)
    write(copy / "config.yaml", content)
    return copy


def _textgame_cases() -> dict:
    """`score textgame`: outputs onto inputs, wrong kinds of paths, malformed files."""
    nested = "[" * 100_000 + "]" * 100_000
    return {
        "score textgame: --out is --data": (
            lambda t, r: score_textgame(scorer_data(r), predictions(t, r), scorer_data(r)),
            2,
            ["is the --data input"],
        ),
        "score textgame: --out is --predictions by another spelling": (
            lambda t, r: score_textgame(
                scorer_data(r), predictions(t, r), t / "sub" / ".." / "p.jsonl"
            ),
            2,
            ["is the --predictions input"],
        ),
        "score textgame: --out is a hard link to --predictions": (
            lambda t, r: (
                os.link(predictions(t, r), t / "link.jsonl"),
                score_textgame(scorer_data(r), t / "p.jsonl", t / "link.jsonl"),
            )[1],
            2,
            ["link.jsonl is the --predictions input"],
        ),
        "score textgame: --out is a symlink to --data": (
            lambda t, r: (
                (t / "alias.jsonl").symlink_to(scorer_data(r)),
                score_textgame(scorer_data(r), predictions(t, r), t / "alias.jsonl"),
            )[1],
            2,
            ["alias.jsonl is the --data input"],
        ),
        "score textgame: --out is a directory": (
            lambda t, r: score_textgame(scorer_data(r), predictions(t, r), t),
            2,
            ["is a directory"],
        ),
        "score textgame: --data missing": (
            lambda t, r: score_textgame(t / "none.jsonl", predictions(t, r), t / "o.jsonl"),
            2,
            ["none.jsonl", "no such file"],
        ),
        "score textgame: --data is a directory": (
            lambda t, r: score_textgame(r / "data", predictions(t, r), t / "o.jsonl"),
            2,
            ["data:0", "is a directory"],
        ),
        "score textgame: --data is binary": (
            lambda t, r: score_textgame(
                write(t / "d.jsonl", bytes(range(128, 256)) * 4), predictions(t, r), t / "o"
            ),
            2,
            ["d.jsonl:1", "not UTF-8"],
        ),
        "score textgame: --data parquet is garbage": (
            lambda t, r: score_textgame(
                write(t / "d.parquet", b"PAR1xx"), predictions(t, r), t / "o"
            ),
            2,
            ["d.parquet", "not a readable parquet file"],
        ),
        "score textgame: --data has an unknown suffix": (
            lambda t, r: score_textgame(write(t / "d.txt", "{}"), predictions(t, r), t / "o"),
            2,
            ["d.txt", "unknown suffix"],
        ),
        "score textgame: --data is empty": (
            lambda t, r: score_textgame(write(t / "d.jsonl", ""), predictions(t, r), t / "o"),
            2,
            ["d.jsonl", "empty file"],
        ),
        "score textgame: --data nested too deep": (
            lambda t, r: score_textgame(write(t / "d.jsonl", nested), predictions(t, r), t / "o"),
            2,
            ["d.jsonl:1"],
        ),
        "score textgame: --data .json array torn": (
            lambda t, r: score_textgame(
                write(t / "d.json", '[{"game": '), predictions(t, r), t / "o"
            ),
            2,
            ["d.json:1", "invalid JSON"],
        ),
        "score textgame: --data gives an id twice": (
            lambda t, r: score_textgame(
                write(
                    t / "d.jsonl",
                    scorer_data(r).read_text().splitlines()[0]
                    + "\n" * 2
                    + scorer_data(r).read_text().splitlines()[0]
                    + "\n",
                ),
                predictions(t, r),
                t / "o.jsonl",
            ),
            2,
            ["d.jsonl:3", "duplicate id", "d.jsonl:1"],
        ),
        "score textgame: --predictions gives an id twice": (
            lambda t, r: score_textgame(
                scorer_data(r),
                jsonl(t / "p.jsonl", [{"id": first_ids(r)[0], "response": ""}] * 2),
                t / "o.jsonl",
            ),
            2,
            ["p.jsonl:2", "duplicate id", "first at", "p.jsonl:1"],
        ),
        "score textgame: --predictions not UTF-8 on line 2": (
            lambda t, r: score_textgame(
                scorer_data(r),
                write(t / "p.jsonl", b'{"id": "a", "response": ""}\n\xff\xfe\n'),
                t / "o",
            ),
            2,
            ["p.jsonl:2", "not UTF-8"],
        ),
        "score textgame: --predictions invalid JSON": (
            lambda t, r: score_textgame(scorer_data(r), write(t / "p.jsonl", "{id\n"), t / "o"),
            2,
            ["p.jsonl:1", "invalid JSON"],
        ),
        "score textgame: --predictions row is a list": (
            lambda t, r: score_textgame(scorer_data(r), jsonl(t / "p.jsonl", [[1, 2]]), t / "o"),
            2,
            ["p.jsonl:1", "expected a JSON object"],
        ),
        "score textgame: --predictions without a response": (
            lambda t, r: score_textgame(scorer_data(r), jsonl(t / "p.jsonl", [{"id": 1}]), t / "o"),
            2,
            ["p.jsonl:1", "field 'response'"],
        ),
        "score textgame: --predictions id is a list": (
            lambda t, r: score_textgame(
                scorer_data(r), jsonl(t / "p.jsonl", [{"id": [1], "response": ""}]), t / "o"
            ),
            2,
            ["p.jsonl:1", "field 'id'"],
        ),
        "score textgame: --predictions integer of 5000 digits": (
            lambda t, r: score_textgame(
                scorer_data(r), write(t / "p.jsonl", '{"id": ' + "9" * 5000 + "}\n"), t / "o"
            ),
            2,
            ["p.jsonl:1", "unreadable JSON"],
        ),
        "score textgame: --predictions is a directory": (
            lambda t, r: score_textgame(scorer_data(r), r, t / "o.jsonl"),
            2,
            ["is a directory"],
        ),
        "score textgame: --out below a file": (
            lambda t, r: score_textgame(scorer_data(r), predictions(t, r), t / "p.jsonl" / "o"),
            2,
            ["p.jsonl"],
        ),
    }


def _web_and_video_cases() -> dict:
    huge = (10**6, 1024, 1024, 3)
    return {
        "score web: --out is --data": (
            lambda t, r: score_web(gold(t), web_predictions(t), t / "gold.jsonl"),
            2,
            ["is the --data input"],
        ),
        "score web: --data gives an id twice": (
            lambda t, r: score_web(
                jsonl(t / "g.jsonl", [{"id": "a", "ground_truth": GOLD}] * 2),
                web_predictions(t),
                t / "o.jsonl",
            ),
            2,
            ["g.jsonl:2", "duplicate id 'a'", "g.jsonl:1"],
        ),
        "score web: --data row without ground truth": (
            lambda t, r: score_web(
                jsonl(t / "g.jsonl", [{"id": "a"}]), web_predictions(t), t / "o"
            ),
            2,
            ["g.jsonl:1", "field 'ground_truth'"],
        ),
        "score web: --predictions binary": (
            lambda t, r: score_web(
                gold(t), write(t / "wp.jsonl", os.urandom(64) + b"\xff"), t / "o"
            ),
            2,
            ["wp.jsonl:"],
        ),
        "score web: --data directory": (
            lambda t, r: score_web(t, web_predictions(t), t / "o.jsonl"),
            2,
            ["is a directory"],
        ),
        "score video: --out is --pred": (
            lambda t, r: score_video(npz(t / "p.npz", frames=frames()), t / "p.npz", t / "p.npz"),
            2,
            ["is the --pred input"],
        ),
        "score video: --out is a symlink to --target": (
            lambda t, r: (
                npz(t / "p.npz", frames=frames()),
                (t / "alias.json").symlink_to(t / "p.npz"),
                score_video(t / "p.npz", t / "p.npz", t / "alias.json"),
            )[2],
            2,
            ["alias.json is the --pred input"],
        ),
        "score video: --out is a directory": (
            lambda t, r: score_video(npz(t / "p.npz", frames=frames()), t / "p.npz", t),
            2,
            ["is a directory"],
        ),
        "score video: --pred is a directory": (
            lambda t, r: score_video(t, npz(t / "t.npz", frames=frames()), t / "s.json"),
            2,
            ["is a directory"],
        ),
        "score video: --pred missing": (
            lambda t, r: score_video(t / "none.npz", npz(t / "t.npz", frames=frames()), t / "s"),
            2,
            ["none.npz: no such file"],
        ),
        "score video: declared shape beyond memory": (
            lambda t, r: score_video(declared(t / "p.npz", huge), t / "p.npz", t / "s.json"),
            2,
            ["p.npz", "declares uint8", "memory"],
        ),
        "score video: declared shape, data missing": (
            lambda t, r: score_video(declared(t / "p.npz", (4, 8, 8, 3)), t / "p.npz", t / "s"),
            2,
            ["p.npz", "cannot be read"],
        ),
        "score video: a lone .npy": (
            lambda t, r: (
                np.save(t / "p.npy", frames()),
                score_video(shutil.copy(t / "p.npy", t / "p.npz"), t / "p.npz", t / "s.json"),
            )[1],
            2,
            ["single .npy array"],
        ),
        "score video: pickled object array": (
            lambda t, r: score_video(
                npz(t / "p.npz", frames=np.array([{"a": 1}], dtype=object)), t / "p.npz", t / "s"
            ),
            2,
            ["p.npz", "cannot be read"],
        ),
        "score video: float frames": (
            lambda t, r: score_video(
                npz(t / "p.npz", frames=frames().astype(np.float32)), t / "p.npz", t / "s"
            ),
            2,
            ["must be uint8"],
        ),
        "score video: truncated archive": (
            lambda t, r: score_video(
                write(t / "p.npz", (npz(t / "x.npz", frames=frames())).read_bytes()[:60]),
                t / "x.npz",
                t / "s.json",
            ),
            2,
            ["p.npz", "not a readable .npz"],
        ),
    }


def _config_cases() -> dict:
    def config_file(content):
        return lambda t, r: ["config", *DEBUG, "--config", str(write(t / "c.yaml", content))]

    def override(text):
        return lambda t, r: ["config", *DEBUG, text]

    return {
        "config: a word for an integer": (
            override("rlvr.group_size=abc"),
            2,
            ["rlvr.group_size must be an integer, got 'abc'"],
        ),
        "config: a boolean for an integer": (
            override("mle.steps=true"),
            2,
            ["mle.steps must be an integer, got True"],
        ),
        "config: a fraction for an integer": (
            override("mle.steps=3.5"),
            2,
            ["mle.steps must be an integer, got 3.5"],
        ),
        "config: no threads": (override("threads=0"), 2, ["threads must be >= 1, got 0"]),
        "config: a word for the seed": (override("seed=abc"), 2, ["seed"]),
        "config: a negative seed": (override("seed=-1"), 2, ["seed must be in [0, 2**32)"]),
        "config: an unknown device": (override("device=gpu"), 2, ["device must be"]),
        "config: a group of one": (
            override("rlvr.group_size=1"),
            2,
            ["rlvr.group_size must be >= 2"],
        ),
        "config: a section given a number": (override("rlvr=5"), 2, ["rlvr is a section"]),
        "config: a value that is not YAML": (
            override("data.games=[boil"),
            2,
            ["override 'data.games'", "cannot read the value"],
        ),
        "config: an unknown field": (override("rlvr.group_sise=4"), 2, ["'rlvr.group_sise'"]),
        "config: a nested section's range": (
            override("rlvr.loss.kl_coef=-1"),
            2,
            ["rlvr.loss.kl_coef must be >= 0"],
        ),
        "config: a choice from a Literal": (
            override("rlvr.loss.kl_estimator=k9"),
            2,
            ["rlvr.loss.kl_estimator must be one of k1, k2, k3"],
        ),
        "config: a pair given one value": (
            override("video.reward_weights=[[mae]]"),
            2,
            ["video.reward_weights[0]"],
        ),
        "config: a domain that is not a name": (override("data.domain=..:x"), 2, ["data.domain"]),
        "config: --config holds a list": (
            config_file("- 1\n- 2\n"),
            2,
            ["c.yaml", "expected a mapping"],
        ),
        "config: --config is not YAML": (config_file("a: [1\n"), 2, ["c.yaml", "not valid YAML"]),
        "config: --config is binary": (config_file(b"\xff\xfe\x00"), 2, ["c.yaml", "not UTF-8"]),
        "config: --config section is a number": (
            config_file("rlvr: 5\n"),
            2,
            ["c.yaml", "rlvr is a section"],
        ),
        "config: --config bad value": (
            config_file("rlvr:\n  group_size: abc\n"),
            2,
            ["rlvr.group_size must be an integer"],
        ),
        "config: --config is a directory": (
            lambda t, r: ["config", *DEBUG, "--config", str(t)],
            2,
            ["is a directory"],
        ),
        "config: --config missing": (
            lambda t, r: ["config", *DEBUG, "--config", str(t / "none.yaml")],
            2,
            ["none.yaml: no such file"],
        ),
    }


def _run_cases() -> dict:
    """train, data, eval, export, report, plan."""
    return {
        "train: an override of a resumed run it may not change": (
            lambda t, r: ["train", "mle", "--resume", "--out", str(r), "rlvr.lr=3"],
            2,
            ["cannot change rlvr.lr", "mle.steps"],
        ),
        "train: an RLVR resume of an MLE run": (
            lambda t, r: ["train", "rlvr", "--resume", "--out", str(r)],
            2,
            ["holds an MLE run, not an RLVR one", "train mle --resume"],
        ),
        "train: --resume without --out": (
            lambda t, r: ["train", "mle", "--resume"],
            2,
            ["--resume needs --out"],
        ),
        "train: --resume a folder that is no run": (
            lambda t, r: ["train", "mle", "--resume", "--out", str(t)],
            2,
            ["not a run folder"],
        ),
        "train: --resume a run whose config is a list": (
            lambda t, r: ["train", "mle", "--resume", "--out", str(with_config(t, r, "[1]"))],
            2,
            ["config.yaml", "expected a mapping"],
        ),
        "train: --resume a run whose config is binary": (
            lambda t, r: ["train", "mle", "--resume", "--out", str(with_config(t, r, b"\xff"))],
            2,
            ["config.yaml"],
        ),
        "train: --config a list": (
            lambda t, r: ["train", "mle", *DEBUG, "--config", str(write(t / "c.yaml", "[1]"))],
            2,
            ["c.yaml", "expected a mapping"],
        ),
        "train: a bad value": (
            lambda t, r: ["train", "mle", *DEBUG, "--out", str(t / "new"), "mle.steps=true"],
            2,
            ["mle.steps must be an integer"],
        ),
        "data: a domain without text datasets": (
            lambda t, r: ["data", "--preset", "robot-debug", "--out", str(t / "d")],
            2,
            ["robot domain"],
        ),
        "data: --out is a file": (
            lambda t, r: ["data", *DEBUG, "--out", str(write(t / "f", "x"))],
            2,
            ["already exists"],
        ),
        "eval: no such run": (lambda t, r: ["eval", str(t / "none")], 2, ["not a run folder"]),
        "eval: no such checkpoint": (
            lambda t, r: ["eval", str(r), "--checkpoint", "nope"],
            2,
            ["no checkpoint 'nope'"],
        ),
        "eval: a truncated checkpoint": (
            lambda t, r: ["eval", str(damaged_best(t, r))],
            1,
            ["model.safetensors", "truncated"],
        ),
        "eval: a config that is not YAML": (
            lambda t, r: ["eval", str(with_config(t, r, "a: [\n"))],
            2,
            ["config.yaml", "not a readable YAML config"],
        ),
        "eval: an unknown split": (
            lambda t, r: ["eval", str(r), "--split", "nosuch"],
            2,
            ["nosuch"],
        ),
        "export: --out is not empty": (
            lambda t, r: ["export", str(r), "--out", str(r)],
            2,
            ["is not empty"],
        ),
        "export: a truncated checkpoint": (
            lambda t, r: ["export", str(damaged_best(t, r)), "--out", str(t / "hf")],
            1,
            ["model.safetensors"],
        ),
        "report: no such run": (
            lambda t, r: ["report", str(t / "none"), "--out", str(t / "r.html")],
            2,
            ["none"],
        ),
        "report: --out is a directory": (
            lambda t, r: ["report", str(r), "--out", str(t)],
            2,
            ["is a directory"],
        ),
        "plan: no such world model": (
            lambda t, r: ["plan", "--domain", "textgame", "--world-model", str(t / "none")],
            2,
            ["not a run folder"],
        ),
        "plan: a run of another domain": (
            lambda t, r: ["plan", "--domain", "web", "--world-model", str(r)],
            2,
            ["a textgame run, not web"],
        ),
        "plan: a truncated checkpoint": (
            lambda t, r: ["plan", "--domain", "textgame", "--world-model", str(damaged_best(t, r))],
            1,
            ["truncated"],
        ),
        "plan: a config that is a list": (
            lambda t, r: [
                "plan",
                "--domain",
                "textgame",
                "--world-model",
                str(with_config(t, r, "[1]")),
            ],
            2,
            ["config.yaml", "expected a mapping"],
        ),
    }


CASES = {**_textgame_cases(), **_web_and_video_cases(), **_config_cases(), **_run_cases()}
if not torch.cuda.is_available():
    CASES["train: device=cuda without CUDA"] = (
        lambda t, r: ["train", "mle", *DEBUG, "--out", str(t / "new"), "device=cuda"],
        2,
        ["device=cuda is not available", "use device=cpu"],
    )


def snapshot(*roots: Path) -> dict[str, str]:
    """Every file under `roots` -> sha256 of its bytes (links followed: a link's target counts)."""
    out = {}
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def run_main(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_clear_line_and_changes_nothing(case, finished, tmp_path, capsys):
    set_up, expected_code, words = CASES[case]
    argv = set_up(tmp_path, finished)
    capsys.readouterr()
    before = snapshot(tmp_path, finished)
    code, out, err = run_main(argv, capsys)
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert code == expected_code, err
    assert len(errors) == 1 and "Traceback" not in out + err, err
    for word in words:
        assert word in errors[0], errors[0]
    assert snapshot(tmp_path, finished) == before  # inputs unchanged, nothing new beside them


def test_the_cases_are_counted():
    """The suite's size, as the docs report it."""
    assert len(CASES) >= 80


# --- the error path itself: exit codes, debug, failures of the machine ----------------------


def test_no_space_left_names_the_file_and_exits_1(finished, tmp_path, capsys, monkeypatch):
    import rlvr_world.text.records as records

    def full(path, text):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(records, "atomic_write_text", full)
    out = tmp_path / "o.jsonl"
    argv = score_textgame(scorer_data(finished), predictions(tmp_path, finished), out)
    before = snapshot(tmp_path, finished)
    code, _, err = run_main(argv, capsys)
    assert code == 1 and err == f"error: no space left on device while writing {out}\n"
    assert snapshot(tmp_path, finished) == before


def test_torch_writer_failure_says_disk_full_and_exits_1(finished, tmp_path, capsys, monkeypatch):
    import rlvr_world.text.records as records

    def torn(path, text):
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 64 vs 2")

    monkeypatch.setattr(records, "atomic_write_text", torn)
    argv = score_textgame(scorer_data(finished), predictions(tmp_path, finished), tmp_path / "o")
    code, _, err = run_main(argv, capsys)
    assert code == 1 and err.startswith("error: writing a file failed, is the disk full?")
    assert len(err.splitlines()) == 1


def test_permission_denied_names_the_file_and_exits_1(finished, tmp_path, capsys, monkeypatch):
    import rlvr_world.text.records as records

    def denied(path):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(records, "check_input_file", denied)
    preds = predictions(tmp_path, finished)
    code, _, err = run_main(score_textgame(scorer_data(finished), preds, tmp_path / "o"), capsys)
    assert code == 1 and err == f"error: permission denied: {scorer_data(finished)}\n"


def test_an_unexpected_error_is_one_line_and_debug_shows_it(
    finished, tmp_path, capsys, monkeypatch
):
    import rlvr_world.domains.textgame.score as score

    def broken(*args, **kwargs):
        raise TypeError("unsupported operand\ntype(s)")

    monkeypatch.setattr(score, "score_response", broken)
    argv = score_textgame(scorer_data(finished), predictions(tmp_path, finished), tmp_path / "o")
    code, _, err = run_main(argv, capsys)
    assert code == 1
    assert err == (
        "error: TypeError: unsupported operand type(s) (RLVR_WORLD_DEBUG=1 shows the traceback)\n"
    )
    with pytest.raises(TypeError):
        main(["--debug", *argv])
    with pytest.raises(TypeError):
        main([*argv, "--debug"])
    monkeypatch.setenv("RLVR_WORLD_DEBUG", "1")
    with pytest.raises(TypeError):
        main(argv)


def test_a_failed_run_exits_1(monkeypatch, finished, capsys):
    """A `RuntimeError` such as `DivergenceError` is a failed run: exit 1, one line."""
    import rlvr_world.train.pipeline as pipeline
    from rlvr_world.train.divergence import DivergenceError

    def diverged(*args, **kwargs):
        raise DivergenceError("mle step 3: the loss is nan")

    monkeypatch.setattr(pipeline, "evaluate_run", diverged)
    code, _, err = run_main(["eval", str(finished)], capsys)
    assert code == 1 and err == "error: mle step 3: the loss is nan\n"


@pytest.mark.parametrize(
    "error, message",
    [
        (IsADirectoryError(errno.EISDIR, "Is a directory", "runs/x"), "runs/x is a directory"),
        (NotADirectoryError(errno.ENOTDIR, "Not a directory", "a/b"), "a/b: a part of this path"),
        (OSError(errno.EROFS, "Read-only file system", "/ro/f"), "read-only file system"),
        (KeyError("reference"), "missing key 'reference'"),
        (OSError(errno.ENOSPC, "No space left on device"), "no space left on device"),
    ],
)
def test_error_messages(error, message):
    assert message in error_message(error) and "\n" not in error_message(error)


def test_missing_predictions_score_the_minimum_unless_subset(finished, tmp_path, capsys):
    """A data row without a prediction counts, at the reward's minimum; --subset leaves it out."""
    data = scorer_data(finished)
    rows = len(data.read_text().splitlines())
    preds = jsonl(tmp_path / "p.jsonl", [{"id": first_ids(finished)[0], "response": "x"}])
    out = tmp_path / "o.jsonl"
    assert main(score_textgame(data, preds, out)) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["missing"] == summary["missing_predictions"] == rows - 1
    assert summary["scored"] == 1 and summary["reward_mean"] == 0.0 and not summary["subset"]
    scored = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(scored) == rows and sum(bool(r.get("missing")) for r in scored) == rows - 1
    assert f"note: {rows - 1} data rows have no prediction" in captured.err
    assert main([*score_textgame(data, preds, out), "--subset"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["subset"] and summary["missing"] == rows - 1
    assert len(out.read_text().splitlines()) == 1


def test_a_50_megabyte_response_scores_the_minimum_unparsed(finished, tmp_path, capsys):
    first = first_ids(finished)[0]
    huge = "The final answer is: {" + '"modified": [' * 4_000_000
    preds = jsonl(tmp_path / "p.jsonl", [{"id": first, "response": huge}])
    assert (
        main([*score_textgame(scorer_data(finished), preds, tmp_path / "o.jsonl"), "--subset"]) == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["too_long"] == 1 and summary["reward_mean"] == 0.0


def test_resume_applies_the_safe_overrides_and_prints_them(finished, tmp_path, capsys):
    run = copy_of(finished, tmp_path)
    assert (
        main(["train", "mle", "--resume", "--out", str(run), "mle.steps=5", "mle.log_every=3"]) == 0
    )
    out = capsys.readouterr().out
    assert "resume with mle.steps: 4 -> 5" in out and "resume with mle.log_every:" in out
    assert json.loads((run / "train_result.json").read_text())["step"] == 5
