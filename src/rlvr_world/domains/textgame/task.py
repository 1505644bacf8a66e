"""The text-game state-prediction task: transitions -> token examples -> scored predictions."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from rlvr_world.core.protocols import Example, Reward
from rlvr_world.core.sampler import Samples, SamplingConfig
from rlvr_world.domains.textgame.data import Transition
from rlvr_world.domains.textgame.prompts import answer_text, question_text
from rlvr_world.domains.textgame.rewards import make_reward, score_response
from rlvr_world.text.generate import generate_until_eos

SPLITS = ("unchanged", "changed")


class TextGameTask:
    """`core.protocols.Task` for ByteSized32-style state prediction.

    transitions: split name ("train", "test", ...) -> transitions. Examples carry
    context = {"id", "game", "split" (changed/unchanged), "current"} and reference = next state.
    """

    name = "textgame"

    def __init__(
        self,
        transitions: Mapping[str, Sequence[Transition]],
        tokenizer,
        prompt_style: str = "compact",
        compat: str = "fixed",
        max_question_tokens: int | None = None,
    ) -> None:
        self.tokenizer = tokenizer
        self.prompt_style = prompt_style
        self.compat = compat
        self.transitions = {k: list(v) for k, v in transitions.items()}
        self.dropped: dict[str, int] = {}
        self._examples: dict[str, list[Example]] = {}
        for split, items in self.transitions.items():
            examples = self.encode(items)
            if max_question_tokens:
                kept = [e for e in examples if len(e.question_ids) <= max_question_tokens]
                self.dropped[split] = len(examples) - len(kept)
                examples = kept
            self._examples[split] = examples

    def encode(self, transitions: Sequence[Transition]) -> list[Example]:
        questions = self.tokenizer.encode_prompts(
            [question_text(t, self.prompt_style) for t in transitions]
        )
        answers = self.tokenizer.encode_batch(
            [answer_text(t, self.prompt_style) for t in transitions]
        )
        eos = self.tokenizer.eos_id
        return [
            Example(
                question_ids=q,
                reference=t.next,
                context={"id": t.id, "game": t.game, "split": t.split, "current": t.current},
                response_ids=[*a, eos],
            )
            for t, q, a in zip(transitions, questions, answers)
        ]

    def examples(self, split: str) -> list[Example]:
        if split not in self._examples:
            raise KeyError(f"unknown split {split!r}; known: {', '.join(self._examples)}")
        return self._examples[split]

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
        """Free-form answers up to EOS (or the length limit)."""
        return generate_until_eos(
            self.tokenizer,
            model,
            examples,
            config,
            group_size=group_size,
            generator=generator,
            batch_rows=batch_rows,
        )

    def decode(self, response_ids: Sequence[int], context: Mapping[str, Any] | None = None) -> str:
        return self.tokenizer.decode(response_ids)

    def score(self, predictions: Sequence[str], examples: Sequence[Example]) -> list[dict]:
        return [
            score_response(p, e.context["current"], e.reference, compat=self.compat)
            for p, e in zip(predictions, examples)
        ]

    def reward(self, name: str) -> Reward:
        return make_reward(name, compat=self.compat)

    def summarize(self, scores: Sequence[Mapping[str, float]], examples: Sequence[Example]) -> dict:
        """Held-out metrics: accuracy per split (the paper's table) and mean reward terms."""
        out: dict[str, Any] = {"accuracy": accuracy_by_split(scores, examples)}
        out["selection"] = out["accuracy"]["overall"]
        for key in ("parsed", "item_acc", "score_acc", "task_specific"):
            values = [s[key] for s in scores if key in s]
            out[key] = sum(values) / len(values) if values else math.nan
        out["examples"] = len(scores)
        return out


def accuracy_by_split(scores: Sequence[Mapping[str, float]], examples: Sequence[Example]) -> dict:
    """Exact-state accuracy (the binary reward under greedy decoding) per split and overall."""
    out = {}
    for split in SPLITS:
        values = [s["exact"] for s, e in zip(scores, examples) if e.context["split"] == split]
        out[split] = sum(values) / len(values) if values else math.nan
    out["overall"] = sum(s["exact"] for s in scores) / len(scores) if scores else math.nan
    return out
