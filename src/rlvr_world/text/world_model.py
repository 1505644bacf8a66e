"""A trained language world model as a plain function: questions in, greedy answers out.

Downstream uses (a planner asking "what will this action do?") need no training machinery:

>>> wm = TextWorldModel(model, tokenizer, max_new_tokens=256)   # doctest: +SKIP
>>> wm(["url:http://shop.local/ ... action:click [12]\\nnext:\\n"])  # doctest: +SKIP
['New items:\\n...']

Answers are cached by question, so a planner that asks again (the same candidate at a later
step, or in another episode) pays once.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from rlvr_world.core.sampler import SamplingConfig, sample


class TextWorldModel:
    """Greedy answers of `model` to question strings (see the module doc).

    max_positions: the model's context length; a question whose ids leave no room for
    `max_new_tokens` gets the empty answer (a planner then sees "nothing changes") instead of
    an error. calls / generated count questions answered by the model (not from the cache).
    """

    def __init__(
        self,
        model: torch.nn.Module,
        tokenizer,
        *,
        max_new_tokens: int = 256,
        batch_size: int = 16,
        max_positions: int | None = None,
    ) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.config = SamplingConfig(max_new_tokens=max_new_tokens, temperature=0.0)
        self.batch_size = batch_size
        self.max_positions = max_positions
        self.generated = 0
        self._cache: dict[str, str] = {}

    def __call__(self, questions: Sequence[str]) -> list[str]:
        todo = list(dict.fromkeys(q for q in questions if q not in self._cache))
        ids = self.tokenizer.encode_prompts(todo) if todo else []
        limit = None
        if self.max_positions is not None:
            limit = self.max_positions - self.config.max_new_tokens
        fits = [(q, i) for q, i in zip(todo, ids) if limit is None or len(i) <= limit]
        for question in todo:
            self._cache.setdefault(question, "")
        for start in range(0, len(fits), self.batch_size):
            chunk = fits[start : start + self.batch_size]
            with torch.no_grad():
                samples = sample(
                    self.model,
                    [i for _, i in chunk],
                    self.config,
                    stop_ids=[self.tokenizer.eos_id],
                    pad_id=self.tokenizer.pad_id,
                )
            for (question, _), response in zip(chunk, samples.responses()):
                self._cache[question] = self.tokenizer.decode(response)
            self.generated += len(chunk)
        return [self._cache[q] for q in questions]
