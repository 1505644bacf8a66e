"""What every text world-modelling task shares: records -> token examples, sampling up to EOS,
decoding to a string. A domain's task subclasses `TextTask` and says how a record becomes a
question, an answer, a reference and a context, and how predictions are scored."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from rlvr_world.core.protocols import Example
from rlvr_world.core.sampler import Samples, SamplingConfig, sample


class GeneratesUntilEOS:
    """`Task.generate` of a text task: free-form answers up to the tokenizer's EOS (or the
    length limit). Needs `self.tokenizer`."""

    def generate(
        self,
        model,
        examples: Sequence[Example],
        config: SamplingConfig,
        *,
        group_size: int = 1,
        generator=None,
        batch_rows: tuple[int, int] | None = None,
    ) -> Samples:
        """`group_size` answers per example, each ending at the tokenizer's EOS (or truncated
        at `config.max_new_tokens`)."""
        return sample(
            model,
            [e.question_ids for e in examples],
            config,
            group_size=group_size,
            stop_ids=[self.tokenizer.eos_id],
            pad_id=self.tokenizer.pad_id,
            generator=generator,
            batch_rows=batch_rows,
        )


def line_index(tokenizer, samples: Samples) -> torch.Tensor:
    """[N, Lr] long: the line of its decoded response (0, 1, ... as `str.split("\\n")` counts
    them) each response token starts on; -1 at padding. A token that holds a line break
    belongs to the line it starts on, the stop id to the last line. Spans for per-line credit
    (`Task.span_index`); never past the decoded text's last line."""
    index = torch.full(samples.response_ids.shape, -1, dtype=torch.long)
    for row, ids in enumerate(samples.responses()):
        if not ids:
            continue
        breaks = [piece.count("\n") for piece in tokenizer.decode_batch([[i] for i in ids])]
        starts = torch.tensor([0, *breaks[:-1]]).cumsum(0)
        last = tokenizer.decode(ids).count("\n")
        index[row, : len(ids)] = starts.clamp_max(last)
    return index


class TextTask(GeneratesUntilEOS):
    """The text half of a `core.protocols.Task`.

    records: split name ("train", "valid", "test") -> the domain's records (transitions).
    max_question_tokens: longer questions are dropped (counted per split in `dropped`).
    Subclasses implement `question`, `answer`, `reference`, `context` (and the scoring part of
    the protocol: `score`, `reward`, `summarize`).
    """

    name = "text"

    def __init__(
        self,
        records: Mapping[str, Sequence[Any]],
        tokenizer,
        max_question_tokens: int | None = None,
    ) -> None:
        self.tokenizer = tokenizer
        self.records = {k: list(v) for k, v in records.items()}
        self.dropped: dict[str, int] = {}
        self._examples: dict[str, list[Example]] = {}
        for split, items in self.records.items():
            examples = self.encode(items)
            if max_question_tokens:
                kept = [e for e in examples if len(e.question_ids) <= max_question_tokens]
                self.dropped[split] = len(examples) - len(kept)
                examples = kept
            self._examples[split] = examples

    # ---------------------------------------------------------------- per domain
    def question(self, record: Any) -> str:
        raise NotImplementedError

    def answer(self, record: Any) -> str:
        raise NotImplementedError

    def reference(self, record: Any) -> Any:
        raise NotImplementedError

    def context(self, record: Any) -> dict:
        raise NotImplementedError

    # ---------------------------------------------------------------- shared
    def encode(self, records: Sequence[Any]) -> list[Example]:
        """Question ids (through `tokenizer.encode_prompts`), answer ids + EOS."""
        questions = self.tokenizer.encode_prompts([self.question(r) for r in records])
        answers = self.tokenizer.encode_batch([self.answer(r) for r in records])
        eos = self.tokenizer.eos_id
        return [
            Example(
                question_ids=q,
                reference=self.reference(r),
                context=self.context(r),
                response_ids=[*a, eos],
            )
            for r, q, a in zip(records, questions, answers)
        ]

    def examples(self, split: str) -> list[Example]:
        if split not in self._examples:
            raise KeyError(f"unknown split {split!r}; known: {', '.join(self._examples)}")
        return self._examples[split]

    def decode(self, response_ids: Sequence[int], context: Mapping[str, Any] | None = None) -> str:
        return self.tokenizer.decode(response_ids)
