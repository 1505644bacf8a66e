"""Reading frames: perception against the simulator's state, the pixel success detector
against the simulator's own success test on real frames, and the pixel expert."""

import math

import numpy as np
import pytest

from rlvr_world.domains.robot import geometry as g
from rlvr_world.domains.robot.perception import (
    LAYOUT_SCALE,
    Percept,
    PixelExpert,
    detect_success,
    find_goals,
    frame_flags,
    layout_error,
    perceive,
)
from rlvr_world.domains.robot.policies import ExpertPolicy
from rlvr_world.domains.robot.policy_success import episode_seeds, make_frame_policy, run_true
from rlvr_world.domains.robot.sim import LIFT_HOLD_STEPS, TabletopSimulator


def _frames_and_states(task, episodes, noise, size=64):
    sim = TabletopSimulator(task, size=size)
    policy = ExpertPolicy(task, noise=noise)
    out = []
    for episode in range(episodes):
        sim.reset(seed=100 + episode)
        policy.reset(seed=episode)
        for _ in range(20):
            out.append((sim.render(), sim.state()))
            _, _, terminated, truncated, _ = sim.step(policy(sim.state()))
            if terminated or truncated:
                break
    return out


@pytest.mark.parametrize("task", ["place", "push"])
def test_perception_reads_the_state_from_real_frames(task):
    errors = {"gripper": [], "red": [], "blue": []}
    for frame, state in _frames_and_states(task, 6, noise=0.3):
        percept = perceive(frame, num_objects=2)
        errors["gripper"].append(math.dist(percept.gripper, state["gripper"]["position"]))
        for name, index in (("red", 0), ("blue", 1)):
            if percept.objects[index] is not None:
                errors[name].append(
                    math.dist(percept.objects[index], state["objects"][index]["position"])
                )
    # table units: a 64-pixel frame has 0.0156 a pixel
    assert np.median(errors["gripper"]) < 0.008 and np.max(errors["gripper"]) < 0.03
    assert np.median(errors["red"]) < 0.01 and np.percentile(errors["red"], 90) < 0.03
    assert np.median(errors["blue"]) < 0.01


def _percept(gripper, *objects):
    return Percept(gripper=gripper, opening=None, objects=objects, areas=(1.0,) * len(objects))


def test_layout_error_table():
    true = _percept((0.5, 0.5), (0.2, 0.2), None)
    # (prediction, expected): distances over LAYOUT_SCALE, clipped at 1; lost or ghost = 1
    table = [
        (_percept((0.5, 0.5), (0.2, 0.2), None), 0.0),
        (_percept((0.55, 0.5), (0.2, 0.2), None), (0.05 / LAYOUT_SCALE) / 2),
        (_percept((0.5, 0.5), (0.2, 0.23), None), (0.03 / LAYOUT_SCALE) / 2),
        (_percept((0.5, 0.5), (0.9, 0.9), None), 0.5),  # far off: clipped at 1
        (_percept((0.5, 0.5), None, None), 0.5),  # the block lost
        (_percept((0.5, 0.5), (0.2, 0.2), (0.7, 0.7)), 1 / 3),  # a ghost object
        (_percept(None, None, None), 1.0),
    ]
    for pred, expected in table:
        assert layout_error(pred, true) == pytest.approx(expected), pred
    nothing = _percept(None, None, None)
    assert layout_error(nothing, nothing) == 0.0


def test_layout_error_on_real_frames_grows_with_the_move():
    frames = [frame for frame, _ in _frames_and_states("push", 1, noise=0.0)]
    first = perceive(frames[0])
    assert layout_error(perceive(frames[0]), first) == 0.0
    errors = [layout_error(perceive(frame), first) for frame in frames[1:6]]
    assert errors[0] > 0 and errors[-1] > errors[0]  # the gripper moves away step by step
    shifted = np.roll(frames[0], 8, axis=1)  # everything 8 pixels right: 0.125 table units
    assert layout_error(perceive(shifted), first) == pytest.approx(0.125 / LAYOUT_SCALE, abs=0.04)


def test_finger_opening_tells_open_from_holding_and_shut():
    for frame, state in _frames_and_states("lift", 4, noise=0.0):
        percept = perceive(frame)
        gap = state["gripper"]["half_gap"]
        assert percept.open == (gap == g.OPEN_HALF_GAP), (gap, percept.opening)


@pytest.mark.parametrize("size", [64, 32])
@pytest.mark.parametrize(("task", "objects"), [("push", 2), ("place", 3), ("sort", 2), ("sort", 3)])
def test_goals_are_found_on_first_frames(task, objects, size):
    sim = TabletopSimulator(task, num_objects=objects, size=size)
    errors = []
    for seed in range(25):
        frame, _ = sim.reset(seed=seed)
        truth = sim.state()["goals"]
        found = find_goals(frame, [goal["object"] for goal in truth])
        assert [goal["object"] for goal in found] == [goal["object"] for goal in truth]
        errors += [math.dist(a["position"], b["position"]) for a, b in zip(found, truth)]
    # a goal's radius is 0.1; sort's owners must be told apart by colour
    limit = 0.01 if size == 64 else 0.03
    assert np.percentile(errors, 90) < limit, sorted(errors)[-5:]


def _state(sim, block, gripper, closed=False, held=None):
    base = sim.state()
    base["objects"][0]["position"] = list(block)
    base["objects"][1]["position"] = [0.9, 0.9]
    base["gripper"] = {"position": list(gripper), "closed": closed}
    base["gripper"]["half_gap"] = g.half_gap_of(closed, held is not None)
    base["held"] = held
    return base


def test_detector_rules_on_hand_made_frames():
    sim = TabletopSimulator("place", size=64)
    sim.reset(seed=3)
    goal = sim.state()["goals"][0]["position"]
    start = sim.render()
    far = [0.15 if goal[0] > 0.5 else 0.85, 0.15 if goal[1] > 0.5 else 0.85]
    away = [1 - far[0], far[1]]
    # push: only the last frame counts
    in_goal = sim.set_state(_state(sim, goal, away))
    outside = sim.set_state(_state(sim, far, away))
    assert detect_success("push", [start, outside, in_goal])
    assert not detect_success("push", [start, in_goal, outside])
    # held: centred between closed fingers; lift needs LIFT_HOLD_STEPS held frames at the end
    held = sim.set_state(_state(sim, far, far, closed=True, held=0))
    hovering = sim.set_state(_state(sim, far, far, closed=False))
    assert frame_flags([held], sim.state()["goals"])[0]["held"]
    assert not frame_flags([hovering], sim.state()["goals"])[0]["held"]
    assert detect_success("lift", [start] + [held] * LIFT_HOLD_STEPS)
    assert not detect_success("lift", [start] + [held] * (LIFT_HOLD_STEPS - 1))
    assert not detect_success("lift", [start] + [held] * LIFT_HOLD_STEPS + [outside])
    # place: held at some point, then in the goal and let go
    released = sim.set_state(_state(sim, goal, goal, closed=False))
    carried = sim.set_state(_state(sim, goal, goal, closed=True, held=0))
    assert detect_success("place", [start, held, carried, released])
    assert not detect_success("place", [start, outside, released])  # never held
    assert not detect_success("place", [start, held, carried])  # still holding
    assert not detect_success("push", [])
    # without the fingers (fingers=False): "held" is the block at the grasp point
    flags = frame_flags([held, hovering, outside], sim.state()["goals"])
    assert [f["at_grasp"] for f in flags] == [True, True, False]
    lift = [start] + [hovering] * LIFT_HOLD_STEPS
    assert detect_success("lift", lift, fingers=False) and not detect_success("lift", lift)
    assert not detect_success("lift", lift + [outside], fingers=False)
    # place: carried from outside the goal into it; letting go is not needed
    assert detect_success("place", [start, held, carried], fingers=False)
    assert detect_success("place", [start, hovering, released], fingers=False)
    assert not detect_success("place", [start, outside, released], fingers=False)
    assert not detect_success("place", [start, held, outside], fingers=False)


@pytest.mark.parametrize("task", ["push", "lift", "place"])
def test_detector_agrees_with_the_simulator_on_real_frames(task):
    episodes = []
    for name in ("expert", "noisy-0.3", "noisy-0.6"):
        policy = make_frame_policy(name, task)
        episodes += run_true(task, policy, episode_seeds(11, 8), max_steps=24)
    agreement = np.mean([e.detected == e.success for e in episodes])
    assert agreement >= 0.85, agreement
    assert any(e.success for e in episodes) and not all(e.success for e in episodes)


def test_pixel_expert_solves_lift_and_place_from_frames():
    for task, floor in (("lift", 0.9), ("place", 0.6)):
        episodes = run_true(task, PixelExpert(task), episode_seeds(5, 10), max_steps=24)
        assert np.mean([e.success for e in episodes]) >= floor, task
    random_episodes = run_true(
        "lift", make_frame_policy("random", "lift"), episode_seeds(5, 10), max_steps=24
    )
    assert not any(e.success for e in random_episodes)


def test_pixel_expert_is_deterministic_under_a_seed():
    first = run_true("place", PixelExpert("place", noise=0.3), episode_seeds(2, 2))
    again = run_true("place", PixelExpert("place", noise=0.3), episode_seeds(2, 2))
    for a, b in zip(first, again):
        assert np.array_equal(a.actions, b.actions) and np.array_equal(a.frames, b.frames)


def test_bad_frames_and_names_raise():
    with pytest.raises(ValueError, match="square"):
        perceive(np.zeros((8, 9, 3), np.uint8))
    with pytest.raises(ValueError, match="unknown task"):
        detect_success("juggle", [np.zeros((16, 16, 3), np.uint8)])
    with pytest.raises(ValueError, match="unknown policy"):
        make_frame_policy("oracle", "push")
