"""The text-game state-prediction task: transitions -> token examples -> scored predictions."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from rlvr_world.core.protocols import Example, Reward
from rlvr_world.domains.textgame.data import Transition
from rlvr_world.domains.textgame.prompts import answer_text, question_text
from rlvr_world.domains.textgame.rewards import make_reward, score_response
from rlvr_world.text.task import TextTask

SPLITS = ("unchanged", "changed")


class TextGameTask(TextTask):
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
        self.prompt_style = prompt_style
        self.compat = compat
        super().__init__(transitions, tokenizer, max_question_tokens)

    def question(self, transition: Transition) -> str:
        return question_text(transition, self.prompt_style)

    def answer(self, transition: Transition) -> str:
        return answer_text(transition, self.prompt_style)

    def reference(self, transition: Transition) -> list[dict]:
        return transition.next

    def context(self, transition: Transition) -> dict:
        return {
            "id": transition.id,
            "game": transition.game,
            "split": transition.split,
            "current": transition.current,
        }

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
