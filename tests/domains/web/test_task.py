"""The web task: examples from transitions, F1 scores and the held-out summary."""

import pytest
import torch

from rlvr_world.core.grpo import GRPOLossConfig
from rlvr_world.core.model import ModelConfig, build_llama
from rlvr_world.core.sampler import Samples, SamplingConfig
from rlvr_world.domains.web.data import WebTransition
from rlvr_world.domains.web.rewards import web_f1
from rlvr_world.domains.web.task import WebTask
from rlvr_world.text.task import line_index
from rlvr_world.text.tokenizer import train_bpe
from rlvr_world.train.config import RLVRConfig
from rlvr_world.train.rlvr import grpo_step

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


def samples_of(rows, pad_id):
    """`Samples` holding `rows` as responses (right-padded)."""
    width = max(len(r) for r in rows)
    ids = torch.tensor([r + [pad_id] * (width - len(r)) for r in rows])
    mask = torch.tensor([[1.0] * len(r) + [0.0] * (width - len(r)) for r in rows])
    n = len(rows)
    return Samples(
        torch.zeros(n, 1, dtype=torch.long),
        torch.ones(n, 1, dtype=torch.long),
        ids,
        mask,
        torch.zeros(n, width),
        torch.ones(n, dtype=torch.bool),
    )


def test_line_index_follows_the_decoded_lines(task):
    tokenizer = task.tokenizer
    texts = [CHANGED, "New items:", "None\n\n"]
    rows = [tokenizer.encode(text) + [tokenizer.eos_id] for text in texts]
    index = line_index(tokenizer, samples_of(rows, tokenizer.pad_id))
    for row, (ids, text) in enumerate(zip(rows, texts)):
        spans = index[row, : len(ids)].tolist()
        assert index[row, len(ids) :].eq(-1).all()  # padding
        assert spans == sorted(spans) and spans[0] == 0  # lines in order from the first
        assert spans[-1] == len(text.split("\n")) - 1  # the stop id on the last line
        # each token starts on the line the text before it ends on
        for k, span in enumerate(spans):
            assert span == min(tokenizer.decode(ids[:k]).count("\n"), text.count("\n"))


def tiny_model(tokenizer):
    config = ModelConfig(hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64)
    ids = (tokenizer.vocab_size, tokenizer.pad_id, tokenizer.bos_id, tokenizer.eos_id)
    return build_llama(config, *ids)


def _step_with_credit(task, credit):
    """(metrics, weights after one GRPO step) from the same model, data and samples."""
    torch.manual_seed(0)
    model = tiny_model(task.tokenizer)
    cfg = RLVRConfig(
        questions_per_step=2,
        group_size=4,
        mini_batch_size=2,
        lr=1e-2,
        reward="f1",
        credit=credit,
        max_new_tokens=24,
        skip_zero_variance=False,
        loss=GRPOLossConfig(kl_coef=0.0, entropy_coef=0.0),
    )
    reward_fn = task.span_reward("f1") if credit == "reward-to-go" else task.reward("f1")
    metrics = grpo_step(
        model,
        None,
        torch.optim.SGD(model.parameters(), lr=cfg.lr),
        task,
        reward_fn,
        task.examples("train"),
        cfg,
        SamplingConfig(temperature=1.0, max_new_tokens=24),
        torch.Generator().manual_seed(0),
        "cpu",
    )
    return metrics, torch.cat([p.detach().flatten() for p in model.parameters()])


def test_span_index_marks_each_token_with_its_answer_line(task):
    model = tiny_model(task.tokenizer).eval()
    examples = task.examples("train")
    samples = task.generate(model, examples, SamplingConfig(temperature=1.0, max_new_tokens=24))
    assert samples.span_index is None  # sampled in one go; the lines are read when asked
    torch.testing.assert_close(task.span_index(samples), line_index(task.tokenizer, samples))


def test_per_line_credit_scores_the_same_f1_and_updates_lines_differently(task):
    seq_metrics, seq_weights = _step_with_credit(task, "sequence")
    line_metrics, line_weights = _step_with_credit(task, "reward-to-go")
    # the first line's return is the F1: the same samples and rewards ...
    assert line_metrics["reward_mean"] == pytest.approx(seq_metrics["reward_mean"], abs=1e-6)
    assert line_metrics["term_f1"] == pytest.approx(seq_metrics["term_f1"], abs=1e-6)
    # ... but each line is credited with what it and the lines after it add
    assert torch.isfinite(line_weights).all()
    assert not torch.allclose(line_weights, seq_weights)


def test_span_reward_sums_to_the_f1_and_checks_the_name(task):
    predictions = [CHANGED, "New items:\n[5] alert 'Saved'\n[6] link 'x'", None]
    rows, weights = task.span_reward("f1")(predictions, [CHANGED] * 3, [{}] * 3)
    assert weights is None
    assert [sum(row) for row in rows] == pytest.approx(
        [web_f1(p, CHANGED)["f1"] for p in predictions]
    )
    with pytest.raises(ValueError, match="unknown web reward"):
        task.span_reward("binary")
