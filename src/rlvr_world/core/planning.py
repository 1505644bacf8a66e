"""Model-predictive control with a world model (the paper's downstream use, SPEC §4).

At each step of an episode:

    samples    = propose(state, N)                       N candidate actions from a policy
    candidates = the k most frequent distinct samples    (a stop action is taken at once)
    predicted  = predict(state, candidates)              the world model's next states
    values     = value(state, candidate, predicted)      how far each predicted state is along
    act          argmax over candidates of values        ties: more often proposed, then first

Everything is a plain callable over opaque states and actions, so the same planner serves a
language world model of web pages, a text game, or the true simulator as an oracle world model.
The paper: N = 20, k = 3, value = a language model's mean Likert score; ours default to the
paper's N and k, and domains bring verifiable value functions.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

Propose = Callable[[Any, int, random.Random], Sequence[Hashable]]
"""`propose(state, n, rng)`: n sampled candidate actions (repeats expected)."""
Predict = Callable[[Any, Sequence[Hashable]], Sequence[Any]]
"""`predict(state, actions)`: the world model's prediction for each action, in order."""
Value = Callable[[Any, Hashable, Any], float]
"""`value(state, action, prediction)`: how good the predicted outcome is (higher is better)."""


@dataclass
class Decision:
    """What the planner saw and chose at one step (for `rlvr-world plan` to show)."""

    action: Hashable
    candidates: list[Hashable] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    predictions: list[Any] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    reason: str = "value"
    """`value` (argmax of values), `stop` (a stop action was proposed), `only` (one candidate)
    or `random` (uniform choice among candidates: the `random` world-model baseline)."""


@dataclass
class MPCPlanner:
    """Choose actions by imagining their outcomes with a world model.

    propose / predict / value: see the module doc. num_samples (N) and top_k (k): the
    paper's 20 and 3. is_stop: actions that end the episode are taken as soon as they are
    proposed (the paper: stop is never second-guessed). choose_randomly: skip prediction and
    pick uniformly among the k candidates (the baseline that isolates the world model's worth).
    """

    propose: Propose
    predict: Predict
    value: Value
    num_samples: int = 20
    top_k: int = 3
    is_stop: Callable[[Hashable], bool] = lambda action: False
    choose_randomly: bool = False

    def __post_init__(self) -> None:
        if self.num_samples < 1 or self.top_k < 1:
            raise ValueError(
                f"num_samples and top_k must be >= 1, got {self.num_samples}, {self.top_k}"
            )

    def candidates(self, state: Any, rng: random.Random) -> tuple[list[Hashable], list[int]]:
        """The k most frequent distinct proposals (ties: first proposed first), with counts."""
        samples = list(self.propose(state, self.num_samples, rng))
        if not samples:
            raise ValueError("the proposal policy returned no actions")
        counts = Counter(samples)
        first = {a: i for i, a in reversed(list(enumerate(samples)))}
        ranked = sorted(counts, key=lambda a: (-counts[a], first[a]))[: self.top_k]
        return ranked, [counts[a] for a in ranked]

    def decide(self, state: Any, rng: random.Random) -> Decision:
        """One step's choice. Raises only on a proposal policy that proposes nothing."""
        candidates, counts = self.candidates(state, rng)
        stops = [a for a in candidates if self.is_stop(a)]
        if stops:
            return Decision(stops[0], candidates, counts, reason="stop")
        if len(candidates) == 1:
            return Decision(candidates[0], candidates, counts, reason="only")
        if self.choose_randomly:
            return Decision(rng.choice(candidates), candidates, counts, reason="random")
        predictions = list(self.predict(state, candidates))
        if len(predictions) != len(candidates):
            raise ValueError(
                f"predict returned {len(predictions)} predictions for {len(candidates)} actions"
            )
        values = [float(self.value(state, a, p)) for a, p in zip(candidates, predictions)]
        # argmax; ties go to the more often proposed, then the earlier ranked candidate
        best = max(range(len(candidates)), key=lambda i: (values[i], counts[i], -i))
        return Decision(candidates[best], candidates, counts, predictions, values)


def describe(decision: Decision, detail: Callable[[Any], str], width: int = 100) -> list[str]:
    """Lines showing one decision (for `rlvr-world plan`): each candidate with how often it was
    proposed and, when it was predicted, its value and `detail(prediction)`; the choice marked
    `>`; then the reason. Lines are cut at `width` characters."""
    lines = []
    for i, (action, count) in enumerate(zip(decision.candidates, decision.counts)):
        mark = ">" if action == decision.action else " "
        row = f"{mark} {action}  (proposed {count}x)"
        if i < len(decision.values):
            row += f"  value {decision.values[i]:g}  {detail(decision.predictions[i])}"
        lines.append(row if len(row) <= width else row[: width - 3] + "...")
    lines.append(f"  chosen: {decision.action} ({decision.reason})")
    return lines
