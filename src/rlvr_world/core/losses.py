"""Per-token log-probabilities of given responses, and the MLE loss.

Layout (see `sequences`): questions left-padded [N, Lq], responses right-padded [N, Lr].

`response_logprobs` skips work that one padded forward over [N, Lq + Lr] would waste, with
the same result up to float rounding:
- shared prefix: rows with the same question (the G samples of a GRPO group) encode it once;
  its KV cache is gathered per row (differentiably) and only the responses are run on top;
- length buckets: rows are sorted by length and split where that saves more padded positions
  than an extra forward costs, each bucket trimmed to its own widest row. RL batches have a long
  tail of lengths (a few responses run to the limit, most stop early).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rlvr_world.core.grpo import entropy_from_logits
from rlvr_world.core.sequences import join, position_ids


def response_logits(
    model: torch.nn.Module,
    question_ids: torch.Tensor,
    question_mask: torch.Tensor,
    response_ids: torch.Tensor,
    response_mask: torch.Tensor,
) -> torch.Tensor:
    """Logits that predict each response token: [N, Lr, V] float."""
    ids, mask = join(question_ids, question_mask, response_ids, response_mask)
    response_length = response_ids.shape[1]
    output = model(
        input_ids=ids,
        attention_mask=mask,
        position_ids=position_ids(mask),
        use_cache=False,
        logits_to_keep=response_length + 1,
    )
    return output.logits[:, :-1].float()


BUCKET_OVERHEAD_TOKENS = 256
"""Padded positions one more forward is assumed to cost (call overhead) when bucketing."""
MAX_BUCKET_CUTS = 64
"""At most this many candidate cut points between sorted rows (quantiles beyond)."""


def _spans(mask: torch.Tensor) -> torch.Tensor:
    """[N, L] mask -> [N] long: index of the last nonzero column + 1 (0 for an empty row)."""
    columns = torch.arange(1, mask.shape[1] + 1, device=mask.device)
    return (mask.bool() * columns).amax(1) if mask.shape[1] else mask.new_zeros(mask.shape[0])


def length_buckets(
    question_mask: torch.Tensor,
    response_mask: torch.Tensor,
    overhead_tokens: int | None = None,
) -> list[torch.Tensor]:
    """Partition the rows into buckets of similar length: a list of row-index tensors [n_b].

    question_mask [N, Lq] (left-padded), response_mask [N, Lr] (right-padded). Rows are sorted
    by question + response length and cut into contiguous runs minimising
    sum_b n_b * (Lq_b + Lr_b) + overhead_tokens * (number of buckets), where Lq_b / Lr_b are the
    widest question / response of bucket b (dynamic programme over <= MAX_BUCKET_CUTS cuts).
    overhead_tokens: default BUCKET_OVERHEAD_TOKENS.
    """
    if overhead_tokens is None:
        overhead_tokens = BUCKET_OVERHEAD_TOKENS
    n = question_mask.shape[0]
    q_span = _spans(question_mask.flip(1)).tolist()
    r_span = _spans(response_mask).tolist()
    order = sorted(range(n), key=lambda i: q_span[i] + r_span[i])
    totals = [q_span[i] + r_span[i] for i in order]
    cuts = [i for i in range(1, n) if totals[i] != totals[i - 1]]
    if len(cuts) > MAX_BUCKET_CUTS:
        last = len(cuts) - 1
        picks = {round(k * last / (MAX_BUCKET_CUTS - 1)) for k in range(MAX_BUCKET_CUTS)}
        cuts = [cuts[k] for k in sorted(picks)]
    points = [0, *cuts, n]
    segments = list(zip(points, points[1:]))
    seg_q = [max(q_span[i] for i in order[a:b]) for a, b in segments]
    seg_r = [max(r_span[i] for i in order[a:b]) for a, b in segments]
    best = [0] + [None] * len(segments)  # best[j]: cheapest split of the rows before points[j]
    start = [0] * (len(segments) + 1)
    for j in range(1, len(points)):
        widest_q = widest_r = 0
        for i in range(j - 1, -1, -1):  # last bucket = segments i .. j-1
            widest_q, widest_r = max(widest_q, seg_q[i]), max(widest_r, seg_r[i])
            rows = points[j] - points[i]
            cost = best[i] + rows * (widest_q + max(widest_r, 1)) + overhead_tokens
            if best[j] is None or cost < best[j]:
                best[j], start[j] = cost, i
    buckets, j = [], len(points) - 1
    while j > 0:
        i = start[j]
        buckets.append(torch.tensor(order[points[i] : points[j]], device=question_mask.device))
        j = i
    return buckets[::-1]


def response_logprobs(
    model: torch.nn.Module,
    question_ids: torch.Tensor,
    question_mask: torch.Tensor,
    response_ids: torch.Tensor,
    response_mask: torch.Tensor,
    with_entropy: bool = False,
    temperature: float = 1.0,
    bucketed: bool = True,
    share_prefix: bool = True,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """log p(response token | prefix) [N, Lr] and, if asked, the entropy [N, Lr].

    Values at padded positions are meaningless (0 beyond a row's bucket); multiply by
    `response_mask`. bucketed: run the model on `length_buckets`; share_prefix: encode each
    distinct question once when some rows repeat one (needs a model returning a
    `transformers` `DynamicCache`). Both off: one padded forward over all rows.
    """
    n, width = response_ids.shape
    prefix = None
    if share_prefix and n > 1:
        prefix = _encode_questions(model, question_ids, question_mask)
    if bucketed and n > 1:
        # with a shared prefix only the responses are run per bucket: bucket on them alone
        q_lengths = question_mask[:, :0] if prefix is not None else question_mask
        buckets = length_buckets(q_lengths, response_mask)
    else:
        buckets = []
    if len(buckets) <= 1:
        buckets = [None]  # one forward over all rows, in order
    logps, entropies = [], []
    for rows in buckets:
        r_ids, r_mask = (
            (response_ids, response_mask)
            if rows is None
            else (response_ids[rows], response_mask[rows])
        )
        if bucketed:  # drop the bucket's all-padding response columns
            keep = max(int(_spans(r_mask).max()), 1)
            r_ids, r_mask = r_ids[:, :keep], r_mask[:, :keep]
        if prefix is not None:
            logits = _logits_after_prefix(model, prefix, rows, r_ids, r_mask)
        else:
            q_ids, q_mask = (
                (question_ids, question_mask)
                if rows is None
                else (question_ids[rows], question_mask[rows])
            )
            if bucketed:  # drop the bucket's all-padding question columns
                keep = max(int(_spans(q_mask.flip(1)).max()), 1)
                q_ids, q_mask = q_ids[:, -keep:], q_mask[:, -keep:]
            logits = response_logits(model, q_ids, q_mask, r_ids, r_mask)
        if temperature != 1.0:
            logits = logits / temperature
        logp = torch.gather(F.log_softmax(logits, dim=-1), 2, r_ids.unsqueeze(-1)).squeeze(-1)
        logps.append(F.pad(logp, (0, width - logp.shape[1])))
        if with_entropy:
            entropy = entropy_from_logits(logits)
            entropies.append(F.pad(entropy, (0, width - entropy.shape[1])))
    if len(buckets) == 1:
        return logps[0], entropies[0] if with_entropy else None
    order = torch.cat(buckets)
    inverse = torch.empty_like(order)
    inverse[order] = torch.arange(n, device=order.device)
    logp = torch.cat(logps)[inverse]
    entropy = torch.cat(entropies)[inverse] if with_entropy else None
    return logp, entropy


def _encode_questions(
    model: torch.nn.Module, question_ids: torch.Tensor, question_mask: torch.Tensor
) -> dict | None:
    """One forward over the distinct questions, or None when no question repeats (or the model's
    cache is not a plain `DynamicCache`, e.g. sliding-window layers).

    -> {"group" [N] (row -> distinct question), "kv" (per layer (keys, values) [U, ...]),
    "logits" [U, V] (prediction of the first response token), "mask" [U, Lq], "length" [U]}.
    """
    from transformers.cache_utils import DynamicLayer

    keep = max(int(_spans(question_mask.flip(1)).max()), 1)
    q_ids, q_mask = question_ids[:, -keep:], question_mask[:, -keep:].long()
    unique, group = torch.unique(torch.cat([q_ids, q_mask], 1), dim=0, return_inverse=True)
    if unique.shape[0] == q_ids.shape[0]:
        return None
    u_ids, u_mask = unique[:, :keep], unique[:, keep:]
    output = model(
        input_ids=u_ids,
        attention_mask=u_mask,
        position_ids=position_ids(u_mask),
        use_cache=True,
        logits_to_keep=1,
    )
    layers = getattr(output.cache, "layers", None)
    if not layers or any(type(layer) is not DynamicLayer for layer in layers):
        return None
    return {
        "group": group,
        "kv": [(layer.keys, layer.values) for layer in layers],
        "logits": output.logits[:, -1].float(),
        "mask": u_mask,
        "length": u_mask.sum(1),
    }


def _logits_after_prefix(
    model: torch.nn.Module,
    prefix: dict,
    rows: torch.Tensor | None,
    response_ids: torch.Tensor,
    response_mask: torch.Tensor,
) -> torch.Tensor:
    """Logits predicting each response token [n, Lr, V], on top of the encoded questions."""
    from transformers import DynamicCache

    group = prefix["group"] if rows is None else prefix["group"][rows]
    first = prefix["logits"][group].unsqueeze(1)  # [n, 1, V]: predicts response token 0
    if response_ids.shape[1] == 1:
        return first
    cache = DynamicCache()
    for layer, (keys, values) in enumerate(prefix["kv"]):
        cache.update(keys[group], values[group], layer)
    inputs = response_ids[:, :-1]  # the last token predicts nothing we score
    steps = torch.arange(inputs.shape[1], device=inputs.device)
    output = model(
        input_ids=inputs,
        attention_mask=torch.cat([prefix["mask"][group], response_mask[:, :-1].long()], 1),
        position_ids=prefix["length"][group].unsqueeze(1) + steps,
        cache=cache,
        use_cache=True,
    )
    return torch.cat([first, output.logits.float()], 1)


def mle_loss(
    model: torch.nn.Module,
    question_ids: torch.Tensor,
    question_mask: torch.Tensor,
    response_ids: torch.Tensor,
    response_mask: torch.Tensor,
    loss_mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Teacher-forced next-token NLL on response tokens only.

    loss_mask [N, Lr]: the tokens that count (default `response_mask`); tokens the model attends
    to but does not predict (e.g. inserted actions) are in `response_mask` and not in it.
    -> (sum of token NLLs [scalar], number of counted tokens [scalar]); the caller divides,
    so gradient accumulation over micro-batches weighs every token equally.
    """
    logits = response_logits(model, question_ids, question_mask, response_ids, response_mask)
    nll = F.cross_entropy(logits.transpose(1, 2), response_ids, reduction="none")  # [N, Lr]
    weights = response_mask if loss_mask is None else loss_mask * response_mask
    return (nll * weights).sum(), weights.sum()
