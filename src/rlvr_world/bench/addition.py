"""A tiny verifiable task, "a+b=" -> the sum, with a character tokenizer.

Used by the throughput benchmark (identical work for our GRPO step and TRL's `GRPOTrainer`)
and by tests that need a `Task` without simulating a domain. Every character is one token;
questions are `[BOS, *chars("a+b=")]`, the reference is the sum as a string, and the `binary`
reward is 1 when the decoded completion starts with the sum.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from rlvr_world.core.protocols import Example, Reward
from rlvr_world.text.task import GeneratesUntilEOS

PAD, BOS, EOS = "<pad>", "<bos>", "<eos>"
CHARS = "0123456789+="


class CharTokenizer:
    """`core.protocols.Tokenizer` over strings of `CHARS`: one id per character.

    ids: 0 = pad, 1 = bos, 2 = eos, then the characters in order. Unknown characters raise in
    `encode`; `decode` skips special and unknown ids.
    """

    def __init__(self, chars: str = CHARS) -> None:
        self.chars = chars
        self.pad_id, self.bos_id, self.eos_id = 0, 1, 2
        self.char_to_id = {c: i + 3 for i, c in enumerate(chars)}
        self.id_to_char = {i: c for c, i in self.char_to_id.items()}

    @property
    def vocab_size(self) -> int:
        return len(self.chars) + 3

    def vocab(self) -> dict[str, int]:
        """Token string -> id, special tokens included (for building a HF tokenizer)."""
        return {PAD: self.pad_id, BOS: self.bos_id, EOS: self.eos_id, **self.char_to_id}

    def encode(self, text: str) -> list[int]:
        try:
            return [self.char_to_id[c] for c in text]
        except KeyError as error:
            raise ValueError(f"character {error.args[0]!r} is not in the vocabulary") from None

    def decode(self, ids: Sequence[int]) -> str:
        return "".join(self.id_to_char.get(int(i), "") for i in ids)

    def hf_tokenizer(self):
        """The same tokenizer as a `transformers.PreTrainedTokenizerFast`.

        Calling it on a string gives `[BOS, *chars]`, exactly our question ids; decoding joins
        characters without spaces and (with `skip_special_tokens`) drops pad/bos/eos.
        """
        from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors
        from transformers import PreTrainedTokenizerFast

        backend = Tokenizer(models.WordLevel(self.vocab(), unk_token=PAD))
        backend.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
        backend.decoder = decoders.Fuse()
        backend.post_processor = processors.TemplateProcessing(
            single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, self.bos_id)]
        )
        return PreTrainedTokenizerFast(
            tokenizer_object=backend,
            pad_token=PAD,
            bos_token=BOS,
            eos_token=EOS,
            padding_side="left",
        )


def question_text(a: int, b: int) -> str:
    return f"{a}+{b}="


def starts_with_sum(
    predictions: Sequence[str], references: Sequence[str], contexts: Sequence[Mapping] = ()
) -> list[float]:
    """The `binary` reward: 1.0 when the prediction starts with the reference sum, else 0.0."""
    return [float(str(p).startswith(str(r))) for p, r in zip(predictions, references)]


def exact_sum(
    predictions: Sequence[str], references: Sequence[str], contexts: Sequence[Mapping] = ()
) -> list[float]:
    """The `exact` reward: 1.0 when the prediction is exactly the sum, else 0.0."""
    return [float(str(p) == str(r)) for p, r in zip(predictions, references)]


REWARDS: dict[str, Reward] = {"binary": starts_with_sum, "exact": exact_sum}


class AdditionTask(GeneratesUntilEOS):
    """`core.protocols.Task`: predict `a + b` from `"a+b="`, with a, b < `limit`.

    Examples carry reference = the sum as a string, context = {"a", "b", "split"}, and
    response_ids = the sum's characters + EOS (for MLE). Splits are "train" and "test", drawn
    with a fixed seed (pairs may repeat across splits).
    """

    name = "addition"

    def __init__(
        self, train_size: int = 512, test_size: int = 64, limit: int = 100, seed: int = 0
    ) -> None:
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        self.tokenizer = CharTokenizer()
        self.limit = limit
        rng = random.Random(seed)
        self._examples = {
            split: [
                self.make_example(rng.randrange(limit), rng.randrange(limit), split)
                for _ in range(size)
            ]
            for split, size in (("train", train_size), ("test", test_size))
        }

    def make_example(self, a: int, b: int, split: str = "train") -> Example:
        tok = self.tokenizer
        answer = str(a + b)
        return Example(
            question_ids=[tok.bos_id, *tok.encode(question_text(a, b))],
            reference=answer,
            context={"a": a, "b": b, "split": split},
            response_ids=[*tok.encode(answer), tok.eos_id],
        )

    def examples(self, split: str) -> list[Example]:
        if split not in self._examples:
            raise KeyError(f"unknown split {split!r}; known: {', '.join(self._examples)}")
        return self._examples[split]

    def decode(self, response_ids: Sequence[int], context: Mapping[str, Any] | None = None) -> str:
        """Characters up to the first EOS (special ids skipped)."""
        ids = list(response_ids)
        if self.tokenizer.eos_id in ids:
            ids = ids[: ids.index(self.tokenizer.eos_id)]
        return self.tokenizer.decode(ids)

    def score(self, predictions: Sequence[str], examples: Sequence[Example]) -> list[dict]:
        references = [e.reference for e in examples]
        prefix = starts_with_sum(predictions, references)
        exact = exact_sum(predictions, references)
        return [{"exact": e, "prefix": p} for e, p in zip(exact, prefix)]

    def reward(self, name: str) -> Reward:
        if name not in REWARDS:
            raise KeyError(f"unknown reward {name!r}; known: {', '.join(REWARDS)}")
        return REWARDS[name]

    def summarize(self, scores: Sequence[Mapping[str, float]], examples: Sequence[Example]) -> dict:
        """{"accuracy": {"overall": mean exact}, "selection" (= mean exact), "exact", "prefix",
        "count"}."""
        count = len(scores)

        def mean(key: str) -> float:
            return sum(s[key] for s in scores) / count if count else 0.0

        return {
            "accuracy": {"overall": mean("exact")},
            "selection": mean("exact"),
            "exact": mean("exact"),
            "prefix": mean("prefix"),
            "count": count,
        }
