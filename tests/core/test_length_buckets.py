"""`response_logprobs` with length buckets and shared question prefixes = one padded forward."""

import pytest
import torch

from rlvr_world.core import losses
from rlvr_world.core.losses import length_buckets, response_logprobs
from rlvr_world.core.sequences import pad_left, pad_right


def _batch(n=12, seed=0, group_size=1):
    """n rows; with group_size > 1, consecutive rows share a question (GRPO layout)."""
    gen = torch.Generator().manual_seed(seed)

    def randseq(low, high):
        length = int(torch.randint(low, high, (1,), generator=gen))
        return torch.randint(3, 12, (length,), generator=gen).tolist()

    distinct = [[1] + randseq(1, 8) for _ in range(n // group_size)]
    questions = [q for q in distinct for _ in range(group_size)]
    responses = [randseq(0, 15) + [2] for _ in range(n)]
    return (*pad_left(questions, 0), *pad_right(responses, 0))


def test_buckets_partition_rows_and_cut_padding():
    q_ids, q_mask, r_ids, r_mask = _batch(40)
    buckets = length_buckets(q_mask, r_mask, overhead_tokens=0)
    assert sorted(torch.cat(buckets).tolist()) == list(range(40))
    assert len(buckets) > 1
    padded = sum(len(b) * (q_mask.shape[1] + r_mask.shape[1]) for b in buckets)
    trimmed = sum(
        len(b) * (int(q_mask[b].sum(1).max()) + int(r_mask[b].sum(1).max())) for b in buckets
    )
    assert trimmed < padded
    # a huge overhead keeps everything in one bucket
    assert len(length_buckets(q_mask, r_mask, overhead_tokens=10**9)) == 1


@pytest.mark.parametrize("group_size", [1, 4])
@pytest.mark.parametrize("bucketed,share_prefix", [(True, False), (False, True), (True, True)])
def test_fast_paths_match_one_forward(monkeypatch, make_model, group_size, bucketed, share_prefix):
    """Values, entropies and gradients equal those of one padded forward over all rows."""
    monkeypatch.setattr(losses, "BUCKET_OVERHEAD_TOKENS", 0)  # force many buckets
    batch = _batch(12, group_size=group_size)
    mask = batch[3]
    assert len(length_buckets(batch[1], mask)) > 1  # the patched default
    results = []
    for options in (
        {"bucketed": False, "share_prefix": False},
        {"bucketed": bucketed, "share_prefix": share_prefix},
    ):
        model = make_model()
        logp, entropy = response_logprobs(model, *batch, with_entropy=True, **options)
        assert logp.shape == entropy.shape == mask.shape
        ((logp * mask).sum() + (entropy * mask).sum()).backward()
        grads = [p.grad.clone() for p in model.parameters()]
        results.append((logp * mask, entropy * mask, grads))
    (logp_a, ent_a, grads_a), (logp_b, ent_b, grads_b) = results
    torch.testing.assert_close(logp_b, logp_a, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(ent_b, ent_a, atol=1e-5, rtol=1e-4)
    for a, b in zip(grads_a, grads_b):
        torch.testing.assert_close(b, a, atol=1e-5, rtol=1e-4)


def test_shared_prefix_with_empty_and_one_token_responses(make_model):
    """Rows whose response mask is empty (truncation-masked) or one token long."""
    q = pad_left([[1, 5, 6]] * 3 + [[1, 7]] * 3, 0)
    r_ids, r_mask = pad_right([[4, 2], [3], [5, 6, 7, 2], [2], [8, 9], [4]], 0)
    r_mask[2] = 0.0  # a truncated response with its mask zeroed
    model = make_model()
    plain, _ = response_logprobs(model, *q, r_ids, r_mask, bucketed=False, share_prefix=False)
    fast, _ = response_logprobs(model, *q, r_ids, r_mask)
    torch.testing.assert_close(fast * r_mask, plain * r_mask, atol=1e-5, rtol=1e-4)
