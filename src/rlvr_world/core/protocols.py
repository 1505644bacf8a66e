"""The contracts every layer speaks: token ids in, token ids out.

Shape legend used across the project: B batch (questions), G group size (samples per
question), L sequence length, Lq question length, Lr response length, V vocabulary size.

`core` never mentions strings, pixels or a domain; modality adapters (`text/`, `video/`) and
domains implement these protocols. Protocols carry no implementation: conform structurally.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import torch

from rlvr_world.core.sampler import Samples, SamplingConfig


@runtime_checkable
class Tokenizer(Protocol):
    """Maps one modality's objects to token ids and back."""

    pad_id: int
    bos_id: int
    eos_id: int

    @property
    def vocab_size(self) -> int:
        """Number of ids the model must embed (including special ids)."""
        ...

    def encode(self, x: Any) -> list[int]:
        """One object (a string, a frame) -> token ids, without BOS/EOS."""
        ...

    def decode(self, ids: Sequence[int]) -> Any:
        """Token ids -> object; special ids are skipped. Never raises on any id list."""
        ...


@runtime_checkable
class SequenceModel(Protocol):
    """Anything callable like a Hugging Face causal LM.

    `forward(input_ids [B, L] long, attention_mask [B, L] long, position_ids [B, L] long,
    cache=None, use_cache=bool) -> output` with `output.logits` [B, L, V] float and, when
    `use_cache`, `output.cache` (a `transformers.Cache`). The sampler and the trainers
    need nothing else. `LlamaForCausalLM` (tiny presets) and any `AutoModelForCausalLM` satisfy it.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any: ...

    def parameters(self) -> Iterator[torch.nn.Parameter]: ...


@dataclass(frozen=True)
class Example:
    """One question of a task.

    question_ids: the prompt's token ids (BOS included where the task wants one).
    reference: what a verifier compares a prediction with (the true next state).
    context: anything the decoder or the reward needs besides the reference
        (the current state, the split label, an id); plain data, JSON-serialisable.
    response_ids: the teacher-forced target for MLE (EOS included), or None.
    loss_mask: one 0/1 per response id, 1 where MLE trains on the token (None = all); tokens
        the model is given rather than asked for (e.g. actions between frames) are 0.
    """

    question_ids: list[int]
    reference: Any
    context: Mapping[str, Any] = field(default_factory=dict)
    response_ids: list[int] | None = None
    loss_mask: list[int] | None = None


class Reward(Protocol):
    """A pure, batched verifiable reward.

    `(predictions, references, contexts) -> list[float]`, one float per prediction. Malformed
    predictions score the reward's minimum and never raise. A reward whose value is also one
    of its task's `score` terms may name that key in a `term` attribute: GRPO then reads the
    reward from the scores it logs instead of scoring each sample twice.
    """

    def __call__(
        self, predictions: Sequence[Any], references: Sequence[Any], contexts: Sequence[Mapping]
    ) -> list[float]: ...


class SpanReward(Protocol):
    """A reward per generated span (`Samples.span_index`: the frames of an interactive rollout;
    `Task.span_index`: the lines of a web answer), for per-span credit
    (`rlvr.credit=reward-to-go`).

    `(predictions, references, contexts) -> (rewards, weights)`: rewards[i][k] scores span k of
    prediction i, weights[k] >= 0 says how the task's sequence reward aggregates them
    (reward_i = sum_k weights[k] * rewards[i][k] / sum_k weights[k]); weights None: reward_i =
    sum_k rewards[i][k] (each span's gain). Never raises.
    """

    def __call__(
        self, predictions: Sequence[Any], references: Sequence[Any], contexts: Sequence[Mapping]
    ) -> tuple[list[list[float]], list[float] | None]: ...


class TokenReward(Protocol):
    """A reward per generated token, for per-token credit (`rlvr.credit=token`): where each
    token of a span governs its own part of the span's output (a visual code, its cell of a
    predicted frame).

    `(predictions, references, contexts) -> (rewards, weights)`: rewards[i][k][p] scores the
    part of span k of prediction i that the span's p-th generated token governs, in the span
    reward's units (their mean over p is the span's reward); weights[k] as `SpanReward`'s.
    Never raises.
    """

    def __call__(
        self, predictions: Sequence[Any], references: Sequence[Any], contexts: Sequence[Mapping]
    ) -> tuple[list[list[list[float]]], list[float]]: ...


class Task(Protocol):
    """A world-modelling task: examples, how to read a response, how to score it.

    A task whose responses are generated span by span may also offer
    `span_reward(name) -> SpanReward` (the robot task does); `rlvr.credit=reward-to-go` needs it,
    and `token_reward(name) -> TokenReward` for `rlvr.credit=token`. A task whose responses are
    sampled in one go but read in spans (the lines of a web answer) offers
    `span_index(samples) -> [N, Lr]` too: the span of each response token, -1 at padding.
    """

    name: str

    def examples(self, split: str) -> Sequence[Example]:
        """The examples of a split ("train", "test", ...)."""
        ...

    def generate(
        self,
        model: SequenceModel,
        examples: Sequence[Example],
        config: SamplingConfig,
        *,
        group_size: int = 1,
        generator: torch.Generator | None = None,
        batch_rows: tuple[int, int] | None = None,
    ) -> Samples:
        """Draw `group_size` responses per example the way this task's responses are laid out:
        `core.sampler.sample` up to a stop id, or `core.rollout.rollout` (spans with inserted
        tokens). Rows are group-contiguous, N = len(examples) * group_size. batch_rows
        (offset, total): these rows' place in a batch shared across processes, passed on to
        the sampler so that samples do not depend on the split (`core.sampler.RowDraws`)."""
        ...

    def decode(self, response_ids: Sequence[int], context: Mapping[str, Any]) -> Any:
        """Response token ids -> prediction (a string, frames). Never raises."""
        ...

    def score(
        self, predictions: Sequence[Any], examples: Sequence[Example]
    ) -> list[dict[str, float]]:
        """Every reward term and metric of each prediction (e.g. exact, item_acc, ...)."""
        ...

    def reward(self, name: str) -> Reward:
        """The named training reward."""
        ...

    def summarize(self, scores: Sequence[Mapping[str, float]], examples: Sequence[Example]) -> dict:
        """Held-out metrics of a whole split from the per-prediction `score` dicts.

        Must hold `"selection"`: one float, higher is better, that picks the best checkpoint
        and drives early stopping (e.g. exact accuracy; minus a perceptual error)."""
        ...


@runtime_checkable
class Simulator(Protocol):
    """Gymnasium-like environment whose states a world model learns to predict.

    Deterministic under a seed: the same seed and action sequence give the same states.
    """

    def reset(self, seed: int | None = None) -> Any: ...

    def step(self, action: Any) -> Any: ...

    def legal_actions(self) -> list[Any]: ...
