"""A user's own domain and a user's own reward plug in through the registry and the CLI, the
way ours do (docs/extending.md; the example domain is docs/examples/counter_domain.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlvr_world.cli import main
from rlvr_world.domains import DOMAINS, DomainError, get_domain

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


@pytest.fixture
def counter(monkeypatch):
    """The example domain on the path and registered as `counter`, for this test only."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    monkeypatch.setattr(DOMAINS, "_entries", {**DOMAINS._entries})
    DOMAINS.register("counter", "counter_domain:DOMAIN")
    return get_domain("counter")


def test_a_registered_domain_trains_evaluates_and_reports_through_the_cli(counter, tmp_path):
    mle, rlvr = tmp_path / "mle", tmp_path / "rlvr"
    assert main(["train", "mle", "--preset", "counter-debug", "--out", str(mle)]) == 0
    assert (mle / "data" / "train.jsonl").read_text().count("\n") == 200
    assert (
        main(["train", "rlvr", "--preset", "counter-debug", "--init", str(mle), "--out", str(rlvr)])
        == 0
    )
    rows = [json.loads(line) for line in (rlvr / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if r["phase"] == "rlvr" and "reward_mean" in r] == [1, 2]
    assert main(["eval", str(rlvr)]) == 0
    summary = json.loads((rlvr / "eval.json").read_text())
    assert summary["examples"] == 20 and 0 <= summary["accuracy"] <= 1
    assert main(["report", str(mle), str(rlvr), "--out", str(tmp_path / "report.html")]) == 0
    assert "rlvr" in (tmp_path / "report.html").read_text()


def test_a_domain_named_by_its_path_needs_no_registration(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    assert get_domain("counter_domain:DOMAIN").name == "counter"


def test_an_unknown_domain_is_a_clear_error():
    with pytest.raises(DomainError, match="unknown domain 'chess'; known: robot, textgame, web"):
        get_domain("chess")


def test_a_domain_without_a_hook_says_which(counter):
    with pytest.raises(DomainError, match="the counter domain has no plan"):
        counter.hook("plan")


def test_a_users_reward_function_trains_by_its_dotted_path(monkeypatch, tmp_path):
    """`rlvr.reward=module:function`: the step's logged rewards are that function's."""
    (tmp_path / "my_rewards.py").write_text(
        "def quarter(predictions, references, contexts):\n    return [0.25 for _ in predictions]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    mle, rlvr = tmp_path / "mle", tmp_path / "rlvr"
    assert main(["train", "mle", "--preset", "textgame-debug", "--out", str(mle)]) == 0
    args = ["train", "rlvr", "--preset", "textgame-debug", "--init", str(mle), "--out", str(rlvr)]
    assert main([*args, "rlvr.reward=my_rewards:quarter", "rlvr.skip_zero_variance=false"]) == 0
    rows = [json.loads(line) for line in (rlvr / "metrics.jsonl").read_text().splitlines()]
    rewards = [r["reward_mean"] for r in rows if r["phase"] == "rlvr" and "reward_mean" in r]
    assert rewards == [0.25, 0.25]


def test_a_reward_path_that_does_not_load_is_a_clear_error(tmp_path, capsys):
    mle = tmp_path / "mle"
    assert main(["train", "mle", "--preset", "textgame-debug", "--out", str(mle)]) == 0
    args = ["train", "rlvr", "--preset", "textgame-debug", "--init", str(mle)]
    code = main([*args, "--out", str(tmp_path / "rlvr"), "rlvr.reward=no_such_module:f"])
    assert code == 2
    assert "cannot load reward 'no_such_module:f'" in capsys.readouterr().err
