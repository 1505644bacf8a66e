"""The interactive rollout driver: layout, masks, KV-cache equivalence, stopping."""

import pytest
import torch

from rlvr_world.core.losses import mle_loss, response_logits, response_logprobs
from rlvr_world.core.rollout import inserts_from_lists, rollout
from rlvr_world.core.sampler import SamplingConfig, sample

PAD, BOS, EOS = 0, 1, 2
CODES = list(range(3, 13))  # the "span" vocabulary
ACTIONS = list(range(13, 20))  # the inserted vocabulary
K, A, S = 3, 2, 3  # span length, inserted tokens, spans


QUESTIONS = [[BOS, 5, 6, 13, 14], [BOS, 9]]
INSERTS = [[[13, 14], [15, 16]], [[17, 18], [19, 13]]]  # inserts[b][k], k < S - 1


def run(model, group_size=1, temperature=1.0, insert=None, seed=0):
    return rollout(
        model,
        QUESTIONS,
        SamplingConfig(temperature=temperature),
        span_length=K,
        num_spans=S,
        insert=insert or inserts_from_lists(INSERTS, group_size),
        pad_id=PAD,
        group_size=group_size,
        allowed_ids=CODES,
        generator=torch.Generator().manual_seed(seed),
    )


def test_layout_and_masks(model):
    out = run(model, group_size=2)
    width = S * K + (S - 1) * A
    assert out.response_ids.shape == (4, width)
    expected_trainable = torch.tensor([1.0] * K + [0.0] * A + [1.0] * K + [0.0] * A + [1.0] * K)
    for row in range(4):
        question = row // 2
        ids = out.response_ids[row]
        # inserted tokens sit between the spans, exactly as given, for every sample of the group
        assert ids[K : K + A].tolist() == INSERTS[question][0]
        assert ids[2 * K + A : 2 * K + 2 * A].tolist() == INSERTS[question][1]
        torch.testing.assert_close(out.trainable_mask[row], expected_trainable)
        # each span's tokens and the tokens inserted after it carry the span's index
        expected_span = [0] * (K + A) + [1] * (K + A) + [2] * K
        assert out.span_index[row].tolist() == expected_span
        assert out.response_mask[row].sum() == width
        # sampled tokens respect allowed_ids; inserted ones carry no log-prob
        assert set(ids[expected_trainable.bool()].tolist()) <= set(CODES)
        assert (out.logprobs[row][~expected_trainable.bool()] == 0).all()
    torch.testing.assert_close(out.loss_mask, out.trainable_mask)


def test_logprobs_match_full_forward(model):
    """Cached rollout (spans, inserts fed with the span's last token) = one uncached forward."""
    out = run(model, group_size=3)
    # the rollout restricts sampling to CODES: renormalise the full-forward log-probs likewise
    logits_bias = torch.full((24,), float("-inf"))
    logits_bias[CODES] = 0
    logits = response_logits(
        model, out.question_ids, out.question_mask, out.response_ids, out.response_mask
    )
    restricted = torch.log_softmax(logits + logits_bias, -1)
    logp = restricted.gather(-1, out.response_ids.unsqueeze(-1)).squeeze(-1)
    mask = out.trainable_mask.bool()
    torch.testing.assert_close(logp[mask], out.logprobs[mask], atol=2e-5, rtol=1e-4)
    # and the trainers' log-probs (unrestricted) are finite on every sampled token
    full, _ = response_logprobs(
        model, out.question_ids, out.question_mask, out.response_ids, out.response_mask
    )
    assert torch.isfinite(full[mask]).all()


def test_greedy_matches_uncached_loop(model):
    out = run(model, temperature=0.0)
    for b, question in enumerate(QUESTIONS):
        sequence = list(question)
        for k in range(S):
            for _ in range(K):
                logits = model(input_ids=torch.tensor([sequence])).logits[0, -1]
                allowed = torch.full_like(logits, float("-inf"))
                allowed[CODES] = 0
                sequence.append(int((logits + allowed).argmax()))
            if k < S - 1:
                sequence += INSERTS[b][k]
        assert out.response_ids[b].tolist() == sequence[len(question) :]


def test_insert_sees_the_span_and_can_stop_rows(model):
    seen = []

    def insert(k, rows, span):
        seen.append((k, rows.tolist(), span.clone()))
        tokens = torch.full((len(rows), A), ACTIONS[k])
        stop = rows == 0  # row 0 stops after its first insert
        return tokens, stop

    out = run(model, insert=insert)
    assert [(k, rows) for k, rows, _ in seen] == [(0, [0, 1]), (1, [1])]
    # the callback got exactly the tokens the rollout recorded as span 0
    assert torch.equal(seen[0][2], out.response_ids[:, :K])
    assert out.response_mask[0].sum() == K + A  # stopped after its insert
    assert out.response_mask[1].sum() == S * K + (S - 1) * A
    assert out.response_ids[0, K + A :].eq(PAD).all()
    assert out.span_index[0].tolist() == [0] * (K + A) + [-1] * (out.span_index.shape[1] - K - A)


def test_bad_insert_shape_is_a_clear_error(model):
    with pytest.raises(ValueError, match=r"insert\(0\) must return \[2, A\]"):
        run(model, insert=lambda k, rows, span: torch.zeros(A, dtype=torch.long))


def test_mle_loss_ignores_inserted_tokens(model):
    out = run(model)
    args = (out.question_ids, out.question_mask, out.response_ids, out.response_mask)
    total, count = mle_loss(model, *args, loss_mask=out.trainable_mask)
    assert count == out.trainable_mask.sum()
    # the NLL is the sum over sampled tokens only
    logp, _ = response_logprobs(model, *args, bucketed=False, share_prefix=False)
    torch.testing.assert_close(total, -(logp * out.trainable_mask).sum(), atol=1e-4, rtol=1e-5)


def test_sample_allowed_ids(model):
    out = sample(
        model,
        QUESTIONS,
        SamplingConfig(max_new_tokens=6),
        group_size=4,
        stop_ids=[],
        pad_id=PAD,
        allowed_ids=CODES,
        generator=torch.Generator().manual_seed(1),
    )
    assert out.response_ids.shape == (8, 6)
    assert out.finished.all()  # no stop ids: fixed-length responses are complete, not truncated
    assert set(out.response_ids.flatten().tolist()) <= set(CODES)
    with pytest.raises(ValueError, match="allowed_ids"):
        sample(model, QUESTIONS, SamplingConfig(), stop_ids=[EOS], pad_id=PAD, allowed_ids=[99])
