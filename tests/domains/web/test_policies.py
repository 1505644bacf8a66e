"""Browsing goals (success checks and progress), the scripted expert, the random policy and
rollouts."""

from __future__ import annotations

import doctest
import random

import pytest

from rlvr_world.domains.web import goals as goals_module
from rlvr_world.domains.web import policies as policies_module
from rlvr_world.domains.web.goals import GOALS, make_goal
from rlvr_world.domains.web.policies import ExpertPolicy, RandomPolicy, rollout
from rlvr_world.domains.web.sim import WebSimulator, find_nodes, parse_action
from rlvr_world.domains.web.site import ADMIN, FORUM, SHOP, post_listing

ALL_TASKS = sorted(GOALS)
SEEDS = range(20)


def test_doctests():
    for module in (policies_module, goals_module):
        assert doctest.testmod(module).failed == 0


def test_registry():
    assert len(GOALS) >= 4
    assert set(ALL_TASKS) >= {"add_to_cart", "checkout", "order_status", "reply_post"}
    with pytest.raises(ValueError, match="known: add_to_cart"):
        make_goal("fly", None, random.Random(0))


def start(task: str, seed: int = 0) -> WebSimulator:
    sim = WebSimulator()
    sim.reset(seed=seed, task=task)
    return sim


def click(sim: WebSimulator, role: str, name: str) -> None:
    node = find_nodes(sim.root, role, name)[0]
    assert sim.step(f"click [{node.id}]").message == ""


def type_into(sim: WebSimulator, name: str, text: str, enter: int = 0) -> None:
    node = find_nodes(sim.root, "textbox", name)[0]
    assert sim.step(f"type [{node.id}] [{text}] [{enter}]").message == ""


# --------------------------------------------------------------------------------- tasks


def test_add_to_cart_check_and_progress():
    sim = start("add_to_cart")
    goal, site = sim.goal, sim.state.site
    target = site.product(goal.pid)
    assert target.colour.lower() in goal.objective and target.kind.lower() in goal.objective
    group = [p for p in site.products if (p.kind, p.colour) == (target.kind, target.colour)]
    assert len(group) >= 2 and target.price in (
        min(p.price for p in group),
        max(p.price for p in group),
    )
    assert sim.progress() == 0.1  # shop home
    sim.step(f"goto [{FORUM}/]")
    assert sim.progress() == 0.0
    sim.step(f"goto [{SHOP}/search?q={target.colour}+{target.kind.replace(' ', '+')}]")
    assert sim.progress() == 0.4  # listed and visible
    other = next(p for p in group if p.pid != target.pid)
    sim.step(f"goto [{SHOP}/product/{other.pid}]")
    click(sim, "button", "Add to Cart")
    assert not sim.success() and sim.progress() == 0.1  # the wrong one does not count
    sim.step(f"goto [{SHOP}/product/{target.pid}]")
    assert sim.progress() == 0.6
    click(sim, "button", "Add to Cart")
    assert sim.success() and sim.progress() == 1.0
    sim.step("stop []")
    assert sim.success() and sim.progress() == 1.0


def test_stopping_early_scores_zero():
    for name in ALL_TASKS:
        sim = start(name)
        sim.step("stop [nothing]")
        assert not sim.success() and sim.progress() == 0.0


def test_open_product_check_and_progress():
    sim = start("open_product", seed=1)
    target = sim.state.site.product(sim.goal.pid)
    assert target.name in sim.objective
    type_into(sim, "Search", target.name, enter=1)
    assert sim.progress() == 0.5
    click(sim, "link", target.name)
    assert sim.success() and sim.progress() == 1.0
    sim.step("go_back")
    assert not sim.success()


def test_checkout_check_and_progress():
    sim = start("checkout", seed=2)
    goal, site = sim.goal, sim.state.site
    assert goal.customer in goal.objective and goal.address in goal.objective
    pid = goal.pids[0]
    sim.step(f"goto [{SHOP}/product/{pid}]")
    assert sim.progress() == 0.4
    click(sim, "button", "Add to Cart")
    assert sim.progress() == 0.6
    click(sim, "button", "Add to Cart")  # two units: not "buy one"
    assert sim.progress() == 0.4
    sim.step(f"goto [{SHOP}/cart]")
    click(sim, "button", "Remove")
    sim.step(f"goto [{SHOP}/product/{pid}]")
    click(sim, "button", "Add to Cart")
    sim.step(f"goto [{SHOP}/checkout]")
    assert sim.progress() == 0.7
    type_into(sim, "Full name", goal.customer)
    assert sim.progress() == pytest.approx(0.8)
    type_into(sim, "Address", "somewhere else")
    click(sim, "button", "Place Order")  # an order, but to the wrong address
    assert site.orders[-1].placed_by_user and not sim.success()
    sim.step(f"goto [{SHOP}/product/{pid}]")
    click(sim, "button", "Add to Cart")
    sim.step(f"goto [{SHOP}/checkout]")
    type_into(sim, "Full name", f"  {goal.customer.upper()} ")  # compared stripped, any case
    type_into(sim, "Address", goal.address)
    assert sim.progress() == pytest.approx(0.9)
    click(sim, "button", "Place Order")
    assert sim.success() and sim.progress() == 1.0


def test_order_status_check_and_progress():
    sim = start("order_status", seed=3)
    goal = sim.goal
    order = sim.state.site.order(goal.number)
    assert f"#{order.number}" in goal.objective
    assert sim.progress() == 0.2  # admin dashboard
    sim.step(f"goto [{ADMIN}/order/{order.number}]")
    assert sim.progress() == 0.7
    assert goal.answer_candidates(sim.root) == [order.status]
    assert f"stop [{order.status}]" in sim.legal_actions()
    assert goal.check(sim.state, f"  {order.status.upper()} ")
    assert not goal.check(sim.state, "Lost") and not goal.check(sim.state, None)
    sim.step(f"goto [{ADMIN}/orders?q={order.number}]")
    assert sim.progress() == 0.7  # the row (and its status) is visible
    sim.step(f"stop [{order.status.lower()}]")
    assert sim.success() and sim.progress() == 1.0


def test_update_status_check_and_progress():
    sim = start("update_status", seed=4)
    goal = sim.goal
    assert goal.status in goal.objective and not sim.success()
    sim.step(f"goto [{ADMIN}/order/{goal.number}]")
    assert sim.progress() == 0.6
    click(sim, "combobox", "Change status")
    click(sim, "option", goal.status)
    assert sim.progress() == 0.8 and not sim.success()
    click(sim, "button", "Save")
    assert sim.success() and sim.progress() == 1.0


def test_reply_post_check_and_progress():
    sim = start("reply_post", seed=5)
    goal = sim.goal
    post = sim.state.site.post(goal.post_id)
    assert goal.text in goal.objective
    if "newest" in goal.objective:
        assert post is post_listing(sim.state.site)[0]
    else:
        assert post.title in goal.objective
    assert sim.progress() in (0.3, 0.4)  # forum home
    sim.step(f"goto [{FORUM}/post/{post.pid}]")
    assert sim.progress() == 0.6
    type_into(sim, "Write a reply", "something else")
    click(sim, "button", "Post")
    assert not sim.success() and sim.progress() == 0.6
    type_into(sim, "Write a reply", goal.text)
    assert sim.progress() == 0.8
    click(sim, "button", "Post")
    assert sim.success() and sim.progress() == 1.0


def test_progress_stays_in_range_under_random_play():
    sim = WebSimulator()
    for name in ALL_TASKS:
        policy = RandomPolicy(seed=1, invalid_rate=0.1)
        sim.reset(seed=9, task=name)
        policy.reset(9)
        for _ in range(30):
            assert 0.0 <= sim.progress() <= 1.0
            assert sim.progress() == 1.0 or not sim.goal.check(sim.state, sim.state.answer)
            if sim.step(policy.act(sim)).done:
                break


# -------------------------------------------------------------------------------- expert


@pytest.mark.parametrize("name", ALL_TASKS)
def test_expert_solves_every_task_without_noise(name):
    sim = WebSimulator()
    for seed in SEEDS:
        steps = rollout(sim, ExpertPolicy(noise=0.0), name, seed, max_steps=40)
        assert sim.success(), (name, seed, [s.action for s in steps])
        assert steps[-1].done and steps[-1].action.startswith("stop [")
        assert all(step.message == "" for step in steps)


@pytest.mark.parametrize("name", ALL_TASKS)
def test_expert_progress_never_drops(name):
    sim = WebSimulator()
    policy = ExpertPolicy(noise=0.0)
    for seed in range(8):
        sim.reset(seed=seed, task=name)
        policy.reset(seed)
        values = [sim.progress()]
        while not sim.state.done and len(values) < 40:
            sim.step(policy.act(sim))
            values.append(sim.progress())
        assert values[0] < 0.5 and values[-1] == 1.0
        assert values == sorted(values), (seed, values)


def test_expert_varies_its_strategy():
    sim = WebSimulator()
    kinds = set()
    for name in ALL_TASKS:
        for seed in range(10):
            kinds |= {parse_action(s.action).kind for s in rollout(sim, ExpertPolicy(), name, seed)}
    assert {"click", "type", "hover", "scroll", "stop"} <= kinds


def success_rate(policy_factory, max_steps: int = 40) -> float:
    sim = WebSimulator()
    wins = 0
    for name in ALL_TASKS:
        for seed in SEEDS:
            rollout(sim, policy_factory(), name, seed, max_steps)
            wins += sim.success()
    return wins / (len(ALL_TASKS) * len(SEEDS))


def test_noise_lowers_success():
    clean, noisy, random_only = (
        success_rate(lambda n=n: ExpertPolicy(noise=n)) for n in (0.0, 0.3, 1.0)
    )
    assert clean == 1.0
    assert 0.5 < noisy < clean
    assert random_only < 0.2
    assert success_rate(RandomPolicy) < 0.2


def test_policy_arguments_are_checked():
    with pytest.raises(ValueError, match="noise"):
        ExpertPolicy(noise=1.5)
    with pytest.raises(ValueError, match="invalid_rate"):
        RandomPolicy(invalid_rate=-0.1)


# ------------------------------------------------------------------------------- rollout


def test_rollout_steps_chain_and_are_deterministic():
    sim = WebSimulator()
    steps = rollout(sim, ExpertPolicy(noise=0.3), "checkout", seed=11, max_steps=25)
    assert steps[0].previous_action == "None"
    for before, after in zip(steps, steps[1:]):
        assert after.tree == before.next_tree and after.url == before.next_url
        assert after.previous_action == before.action
    assert all(step.objective == sim.objective for step in steps)
    again = rollout(WebSimulator(), ExpertPolicy(noise=0.3), "checkout", seed=11, max_steps=25)
    assert again == steps
    assert len(rollout(sim, RandomPolicy(), "reply_post", seed=0, max_steps=3)) <= 3


def test_invalid_actions_of_the_random_policy_leave_the_page_unchanged():
    sim = WebSimulator()
    steps = rollout(sim, RandomPolicy(invalid_rate=0.5), "order_status", seed=2, max_steps=30)
    invalid = [step for step in steps if step.message]
    assert invalid
    assert all(step.next_tree == step.tree and step.next_url == step.url for step in invalid)
