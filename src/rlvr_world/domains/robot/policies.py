"""Scripted policies that read the simulator state, and episode collection (RT-1 layout).

A policy is called on a `TabletopSimulator.state()` dict and returns a float32 (4,) action
`[dx, dy, grip, terminate]`; `reset(seed)` seeds its own generator. `ExpertPolicy(task,
noise)` solves a task (pushing with closed fingers for push; grasp, carry and release for
the others) and says terminate once the task is solved; `noise` adds Gaussian noise of that
standard deviation to dx, dy and grip, and `random_action_probability` swaps in a random
action (epsilon-greedy), so episodes of graded quality exist. `RandomPolicy` moves at random
with a sticky grip.

`collect_episodes` runs a policy and records RT-1-style episodes: image[t] is the frame seen
before action[t]; the last action is always a terminate (forced at the step limit).

>>> episodes = collect_episodes("lift", 1, ExpertPolicy("lift"), seed=0, size=32)
>>> episode = episodes[0]
>>> episode["image"].shape[1:], episode["action"].shape[1], episode["success"]
((32, 32, 3), 4, True)
>>> float(episode["action"][-1, 3])
1.0
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np

from rlvr_world.domains.robot import geometry as g
from rlvr_world.domains.robot.sim import ACTION_SPACE, TASKS, TabletopSimulator, in_goal

__all__ = [
    "POLICIES",
    "ExpertPolicy",
    "Policy",
    "RandomPolicy",
    "collect_episodes",
    "episode_seeds",
    "make_policy",
]

# Where a placed object counts as "there" for the expert: tighter than the success test, so
# that a small slip on release still leaves it inside the goal.
_PLACE_TOLERANCE = 0.012
# Close when the object is this near the grasp point (the fingers centre it as they close; the
# grasp window is wider, see geometry.GRASP_WINDOW_X/Y).
_GRASP_TOLERANCE_X = 0.03
_GRASP_TOLERANCE_Y = 0.02
# Hover height (vertical distance from an object) from which the open fingers descend onto it
# without touching it: finger half-length + finger radius + object radius + margin.
_HOVER = g.FINGER_LENGTH / 2 + g.FINGER_RADIUS + g.OBJECT_RADIUS + 0.02


class Policy(Protocol):
    """Maps a simulator state dict to an action: float32 (4,) [dx, dy, grip, terminate]."""

    name: str

    def reset(self, seed: int | None = None) -> None: ...

    def __call__(self, state: dict[str, Any]) -> np.ndarray: ...


def _toward(position, target) -> tuple[float, float]:
    """The (dx, dy) action that moves `position` towards `target`, arriving exactly when
    within one step."""
    dx = (target[0] - position[0]) / g.MAX_SPEED
    dy = (target[1] - position[1]) / g.MAX_SPEED
    scale = max(1.0, abs(dx), abs(dy))
    return dx / scale, dy / scale


def _touches(
    state: dict, point: tuple[float, float], obstacle: tuple[float, float], margin: float = 0.0
) -> bool:
    """Whether the gripper (fingers at the current gap, and a held object) with its grasp
    point at `point` would come within `margin` of an object centred at `obstacle`."""
    x, y = point
    ox, oy = obstacle
    half_gap = state["gripper"]["half_gap"]
    reach = g.OBJECT_RADIUS + g.FINGER_RADIUS + margin
    along = oy - min(max(oy, y - g.FINGER_LENGTH / 2), y + g.FINGER_LENGTH / 2)
    for finger_x in (x - half_gap, x + half_gap):
        if math.hypot(ox - finger_x, along) < reach:
            return True
    held = state["held"]
    if held is not None:
        gx, gy = state["gripper"]["position"]
        hx, hy = state["objects"][held]["position"]
        centre = (x + hx - gx, y + hy - gy)
        limit = g.OBJECT_RADIUS + state["objects"][held]["radius"] + margin
        if math.dist(centre, obstacle) < limit:
            return True
    return False


def _touch_map(
    state: dict, xs: np.ndarray, ys: np.ndarray, obstacle: tuple[float, float], margin: float
) -> np.ndarray:
    """`_touches` for every grasp point of a grid: xs (1, N), ys (N, 1) -> bool (N, N)."""
    ox, oy = obstacle
    half_gap = state["gripper"]["half_gap"]
    reach2 = (g.OBJECT_RADIUS + g.FINGER_RADIUS + margin) ** 2
    along2 = (oy - np.clip(oy, ys - g.FINGER_LENGTH / 2, ys + g.FINGER_LENGTH / 2)) ** 2
    hit = ((ox - (xs - half_gap)) ** 2 + along2 < reach2) | (
        (ox - (xs + half_gap)) ** 2 + along2 < reach2
    )
    held = state["held"]
    if held is not None:
        gx, gy = state["gripper"]["position"]
        hx, hy = state["objects"][held]["position"]
        limit2 = (g.OBJECT_RADIUS + state["objects"][held]["radius"] + margin) ** 2
        hit |= (xs + hx - gx - ox) ** 2 + (ys + hy - gy - oy) ** 2 < limit2
    return hit


# The planner's grid of grasp points over the gripper's reach, and its 8 moves with costs.
_GRID_SIZE = 37
_GRID = np.linspace(g.GRIPPER_MARGIN, 1 - g.GRIPPER_MARGIN, _GRID_SIZE)
_GRID_STEP = float(_GRID[1] - _GRID[0])
_MOVES = [(di, dj, math.hypot(di, dj)) for di in (-1, 0, 1) for dj in (-1, 0, 1) if di or dj]


def _segment_clear(state, start, end, obstacles) -> bool:
    """Whether the gripper can move straight from `start` to `end` touching none of them."""
    count = max(2, int(math.dist(start, end) / 0.01) + 1)
    xs = np.linspace(start[0], end[0], count)[None, :]
    ys = np.linspace(start[1], end[1], count)[:, None]
    # Only the diagonal of the (count, count) grid is the segment; use it.
    diagonal = np.arange(count)
    for obstacle in obstacles:
        if _touch_map(state, xs, ys, obstacle, 0.004)[diagonal, diagonal].any():
            return False
    return True


def _navigate(state: dict, target: tuple[float, float], avoid: list[int]) -> tuple[float, float]:
    """The (dx, dy) towards `target` around the objects in `avoid` (those the gripper would
    touch at the target itself are shoved instead): straight when the way is clear, else
    along a shortest path on a grid of grasp points, recomputed every step (memoryless)."""
    x, y = state["gripper"]["position"]
    obstacles = [
        state["objects"][index]["position"]
        for index in avoid
        if not _touches(state, target, state["objects"][index]["position"])
    ]
    if _segment_clear(state, (x, y), target, obstacles):
        return _toward((x, y), target)
    xs, ys = _GRID[None, :], _GRID[:, None]
    free = np.ones((_GRID_SIZE, _GRID_SIZE), dtype=bool)
    for obstacle in obstacles:
        free &= ~_touch_map(state, xs, ys, obstacle, 0.004)

    def cell(point) -> tuple[int, int]:
        column = round((point[0] - g.GRIPPER_MARGIN) / _GRID_STEP)
        row = round((point[1] - g.GRIPPER_MARGIN) / _GRID_STEP)
        return min(max(row, 0), _GRID_SIZE - 1), min(max(column, 0), _GRID_SIZE - 1)

    start, goal = cell((x, y)), cell(target)
    free[start] = free[goal] = True
    # Distance to the goal cell over free cells: relax all 8 moves until nothing changes.
    distance = np.full((_GRID_SIZE, _GRID_SIZE), np.inf)
    distance[goal] = 0.0
    for _ in range(4 * _GRID_SIZE):
        padded = np.pad(distance, 1, constant_values=np.inf)
        best = distance
        for di, dj, cost in _MOVES:
            shifted = padded[1 + di : 1 + di + _GRID_SIZE, 1 + dj : 1 + dj + _GRID_SIZE]
            best = np.minimum(best, shifted + cost)
        best = np.where(free, best, np.inf)
        if np.array_equal(best, distance):
            break
        distance = best
    if not np.isfinite(distance[start]):
        return _toward((x, y), target)  # no way around: go straight and shove
    # Follow the path downhill for about one step's length and head there.
    row, column = start
    for _ in range(max(1, round(g.MAX_SPEED / _GRID_STEP))):
        neighbours = [
            (distance[row + di, column + dj], row + di, column + dj)
            for di, dj, _ in _MOVES
            if 0 <= row + di < _GRID_SIZE and 0 <= column + dj < _GRID_SIZE
        ]
        value, next_row, next_column = min(neighbours)
        if value >= distance[row, column]:
            break
        row, column = next_row, next_column
    if (row, column) == goal:
        return _toward((x, y), target)
    return _toward((x, y), (float(_GRID[column]), float(_GRID[row])))


def _action(dx: float, dy: float, grip: float, terminate: float = 0.0) -> np.ndarray:
    return np.array([dx, dy, grip, terminate], dtype=np.float32)


class ExpertPolicy:
    """A scripted solver for `task`, memoryless: each action depends on the state only.

    noise: standard deviation of Gaussian noise added to dx, dy and grip (then clipped).
    random_action_probability: chance of a uniformly random action instead (never terminate).
    """

    def __init__(
        self,
        task: str,
        noise: float = 0.0,
        random_action_probability: float = 0.0,
        seed: int | None = None,
    ) -> None:
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}; known tasks: {', '.join(sorted(TASKS))}")
        if noise < 0 or not 0 <= random_action_probability <= 1:
            raise ValueError(
                "noise must be >= 0 and random_action_probability in [0, 1], got "
                f"{noise}, {random_action_probability}"
            )
        self.task = task
        self.noise = noise
        self.random_action_probability = random_action_probability
        self.name = f"expert(noise={noise:g}, random={random_action_probability:g})"
        self._rng = np.random.default_rng(seed)

    def reset(self, seed: int | None = None) -> None:
        if seed is not None:
            self._rng = np.random.default_rng(seed)

    def __call__(self, state: dict[str, Any]) -> np.ndarray:
        action = self.clean_action(state)
        if action[3] > 0.5:
            return action
        # Draw both every step so the noise sequence does not depend on the branch taken.
        gaussian = self._rng.normal(0.0, 1.0, 3)
        swap = self._rng.random() < self.random_action_probability
        random_action = ACTION_SPACE.sample(self._rng)
        if swap:
            return random_action
        action[:3] += self.noise * gaussian
        return np.clip(action, ACTION_SPACE.low, ACTION_SPACE.high).astype(np.float32)

    def clean_action(self, state: dict[str, Any]) -> np.ndarray:
        """The noiseless expert action for `state`."""
        if TASKS[self.task].success(state):
            return _action(0.0, 0.0, float(state["gripper"]["closed"]), 1.0)
        if self.task == "push":
            return _push(state, state["target"])
        if self.task == "sort":
            held = state["held"]
            if held is not None and not _in_own_goal(state, held, _PLACE_TOLERANCE):
                return _pick_and_place(state, held)
            for index in range(len(state["objects"])):
                if not _in_own_goal(state, index, 0.0):
                    return _pick_and_place(state, index)
            return _pick_and_place(state, held if held is not None else 0)
        if self.task == "lift":
            return _pick_and_place(state, state["target"], hold=True)
        return _pick_and_place(state, state["target"])


def _goal_position(state: dict, index: int) -> list[float] | None:
    for goal in state["goals"]:
        if goal["object"] == index:
            return goal["position"]
    return None


def _in_own_goal(state: dict, index: int, tolerance: float) -> bool:
    """Resting in its goal (tolerance 0: the success test; else within `tolerance` of the
    goal's centre, the expert's release criterion)."""
    goal_position = _goal_position(state, index)
    position = state["objects"][index]["position"]
    if goal_position is None:
        return False
    if tolerance == 0.0:
        goal = next(goal for goal in state["goals"] if goal["object"] == index)
        return state["held"] != index and in_goal(position, goal)
    return math.dist(position, goal_position) <= tolerance


def _between_fingers(state: dict) -> int | None:
    """An object (not held) whose centre lies between the open fingers' axes and within their
    reach, which a sideways move would shove; None if there is none."""
    x, y = state["gripper"]["position"]
    reach_x = state["gripper"]["half_gap"]
    # Objects just grazing the finger ends are not shoved far: ignore them, so that the
    # gripper can pass between two objects.
    reach_y = g.FINGER_LENGTH / 2 + g.FINGER_RADIUS + g.OBJECT_RADIUS - 0.015
    for index, obj in enumerate(state["objects"]):
        ox, oy = obj["position"]
        if index != state["held"] and abs(ox - x) < reach_x and abs(oy - y) < reach_y:
            return index
    return None


def _clear_vertically(state: dict, index: int) -> tuple[float, float]:
    """Move straight up or down until object `index` is out of the fingers' reach (objects
    slide between the open fingers when moving vertically): away from its centre, or the
    other way when the table edge leaves no room (decided by the object's row, so the
    choice does not flip from step to step)."""
    x, y = state["gripper"]["position"]
    oy = state["objects"][index]["position"][1]
    clear = g.FINGER_LENGTH / 2 + g.FINGER_RADIUS + g.OBJECT_RADIUS + 0.005
    direction = 1.0 if y >= oy else -1.0
    if not g.GRIPPER_MARGIN <= oy + direction * clear <= 1 - g.GRIPPER_MARGIN:
        direction = -direction
    return _toward((x, y), (x, oy + direction * clear))


def _pick_and_place(state: dict, index: int, hold: bool = False) -> np.ndarray:
    """Grasp object `index` from above or below, then carry it to its goal and release it
    (or, with `hold`, keep holding it still)."""
    gripper = state["gripper"]
    x, y = gripper["position"]
    held = state["held"]
    if held is not None and held != index:
        return _action(0.0, 0.0, 0.0)  # wrong object: let go
    others = [i for i in range(len(state["objects"])) if i not in (index, held)]
    if held == index:
        if hold:
            return _action(0.0, 0.0, 1.0)
        goal = _goal_position(state, index)
        position = state["objects"][index]["position"]
        if math.dist(position, goal) <= _PLACE_TOLERANCE:
            return _action(0.0, 0.0, 0.0)  # release
        target = (x + goal[0] - position[0], y + goal[1] - position[1])
        return _action(*_navigate(state, target, others), 1.0)
    ox, oy = state["objects"][index]["position"]
    if gripper["closed"]:
        return _action(0.0, 0.0, 0.0)  # open before approaching
    if abs(x - ox) <= _GRASP_TOLERANCE_X and abs(y - oy) <= _GRASP_TOLERANCE_Y:
        return _action(0.0, 0.0, 1.0)  # close on it
    if abs(x - ox) <= _GRASP_TOLERANCE_X and abs(y - oy) <= _HOVER + 0.01:
        return _action(*_toward((x, y), (ox, oy)), 0.0)  # descend between the fingers

    # Hover above or below the object (whichever side the gripper is on, if there is room),
    # going around everything, then descend.
    def hover_cost(side: float) -> tuple[bool, bool, bool]:
        row = oy + side * _HOVER
        blocked = any(_touches(state, (ox, row), state["objects"][i]["position"]) for i in others)
        off_table = not g.GRIPPER_MARGIN <= row <= 1 - g.GRIPPER_MARGIN
        return off_table, blocked, (side > 0) != (y > oy)

    side = min((-1.0, 1.0), key=hover_cost)
    hover = (ox, oy + side * _HOVER)
    return _action(*_navigate(state, hover, [*others, index]), 0.0)


def _pusher_extent(direction: tuple[float, float]) -> float:
    """Support distance of the closed fingers (two touching vertical capsules) along a unit
    direction: how far their contact surface reaches from the grasp point."""
    return (
        g.CLOSED_HALF_GAP * abs(direction[0])
        + g.FINGER_LENGTH / 2 * abs(direction[1])
        + g.FINGER_RADIUS
    )


def _push(state: dict, index: int) -> np.ndarray:
    """Push object `index` into its goal with the closed fingers: go behind it (around it if
    needed), then push along the object-to-goal line, correcting sideways drift."""
    gripper = state["gripper"]
    x, y = gripper["position"]
    if state["held"] is not None:
        return _action(0.0, 0.0, 0.0)
    if not gripper["closed"]:
        between = _between_fingers(state)
        if between is not None:
            return _action(*_clear_vertically(state, between), 0.0)
        return _action(0.0, 0.0, 1.0)
    ox, oy = state["objects"][index]["position"]
    gx, gy = _goal_position(state, index)
    distance_to_goal = math.hypot(gx - ox, gy - oy)
    if distance_to_goal < 1e-9:
        return _action(0.0, 0.0, 1.0)
    direction = ((gx - ox) / distance_to_goal, (gy - oy) / distance_to_goal)
    contact = g.OBJECT_RADIUS + _pusher_extent(direction)
    # Gripper relative to the object: `along` < 0 is behind it, `lateral` the sideways offset.
    rx, ry = x - ox, y - oy
    along = rx * direction[0] + ry * direction[1]
    lateral = -rx * direction[1] + ry * direction[0]
    behind = (ox - direction[0] * (contact + 0.01), oy - direction[1] * (contact + 0.01))
    if along < -contact + 0.02 and along > -contact - 0.03 and abs(lateral) < 0.012:
        # In contact or nearly: push to the goal centre, steering out the lateral error.
        travel = min(g.MAX_SPEED, distance_to_goal - along - contact)
        target = (
            x + direction[0] * travel + direction[1] * lateral,
            y + direction[1] * travel - direction[0] * lateral,
        )
        return _action(*_toward((x, y), target), 1.0)
    # Reach the behind point going around the target and the other objects.
    return _action(
        *_navigate(state, _clamp_gripper(behind), list(range(len(state["objects"])))), 1.0
    )


def _clamp_gripper(point: tuple[float, float]) -> tuple[float, float]:
    low, high = g.GRIPPER_MARGIN, 1 - g.GRIPPER_MARGIN
    return min(max(point[0], low), high), min(max(point[1], low), high)


class RandomPolicy:
    """Uniform random motion; the grip is sticky (flips with `grip_change_probability` per
    step) so that random grasps and carries happen; terminates with `terminate_probability`."""

    def __init__(
        self,
        grip_change_probability: float = 0.1,
        terminate_probability: float = 0.0,
        seed: int | None = None,
    ) -> None:
        self.grip_change_probability = grip_change_probability
        self.terminate_probability = terminate_probability
        self.name = "random"
        self._rng = np.random.default_rng(seed)
        self._grip = 0.0

    def reset(self, seed: int | None = None) -> None:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self._grip = 0.0

    def __call__(self, state: dict[str, Any]) -> np.ndarray:
        dx, dy = self._rng.uniform(-1.0, 1.0, 2)
        if self._rng.random() < self.grip_change_probability:
            self._grip = 1.0 - self._grip
        terminate = float(self._rng.random() < self.terminate_probability)
        return _action(float(dx), float(dy), self._grip, terminate)


POLICIES = ("expert", "random")


def make_policy(name: str, task: str, **kwargs: Any) -> Policy:
    """A policy by name: "expert" (kwargs: noise, random_action_probability) or "random"."""
    if name == "expert":
        return ExpertPolicy(task, **kwargs)
    if name == "random":
        return RandomPolicy(**kwargs)
    raise ValueError(f"unknown policy {name!r}; known policies: {', '.join(POLICIES)}")


def episode_seeds(seed: int, count: int) -> list[tuple[int, int]]:
    """(simulator seed, policy seed) of episodes 0..count-1, each independent of the others."""
    out = []
    for episode in range(count):
        simulator_seed, policy_seed = np.random.SeedSequence([seed, episode]).generate_state(2)
        out.append((int(simulator_seed), int(policy_seed)))
    return out


def collect_episodes(
    task: str,
    num_episodes: int,
    policy: Policy | str,
    seed: int,
    max_steps: int | None = None,
    size: int = 64,
    num_objects: int = 2,
) -> list[dict[str, Any]]:
    """Run `policy` for `num_episodes` episodes and record them (RT-1 convention).

    Returns dicts with image: uint8 (T, size, size, 3), the frame observed before each action;
    action: float32 (T, 4); task (str); success (bool: the task was solved when the episode
    ended); seed (int: the simulator's reset seed, which reproduces the start); policy (str).
    T <= max_steps (default: the task's); the last action has terminate = 1: the policy's own,
    or forced at the step limit, keeping its grip and dropping its motion.
    Deterministic given `seed`. `policy` may be a name for `make_policy`.
    """
    if isinstance(policy, str):
        policy = make_policy(policy, task)
    if num_episodes < 0:
        raise ValueError(f"num_episodes: expected >= 0, got {num_episodes}")
    simulator = TabletopSimulator(task, num_objects=num_objects, size=size, max_steps=max_steps)
    limit = simulator.max_steps
    episodes = []
    for simulator_seed, policy_seed in episode_seeds(seed, num_episodes):
        frame, _ = simulator.reset(seed=simulator_seed)
        policy.reset(seed=policy_seed)
        frames, actions = [], []
        for step in range(limit):
            state = simulator.state()
            action = np.asarray(policy(state), dtype=np.float32).copy()
            if step == limit - 1 and action[3] <= 0.5:
                action = _action(0.0, 0.0, float(action[2]), 1.0)
            frames.append(frame)
            actions.append(action)
            frame, _, terminated, _, _ = simulator.step(action)
            if terminated:
                break
        episodes.append(
            {
                "image": np.stack(frames),
                "action": np.stack(actions),
                "task": task,
                "success": simulator.success(),
                "seed": simulator_seed,
                "policy": policy.name,
            }
        )
    return episodes
