"""The sampler's KV-cache path agrees with plain full forwards."""

import pytest
import torch

from rlvr_world.core.losses import response_logprobs
from rlvr_world.core.sampler import SamplingConfig, filter_logits, sample

PAD, BOS, EOS = 0, 1, 2


QUESTIONS = [[BOS, 5, 6, 7], [BOS, 9], [BOS, 3, 4, 5, 6, 7, 8]]


def test_logprobs_match_full_forward(model):
    """Cached sampling (left padding, dropped rows) = one full forward over the whole sequence."""
    gen = torch.Generator().manual_seed(0)
    out = sample(
        model,
        QUESTIONS,
        SamplingConfig(max_new_tokens=12),
        group_size=3,
        stop_ids=[EOS],
        pad_id=PAD,
        generator=gen,
    )
    assert out.response_ids.shape[0] == 9
    logp, _ = response_logprobs(
        model, out.question_ids, out.question_mask, out.response_ids, out.response_mask
    )
    torch.testing.assert_close(logp * out.response_mask, out.logprobs, atol=2e-5, rtol=1e-4)


def test_greedy_matches_uncached_loop(model):
    """Greedy decoding with the cache = argmax of a full forward at every step, no cache."""
    out = sample(
        model,
        QUESTIONS,
        SamplingConfig(max_new_tokens=8, temperature=0),
        stop_ids=[EOS],
        pad_id=PAD,
    )
    for row, question in enumerate(QUESTIONS):
        ids = list(question)
        expected = []
        for _ in range(8):
            logits = model(input_ids=torch.tensor([ids])).logits[0, -1]
            token = int(logits.argmax())
            expected.append(token)
            ids.append(token)
            if token == EOS:
                break
        assert out.responses()[row] == expected
        assert bool(out.finished[row]) == (expected[-1] == EOS)


def test_groups_are_contiguous_and_mask_ends_at_stop(model):
    gen = torch.Generator().manual_seed(1)
    out = sample(
        model,
        QUESTIONS[:2],
        SamplingConfig(max_new_tokens=6),
        group_size=4,
        stop_ids=[EOS],
        pad_id=PAD,
        generator=gen,
    )
    assert torch.equal(out.question_ids[:4], out.question_ids[0:1].expand(4, -1))
    for row, response in enumerate(out.responses()):
        assert len(response) == int(out.response_mask[row].sum())
        assert (EOS in response) == bool(out.finished[row])
        if EOS in response:
            assert response.index(EOS) == len(response) - 1


def test_seeded_sampling_is_reproducible(model):
    runs = [
        sample(
            model,
            QUESTIONS,
            SamplingConfig(max_new_tokens=6),
            group_size=2,
            stop_ids=[EOS],
            pad_id=PAD,
            generator=torch.Generator().manual_seed(7),
        )
        for _ in range(2)
    ]
    assert torch.equal(runs[0].response_ids, runs[1].response_ids)


@pytest.mark.parametrize("split", [1, 2])
def test_a_batch_split_across_processes_samples_the_same_rows(model, split):
    """Rows sampled as shares of a batch (`batch_rows`) are the rows sampled all at once."""
    questions = [[1, 5, 6], [1, 7], [1, 8, 9, 10], [1, 11, 4]]
    config = SamplingConfig(max_new_tokens=8)

    def draw(part, offset):
        return sample(
            model,
            part,
            config,
            group_size=2,
            stop_ids=[EOS],
            pad_id=PAD,
            generator=torch.Generator().manual_seed(3),
            batch_rows=(offset * 2, len(questions) * 2),
        )

    whole = draw(questions, 0).responses()
    parts = draw(questions[:split], 0).responses() + draw(questions[split:], split).responses()
    assert parts == whole
    assert len({tuple(r) for r in whole}) > 1  # sampled, not one repeated answer


def test_filter_logits_top_k_and_top_p():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    assert torch.isinf(filter_logits(logits, top_k=2)).tolist() == [[False, False, True, True]]
    # nucleus 0.7: 0.5 (<0.7) then 0.3 reaches 0.8 -> keep two
    assert torch.isinf(filter_logits(logits, top_p=0.7)).tolist() == [[False, False, True, True]]
    assert torch.isinf(filter_logits(logits, top_p=0.5)).tolist() == [[False, True, True, True]]


def test_sampling_config_validation():
    with pytest.raises(ValueError, match="top_p"):
        SamplingConfig(top_p=0)


def test_categorical_matches_the_distribution_and_skips_zero_mass():
    from rlvr_world.core.sampler import categorical

    probs = torch.tensor([[0.0, 0.5, 0.0, 0.3, 0.2], [1.0, 0.0, 0.0, 0.0, 0.0]])
    gen = torch.Generator().manual_seed(0)
    draws = torch.stack([categorical(probs, gen) for _ in range(20000)])  # [S, 2]
    counts = torch.bincount(draws[:, 0], minlength=5).float() / len(draws)
    torch.testing.assert_close(counts, probs[0], atol=0.015, rtol=0)  # ~4 standard errors
    assert (draws[:, 1] == 0).all()
    assert set(draws[:, 0].tolist()) <= {1, 3, 4}  # zero-probability tokens never drawn
