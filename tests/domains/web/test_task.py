"""The web task: examples from transitions, F1 scores and the held-out summary."""

import pytest

from rlvr_world.domains.web.data import WebTransition
from rlvr_world.domains.web.task import WebTask
from rlvr_world.text.tokenizer import train_bpe

CHANGED = "New items:\n[5] alert 'Saved'\n\nDeleted items:\nNone\n\nUpdated items:\nNone"
SAME = "New items:\nNone\n\nDeleted items:\nNone\n\nUpdated items:\nNone"


def transition(i, answer):
    return WebTransition(
        id=str(i),
        url="http://shop.local/",
        objective="o",
        previous_action="None",
        tree="[1] RootWebArea 'Shop'",
        action="click [1]",
        answer=answer,
        site="shop",
        task="open_product",
    )


@pytest.fixture(scope="module")
def task():
    records = [transition(0, CHANGED), transition(1, SAME)]
    tokenizer = train_bpe([CHANGED, SAME, "url: objective tree action"], vocab_size=300)
    return WebTask({"train": records, "test": records}, tokenizer)


def test_examples_carry_the_gold_diff(task):
    first, second = task.examples("test")
    assert first.reference == CHANGED and first.context["split"] == "changed"
    assert second.context["split"] == "unchanged"
    assert first.response_ids[-1] == task.tokenizer.eos_id
    assert task.decode(first.response_ids) == CHANGED


def test_scores_and_summary(task):
    examples = task.examples("test")
    # exact on the changed one; on the unchanged one 2 of 3 items ("None" under New, Updated)
    predictions = [CHANGED, "New items:\nNone\n\nUpdated items:\nNone"]
    scores = task.score(predictions, examples)
    assert scores[0] == {"f1": 1.0, "precision": 1.0, "recall": 1.0}
    assert scores[1]["precision"] == 1.0 and scores[1]["recall"] == pytest.approx(2 / 3)
    summary = task.summarize(scores, examples)
    assert summary["selection"] == summary["f1"] == pytest.approx((1.0 + 0.8) / 2)
    assert summary["f1_by_split"] == {"changed": 1.0, "unchanged": pytest.approx(0.8)}
    assert task.reward("f1")(predictions, [e.reference for e in examples], [{}, {}]) == [
        1.0,
        pytest.approx(0.8),
    ]
