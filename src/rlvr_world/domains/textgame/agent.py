"""A text-game agent that plans with a world model (`core.planning.MPCPlanner`): win the game.

- **proposals** (`propose`): a weak policy. Each of the N samples is the game's scripted
  solver's action (`expert_action`) with probability 1 - noise, else a uniformly random
  legal action.
- **world models**: `SimulatorWorldModel` (the oracle: a copy of the game takes the action)
  and `LanguageWorldModel` (a trained run: its predicted state difference is applied to the
  current state with `rewards.rebuild_state`; an unreadable answer predicts "nothing
  changes"). Both return the predicted next state (objects, then the score dict).
- **value** (`state_value`): the predicted state's own score dict: 1000 when `gameWon`,
  -1000 when the game is over and not won, else `score` (the game's progress points, which
  its rules text defines). A user's value function replaces it in `make_planner(value=...)`.

>>> from rlvr_world.domains.textgame.simulator import make_game
>>> episode = run_episode(make_game("boil_water"), make_planner(SimulatorWorldModel()), seed=3)
>>> episode.won
True
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rlvr_world.core.planning import Decision, MPCPlanner
from rlvr_world.core.planning import describe as show_decision
from rlvr_world.domains.textgame.data import Transition
from rlvr_world.domains.textgame.games.base import TextGame
from rlvr_world.domains.textgame.prompts import question_text
from rlvr_world.domains.textgame.rewards import parse_answer, rebuild_state
from rlvr_world.domains.textgame.state import state_diff

__all__ = [
    "Episode",
    "LanguageWorldModel",
    "SimulatorWorldModel",
    "describe",
    "make_planner",
    "run_episode",
    "state_value",
]

WIN, LOSS = 1000.0, -1000.0


def state_value(state: Sequence[dict]) -> float:
    """WIN if the state's score dict says `gameWon`, LOSS if `gameOver` without a win, else
    its `score`; a state without a readable score dict is worth 0."""
    score = state[-1] if state and isinstance(state[-1], dict) else {}
    if score.get("gameWon") is True:
        return WIN
    if score.get("gameOver") is True:
        return LOSS
    value = score.get("score", 0)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


class SimulatorWorldModel:
    """The oracle: a copy of the game takes each action; the true next state."""

    def __call__(self, game: TextGame, actions: Sequence[str]) -> list[list[dict]]:
        return [copy.deepcopy(game).step(action) for action in actions]


class LanguageWorldModel:
    """A trained language world model: the run's prompt (style as trained) for the current
    state and each action; the answer's state difference applied to the current state.
    `last_answers`: the raw answers of the last call (for `rlvr-world plan`)."""

    def __init__(
        self,
        answer: Callable[[Sequence[str]], list[str]],
        style: str = "compact",
        compat: str = "fixed",
    ) -> None:
        self.answer = answer
        self.style = style
        self.compat = compat
        self.last_answers: list[str] = []

    def __call__(self, game: TextGame, actions: Sequence[str]) -> list[list[dict]]:
        current = game.state()
        questions = [
            question_text(
                Transition(
                    id="",
                    game=game.name,
                    task=game.task_description,
                    current=current,
                    action=action,
                    next=[],
                    uuid_base=game.uuid_base,
                    rules=game.rules,
                ),
                self.style,
            )
            for action in actions
        ]
        self.last_answers = list(self.answer(questions))
        out = []
        for answer in self.last_answers:
            parsed = parse_answer(answer, self.compat)
            out.append(current if parsed is None else rebuild_state(current, parsed, self.compat))
        return out


def propose(noise: float) -> Callable[[TextGame, int, random.Random], list[str]]:
    """The weak proposal policy (module doc) with this noise."""

    def sample(game: TextGame, n: int, rng: random.Random) -> list[str]:
        best = game.expert_action()
        others = game.legal_actions() or [best]
        return [rng.choice(others) if rng.random() < noise else best for _ in range(n)]

    return sample


def make_planner(
    world_model: Callable[[TextGame, Sequence[str]], list] | None,
    *,
    noise: float = 0.9,
    num_samples: int = 20,
    top_k: int = 3,
    value: Callable[[TextGame, str, list], float] | None = None,
) -> MPCPlanner:
    """The MPC game agent. world_model None = the `random` baseline (uniform choice among the
    k candidates); value None = `state_value` of the predicted state."""
    return MPCPlanner(
        propose=propose(noise),
        predict=world_model or (lambda game, actions: [[] for _ in actions]),
        value=value or (lambda game, action, state: state_value(state)),
        num_samples=num_samples,
        top_k=top_k,
        choose_randomly=world_model is None,
    )


@dataclass
class Episode:
    """One planned game: the task, each step's decision, the outcome."""

    game: str
    seed: int
    task: str
    decisions: list[Decision] = field(default_factory=list)
    won: bool = False
    score: float = 0.0


def run_episode(
    game: TextGame,
    planner: MPCPlanner,
    seed: int,
    max_steps: int = 30,
    on_step: Callable[[Episode, Decision], None] | None = None,
) -> Episode:
    """Plan through one game from `game.reset(seed)` until it is over or `max_steps`."""
    game.reset(seed)
    episode = Episode(game=game.name, seed=seed, task=game.task_description)
    rng = random.Random(seed)
    for _ in range(max_steps):
        if game.done:
            break
        decision = planner.decide(game, rng)
        episode.decisions.append(decision)
        if on_step is not None:
            on_step(episode, decision)
        game.step(str(decision.action))
    final = game.state()[-1]
    episode.won, episode.score = bool(final["gameWon"]), float(final["score"])
    return episode


def describe(decision: Decision, current: list[dict], width: int = 100) -> list[str]:
    """Lines showing one decision from state `current` (`core.planning.describe`): a
    predicted state is shown as the objects it changes."""

    def change(predicted: list) -> str:
        changed = state_diff(current, predicted)["modified"] if predicted else []
        names = ", ".join(str(o.get("name", "?")) for o in changed if isinstance(o, dict))
        return f"changes: {names or 'nothing'}"

    return show_decision(decision, change, width)
