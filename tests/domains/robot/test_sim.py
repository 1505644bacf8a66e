"""The tabletop simulator: determinism, action effects, contacts, rendering, task checks."""

from __future__ import annotations

import doctest
import itertools
import json
import math

import numpy as np
import pytest

from rlvr_world.domains.robot import data, geometry, policies, render, sim
from rlvr_world.domains.robot.geometry import (
    CLOSED_HALF_GAP,
    FINGER_LENGTH,
    FINGER_RADIUS,
    GOAL_RADIUS,
    GRIPPER_MARGIN,
    MAX_SPEED,
    OBJECT_RADIUS,
)
from rlvr_world.domains.robot.sim import (
    LIFT_HOLD_STEPS,
    TASKS,
    TabletopSimulator,
    check_simulator,
    in_goal,
    task_success,
)

FAR = [(0.15, 0.85), (0.85, 0.85), (0.85, 0.15)]  # object spots away from the action


def make_state(
    gripper=(0.5, 0.5),
    closed=False,
    objects=((0.15, 0.85), (0.85, 0.85)),
    goals=(((0.2, 0.2), 0),),
    held=None,
    **extra,
) -> dict:
    """A hand-made state in the simulator's schema."""
    state = {
        "gripper": {"position": list(gripper), "closed": closed},
        "objects": [
            {
                "name": geometry.NAMES[i],
                "shape": geometry.SHAPES[i],
                "color": list(geometry.COLORS[i]),
                "position": list(position),
                "radius": OBJECT_RADIUS,
            }
            for i, position in enumerate(objects)
        ],
        "goals": [
            {"position": list(position), "radius": GOAL_RADIUS, "object": owner}
            for position, owner in goals
        ],
        "held": held,
        "texture_seed": 7,
    }
    state.update(extra)
    return state


def simulator_at(state: dict, task: str = "push", size: int = 32) -> TabletopSimulator:
    simulator = TabletopSimulator(task, num_objects=len(state["objects"]), size=size)
    simulator.reset(seed=0)
    simulator.set_state(state)
    return simulator


def step(simulator, dx=0.0, dy=0.0, grip=None, terminate=0.0, times=1):
    """Step `times` times; grip None keeps the gripper as it is."""
    for _ in range(times):
        if grip is None:
            grip_value = float(simulator.state()["gripper"]["closed"])
        else:
            grip_value = grip
        result = simulator.step([dx, dy, grip_value, terminate])
    return result


def position(simulator, index=None):
    state = simulator.state()
    if index is None:
        return state["gripper"]["position"]
    return state["objects"][index]["position"]


def assert_no_overlap(state: dict) -> None:
    """Objects apart, on the table, and clear of the fingers (held object excepted)."""
    objects = state["objects"]
    for a, b in itertools.combinations(range(len(objects)), 2):
        distance = math.dist(objects[a]["position"], objects[b]["position"])
        assert distance >= 2 * OBJECT_RADIUS - 1e-4, (a, b, distance)
    x, y = state["gripper"]["position"]
    half_gap = state["gripper"]["half_gap"]
    for index, obj in enumerate(objects):
        ox, oy = obj["position"]
        assert OBJECT_RADIUS - 1e-9 <= ox <= 1 - OBJECT_RADIUS + 1e-9
        assert OBJECT_RADIUS - 1e-9 <= oy <= 1 - OBJECT_RADIUS + 1e-9
        if index == state["held"]:
            continue
        along = oy - min(max(oy, y - FINGER_LENGTH / 2), y + FINGER_LENGTH / 2)
        for finger_x in (x - half_gap, x + half_gap):
            assert math.hypot(ox - finger_x, along) >= OBJECT_RADIUS + FINGER_RADIUS - 1e-4


# ----------------------------------------------------------------------------- determinism


def run_episode(seed: int, num_steps: int = 25, task: str = "sort"):
    simulator = TabletopSimulator(task, num_objects=2, size=32)
    frame, _ = simulator.reset(seed=seed)
    rng = np.random.default_rng(99)
    frames, states = [frame], [simulator.state()]
    for _ in range(num_steps):
        frame, *_ = simulator.step(simulator.action_space.sample(rng))
        frames.append(frame)
        states.append(simulator.state())
    return frames, states


def test_same_seed_same_frames_and_states():
    frames_a, states_a = run_episode(3)
    frames_b, states_b = run_episode(3)
    assert states_a == states_b
    assert all(np.array_equal(a, b) for a, b in zip(frames_a, frames_b))


def test_different_seeds_differ():
    frames_a, states_a = run_episode(3, num_steps=0)
    frames_b, states_b = run_episode(4, num_steps=0)
    assert states_a[0]["objects"] != states_b[0]["objects"]
    assert states_a[0]["texture_seed"] != states_b[0]["texture_seed"]
    assert not np.array_equal(frames_a[0], frames_b[0])


def test_unseeded_reset_continues_the_constructor_seed():
    first = TabletopSimulator("push", size=16, seed=5)
    second = TabletopSimulator("push", size=16, seed=5)
    layouts = []
    for simulator in (first, second):
        simulator.reset()
        one = simulator.state()
        simulator.reset()
        layouts.append((one, simulator.state()))
    assert layouts[0] == layouts[1]
    assert layouts[0][0] != layouts[0][1]  # each reset is a new episode


@pytest.mark.parametrize("task", sorted(TASKS))
def test_layouts_start_unsolved_and_apart(task):
    for seed in range(20):
        simulator = TabletopSimulator(task, num_objects=3, size=16)
        _, info = simulator.reset(seed=seed)
        state = simulator.state()
        assert not info["success"]
        assert_no_overlap(state)
        for goal in state["goals"]:
            for obj in state["objects"]:
                assert not in_goal(obj["position"], goal)


# ------------------------------------------------------------------------------ actions


def test_moving_right_and_up_moves_by_max_speed_times_the_action():
    simulator = simulator_at(make_state(gripper=(0.5, 0.5)))
    step(simulator, dx=1.0)
    assert position(simulator) == pytest.approx([0.5 + MAX_SPEED, 0.5])
    step(simulator, dy=-0.5)
    assert position(simulator) == pytest.approx([0.5 + MAX_SPEED, 0.5 - MAX_SPEED / 2])
    step(simulator, dx=-7.0)  # out of range: clipped to -1
    assert position(simulator) == pytest.approx([0.5, 0.5 - MAX_SPEED / 2])


def test_gripper_stays_on_the_table():
    simulator = simulator_at(make_state(gripper=(0.5, 0.5), objects=[(0.5, 0.85), (0.85, 0.85)]))
    step(simulator, dx=-1.0, dy=-1.0, times=20)
    assert position(simulator) == pytest.approx([GRIPPER_MARGIN, GRIPPER_MARGIN])
    step(simulator, dx=1.0, times=25)
    assert position(simulator)[0] == pytest.approx(1 - GRIPPER_MARGIN)


def test_closed_fingers_push_an_object():
    contact = OBJECT_RADIUS + 2 * FINGER_RADIUS  # closed fingers' right edge to object centre
    simulator = simulator_at(
        make_state(gripper=(0.3, 0.5), closed=True, objects=[(0.3 + contact + 0.01, 0.5), FAR[1]])
    )
    step(simulator, dx=1.0, times=4)
    gripper_x = position(simulator)[0]
    assert gripper_x == pytest.approx(0.3 + 4 * MAX_SPEED)
    # In contact since the first step, the object moved with the fingers.
    assert position(simulator, 0) == pytest.approx([gripper_x + contact, 0.5], abs=1e-5)
    assert position(simulator, 1) == pytest.approx(list(FAR[1]))
    assert_no_overlap(simulator.state())


def test_an_open_finger_pushes_an_object_sideways():
    # The object sits just right of the right finger.
    start_x = 0.4 + geometry.OPEN_HALF_GAP + FINGER_RADIUS + OBJECT_RADIUS + 0.005
    simulator = simulator_at(make_state(gripper=(0.4, 0.5), objects=[(start_x, 0.5), FAR[1]]))
    step(simulator, dx=1.0, times=3)
    assert position(simulator, 0)[0] > start_x + 2 * MAX_SPEED
    assert_no_overlap(simulator.state())


def test_open_fingers_pass_over_an_object_moving_vertically():
    simulator = simulator_at(make_state(gripper=(0.5, 0.3), objects=[(0.5, 0.5), FAR[1]]))
    step(simulator, dy=1.0, times=8)  # the object slides between the fingers
    assert position(simulator) == pytest.approx([0.5, 0.3 + 8 * MAX_SPEED])
    assert position(simulator, 0) == pytest.approx([0.5, 0.5])


def test_objects_push_each_other():
    contact = OBJECT_RADIUS + 2 * FINGER_RADIUS
    simulator = simulator_at(
        make_state(
            gripper=(0.2, 0.5),
            closed=True,
            objects=[(0.2 + contact, 0.5), (0.2 + contact + 2 * OBJECT_RADIUS + 0.02, 0.5)],
        )
    )
    before = position(simulator, 1)[0]
    step(simulator, dx=1.0, times=4)
    assert position(simulator, 1)[0] > before + MAX_SPEED
    assert_no_overlap(simulator.state())


def test_pushing_into_the_edge_blocks_the_gripper():
    contact = OBJECT_RADIUS + 2 * FINGER_RADIUS
    simulator = simulator_at(
        make_state(gripper=(0.7, 0.5), closed=True, objects=[(0.7 + contact, 0.5), FAR[0]])
    )
    step(simulator, dx=1.0, times=10)
    state = simulator.state()
    # Stopped by the edge, within one sub-step of it (a blocked sub-step is cancelled).
    substep = MAX_SPEED / geometry.SUBSTEPS
    assert position(simulator, 0)[0] == pytest.approx(1 - OBJECT_RADIUS, abs=substep)
    assert position(simulator)[0] == pytest.approx(1 - OBJECT_RADIUS - contact, abs=substep)
    step(simulator, dx=1.0)
    assert simulator.state() == {**state, "step": state["step"] + 1}
    assert_no_overlap(state)


def test_grasp_carry_and_release():
    simulator = simulator_at(
        make_state(gripper=(0.4, 0.4), objects=[(0.42, 0.41), FAR[1]]), task="place"
    )
    step(simulator, grip=1.0)
    state = simulator.state()
    assert state["held"] == 0 and state["gripper"]["closed"]
    assert state["objects"][0]["position"] == pytest.approx([0.4, 0.41])  # centred in x
    assert state["held_steps"] == 1 and state["lifted"] == [True, False]
    step(simulator, dx=1.0, dy=0.5, grip=1.0, times=3)
    assert position(simulator, 0) == pytest.approx([0.4 + 3 * MAX_SPEED, 0.41 + 1.5 * MAX_SPEED])
    assert simulator.state()["held_steps"] == 4
    step(simulator, grip=0.0)  # release: it stays where it was put
    dropped = position(simulator, 0)
    assert simulator.state()["held"] is None and simulator.state()["held_steps"] == 0
    step(simulator, dy=-1.0, grip=0.0, times=4)  # lifting away vertically leaves it there
    assert position(simulator, 0) == pytest.approx(dropped)


def test_closing_next_to_an_object_grasps_nothing():
    simulator = simulator_at(make_state(gripper=(0.4, 0.4), objects=[(0.4, 0.6), FAR[1]]))
    step(simulator, grip=1.0)
    state = simulator.state()
    assert state["held"] is None and state["gripper"]["closed"]
    assert state["gripper"]["half_gap"] == CLOSED_HALF_GAP


def test_a_held_object_pushes_others():
    simulator = simulator_at(
        make_state(gripper=(0.3, 0.5), objects=[(0.3, 0.5), (0.3 + 2 * OBJECT_RADIUS + 0.01, 0.5)])
    )
    step(simulator, grip=1.0)
    step(simulator, dx=1.0, grip=1.0, times=3)
    assert position(simulator, 1)[0] > 0.3 + 2 * OBJECT_RADIUS + 0.01 + MAX_SPEED
    assert_no_overlap(simulator.state())


def test_objects_never_overlap_under_random_actions():
    simulator = TabletopSimulator("sort", num_objects=3, size=16)
    rng = np.random.default_rng(0)
    grip = 0.0
    for episode in range(3):
        simulator.reset(seed=episode)
        for _ in range(150):
            if rng.random() < 0.1:
                grip = 1.0 - grip
            dx, dy = rng.uniform(-1, 1, 2)
            _, _, terminated, truncated, _ = simulator.step([dx, dy, grip, 0.0])
            assert_no_overlap(simulator.state())
            if truncated:
                break


def test_terminate_truncate_and_errors():
    simulator = TabletopSimulator("push", size=16, max_steps=3)
    with pytest.raises(RuntimeError, match="reset"):
        simulator.step([0, 0, 0, 0])
    simulator.reset(seed=0)
    before = simulator.state()
    _, reward, terminated, truncated, info = simulator.step([1, 1, 1, 1])
    assert (reward, terminated, truncated) == (0.0, True, False)
    after = simulator.state()
    assert after["gripper"] == before["gripper"] and after["step"] == 1  # terminate: no motion
    with pytest.raises(RuntimeError, match="ended"):
        simulator.step([0, 0, 0, 0])
    simulator.reset(seed=0)
    results = [simulator.step([0.1, 0, 0, 0]) for _ in range(3)]
    assert [r[3] for r in results] == [False, False, True]
    simulator.reset(seed=0)
    for bad in ([0, 0, 0], [0, 0, 0, 0, 0], [math.nan, 0, 0, 0]):
        with pytest.raises(ValueError, match="action"):
            simulator.step(bad)


def test_bad_construction_names_the_problem():
    with pytest.raises(ValueError, match="known tasks: lift, place, push, sort"):
        TabletopSimulator("juggle")
    with pytest.raises(ValueError, match="num_objects"):
        TabletopSimulator("sort", num_objects=1)
    with pytest.raises(ValueError, match="num_objects"):
        TabletopSimulator("push", num_objects=4)
    with pytest.raises(ValueError, match="size"):
        TabletopSimulator("push", size=4)


def test_state_is_plain_json():
    simulator = TabletopSimulator("place", size=16)
    simulator.reset(seed=1)
    state = simulator.state()
    assert json.loads(json.dumps(state)) == state
    assert set(state) == {
        "task",
        "step",
        "target",
        "texture_seed",
        "gripper",
        "objects",
        "held",
        "held_steps",
        "lifted",
        "goals",
    }
    state["gripper"]["position"][0] = -5  # a copy: editing it changes nothing
    assert simulator.state()["gripper"]["position"][0] != -5


# ----------------------------------------------------------------------------- rendering


@pytest.mark.parametrize("size", [32, 64, 96])
def test_frames_have_the_declared_shape_and_dtype(size):
    simulator = TabletopSimulator("sort", size=size)
    frame, _ = simulator.reset(seed=0)
    assert simulator.observation_shape == (size, size, 3)
    assert frame.shape == (size, size, 3) and frame.dtype == np.uint8


def test_frames_change_when_the_state_changes():
    simulator = simulator_at(make_state(gripper=(0.5, 0.5)), size=64)
    before = simulator.render()
    step(simulator, dx=1.0)
    after = simulator.render()
    changed = np.any(before != after, axis=-1)
    assert 10 < changed.sum() < 64 * 64 // 4  # the gripper moved, the table did not
    assert np.array_equal(render.render_state(simulator.state(), 64), after)


def test_table_is_textured_and_shaded_not_piecewise_constant():
    simulator = TabletopSimulator("push", size=64)
    frame, _ = simulator.reset(seed=0)
    assert len(np.unique(frame.reshape(-1, 3), axis=0)) > 300
    # Neighbouring pixels of plain table still differ (grain, lighting).
    table = frame[40:56, 2:18].astype(float)
    assert np.abs(np.diff(table, axis=1)).mean() > 0.5
    other, _ = simulator.reset(seed=1)
    assert np.abs(frame.astype(float) - other.astype(float)).mean() > 3


def test_goal_regions_are_tinted_with_their_objects_colour():
    state = make_state(
        gripper=(0.5, 0.9),
        objects=[(0.15, 0.15), (0.85, 0.15)],
        goals=[((0.3, 0.5), 0), ((0.7, 0.5), 1)],
    )
    with_goals = render.render_state(state, 64).astype(float)
    without = render.render_state({**state, "goals": []}, 64).astype(float)

    def disc(x, y, radius):
        rows, columns = np.mgrid[0:64, 0:64]
        return np.hypot((columns + 0.5) / 64 - x, (rows + 0.5) / 64 - y) < radius

    red_goal, blue_goal = disc(0.3, 0.5, 0.07), disc(0.7, 0.5, 0.07)
    tint = with_goals - without
    assert np.abs(tint[red_goal]).mean() > 10 and np.abs(tint[blue_goal]).mean() > 10
    # Red minus blue channel: raised more in the red goal than in the blue one.
    red_shift = (tint[red_goal, 0] - tint[red_goal, 2]).mean()
    blue_shift = (tint[blue_goal, 0] - tint[blue_goal, 2]).mean()
    assert red_shift > blue_shift + 20
    assert np.abs(tint[~disc(0.3, 0.5, 0.12) & ~disc(0.7, 0.5, 0.12)]).max() == 0


def test_objects_are_shaded_and_anti_aliased():
    state = make_state(gripper=(0.5, 0.9), objects=[(0.3, 0.3), (0.7, 0.3)], goals=[])
    frame = render.render_state(state, 64).astype(float)
    blue = frame[14:25, 40:51]  # the blue disc around (0.7, 0.3)
    inside = blue[3:8, 3:8]
    assert inside[..., 2].std() > 3  # radial shading, not a flat fill
    # Edge pixels mix disc and table: some blue channel values lie strictly between.
    edge_values = frame[19, 36:46, 2]
    assert len(np.unique(edge_values)) >= 6


def test_a_held_object_is_drawn_larger_with_a_farther_shadow():
    # The gripper is drawn away so that only the object's own drawing differs.
    resting = make_state(gripper=(0.5, 0.9), objects=[(0.5, 0.5), FAR[1]], goals=[])
    on_table = render.render_state(resting, 64).astype(float)
    lifted = render.render_state({**resting, "held": 0}, 64).astype(float)

    def red_pixels(frame):
        return int(((frame[..., 0] > 150) & (frame[..., 1] < 90)).sum())

    assert red_pixels(lifted) > red_pixels(on_table) * 1.15
    # The shadow falls farther down-right: darker there than under the resting block.
    corner = (slice(36, 40), slice(36, 40))
    assert lifted[corner].mean() < on_table[corner].mean() - 5


# -------------------------------------------------------------------------------- tasks


def solved_lift_state(held_steps):
    return make_state(
        gripper=(0.5, 0.5), closed=True, objects=[(0.5, 0.5)], goals=[], held=0,
        held_steps=held_steps, target=0, lifted=[True],
    )  # fmt: skip


@pytest.mark.parametrize(
    ("task", "state", "expected"),
    [
        # push: the target resting inside the goal
        ("push", make_state(objects=[(0.2, 0.2), FAR[1]], held=None, target=0), True),
        ("push", make_state(objects=[(0.2 + 0.075, 0.2), FAR[1]], target=0), False),  # on the rim
        ("push", make_state(objects=[(0.2, 0.2), FAR[1]], held=0, target=0), False),  # still held
        ("push", make_state(objects=[FAR[1], (0.2, 0.2)], goals=[((0.2, 0.2), 0)], target=0), False),
        # sort: every object in the goal of its colour
        (
            "sort",
            make_state(objects=[(0.2, 0.2), (0.7, 0.7)], goals=[((0.2, 0.2), 0), ((0.7, 0.7), 1)], target=0),
            True,
        ),
        (
            "sort",
            make_state(objects=[(0.7, 0.7), (0.2, 0.2)], goals=[((0.2, 0.2), 0), ((0.7, 0.7), 1)], target=0),
            False,  # swapped: each in the other's goal
        ),
        (
            "sort",
            make_state(objects=[(0.2, 0.2), FAR[1]], goals=[((0.2, 0.2), 0), ((0.7, 0.7), 1)], target=0),
            False,
        ),
        # lift: holding the target for LIFT_HOLD_STEPS steps
        ("lift", solved_lift_state(LIFT_HOLD_STEPS), True),
        ("lift", solved_lift_state(LIFT_HOLD_STEPS - 1), False),
        ("lift", {**solved_lift_state(LIFT_HOLD_STEPS), "held": None}, False),
        # place: lifted at some point, then resting in the goal
        ("place", make_state(objects=[(0.2, 0.2)], target=0, lifted=[True]), True),
        ("place", make_state(objects=[(0.2, 0.2)], target=0, lifted=[False]), False),  # pushed
        ("place", make_state(objects=[(0.2, 0.2)], held=0, target=0, lifted=[True]), False),
    ],
)  # fmt: skip
def test_task_success_on_hand_made_states(task, state, expected):
    assert task_success(task, state) is expected


def test_in_goal_boundary():
    goal = {"position": [0.5, 0.5], "radius": GOAL_RADIUS}
    limit = GOAL_RADIUS - 0.5 * OBJECT_RADIUS
    assert in_goal([0.5 + limit - 1e-6, 0.5], goal)
    assert not in_goal([0.5 + limit + 1e-6, 0.5], goal)


def test_success_and_reward_follow_the_state():
    # The block just outside the goal centred at (0.2, 0.2), the closed fingers below it.
    block_y = 0.2 + 0.1
    gripper_y = block_y + OBJECT_RADIUS + FINGER_LENGTH / 2 + FINGER_RADIUS + 0.001
    simulator = simulator_at(
        make_state(gripper=(0.2, gripper_y), closed=True, objects=[(0.2, block_y), FAR[1]])
    )
    assert not simulator.success()
    _, reward, _, _, info = step(simulator, dy=-1.0)  # push it up by one step
    assert info["success"] and reward == 1.0
    assert simulator.success()


# ------------------------------------------------------------------------------ checker


@pytest.mark.parametrize("task", sorted(TASKS))
def test_check_simulator_passes(task):
    check_simulator(TabletopSimulator(task, size=16))


class _FloatFrames(TabletopSimulator):
    def reset(self, seed=None):
        frame, info = super().reset(seed)
        return frame.astype(np.float32), info


class _Forgetful(TabletopSimulator):
    """Ignores the seed: not reproducible."""

    def reset(self, seed=None):
        return super().reset(None)


class _EndlessTerminate(TabletopSimulator):
    def step(self, action):
        frame, reward, _, truncated, info = super().step(np.asarray(action) * [1, 1, 1, 0])
        return frame, reward, False, truncated, info


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (_FloatFrames, "uint8"),
        (_Forgetful, "reproduce"),
        (_EndlessTerminate, "terminate"),
    ],
)
def test_check_simulator_catches_broken_contracts(broken, message):
    with pytest.raises(AssertionError, match=message):
        check_simulator(broken("push", size=16))


@pytest.mark.parametrize("module", [sim, render, policies, data])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
