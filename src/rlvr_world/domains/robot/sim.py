"""A 2-D tabletop manipulation world rendered as RGB frames: the robot domain's simulator.

A top-down parallel-jaw gripper pushes and grasps 1-3 coloured objects (object 0, the red
block, is always the target) on a wooden table with tinted goal regions. The contract is
Gymnasium's:

- `reset(seed) -> (frame, info)`; `step(action) -> (frame, reward, terminated, truncated, info)`;
  frames are uint8 (size, size, 3); `observation_shape` and `action_space` declare them.
- action: float32 (4,) = [dx, dy, grip, terminate]. dx, dy in [-1, 1] move the grasp point by
  `MAX_SPEED` table units per unit (x right, y down); grip in [0, 1], > 0.5 = closed;
  terminate in {0, 1}, > 0.5 ends the episode without moving (RT-1: the last action).
- `state()` is a plain dict (see `TabletopSimulator.state`); `success()` and `task_success`
  judge the task from the state alone; `render_state(state)` draws any state.
- Deterministic under a seed: `reset(seed=s)` and the same actions give the same frames and
  states. No global random state is used.

Physics (per step): the grip command first (closing over an object between the fingers grasps
it and centres it between them; opening releases it), then the motion in `SUBSTEPS` sub-steps.
The fingers and a held object are kinematic; free objects they touch are pushed out of them,
objects push each other and stay on the table. A sub-step whose contacts cannot be resolved
(an object pinned against an edge) is cancelled, so objects never overlap.

Tasks (`TASKS`): push (the target into the goal), sort (every object into the goal of its
colour), lift (grasp the target and hold it for `LIFT_HOLD_STEPS` steps), place (grasp the
target, carry it into the goal and release it there). Reward: 1.0 on steps after which the
task is solved, else 0.0.

>>> sim = TabletopSimulator("push", size=32)
>>> frame, info = sim.reset(seed=0)
>>> frame.shape, frame.dtype.name, info["success"]
((32, 32, 3), 'uint8', False)
>>> frame, reward, terminated, truncated, info = sim.step([1.0, 0.0, 0.0, 0.0])
>>> reward, terminated, truncated
(0.0, False, False)
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rlvr_world.domains.robot import geometry as g
from rlvr_world.domains.robot.render import Renderer

__all__ = [
    "ACTION_NAMES",
    "ACTION_SPACE",
    "LIFT_HOLD_STEPS",
    "TASKS",
    "BoxSpace",
    "TabletopSimulator",
    "TaskSpec",
    "check_simulator",
    "in_goal",
    "make_simulator",
    "task_success",
]

ACTION_NAMES = ("dx", "dy", "grip", "terminate")
LIFT_HOLD_STEPS = 5

# Collisions closer than this count as touching, not overlapping.
_TOLERANCE = 1e-6
_RESOLVE_ITERATIONS = 12


@dataclass(frozen=True)
class BoxSpace:
    """A box of actions: `low` <= action <= `high` elementwise, one name per dimension.

    low, high: float32 (D,). `sample(rng)` draws uniformly, except the terminate dimension,
    which is 1 with probability `terminate_probability`.
    """

    low: np.ndarray
    high: np.ndarray
    names: tuple[str, ...]

    @property
    def shape(self) -> tuple[int, ...]:
        return self.low.shape

    @property
    def dtype(self) -> np.dtype:
        return self.low.dtype

    def contains(self, action: Any) -> bool:
        action = np.asarray(action)
        return (
            action.shape == self.shape
            and bool(np.all(np.isfinite(action)))
            and bool(np.all((action >= self.low) & (action <= self.high)))
        )

    def sample(self, rng: np.random.Generator, terminate_probability: float = 0.0) -> np.ndarray:
        action = rng.uniform(self.low, self.high).astype(self.dtype)
        if "terminate" in self.names:
            action[self.names.index("terminate")] = float(rng.random() < terminate_probability)
        return action


ACTION_SPACE = BoxSpace(
    low=np.array([-1.0, -1.0, 0.0, 0.0], dtype=np.float32),
    high=np.array([1.0, 1.0, 1.0, 1.0], dtype=np.float32),
    names=ACTION_NAMES,
)


# ------------------------------------------------------------------------------------- tasks


def in_goal(position: Sequence[float], goal: dict, object_radius: float = g.OBJECT_RADIUS) -> bool:
    """Whether an object centred at `position` lies in `goal` (its centre at least half an
    object radius inside the goal's rim)."""
    gx, gy = goal["position"]
    distance = math.hypot(position[0] - gx, position[1] - gy)
    return distance <= goal["radius"] - 0.5 * object_radius


def _goal_of(state: dict, index: int) -> dict | None:
    for goal in state["goals"]:
        if goal["object"] == index:
            return goal
    return None


def _resting_in_goal(state: dict, index: int) -> bool:
    goal = _goal_of(state, index)
    obj = state["objects"][index]
    return goal is not None and state["held"] != index and in_goal(obj["position"], goal)


def _push_success(state: dict) -> bool:
    return _resting_in_goal(state, state["target"])


def _sort_success(state: dict) -> bool:
    return all(_resting_in_goal(state, index) for index in range(len(state["objects"])))


def _lift_success(state: dict) -> bool:
    return state["held"] == state["target"] and state["held_steps"] >= LIFT_HOLD_STEPS


def _place_success(state: dict) -> bool:
    target = state["target"]
    return state["lifted"][target] and _resting_in_goal(state, target)


@dataclass(frozen=True)
class TaskSpec:
    """A registered tabletop task: its goals layout, success test and default episode length.

    goals: "target" (one goal for object 0), "each" (one goal per object) or "none".
    """

    name: str
    description: str
    goals: str
    min_objects: int
    max_steps: int
    success: Callable[[dict], bool]


TASKS: dict[str, TaskSpec] = {
    task.name: task
    for task in (
        TaskSpec("push", "push the red block into the red goal", "target", 1, 60, _push_success),
        TaskSpec(
            "sort", "put every object into the goal of its colour", "each", 2, 120, _sort_success
        ),
        TaskSpec(
            "lift",
            f"grasp the red block and hold it up for {LIFT_HOLD_STEPS} steps",
            "none",
            1,
            40,
            _lift_success,
        ),
        TaskSpec(
            "place",
            "pick up the red block and put it down in the red goal",
            "target",
            1,
            60,
            _place_success,
        ),
    )
}


def _task(name: str) -> TaskSpec:
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(sorted(TASKS))}")
    return TASKS[name]


def task_success(task: str, state: dict) -> bool:
    """Whether `state` (a `TabletopSimulator.state()` dict) solves `task`. Pure."""
    return bool(_task(task).success(state))


# ----------------------------------------------------------------------------------- physics


def _closest_on_segment(px, py, ax, ay, bx, by) -> tuple[float, float]:
    """The point of segment a-b closest to p."""
    ex, ey = bx - ax, by - ay
    length2 = ex * ex + ey * ey
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((px - ax) * ex + (py - ay) * ey) / length2))
    return ax + t * ex, ay + t * ey


def _finger_colliders(x: float, y: float, half_gap: float) -> list[tuple]:
    """The fingers as capsules (ax, ay, bx, by, radius)."""
    half = g.FINGER_LENGTH / 2
    return [
        (x + side * half_gap, y - half, x + side * half_gap, y + half, g.FINGER_RADIUS)
        for side in (-1.0, 1.0)
    ]


def _separation(px, py, radius, collider) -> tuple[float, float, float]:
    """(penetration depth, unit normal x, y) pushing a disc out of a capsule collider."""
    ax, ay, bx, by, collider_radius = collider
    cx, cy = _closest_on_segment(px, py, ax, ay, bx, by)
    dx, dy = px - cx, py - cy
    distance = math.hypot(dx, dy)
    depth = radius + collider_radius - distance
    if distance < 1e-12:  # coincident centres: any fixed direction keeps it deterministic
        return depth, 0.0, -1.0
    return depth, dx / distance, dy / distance


def _resolve(
    positions: list[list[float]], radius: float, free: list[int], colliders: list[tuple]
) -> bool:
    """Push free discs out of kinematic colliders and out of each other, keeping them on the
    table; edits `positions` in place. Returns False if overlaps remain."""
    low, high = radius, 1.0 - radius
    for _ in range(_RESOLVE_ITERATIONS):
        worst = 0.0
        for i in free:
            position = positions[i]
            for collider in colliders:
                depth, nx, ny = _separation(position[0], position[1], radius, collider)
                if depth > _TOLERANCE:
                    position[0] += nx * depth
                    position[1] += ny * depth
                    worst = max(worst, depth)
        for a_index, i in enumerate(free):
            for j in free[a_index + 1 :]:
                pi, pj = positions[i], positions[j]
                collider = (pj[0], pj[1], pj[0], pj[1], radius)
                depth, nx, ny = _separation(pi[0], pi[1], radius, collider)
                if depth > _TOLERANCE:
                    # Equal masses: each moves half the overlap.
                    pi[0] += nx * depth / 2
                    pi[1] += ny * depth / 2
                    pj[0] -= nx * depth / 2
                    pj[1] -= ny * depth / 2
                    worst = max(worst, depth)
        for i in free:
            positions[i][0] = min(max(positions[i][0], low), high)
            positions[i][1] = min(max(positions[i][1], low), high)
        if worst <= _TOLERANCE:
            return True
    return _max_overlap(positions, radius, free, colliders) <= 1e-4


def _max_overlap(positions, radius, free, colliders) -> float:
    worst = 0.0
    for a_index, i in enumerate(free):
        for collider in colliders:
            worst = max(worst, _separation(positions[i][0], positions[i][1], radius, collider)[0])
        for j in free[a_index + 1 :]:
            pj = positions[j]
            collider = (pj[0], pj[1], pj[0], pj[1], radius)
            worst = max(worst, _separation(positions[i][0], positions[i][1], radius, collider)[0])
    return worst


# --------------------------------------------------------------------------------- simulator


class TabletopSimulator:
    """The tabletop world (see the module docstring for the contract and the physics).

    task: a name in `TASKS`. num_objects: 1-3 (sort needs 2). size: frame side in pixels.
    max_steps: steps before `truncated` (default: the task's). seed: seeds the generator that
    `reset()` without a seed continues (None = fresh entropy, as Gymnasium).
    """

    action_space = ACTION_SPACE

    def __init__(
        self,
        task: str = "push",
        num_objects: int = 2,
        size: int = 64,
        max_steps: int | None = None,
        seed: int | None = None,
    ) -> None:
        self.task = _task(task)
        if not isinstance(num_objects, int) or not (
            max(1, self.task.min_objects) <= num_objects <= g.MAX_OBJECTS
        ):
            raise ValueError(
                f"num_objects: task {task!r} takes {self.task.min_objects}-{g.MAX_OBJECTS} "
                f"objects, got {num_objects!r}"
            )
        if max_steps is not None and max_steps < 1:
            raise ValueError(f"max_steps: expected >= 1, got {max_steps}")
        self.num_objects = num_objects
        self.size = size
        self.max_steps = max_steps or self.task.max_steps
        self.observation_shape = (size, size, 3)
        self.observation_dtype = np.dtype(np.uint8)
        self._renderer = Renderer(size)
        self._rng = np.random.default_rng(seed)
        self._state: dict[str, Any] | None = None
        self._done = False

    # ------------------------------------------------------------------------------ public

    def reset(self, seed: int | None = None) -> tuple[np.ndarray, dict]:
        """Start an episode with a random layout; returns (frame uint8 (H, W, 3), info)."""
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self._state = self._sample_layout(self._rng)
        self._done = False
        return self.render(), self._info()

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        """Apply one action (float (4,), see the module docstring) and return
        (frame uint8 (H, W, 3), reward, terminated, truncated, info)."""
        if self._state is None:
            raise RuntimeError("call reset() before step()")
        if self._done:
            raise RuntimeError("the episode has ended; call reset()")
        action = np.asarray(action, dtype=np.float64)
        if action.shape != self.action_space.shape or not np.all(np.isfinite(action)):
            raise ValueError(
                f"action: expected {self.action_space.shape[0]} finite numbers "
                f"{list(ACTION_NAMES)}, got {action.tolist()!r}"
            )
        dx, dy, grip, terminate = np.clip(action, self.action_space.low, self.action_space.high)
        state = self._state
        terminated = bool(terminate > 0.5)
        if not terminated:
            self._apply_grip(grip > 0.5)
            self._apply_motion(float(dx) * g.MAX_SPEED, float(dy) * g.MAX_SPEED)
            held = state["held"]
            state["held_steps"] = state["held_steps"] + 1 if held is not None else 0
            if held is not None:
                state["lifted"][held] = True
        state["step"] += 1
        truncated = not terminated and state["step"] >= self.max_steps
        self._done = terminated or truncated
        success = self.success()
        return self.render(), float(success), terminated, truncated, self._info()

    def state(self) -> dict[str, Any]:
        """A deep copy of the state, plain Python values only (JSON-serialisable):

        task (str), step (int), target (int: object 0), texture_seed (int),
        gripper: {position: [x, y], closed: bool, half_gap: float (grasp point to finger axis)},
        objects: [{name, shape, color: [r, g, b], position: [x, y], radius}],
        held (int index or None), held_steps (int: consecutive steps holding it),
        lifted ([bool] per object: ever grasped this episode),
        goals: [{position: [x, y], radius, object (int: whose goal)}].
        """
        if self._state is None:
            raise RuntimeError("call reset() before state()")
        return copy.deepcopy(self._state)

    def set_state(self, state: dict[str, Any]) -> np.ndarray:
        """Replace the state (e.g. a hand-made test situation); returns its frame.

        Keys as in `state()`; task, step, target, held_steps, lifted and the gripper's
        half_gap may be left out (defaults: this task, 0, 0, 0, none lifted, the gap that
        `closed` and `held` imply). The episode continues from it (not done)."""
        required = {"gripper", "objects", "held", "goals", "texture_seed"}
        missing = required - set(state)
        if missing:
            raise ValueError(f"state: missing keys {sorted(missing)}")
        if len(state["objects"]) != self.num_objects:
            raise ValueError(
                f"state.objects: expected {self.num_objects} objects, got {len(state['objects'])}"
            )
        new = copy.deepcopy(state)
        gripper = new["gripper"]
        gripper.setdefault("half_gap", g.half_gap_of(gripper["closed"], new["held"] is not None))
        new.setdefault("task", self.task.name)
        new.setdefault("step", 0)
        new.setdefault("target", 0)
        new.setdefault("held_steps", 0)
        new.setdefault("lifted", [False] * self.num_objects)
        self._state = new
        self._done = False
        return self.render()

    def success(self) -> bool:
        """Whether the current state solves the task."""
        if self._state is None:
            raise RuntimeError("call reset() before success()")
        return bool(self.task.success(self._state))

    def render(self) -> np.ndarray:
        """The current frame: uint8 (size, size, 3)."""
        if self._state is None:
            raise RuntimeError("call reset() before render()")
        return self._renderer.render(self._state)

    # ------------------------------------------------------------------------------ layout

    def _sample_layout(self, rng: np.random.Generator) -> dict[str, Any]:
        """A random start: gripper open, objects apart and outside every goal. Rejection
        sampling with a fixed draw order, so the layout depends on the generator only."""
        radius = g.OBJECT_RADIUS
        layout = None
        while layout is None:
            layout = self._try_layout(rng)
        goals, gripper, positions = layout
        objects = [
            {
                "name": g.NAMES[i],
                "shape": g.SHAPES[i],
                "color": list(g.COLORS[i]),
                "position": positions[i],
                "radius": radius,
            }
            for i in range(self.num_objects)
        ]
        return {
            "task": self.task.name,
            "step": 0,
            "target": 0,
            "texture_seed": int(rng.integers(2**31)),
            "gripper": {"position": gripper, "closed": False, "half_gap": g.OPEN_HALF_GAP},
            "objects": objects,
            "held": None,
            "held_steps": 0,
            "lifted": [False] * self.num_objects,
            "goals": goals,
        }

    def _try_layout(self, rng: np.random.Generator):
        """(goals, gripper position, object positions), or None if a draw found no room."""
        radius = g.OBJECT_RADIUS
        goals: list[dict] = []
        owners = {"target": [0], "each": list(range(self.num_objects)), "none": []}
        for owner in owners[self.task.goals]:
            keep_out = [(goal["position"], 2 * g.GOAL_RADIUS + 0.06) for goal in goals]
            position = self._draw_point(rng, 0.2, 0.8, keep_out)
            if position is None:
                return None
            goals.append({"position": position, "radius": g.GOAL_RADIUS, "object": owner})
        gripper = self._draw_point(rng, 0.15, 0.85, [])
        keep_out = [(goal["position"], g.GOAL_RADIUS + radius + 0.03) for goal in goals]
        # Clear of the open fingers and of the space between them.
        keep_out.append((gripper, g.OPEN_HALF_GAP + g.FINGER_RADIUS + radius + 0.02))
        positions = []
        for _ in range(self.num_objects):
            position = self._draw_point(rng, 0.17, 0.83, keep_out)
            if position is None:
                return None
            positions.append(position)
            keep_out.append((position, 2 * radius + 0.04))
        return goals, gripper, positions

    @staticmethod
    def _draw_point(rng, low, high, keep_out, attempts: int = 200) -> list[float] | None:
        for _ in range(attempts):
            x, y = (float(v) for v in rng.uniform(low, high, 2))
            if all(math.hypot(x - p[0], y - p[1]) >= distance for p, distance in keep_out):
                return [x, y]
        return None

    # ----------------------------------------------------------------------------- physics

    def _try(self, x: float, y: float, half_gap: float, held: int | None, positions) -> bool:
        """Commit gripper pose + held object positions if free objects can make room."""
        state = self._state
        objects = state["objects"]
        trial = [list(p) for p in positions]
        free = [i for i in range(len(objects)) if i != held]
        colliders = _finger_colliders(x, y, half_gap)
        if held is not None:
            hx, hy = trial[held]
            colliders.append((hx, hy, hx, hy, objects[held]["radius"]))
        if not _resolve(trial, g.OBJECT_RADIUS, free, colliders):
            return False
        for obj, position in zip(objects, trial):
            obj["position"] = position
        state["gripper"]["position"] = [x, y]
        state["gripper"]["half_gap"] = half_gap
        state["held"] = held
        return True

    def _apply_grip(self, close: bool) -> None:
        state = self._state
        gripper = state["gripper"]
        if close == gripper["closed"]:
            return
        x, y = gripper["position"]
        positions = [list(obj["position"]) for obj in state["objects"]]
        if close:
            # Grasp the object nearest the grasp point among those between the fingers.
            candidates = [
                (math.hypot(p[0] - x, p[1] - y), i)
                for i, p in enumerate(positions)
                if abs(p[0] - x) <= g.GRASP_WINDOW_X and abs(p[1] - y) <= g.GRASP_WINDOW_Y
            ]
            if candidates:
                held = min(candidates)[1]
                centred = [list(p) for p in positions]
                centred[held][0] = x  # the closing fingers centre it between them
                if self._try(x, y, g.HOLD_HALF_GAP, held, centred):
                    gripper["closed"] = True
                    state["held_steps"] = 0
                    return
            if self._try(x, y, g.CLOSED_HALF_GAP, None, positions):
                gripper["closed"] = True
        elif self._try(x, y, g.OPEN_HALF_GAP, None, positions):
            gripper["closed"] = False

    def _apply_motion(self, dx: float, dy: float) -> None:
        state = self._state
        held = state["held"]
        for _ in range(g.SUBSTEPS):
            x, y = state["gripper"]["position"]
            low_x = low_y = g.GRIPPER_MARGIN
            high_x = high_y = 1.0 - g.GRIPPER_MARGIN
            offset_y = 0.0
            if held is not None:
                # A held object stays on the table: bound the grasp point by its extent.
                radius = state["objects"][held]["radius"]
                offset_y = state["objects"][held]["position"][1] - y
                low_x, high_x = radius, 1.0 - radius
                low_y, high_y = radius - offset_y, 1.0 - radius - offset_y
            new_x = min(max(x + dx / g.SUBSTEPS, low_x), high_x)
            new_y = min(max(y + dy / g.SUBSTEPS, low_y), high_y)
            if new_x == x and new_y == y:
                return
            # Blocked (an object pinned between the gripper and an edge or another blocked
            # object): slide along one axis if that one is free, else stop.
            for target_x, target_y in ((new_x, new_y), (new_x, y), (x, new_y)):
                if (target_x, target_y) == (x, y):
                    continue
                positions = [list(obj["position"]) for obj in state["objects"]]
                if held is not None:
                    positions[held] = [target_x, target_y + offset_y]
                half_gap = state["gripper"]["half_gap"]
                if self._try(target_x, target_y, half_gap, held, positions):
                    break
            else:
                return

    def _info(self) -> dict[str, Any]:
        return {"success": self.success(), "step": self._state["step"]}


def make_simulator(task: str, **kwargs: Any) -> TabletopSimulator:
    """A simulator for a registered task; an unknown name raises ValueError listing known ones."""
    return TabletopSimulator(task, **kwargs)


# ----------------------------------------------------------------------------------- checker


def _fail(message: str) -> None:
    raise AssertionError(f"simulator contract: {message}")


def check_simulator(simulator: Any, seed: int = 0, num_steps: int = 12) -> None:
    """Raise AssertionError where `simulator` breaks the Gymnasium-like contract.

    Checks: the declared `action_space` (low/high float (D,), one name each, low <= high) and
    `observation_shape` (H, W, 3); `reset(seed)` returns (uint8 frame of that shape, dict);
    `step` returns (frame, float reward, bool terminated, bool truncated, dict) for sampled
    actions; `state()` is a JSON-serialisable dict and `success()` a bool; the same seed and
    actions reproduce frames and states exactly while another seed gives another episode; a
    terminate action ends the episode and a further `step` raises.
    """
    space = getattr(simulator, "action_space", None)
    if space is None or not hasattr(space, "low") or not hasattr(space, "high"):
        _fail("no action_space with low/high")
    low, high = np.asarray(space.low), np.asarray(space.high)
    if low.ndim != 1 or low.shape != high.shape or not np.all(low <= high):
        _fail(f"action_space low/high must be (D,) with low <= high, got {low}, {high}")
    if len(space.names) != low.shape[0]:
        _fail(f"action_space.names has {len(space.names)} names for {low.shape[0]} dimensions")
    shape = tuple(simulator.observation_shape)
    if len(shape) != 3 or shape[2] != 3:
        _fail(f"observation_shape must be (H, W, 3), got {shape}")

    def check_frame(frame: Any, where: str) -> None:
        if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.shape != shape:
            got = (
                type(frame).__name__,
                getattr(frame, "dtype", None),
                getattr(frame, "shape", None),
            )
            _fail(f"{where}: expected a uint8 array of shape {shape}, got {got}")

    def episode(episode_seed: int) -> tuple[list[np.ndarray], list[str]]:
        rng = np.random.default_rng(1234)
        result = simulator.reset(seed=episode_seed)
        if not isinstance(result, tuple) or len(result) != 2 or not isinstance(result[1], dict):
            _fail("reset(seed) must return (frame, info dict)")
        check_frame(result[0], "reset")
        frames, states = [result[0]], [json.dumps(simulator.state(), sort_keys=True)]
        for step in range(num_steps):
            action = space.sample(rng)
            if not space.contains(action):
                _fail(f"action_space.sample gave {action}, outside the space")
            result = simulator.step(action)
            if not isinstance(result, tuple) or len(result) != 5:
                _fail("step must return (frame, reward, terminated, truncated, info)")
            frame, reward, terminated, truncated, info = result
            check_frame(frame, f"step {step}")
            if not isinstance(reward, float):
                _fail(f"step {step}: reward must be a float, got {type(reward).__name__}")
            if not isinstance(terminated, bool) or not isinstance(truncated, bool):
                _fail(f"step {step}: terminated and truncated must be bools")
            if not isinstance(info, dict):
                _fail(f"step {step}: info must be a dict")
            if not isinstance(simulator.success(), bool):
                _fail("success() must return a bool")
            state = simulator.state()
            if not isinstance(state, dict):
                _fail("state() must return a dict")
            try:
                states.append(json.dumps(state, sort_keys=True))
            except TypeError as error:
                _fail(f"state() must hold plain values only: {error}")
            frames.append(frame)
            if terminated or truncated:
                break
        return frames, states

    frames_a, states_a = episode(seed)
    frames_b, states_b = episode(seed)
    if states_a != states_b or any(not np.array_equal(a, b) for a, b in zip(frames_a, frames_b)):
        _fail(f"reset(seed={seed}) and the same actions did not reproduce the episode")
    frames_c, states_c = episode(seed + 1)
    if states_c[0] == states_a[0] and np.array_equal(frames_c[0], frames_a[0]):
        _fail(f"seeds {seed} and {seed + 1} gave the same first state and frame")

    simulator.reset(seed=seed)
    stop = np.zeros(low.shape, dtype=np.float32)
    if "terminate" in space.names:
        stop[space.names.index("terminate")] = 1.0
        _, _, terminated, _, _ = simulator.step(stop)
        if not terminated:
            _fail("a terminate action must end the episode (terminated=True)")
        try:
            simulator.step(stop)
        except RuntimeError:
            pass
        else:
            _fail("step() after the episode ended must raise RuntimeError")
