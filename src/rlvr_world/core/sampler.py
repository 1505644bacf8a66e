"""Batched autoregressive sampling with a KV cache, G samples per question.

The prompt of each question is encoded once (prefill) and its cache copied G times, so a group
of G samples costs one prefill, not G. Finished rows are dropped from the batch as they end,
so a long straggler does not keep paying for the whole batch.

Legend: B questions, G group size, N = B*G rows, Lq question length, Lr response length,
V vocabulary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from rlvr_world.core.sequences import pad_left


@dataclass(frozen=True)
class SamplingConfig:
    """How responses are drawn."""

    max_new_tokens: int = 128
    """Length limit of a response; a response that reaches it without a stop id is truncated."""
    temperature: float = 1.0
    """Softmax temperature; 0 means greedy decoding."""
    top_k: int = 0
    """Keep the k most likely tokens (0 = off)."""
    top_p: float = 1.0
    """Nucleus sampling threshold (1 = off)."""

    def __post_init__(self) -> None:
        if self.max_new_tokens <= 0:
            raise ValueError(f"max_new_tokens must be > 0, got {self.max_new_tokens}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if self.top_k < 0:
            raise ValueError(f"top_k must be >= 0, got {self.top_k}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")


@dataclass
class Samples:
    """What `sample` returns; rows are group-contiguous: [q0s0 .. q0s{G-1}, q1s0, ...].

    question_ids [N, Lq] long (left-padded), question_mask [N, Lq] long,
    response_ids [N, Lr] long (pad after the stop id), response_mask [N, Lr] float
    (1 for generated tokens, the stop id included), logprobs [N, Lr] float (log-probability of
    each token under the sampling distribution; 0 at padding), finished [N] bool (a stop id was
    produced before the length limit), trainable_mask [N, Lr] float or None (interactive
    rollouts: 1 on sampled tokens, 0 on inserted ones; None = `response_mask`), span_index
    [N, Lr] long or None (interactive rollouts: the span k each token belongs to, the tokens
    inserted after span k included; -1 at padding; None = one span).
    """

    question_ids: torch.Tensor
    question_mask: torch.Tensor
    response_ids: torch.Tensor
    response_mask: torch.Tensor
    logprobs: torch.Tensor
    finished: torch.Tensor
    trainable_mask: torch.Tensor | None = None
    span_index: torch.Tensor | None = None

    @property
    def loss_mask(self) -> torch.Tensor:
        """[N, Lr] float: the tokens the model chose (these get loss, entropy and KL)."""
        return self.response_mask if self.trainable_mask is None else self.trainable_mask

    def responses(self) -> list[list[int]]:
        """Response ids of each row without padding (stop id kept)."""
        lengths = self.response_mask.sum(1).long().tolist()
        return [row[:n] for row, n in zip(self.response_ids.tolist(), lengths)]


def filter_logits(logits: torch.Tensor, top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    """[N, V] -> [N, V] with tokens outside the top-k / nucleus set to -inf."""
    if top_k > 0 and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
        cumulative = torch.softmax(sorted_logits, dim=-1).cumsum(-1)
        # drop a token once the mass *before* it already reaches top_p (the first always stays)
        drop_sorted = (cumulative - torch.softmax(sorted_logits, dim=-1)) >= top_p
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


def allowed_bias(
    allowed_ids: Sequence[int] | None, vocab_size: int, device: torch.device | str = "cpu"
) -> torch.Tensor | None:
    """[V] float: 0 on `allowed_ids`, -inf elsewhere (None when every id is allowed)."""
    if allowed_ids is None:
        return None
    ids = torch.as_tensor(list(allowed_ids), dtype=torch.long)
    if len(ids) == 0 or int(ids.min()) < 0 or int(ids.max()) >= vocab_size:
        raise ValueError(f"allowed_ids must be non-empty ids in [0, {vocab_size})")
    bias = torch.full((vocab_size,), float("-inf"))
    bias[ids] = 0.0
    return bias.to(device)


class RowDraws:
    """The uniforms sampling consumes: at each decoding step one per row of the whole batch.

    A process may hold only rows [offset, offset + N) of a batch of `total` rows (data-parallel
    ranks each sampling their share of the questions). Every decoding step still draws `total`
    uniforms and each row takes the one at its index in the whole batch, so a row's samples do
    not depend on how the batch is split across processes, nor on which other rows have
    finished. `total=None` means this process holds the whole batch.
    """

    def __init__(
        self,
        generator: torch.Generator | None,
        rows: int,
        batch_rows: tuple[int, int] | None = None,
    ) -> None:
        offset, total = batch_rows if batch_rows is not None else (0, rows)
        if offset < 0 or offset + rows > total:
            raise ValueError(f"batch_rows {batch_rows} cannot hold {rows} rows")
        self.generator, self.offset, self.total = generator, offset, total

    def __call__(self, active: torch.Tensor) -> torch.Tensor:
        """[n] local row indices still sampling -> [n, 1] uniforms in [0, 1)."""
        u = torch.rand(self.total, generator=self.generator)
        return u[self.offset + active.cpu()].unsqueeze(1).to(active.device)


def next_tokens(
    logits: torch.Tensor,
    config: SamplingConfig,
    generator: torch.Generator | None,
    uniforms: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """[N, V] logits -> (tokens [N], their log-probs under the sampling distribution [N]).

    uniforms: [N, 1] the draws to sample with (see `RowDraws`); None = fresh from `generator`."""
    if config.temperature == 0:
        logp = torch.log_softmax(logits, dim=-1)
        tokens = logits.argmax(-1)
    else:
        scaled = filter_logits(logits / config.temperature, config.top_k, config.top_p)
        logp = torch.log_softmax(scaled, dim=-1)
        tokens = categorical(logp.exp(), generator, uniforms)
    return tokens, logp.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)


def categorical(
    probs: torch.Tensor,
    generator: torch.Generator | None = None,
    uniforms: torch.Tensor | None = None,
) -> torch.Tensor:
    """[N, V] probabilities -> [N] long samples by inverting the CDF: one uniform per row
    (`uniforms` [N, 1] in [0, 1), else fresh from `generator`).

    Exact like `torch.multinomial`, and ~20x faster on a CPU with large vocabularies (one cumsum
    and a binary search instead of per-row alias tables). A zero-probability token is never
    drawn: the first index whose CDF exceeds u always has positive mass."""
    cdf = probs.cumsum(-1)
    if uniforms is None:
        uniforms = torch.rand((probs.shape[0], 1), generator=generator, device=probs.device)
    u = uniforms.to(cdf.dtype) * cdf[:, -1:]
    return torch.searchsorted(cdf, u, right=True).squeeze(-1).clamp(max=probs.shape[-1] - 1)


@torch.no_grad()
def prefill(
    model: torch.nn.Module, questions: Sequence[Sequence[int]], pad_id: int, group_size: int = 1
) -> tuple[torch.Tensor, torch.Tensor, object, torch.Tensor]:
    """Encode each question once and copy its KV cache `group_size` times.

    -> question ids [N, Lq] and mask [N, Lq] (left-padded, group-contiguous rows), the cache,
    and the logits of each row's first response token [N, V] float.
    """
    device = next(model.parameters()).device
    q_ids, q_mask = pad_left(questions, pad_id)
    q_ids, q_mask = q_ids.to(device), q_mask.to(device)
    output = model(
        input_ids=q_ids,
        attention_mask=q_mask,
        position_ids=(q_mask.cumsum(-1) - 1).clamp(min=0),
        use_cache=True,
        logits_to_keep=1,
    )
    cache, logits = output.cache, output.logits[:, -1].float()  # [B, V]
    if group_size > 1:
        cache.batch_repeat_interleave(group_size)
        logits = logits.repeat_interleave(group_size, 0)
        q_ids = q_ids.repeat_interleave(group_size, 0)
        q_mask = q_mask.repeat_interleave(group_size, 0)
    return q_ids, q_mask, cache, logits


@torch.no_grad()
def sample(
    model: torch.nn.Module,
    questions: Sequence[Sequence[int]],
    config: SamplingConfig,
    *,
    group_size: int = 1,
    stop_ids: Sequence[int],
    pad_id: int,
    allowed_ids: Sequence[int] | None = None,
    generator: torch.Generator | None = None,
    batch_rows: tuple[int, int] | None = None,
) -> Samples:
    """Draw `group_size` responses for each question.

    questions: B lists of token ids. allowed_ids: restrict sampling to these ids (e.g. a frame's
    visual codes; stop ids must be among them to ever stop). batch_rows: (offset, total) when
    these rows are a share of a larger batch sampled across processes (see `RowDraws`).
    Returns `Samples` with N = B * group_size rows.
    """
    device = next(model.parameters()).device
    q_ids, q_mask, cache, logits = prefill(model, questions, pad_id, group_size)
    n_rows = q_ids.shape[0]
    next_position = q_mask.sum(-1)  # [N] position of the first response token
    stop = torch.as_tensor(list(stop_ids), dtype=torch.long, device=device)
    bias = allowed_bias(allowed_ids, logits.shape[-1], device)
    draws = RowDraws(generator, n_rows, batch_rows)

    tokens_out = torch.full((n_rows, config.max_new_tokens), pad_id, dtype=torch.long)
    logp_out = torch.zeros((n_rows, config.max_new_tokens))
    finished = torch.zeros(n_rows, dtype=torch.bool)
    lengths = torch.zeros(n_rows, dtype=torch.long)
    active = torch.arange(n_rows, device=device)  # rows of the full batch still generating
    attention = q_mask  # [n_active, Lq + t]

    for step in range(config.max_new_tokens):
        uniforms = draws(active) if config.temperature > 0 else None
        tokens, logp = next_tokens(
            logits if bias is None else logits + bias, config, None, uniforms
        )
        tokens_out[active, step] = tokens.cpu()
        logp_out[active, step] = logp.cpu()
        lengths[active] += 1
        done = torch.isin(tokens, stop)
        finished[active[done].cpu()] = True
        if step == config.max_new_tokens - 1 or bool(done.all()):
            break
        if bool(done.any()):  # drop finished rows from the cache and the batch
            keep = (~done).nonzero().squeeze(-1)
            cache.batch_select_indices(keep)
            active, tokens = active[keep], tokens[keep]
            attention, next_position = attention[keep], next_position[keep]
        attention = torch.cat([attention, attention.new_ones((attention.shape[0], 1))], dim=1)
        cache, logits = _feed(model, tokens, attention, next_position, cache)
        next_position = next_position + 1

    if len(stop) == 0:  # no stop ids: responses have a fixed length and are complete at it
        finished[:] = True
    return _samples(q_ids, q_mask, tokens_out, logp_out, lengths, finished)


def _feed(model, tokens, attention, positions, cache):
    """One decoding step of the active rows: tokens [n] at `positions` [n] with `attention`
    [n, L] -> (the cache, the next token's logits [n, V] as float)."""
    output = model(
        input_ids=tokens.unsqueeze(-1),
        attention_mask=attention,
        position_ids=positions.unsqueeze(-1),
        cache=cache,
        use_cache=True,
    )
    return output.cache, output.logits[:, -1].float()


def _samples(q_ids, q_mask, tokens_out, logp_out, lengths, finished) -> Samples:
    """The sampled rows trimmed to the longest response [N, Lr], with their masks."""
    width = max(int(lengths.max()), 1)
    response_mask = (torch.arange(width).unsqueeze(0) < lengths.unsqueeze(1)).float()
    return Samples(
        question_ids=q_ids.cpu(),
        question_mask=q_mask.cpu(),
        response_ids=tokens_out[:, :width],
        response_mask=response_mask,
        logprobs=logp_out[:, :width] * response_mask,
        finished=finished,
    )
