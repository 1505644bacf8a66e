"""The MPC planner on a toy world whose best action is known."""

import random

import pytest

from rlvr_world.core.planning import MPCPlanner

# A line world: the agent at position x wants to reach GOAL; actions move it.
GOAL = 5
MOVES = {"left": -1, "right": +1, "stay": 0, "jump": +3}


def true_next(x, action):
    return x + MOVES[action]


def value(x, action, predicted):
    return -abs(GOAL - predicted)


def biased_proposals(weights):
    def propose(state, n, rng):
        return rng.choices(list(weights), weights=list(weights.values()), k=n)

    return propose


def oracle(state, actions):
    return [true_next(state, a) for a in actions]


def test_picks_the_action_whose_predicted_outcome_is_best():
    # "stay" is proposed most, but the world model shows "jump" gets closest to the goal
    planner = MPCPlanner(
        biased_proposals({"stay": 10, "right": 5, "jump": 3, "left": 1}), oracle, value
    )
    decision = planner.decide(1, random.Random(0))
    assert decision.action == "jump"
    assert set(decision.candidates) == {"stay", "right", "jump"}  # k = 3 most frequent
    assert decision.counts == sorted(decision.counts, reverse=True)
    assert decision.values[decision.candidates.index("jump")] == -1.0


def test_a_wrong_world_model_misleads_and_the_oracle_reaches_the_goal():
    wrong = lambda state, actions: [state - MOVES[a] for a in actions]  # noqa: E731
    propose = biased_proposals({"left": 1, "right": 1, "stay": 1})
    rng = random.Random(1)
    good, bad = MPCPlanner(propose, oracle, value), MPCPlanner(propose, wrong, value)
    x = y = 0
    for _ in range(5):
        x = true_next(x, good.decide(x, rng).action)
        y = true_next(y, bad.decide(y, rng).action)
    assert x == GOAL and y < 0


def test_stop_is_taken_at_once_and_a_single_candidate_needs_no_model():
    calls = []

    def predict(state, actions):
        calls.append(actions)
        return oracle(state, actions)

    stop = MPCPlanner(
        biased_proposals({"right": 5, "stop": 1}), predict, value, is_stop=lambda a: a == "stop"
    )
    decision = stop.decide(0, random.Random(3))
    assert (decision.action, decision.reason) == ("stop", "stop")
    only = MPCPlanner(lambda s, n, rng: ["left"] * n, predict, value)
    assert only.decide(0, random.Random(0)).reason == "only"
    assert calls == []


def test_ties_go_to_the_more_frequent_proposal():
    planner = MPCPlanner(
        lambda state, n, rng: ["a", "b", "b", "c"],
        lambda state, actions: [0] * len(actions),
        lambda state, action, predicted: 0.0,
    )
    decision = planner.decide(0, random.Random(0))
    assert decision.candidates == ["b", "a", "c"] and decision.action == "b"


def test_random_baseline_and_validation():
    planner = MPCPlanner(
        biased_proposals({"left": 1, "right": 1, "stay": 1}), oracle, value, choose_randomly=True
    )
    picks = {planner.decide(0, random.Random(seed)).action for seed in range(30)}
    assert picks == {"left", "right", "stay"}
    with pytest.raises(ValueError, match="num_samples"):
        MPCPlanner(oracle, oracle, value, top_k=0)
    with pytest.raises(ValueError, match="no actions"):
        MPCPlanner(lambda s, n, rng: [], oracle, value).decide(0, random.Random(0))
    bad = MPCPlanner(biased_proposals({"left": 1, "right": 1}), lambda s, a: [0], value)
    with pytest.raises(ValueError, match="predictions"):
        bad.decide(0, random.Random(0))
