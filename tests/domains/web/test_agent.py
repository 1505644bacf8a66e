"""The MPC web agent: the tree-read value function, world models, planning episodes."""

import random

import pytest

from rlvr_world.domains.web.agent import (
    AgentState,
    Goal,
    LanguageWorldModel,
    SimulatorWorldModel,
    describe,
    goal_of,
    make_planner,
    run_episode,
    tree_progress,
)
from rlvr_world.domains.web.diff import tree_diff
from rlvr_world.domains.web.goals import GOALS
from rlvr_world.domains.web.policies import ExpertPolicy, rollout
from rlvr_world.domains.web.sim import WebSimulator
from rlvr_world.domains.web.site import Layout

SMALL = Layout(window=3, featured=2, related=2)

SHOP_PRODUCT = """[1] RootWebArea 'Red Mug - Maple Market' focused: True
\t[2] link 'Cart (0)'
\t[3] heading 'Red Mug'
\t[4] button 'Add to Cart'"""


def test_value_levels_read_off_hand_written_pages():
    goal = Goal("add_to_cart", products=("Red Mug",), store="Maple Market")
    assert tree_progress(goal, SHOP_PRODUCT) == 0.6
    added = SHOP_PRODUCT + "\n\t[5] StaticText 'You added Red Mug to your shopping cart.'"
    assert tree_progress(goal, added) == 1.0
    listing = "[1] RootWebArea 'Kitchen - Maple Market'\n\t[7] link 'Red Mug'"
    assert tree_progress(goal, listing) == 0.4
    assert tree_progress(goal, "[1] RootWebArea 'Kitchen - Maple Market'") == 0.1
    assert tree_progress(goal, "[1] RootWebArea 'Orders - Admin Panel'") == 0.0
    assert tree_progress(goal, "garbage\n\n[[[ nothing") == 0.0  # never raises

    status = Goal("update_status", number=1234, status="Shipped")
    order = "[1] RootWebArea 'Order #1234 - Admin Panel'\n\t[2] StaticText 'Status: Pending'"
    chosen = order + "\n\t[3] combobox 'Change status' value: Shipped hasPopup: listbox"
    saved = "[1] RootWebArea 'Order #1234 - Admin Panel'\n\t[2] StaticText 'Status: Shipped'"
    table = "[1] RootWebArea 'Orders - Admin Panel'\n\t[5] link '#1234'"
    assert [tree_progress(status, t) for t in (order, chosen, saved, table)] == [
        0.6,
        0.8,
        1.0,
        0.5,
    ]

    checkout = Goal(
        "checkout", products=("Red Mug",), customer="Al Bo", address="1 Elm St", store="M"
    )
    form = (
        "[1] RootWebArea 'Checkout - M'\n\t[2] StaticText 'Order summary: 1 items, total $9.99'"
        "\n\t[3] textbox 'Full name' focused: True required: True value: Al Bo"
        "\n\t[4] textbox 'Address' required: True"
    )
    assert tree_progress(checkout, form) == pytest.approx(0.8)
    assert tree_progress(checkout, form + " value: 1 Elm St") == pytest.approx(0.9)


@pytest.mark.parametrize("task", sorted(GOALS))
def test_expert_episode_ends_on_a_page_the_value_calls_solved(task):
    """Along the expert's noise-free episode, the tree value reaches its top level (1.0, or
    0.7 for order_status whose success is the stop answer) on the final page."""
    sim = WebSimulator(layout=SMALL)
    steps = rollout(sim, ExpertPolicy(noise=0.0, seed=1), task, seed=11, max_steps=30)
    assert sim.success()
    goal = goal_of(sim)
    values = [tree_progress(goal, s.next_tree) for s in steps]
    assert values[-1] == (0.7 if task == "order_status" else 1.0)
    assert tree_progress(goal, steps[0].tree) < values[-1]


def test_oracle_beats_random_and_episodes_are_deterministic():
    tasks = sorted(GOALS)

    def success(world_model):
        wins = 0
        for task in tasks:
            for seed in range(3):
                sim = WebSimulator(layout=SMALL)
                planner = make_planner(world_model, noise=0.9)
                wins += run_episode(sim, planner, task, seed=500 + seed, max_steps=15).success
        return wins / (3 * len(tasks))

    oracle, random_choice = success(SimulatorWorldModel()), success(None)
    assert oracle >= 0.6 and oracle > random_choice + 0.2
    first = run_episode(WebSimulator(layout=SMALL), make_planner(None), "checkout", seed=5)
    again = run_episode(WebSimulator(layout=SMALL), make_planner(None), "checkout", seed=5)
    assert [d.action for d in first.decisions] == [d.action for d in again.decisions]


def test_language_world_model_applies_its_answers_to_the_tree():
    sim = WebSimulator(layout=SMALL)
    sim.reset(seed=2, task="open_product")
    state = AgentState(sim, "None", goal_of(sim), ExpertPolicy(seed=0))
    actions = sim.legal_actions()[:3]
    truth = SimulatorWorldModel()(state, actions)
    tree = sim.observation().tree
    seen = []

    def perfect(questions):  # answers with the gold diff of each question's action
        seen.extend(questions)
        return [tree_diff(tree, t) for t in truth]

    predicted = LanguageWorldModel(perfect)(state, actions)
    for p, t in zip(predicted, truth):
        assert {line.strip() for line in p.split("\n")} == {line.strip() for line in t.split("\n")}
        assert tree_progress(state.goal, p) == tree_progress(state.goal, t)
    assert all(f"action:{a}\n" in q and "objective:" in q for q, a in zip(seen, actions))
    garbage = LanguageWorldModel(lambda qs: ["no idea"] * len(qs))(state, actions)
    assert garbage == [tree] * len(actions)  # an unreadable answer predicts no change


def test_describe_marks_the_choice():
    sim = WebSimulator(layout=SMALL)
    sim.reset(seed=4, task="add_to_cart")
    state = AgentState(sim, "None", goal_of(sim), ExpertPolicy(seed=4))
    decision = make_planner(SimulatorWorldModel()).decide(state, random.Random(0))
    lines = describe(decision, sim.observation().tree)
    assert sum(line.startswith(">") for line in lines) == 1
    assert lines[-1].startswith("  chosen: ") and "value" in lines[0]
