"""MLE loss: response tokens only, and gradient accumulation equals one big batch."""

import torch
import torch.nn.functional as F

from rlvr_world.core.losses import mle_loss, response_logprobs
from rlvr_world.core.sequences import pad_left, pad_right

QUESTIONS = [[1, 5, 6], [1, 7], [1, 3, 4, 5, 8], [1, 9, 9]]
RESPONSES = [[4, 4, 2], [5, 2], [6, 7, 8, 9, 2], [3, 2]]


def batch(rows):
    q = pad_left([QUESTIONS[i] for i in rows], 0)
    r = pad_right([RESPONSES[i] for i in rows], 0)
    return (*q, *r)


def test_mle_loss_counts_response_tokens_only(make_model):
    m = make_model()
    nll, count = mle_loss(m, *batch([0, 1, 2, 3]))
    assert count == sum(len(r) for r in RESPONSES)
    # naive: one unpadded sequence at a time, cross-entropy of response positions only
    expected = 0.0
    for q, r in zip(QUESTIONS, RESPONSES):
        logits = m(input_ids=torch.tensor([q + r])).logits[0]
        expected += F.cross_entropy(logits[len(q) - 1 : -1], torch.tensor(r), reduction="sum")
    torch.testing.assert_close(nll, expected, atol=1e-4, rtol=1e-5)


def test_gradient_accumulation_equals_one_batch(make_model):
    """batch 4 x accumulation 1 == batch 2 x accumulation 2 (token-weighted)."""
    total = sum(len(r) for r in RESPONSES)
    whole, split = make_model(), make_model()
    nll, _ = mle_loss(whole, *batch([0, 1, 2, 3]))
    (nll / total).backward()
    for rows in ([0, 1], [2, 3]):
        nll, _ = mle_loss(split, *batch(rows))
        (nll / total).backward()
    for a, b in zip(whole.parameters(), split.parameters()):
        torch.testing.assert_close(a.grad, b.grad, atol=1e-6, rtol=1e-4)


def test_response_logprobs_are_padding_invariant(make_model):
    m = make_model()
    logp_batch, _ = response_logprobs(m, *batch([0, 1, 2, 3]))
    for i in range(4):
        alone, _ = response_logprobs(m, *batch([i]))
        n = len(RESPONSES[i])
        torch.testing.assert_close(logp_batch[i, :n], alone[0, :n], atol=1e-5, rtol=1e-4)
