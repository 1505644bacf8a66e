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


class _Decoder:
    """The rows of a rollout still running: their KV cache, attention mask [n, L], the
    position of their next token [n], the logits of their next token [n, V], and which rows of
    the batch they are (`active` [n] long)."""

    def __init__(self, model: torch.nn.Module, q_mask: torch.Tensor, cache, logits) -> None:
        self.model, self.cache, self.logits = model, cache, logits
        self.attention, self.next_position = q_mask, q_mask.sum(-1)
        self.active = torch.arange(q_mask.shape[0], device=q_mask.device)

    def feed(self, tokens: torch.Tensor) -> None:
        """Append tokens [n, m] to the running rows (one forward through the cache)."""
        m = tokens.shape[1]
        attention = self.attention
        self.attention = torch.cat([attention, attention.new_ones((attention.shape[0], m))], 1)
        positions = self.next_position.unsqueeze(1) + torch.arange(m, device=tokens.device)
        out = self.model(
            input_ids=tokens,
            attention_mask=self.attention,
            position_ids=positions,
            cache=self.cache,
            use_cache=True,
            logits_to_keep=1,
        )
        self.cache, self.logits = out.cache, out.logits[:, -1].float()
        self.next_position = self.next_position + m

    def keep(self, kept: torch.Tensor) -> None:
        """Go on with the running rows `kept` ([n'] long, indices into the running rows)."""
        self.cache.batch_select_indices(kept)
        self.active, self.attention = self.active[kept], self.attention[kept]
        self.next_position = self.next_position[kept]


class _Pieces:
    """Each row's response, built piece by piece: token ids, their log-probabilities, whether
    the model chose them (1) or they were inserted (0), and their span."""

    def __init__(self, n_rows: int) -> None:
        self.parts: list[list[tuple[torch.Tensor, ...]]] = [[] for _ in range(n_rows)]

    def add(self, rows: list[int], tokens: torch.Tensor, logp: torch.Tensor | None, k: int) -> None:
        """tokens [n, m] of rows `rows` after span k's; logp [n, m] when sampled, None when
        inserted (log-probability and trainable 0)."""
        m = tokens.shape[1]
        for i, row in enumerate(rows):
            chosen = logp is not None
            self.parts[row].append(
                (
                    tokens[i].cpu(),
                    logp[i].cpu() if chosen else torch.zeros(m),
                    torch.ones(m) if chosen else torch.zeros(m),
                    torch.full((m,), k, dtype=torch.long),
                )
            )

    def samples(self, q_ids: torch.Tensor, q_mask: torch.Tensor, pad_id: int) -> Samples:
        """The rows right-padded into `Samples` (every row finished)."""
        rows = [[torch.cat(column) for column in zip(*parts)] for parts in self.parts]
        n_rows, width = len(rows), max(len(r[0]) for r in rows)
        response_ids = torch.full((n_rows, width), pad_id, dtype=torch.long)
        response_mask = torch.zeros((n_rows, width))
        logprobs = torch.zeros((n_rows, width))
        trainable = torch.zeros((n_rows, width))
        span_index = torch.full((n_rows, width), -1, dtype=torch.long)
        for i, (tokens, logp, chosen, span) in enumerate(rows):
            response_ids[i, : len(tokens)] = tokens
            response_mask[i, : len(tokens)] = 1.0
            logprobs[i, : len(tokens)] = logp
            trainable[i, : len(tokens)] = chosen
            span_index[i, : len(tokens)] = span
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


def _sample_span(decoder: _Decoder, span_length: int, config, bias, draws) -> tuple:
    """span_length tokens for every running row -> (tokens [n, K], log-probs [n, K]); the
    span's last token is left for the next `feed`."""
    span, span_logp = [], []
    for t in range(span_length):
        uniforms = draws(decoder.active) if config.temperature > 0 else None
        logits = decoder.logits if bias is None else decoder.logits + bias
        tokens, logp = next_tokens(logits, config, None, uniforms)
        span.append(tokens)
        span_logp.append(logp)
        if t < span_length - 1:
            decoder.feed(tokens.unsqueeze(1))
    return torch.stack(span, 1), torch.stack(span_logp, 1)


def _inserted(insert: Insert, k: int, active: torch.Tensor, span: torch.Tensor) -> tuple:
    """`insert`'s answer after span k, checked -> (tokens [n, A] long, stop [n] bool or None)."""
    result = insert(k, active, span)
    inserted, stop = result if isinstance(result, tuple) else (result, None)
    inserted = inserted.to(device=span.device, dtype=torch.long)
    if inserted.dim() != 2 or inserted.shape[0] != len(active):
        raise ValueError(
            f"insert({k}) must return [{len(active)}, A] tokens, got {tuple(inserted.shape)}"
        )
    return inserted, stop


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
    bias = allowed_bias(allowed_ids, logits.shape[-1], device)
    draws = RowDraws(generator, q_ids.shape[0], batch_rows)
    decoder, pieces = _Decoder(model, q_mask, cache, logits), _Pieces(q_ids.shape[0])
    for k in range(num_spans):
        span, span_logp = _sample_span(decoder, span_length, config, bias, draws)  # [n, K]
        pieces.add(decoder.active.tolist(), span, span_logp, k)
        if k == num_spans - 1:
            break
        inserted, stop = _inserted(insert, k, decoder.active, span)  # [n, A], [n] or None
        pieces.add(decoder.active.tolist(), inserted, None, k)
        if stop is not None and bool(stop.any()):
            kept = (~stop.to(device)).nonzero().squeeze(-1)
            if len(kept) == 0:
                break
            decoder.keep(kept)
            span, inserted = span[kept], inserted[kept]
        # the span's last token has not been fed yet: feed it with the insert in one forward
        decoder.feed(torch.cat([span[:, -1:], inserted], dim=1))
    return pieces.samples(q_ids, q_mask, pad_id)
