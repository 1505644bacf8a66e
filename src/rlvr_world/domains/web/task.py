"""The web-page state-prediction task: transitions -> token examples -> F1-scored answers."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from rlvr_world.core.protocols import Example, Reward, SpanReward
from rlvr_world.core.sampler import Samples
from rlvr_world.domains.web.data import WebTransition
from rlvr_world.domains.web.prompts import answer_text, question_text
from rlvr_world.domains.web.rewards import make_reward, web_f1, web_line_gains
from rlvr_world.text.task import TextTask, line_index


class WebTask(TextTask):
    """`core.protocols.Task` for WebArena-style state prediction (SPEC §4).

    Examples carry reference = the gold diff text and context = {"id", "site", "task",
    "split" ("changed" when the action changed the page, else "unchanged")}. Every prediction
    is scored by item F1 with its precision and recall; the training reward is `f1`.
    """

    name = "web"

    def __init__(
        self,
        transitions: Mapping[str, Sequence[WebTransition]],
        tokenizer,
        prompt_style: str = "compact",
        max_question_tokens: int | None = None,
    ) -> None:
        self.prompt_style = prompt_style
        super().__init__(transitions, tokenizer, max_question_tokens)

    def question(self, transition: WebTransition) -> str:
        return question_text(transition, self.prompt_style)

    def answer(self, transition: WebTransition) -> str:
        return answer_text(transition, self.prompt_style)

    def reference(self, transition: WebTransition) -> str:
        return transition.answer

    def context(self, transition: WebTransition) -> dict:
        return {
            "id": transition.id,
            "site": transition.site,
            "task": transition.task,
            "split": "changed" if transition.changed else "unchanged",
        }

    def score(self, predictions: Sequence[str], examples: Sequence[Example]) -> list[dict]:
        return [web_f1(p, e.reference) for p, e in zip(predictions, examples)]

    def reward(self, name: str) -> Reward:
        return make_reward(name)

    def span_index(self, samples: Samples) -> torch.Tensor:
        """Each response token's answer line as its span (`line_index`), for per-line credit."""
        return line_index(self.tokenizer, samples)

    def span_reward(self, name: str) -> SpanReward:
        """Per-line credit (`rlvr.credit=reward-to-go`): each line of an answer is scored by
        how much it changes the item F1 (`rewards.line_gains`), which they sum to."""
        make_reward(name)  # checks the name: F1 is the only web reward
        return web_line_gains

    def summarize(self, scores: Sequence[Mapping[str, float]], examples: Sequence[Example]) -> dict:
        """Mean F1, precision and recall (the paper's table), overall and per split."""

        def mean(key: str, split: str | None = None) -> float:
            values = [
                s[key] for s, e in zip(scores, examples) if split in (None, e.context["split"])
            ]
            return sum(values) / len(values) if values else math.nan

        out: dict[str, Any] = {key: mean(key) for key in ("f1", "precision", "recall")}
        out["f1_by_split"] = {split: mean("f1", split) for split in ("unchanged", "changed")}
        out["selection"] = out["f1"]
        out["examples"] = len(scores)
        return out
