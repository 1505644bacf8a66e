"""Interactive rollouts: generate a span, insert external tokens, continue, with one KV cache.

A multi-step world model predicts step k's observation, then is told the action taken at step
k (from a dataset, or from a policy that looked at the prediction) and goes on. The response
is the interleaving

    [span_0][insert_0][span_1][insert_1] ... [span_{S-1}]

where each span is `span_length` sampled tokens and each insert comes from `insert(k, span)`.
Inserted tokens are part of the sequence (the model attends to them) but are not the model's
choice: `Samples.trainable_mask` is 0 on them, so they carry no loss, entropy or KL.
`Samples.span_index` says which span each token belongs to, for per-span credit
(`core.grpo.span_advantages`).

Legend: B questions, G group size, N = B*G rows, S spans, K = span_length, A inserted tokens.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from rlvr_world.core.sampler import (
    RowDraws,
    Samples,
    SamplingConfig,
    allowed_bias,
    next_tokens,
    prefill,
)

Insert = Callable[
    [int, torch.Tensor, torch.Tensor], "torch.Tensor | tuple[torch.Tensor, torch.Tensor]"
]
"""`insert(k, rows, span)`: after span k (k < S - 1), for the still-running rows (`rows` [n]
long, indices into the N rows) whose span k is `span` [n, K] long, return the tokens to insert
[n, A] long, or (tokens, stop [n] bool) to also end some rows there (a policy's "terminate")."""


def inserts_from_lists(inserts: Sequence[Sequence[Sequence[int]]], group_size: int = 1) -> Insert:
    """An `Insert` from fixed tokens: inserts[b][k] is inserted after span k of question b."""
    table = [
        [torch.as_tensor(list(tokens), dtype=torch.long) for tokens in per_question]
        for per_question in inserts
    ]

    def insert(k: int, rows: torch.Tensor, span: torch.Tensor) -> torch.Tensor:
        return torch.stack([table[int(row) // group_size][k] for row in rows]).to(span.device)

    return insert


@torch.no_grad()
def rollout(
    model: torch.nn.Module,
    questions: Sequence[Sequence[int]],
    config: SamplingConfig,
    *,
    span_length: int,
    num_spans: int,
    insert: Insert,
    pad_id: int,
    group_size: int = 1,
    allowed_ids: Sequence[int] | None = None,
    generator: torch.Generator | None = None,
    batch_rows: tuple[int, int] | None = None,
) -> Samples:
    """Sample `num_spans` spans of `span_length` tokens per row with `insert`ed tokens between.

    `config.max_new_tokens` is ignored (the layout fixes the length); temperature/top-k/top-p
    apply, restricted to `allowed_ids` when given. Rows stopped by `insert` end after their
    insert (finished = True); every other row runs all spans (finished = True as well: a span
    never truncates). batch_rows: as in `core.sampler.sample`. Returns `Samples` with
    `trainable_mask` marking the sampled tokens.
    """
    if span_length <= 0 or num_spans <= 0:
        raise ValueError(f"span_length and num_spans must be > 0, got {span_length}, {num_spans}")
    device = next(model.parameters()).device
    q_ids, q_mask, cache, logits = prefill(model, questions, pad_id, group_size)
    n_rows = q_ids.shape[0]
    bias = allowed_bias(allowed_ids, logits.shape[-1], device)
    draws = RowDraws(generator, n_rows, batch_rows)

    tokens_out: list[list[torch.Tensor]] = [[] for _ in range(n_rows)]
    logp_out: list[list[torch.Tensor]] = [[] for _ in range(n_rows)]
    train_out: list[list[torch.Tensor]] = [[] for _ in range(n_rows)]
    span_out: list[list[torch.Tensor]] = [[] for _ in range(n_rows)]
    active = torch.arange(n_rows, device=device)
    attention = q_mask
    next_position = q_mask.sum(-1)

    def feed(tokens: torch.Tensor) -> None:  # [n, m] tokens appended to the running rows
        nonlocal cache, logits, attention, next_position
        m = tokens.shape[1]
        attention = torch.cat([attention, attention.new_ones((attention.shape[0], m))], dim=1)
        positions = next_position.unsqueeze(1) + torch.arange(m, device=device)
        out = model(
            input_ids=tokens,
            attention_mask=attention,
            position_ids=positions,
            cache=cache,
            use_cache=True,
            logits_to_keep=1,
        )
        cache, logits = out.cache, out.logits[:, -1].float()
        next_position = next_position + m

    for k in range(num_spans):
        span, span_logp = [], []
        for t in range(span_length):
            uniforms = draws(active) if config.temperature > 0 else None
            tokens, logp = next_tokens(
                logits if bias is None else logits + bias, config, None, uniforms
            )
            span.append(tokens)
            span_logp.append(logp)
            if t < span_length - 1:
                feed(tokens.unsqueeze(1))
        span_t, span_logp_t = torch.stack(span, 1), torch.stack(span_logp, 1)  # [n, K]
        for i, row in enumerate(active.tolist()):
            tokens_out[row].append(span_t[i].cpu())
            logp_out[row].append(span_logp_t[i].cpu())
            train_out[row].append(torch.ones(span_length))
            span_out[row].append(torch.full((span_length,), k, dtype=torch.long))
        if k == num_spans - 1:
            break
        result = insert(k, active, span_t)
        inserted, stop = result if isinstance(result, tuple) else (result, None)
        inserted = inserted.to(device=device, dtype=torch.long)
        if inserted.dim() != 2 or inserted.shape[0] != len(active):
            raise ValueError(
                f"insert({k}) must return [{len(active)}, A] tokens, got {tuple(inserted.shape)}"
            )
        for i, row in enumerate(active.tolist()):
            tokens_out[row].append(inserted[i].cpu())
            logp_out[row].append(torch.zeros(inserted.shape[1]))
            train_out[row].append(torch.zeros(inserted.shape[1]))
            span_out[row].append(torch.full((inserted.shape[1],), k, dtype=torch.long))
        if stop is not None and bool(stop.any()):
            keep = (~stop.to(device)).nonzero().squeeze(-1)
            if len(keep) == 0:
                break
            cache.batch_select_indices(keep)
            active, attention, next_position = active[keep], attention[keep], next_position[keep]
            span_t, inserted = span_t[keep], inserted[keep]
        # the span's last token has not been fed yet: feed it with the insert in one forward
        feed(torch.cat([span_t[:, -1:], inserted], dim=1))

    rows = [torch.cat(parts) for parts in tokens_out]
    width = max(len(r) for r in rows)
    response_ids = torch.full((n_rows, width), pad_id, dtype=torch.long)
    response_mask = torch.zeros((n_rows, width))
    logprobs = torch.zeros((n_rows, width))
    trainable = torch.zeros((n_rows, width))
    span_index = torch.full((n_rows, width), -1, dtype=torch.long)
    for i, r in enumerate(rows):
        response_ids[i, : len(r)] = r
        response_mask[i, : len(r)] = 1.0
        logprobs[i, : len(r)] = torch.cat(logp_out[i])
        trainable[i, : len(r)] = torch.cat(train_out[i])
        span_index[i, : len(r)] = torch.cat(span_out[i])
    return Samples(
        question_ids=q_ids.cpu(),
        question_mask=q_mask.cpu(),
        response_ids=response_ids,
        response_mask=response_mask,
        logprobs=logprobs,
        finished=torch.ones(n_rows, dtype=torch.bool),
        trainable_mask=trainable,
        span_index=span_index,
    )
