"""The MPC text-game agent: value of a state, world models, planning episodes."""

import random

from rlvr_world.domains.textgame.agent import (
    LOSS,
    WIN,
    LanguageWorldModel,
    SimulatorWorldModel,
    describe,
    make_planner,
    run_episode,
    state_value,
)
from rlvr_world.domains.textgame.prompts import compact_json
from rlvr_world.domains.textgame.simulator import GAMES, make_game
from rlvr_world.domains.textgame.state import state_diff


def test_state_value_table():
    obj = {"name": "pot (ID: 1)", "uuid": 1}
    assert state_value([obj, {"score": 2, "gameOver": False, "gameWon": False}]) == 2
    assert state_value([obj, {"score": 2, "gameOver": True, "gameWon": True}]) == WIN
    assert state_value([obj, {"score": 5, "gameOver": True, "gameWon": False}]) == LOSS
    assert state_value([]) == 0 and state_value([obj, {"score": "high"}]) == 0
    assert state_value([obj, {"score": True}]) == 0  # a bool is not a score


def test_oracle_wins_more_than_random():
    def wins(world_model):
        total = 0
        for name in sorted(GAMES):
            for seed in range(3):
                episode = run_episode(make_game(name), make_planner(world_model), 700 + seed)
                total += episode.won
        return total / (3 * len(GAMES))

    oracle, random_choice = wins(SimulatorWorldModel()), wins(None)
    assert oracle >= 0.7 and oracle > random_choice + 0.2


def test_language_world_model_rebuilds_the_state_from_its_answer():
    game = make_game("boil_water")
    game.reset(3)
    actions = game.legal_actions()[:3]
    truth = SimulatorWorldModel()(game, actions)
    current = game.state()
    questions_seen = []

    def perfect(questions):
        questions_seen.extend(questions)
        return [compact_json(state_diff(current, t)) for t in truth]

    assert LanguageWorldModel(perfect)(game, actions) == truth
    assert all(q.startswith("game:boil_water\n") for q in questions_seen)
    garbage = LanguageWorldModel(lambda qs: ["{not json"] * len(qs))(game, actions)
    assert garbage == [current] * len(actions)
    decision = make_planner(SimulatorWorldModel()).decide(game, random.Random(1))
    lines = describe(decision, current)
    assert sum(line.startswith(">") for line in lines) == 1
