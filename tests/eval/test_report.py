"""The HTML report: fake run folders in the real on-disk format -> one self-contained page."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from rlvr_world.core.html import MAX_RESPONSE_CHARS
from rlvr_world.domains.reporting import RunView
from rlvr_world.domains.textgame.data import Transition, save_transitions
from rlvr_world.domains.textgame.report import choose_samples
from rlvr_world.eval.report import write_report

SCORE = {"score": 0, "gameOver": False, "gameWon": False}
LAMP_OFF = {
    "name": "lamp (ID: 2)",
    "uuid": 2,
    "type": "Lamp",
    "properties": {"is_on": False, "color": "red"},
    "contains": [],
}
LAMP_ON = {**LAMP_OFF, "properties": {"is_on": True, "color": "red"}}
ROOM = {"name": "room (ID: 1)", "uuid": 1, "type": "Room", "properties": {}, "contains": ["lamp"]}

TURN_ON = Transition(
    id="lamps/1",
    game="lamps",
    task="Turn on the lamp.",
    current=[ROOM, LAMP_OFF, SCORE],
    action="turn on lamp",
    next=[ROOM, LAMP_ON, {**SCORE, "score": 1}],
    uuid_base=3,
)
LOOK = Transition(
    id="lamps/2",
    game="lamps",
    task="Turn on the lamp.",
    current=[ROOM, LAMP_OFF, SCORE],
    action="look around",
    next=[ROOM, LAMP_OFF, SCORE],
    uuid_base=3,
)


def answer(modified: list, score: dict) -> str:
    diff = {"modified": modified, "removed": [], "score": score}
    return "Some reasoning. The final answer is: " + json.dumps(diff)


def sample(transition: Transition, response: str, exact: float) -> dict:
    scores = {"parsed": 1.0, "item_acc": exact, "score_acc": 1.0, "exact": exact}
    return {"id": transition.id, "split": transition.split, "response": response, "scores": scores}


def make_run(
    folder: Path,
    *,
    preset: str,
    init: str | None,
    accuracy: dict,
    samples: list[dict],
    metrics: list[dict],
) -> Path:
    folder.mkdir(parents=True)
    config = {"preset": preset, "seed": 0, "data": {}, "model": {}, "mle": {}, "rlvr": {}}
    config.update(eval={}, init=init)
    (folder / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    with (folder / "metrics.jsonl").open("w") as handle:
        for row in metrics:
            handle.write(json.dumps(row) + "\n")
    summary = {"accuracy": accuracy, "parsed": 1.0, "item_acc": 0.9, "score_acc": 1.0}
    summary.update(task_specific=0.5, examples=2, split="test", checkpoint="best", seconds=1.0)
    (folder / "eval.json").write_text(json.dumps(summary))
    with (folder / "samples.jsonl").open("w") as handle:
        for row in samples:
            handle.write(json.dumps(row) + "\n")
    save_transitions(folder / "data" / "test.jsonl", [TURN_ON, LOOK])
    return folder


def eval_row(phase: str, step: int, overall: float | None) -> dict:
    return {
        "phase": phase,
        "step": step,
        "time": 0.0,
        "accuracy_overall": overall,
        "accuracy_changed": overall,
        "accuracy_unchanged": None,
        "item_acc": 0.5,
        "parsed": 1.0,
        "task_specific": None,
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("runs")
    right = answer([LAMP_ON], {"score": 1, "gameOver": False, "gameWon": False})
    wrong = answer([LAMP_OFF], {"score": 1, "gameOver": False, "gameWon": False})
    nothing = answer([], SCORE)
    mle = make_run(
        root / "mle-run",
        preset="textgame-tiny",
        init=None,
        accuracy={"unchanged": 0.3888, "changed": 0.2421, "overall": 0.3287},
        samples=[sample(TURN_ON, wrong, 0.0), sample(LOOK, nothing, 1.0)],
        metrics=[
            *(
                {"phase": "mle", "step": s, "time": 0.0, "loss": 3.0 / s, "grad_norm": 1.0}
                for s in (1, 2, 3)
            ),
            eval_row("mle/eval", 3, 0.25),
        ],
    )
    rlvr_rows = [
        {"phase": "rlvr", "step": s, "time": 0.0, "reward_mean": 0.1 * s, "reward_std": 0.05}
        | {"kl": 0.01 * s, "entropy": 1.0, "clip_fraction": None, "response_length": 40}
        for s in (1, 2)
    ]
    rlvr = make_run(
        root / "rlvr-run",
        preset="textgame-tiny",
        init=str(mle),
        accuracy={"unchanged": 0.7357, "changed": 0.3314, "overall": 0.5701},
        samples=[
            sample(TURN_ON, right, 1.0),
            sample(LOOK, "<script>alert('x')</script> no answer", 0.0),
        ],
        metrics=[*rlvr_rows, eval_row("rlvr/eval", 2, 0.5)],
    )
    return [mle, rlvr]


@pytest.fixture(scope="module")
def page(runs, tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("report") / "sub" / "report.html"
    summary = {"mle": {"accuracy": {"overall": 0.3287}}, "rlvr": {"note": "<b>hi</b>"}}
    assert write_report(runs, out, title="Quick <start>", summary=summary) == out
    return out.read_text(encoding="utf-8")


def test_report_names_runs_and_formats_the_table(page):
    assert "mle-run" in page and "rlvr-run" in page
    for number in ("38.88", "24.21", "32.87", "73.57", "33.14", "57.01"):
        assert number in page
    assert "<b>57.01</b>" in page and "<b>32.87</b>" not in page  # best per column in bold
    assert "<b>100.00</b>" not in page  # a tie (parsed 100% in both) is not bold
    assert "x1.73" in page  # 0.5701 / 0.3287, gain over the first run
    assert "Quick &lt;start&gt;" in page and "&lt;b&gt;hi&lt;/b&gt;" in page  # escaped summary
    assert "RLVR" in page and "textgame-tiny" in page


def test_report_embeds_curves_and_nothing_external(page):
    assert page.count('<img alt="plot" src="data:image/png;base64,') == 3  # loss, acc, rlvr
    assert not re.search(r'(src|href)="(https?:|//)', page)


def test_report_escapes_responses(page):
    assert "<script" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "unparseable response" in page


def test_report_highlights_wrong_fields(page):
    assert "lamp (ID: 2).is_on: false → true" in page  # the gold change
    wrong = '<tr class="bad"><td>lamp (ID: 2).is_on</td><td>false</td><td>true</td></tr>'
    assert wrong in page
    right = '<tr class="good"><td>lamp (ID: 2).is_on</td><td>true</td><td>true</td></tr>'
    assert right in page
    assert "exact: every field right" in page


def test_report_without_eval_or_samples_still_renders(tmp_path):
    run = tmp_path / "bare-run"
    run.mkdir()
    (run / "config.yaml").write_text(yaml.safe_dump({"preset": "textgame-tiny", "init": None}))
    out = write_report([run], tmp_path / "report.html")
    page = out.read_text(encoding="utf-8")
    assert "bare-run" in page
    assert "no eval.json" in page and "not evaluated" in page
    assert "No samples.jsonl" in page and "No MLE loss logged" in page


def test_report_accepts_the_same_run_twice(tmp_path, runs):
    page = write_report([runs[0], runs[0]], tmp_path / "r.html").read_text(encoding="utf-8")
    assert "mle-run #1" in page and "mle-run #2" in page and "x1.00" in page


def test_report_rejects_missing_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        write_report([tmp_path / "nowhere"], tmp_path / "report.html")


def test_samples_are_balanced_and_prefer_disagreements(tmp_path):
    """Disagreements first within each split; half changed, half unchanged."""

    def run(name: str, exact: dict[str, float]) -> RunView:
        samples = [
            {"id": i, "split": "changed" if i.startswith("c") else "unchanged", "response": ""}
            | {"scores": {"exact": e}}
            for i, e in exact.items()
        ]
        return RunView(tmp_path / name, name, {}, [], None, samples)

    first = {"c1": 1.0, "c2": 0.0, "c3": 1.0, "u1": 1.0, "u2": 1.0, "u3": 0.0}
    second = {"c1": 1.0, "c2": 1.0, "c3": 0.0, "u1": 1.0, "u2": 1.0, "u3": 1.0}
    chosen, _ = choose_samples([run("a", first), run("b", second)], {}, limit=4)
    assert chosen == ["c2", "c3", "u3", "u1"]
    chosen, _ = choose_samples([run("a", {"c1": 0.0, "c2": 0.0, "u1": 1.0})], {}, limit=3)
    assert chosen == ["c1", "c2", "u1"]  # too few unchanged: changed ones fill the rest


def test_long_responses_are_truncated(tmp_path, runs):
    long_run = tmp_path / "long-run"
    for name in ("config.yaml", "eval.json"):
        (long_run / name).parent.mkdir(parents=True, exist_ok=True)
        (long_run / name).write_bytes((runs[0] / name).read_bytes())
    response = "A" * 5000 + "The final answer is: {}"
    row = {"id": "lamps/1", "split": "changed", "response": response, "scores": {"exact": 0.0}}
    (long_run / "samples.jsonl").write_text(json.dumps(row) + "\n")
    page = write_report([long_run], tmp_path / "r.html").read_text(encoding="utf-8")
    assert "characters omitted" in page and "A" * MAX_RESPONSE_CHARS not in page
    assert "The final answer is: {}" in page
    assert "transition not found" in page  # no data/ in this run and no init run


def test_runs_of_an_unknown_domain_still_render_with_a_note(tmp_path, runs):
    run = tmp_path / "odd-run"
    run.mkdir()
    config = {"preset": "mine", "init": None, "data": {"domain": "no-such-domain"}}
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    page = write_report([runs[0], run], tmp_path / "r.html").read_text(encoding="utf-8")
    assert "odd-run" in page and "no-such-domain" in page
    assert "mix kinds of world models" in page  # each domain compared among its own runs
    assert "Held-out comparison" in page  # the text-game runs keep their sections
