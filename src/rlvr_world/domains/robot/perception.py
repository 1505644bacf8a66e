"""Reading tabletop frames: where the gripper, the objects and the goals are, from pixels only.

Everything works on an RGB frame (uint8 (H, W, 3), any size >= 16) in table units, so that it
serves real frames and frames a world model imagined alike. Three cues, all invariant to the
table's shading (shadows and light multiply a pixel's RGB, which leaves its chromaticity
r/(r+g+b), g/(r+g+b), b/(r+g+b) unchanged):

- objects: pixels whose chromaticity lies within `OBJECT_CHROMA_DISTANCE` of the object's
  colour (`geometry.COLORS`); the position is their centroid. The wood, the light goal tints
  and the goal rims are far enough from every object colour.
- gripper: grey pixels (chroma (max - min) / max below `GREY_CHROMA`: the fingers and the
  wrist bar; wood, tints and objects are all more saturated). The densest gripper-sized box of
  them is the gripper (this ignores grey edge pixels around objects); the grasp point is their
  centroid shifted down by `GRIPPER_CENTROID_OFFSET` (the wrist bar sits above the fingers).
  The finger pixels' spread tells open fingers from fingers around an object or shut.
- goals: circles of the goal radius through the pixels whose chromaticity differs from the
  table's (the frame's median), found by a circle transform (`find_goals`); owners by the
  colour of the rim. Read from an episode's first frame, where no object lies in a goal.

`PixelExpert` is a policy that acts on frames: it reads the frame, rebuilds the state the
scripted `ExpertPolicy` needs (grip and grasp from its own commands, goals from the first
frame) and returns the expert's action with the same noise options. `detect_success` judges a
task on a sequence of frames (rules in its docstring).

Measured on 689 real 64 x 64 frames of noisy place episodes: grasp point error median 0.0033
table units (0.2 pixel), red block median 0.0045; goal error at most 0.004 on 100 first
frames of push and of place (tests/domains/robot/test_perception.py keeps these in check).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rlvr_world.domains.robot import geometry as g
from rlvr_world.domains.robot.policies import ExpertPolicy
from rlvr_world.domains.robot.sim import LIFT_HOLD_STEPS, TASKS, in_goal

__all__ = [
    "Percept",
    "PixelExpert",
    "detect_success",
    "find_goals",
    "frame_flags",
    "layout_error",
    "perceive",
]

OBJECT_CHROMA_DISTANCE = 0.12
GREY_CHROMA = 0.35
# Grasp point = centroid of the gripper's grey pixels + this (table units, y down).
GRIPPER_CENTROID_OFFSET = 0.027
GRIPPER_BOX = (0.12, 0.26)  # (height, width) of the box the gripper's grey pixels fill
# Goal votes: a pixel's chromaticity change from the table's counts up to this much.
_GOAL_SCORE_CAP = 0.2
# Finger pixels: grey pixels from this far above the grasp point down (the wrist bar is higher).
_FINGER_ROWS = 0.015
# Finger opening above this = open (midway between around-an-object and open).
OPEN_THRESHOLD = (g.HOLD_HALF_GAP + g.OPEN_HALF_GAP) / 2
# An object is seen when at least this fraction of its area shows.
_MIN_VISIBLE = 0.15
# "Held" on pixels: the target's centre within this box around the grasp point.
HELD_WINDOW = (0.035, 0.045)
# `layout_error`: a perceived item this far (table units) from its true place counts fully.
LAYOUT_SCALE = 0.25

_COLORS = np.asarray(g.COLORS, dtype=np.float32)
_CHROMA = _COLORS / _COLORS.sum(1, keepdims=True)


def _float(frame: np.ndarray) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.shape[0] != frame.shape[1]:
        raise ValueError(f"frame: expected a square (H, W, 3) image, got {frame.shape}")
    if frame.dtype == np.uint8:
        return frame.astype(np.float32) / 255.0
    return np.clip(frame.astype(np.float32), 0.0, 1.0)


def _chromaticity(image: np.ndarray) -> np.ndarray:
    return image / (image.sum(-1, keepdims=True) + 1e-6)


def _densest_box(score: np.ndarray, height: int, width: int) -> tuple[int, int, float]:
    """(row, column, total) of the height x width box with the largest sum of `score`."""
    rows, columns = score.shape
    height, width = min(height, rows), min(width, columns)
    table = np.zeros((rows + 1, columns + 1))
    table[1:, 1:] = score.cumsum(0).cumsum(1)
    sums = (
        table[height:, width:]
        - table[:-height, width:]
        - table[height:, :-width]
        + table[:-height, :-width]
    )
    row, column = np.unravel_index(int(sums.argmax()), sums.shape)
    return int(row), int(column), float(sums[row, column])


@dataclass(frozen=True)
class Percept:
    """What one frame shows, in table units (x right, y down); None where nothing is seen.

    gripper: the grasp point. opening: the mean horizontal distance of the finger pixels
    from it (about `geometry.OPEN_HALF_GAP` open, `HOLD_HALF_GAP` around an object,
    `CLOSED_HALF_GAP` shut). objects: per object colour (object i has `geometry.COLORS[i]`)
    its centre. areas: each object's visible area over a free object's drawn area (about 1
    when fully seen)."""

    gripper: tuple[float, float] | None
    opening: float | None
    objects: tuple[tuple[float, float] | None, ...]
    areas: tuple[float, ...]

    @property
    def open(self) -> bool:
        """Whether the fingers are spread wider than around a held object."""
        return self.opening is not None and self.opening > OPEN_THRESHOLD


def perceive(frame: np.ndarray, num_objects: int = g.MAX_OBJECTS) -> Percept:
    """Read the grasp point and the first `num_objects` objects' centres from a frame."""
    image = _float(frame)
    size = image.shape[0]
    centres = (np.arange(size, dtype=np.float32) + 0.5) / size
    chroma = _chromaticity(image)
    objects, areas = [], []
    drawn_area = (1.6 * g.OBJECT_RADIUS * size) ** 2  # the block; the disc is a little smaller
    for index in range(num_objects):
        mask = np.linalg.norm(chroma - _CHROMA[index], axis=-1) < OBJECT_CHROMA_DISTANCE
        count = int(mask.sum())
        areas.append(count / drawn_area)
        if count < _MIN_VISIBLE * drawn_area:
            objects.append(None)
            continue
        rows, columns = np.nonzero(mask)
        objects.append((float(centres[columns].mean()), float(centres[rows].mean())))
    high, low = image.max(-1), image.min(-1)
    grey = ((high - low) / (high + 1e-6) < GREY_CHROMA).astype(np.float32)
    box_h = max(1, round(GRIPPER_BOX[0] * size))
    box_w = max(1, round(GRIPPER_BOX[1] * size))
    row, column, total = _densest_box(grey, box_h, box_w)
    gripper = opening = None
    if total >= 0.1 * box_h * box_w:
        rows, columns = np.nonzero(grey[row : row + box_h, column : column + box_w])
        xs, ys = centres[columns + column], centres[rows + row]
        gripper = (float(xs.mean()), float(ys.mean()) + GRIPPER_CENTROID_OFFSET)
        fingers = ys > gripper[1] - _FINGER_ROWS  # below the wrist bar
        if fingers.any():
            opening = float(np.abs(xs[fingers] - gripper[0]).mean())
    return Percept(gripper=gripper, opening=opening, objects=tuple(objects), areas=tuple(areas))


def layout_error(pred: Percept, true: Percept) -> float:
    """How far a frame's layout is from the true frame's, read on pixels: in [0, 1].

    The mean, over the grasp point and every object seen in either frame, of the distance
    between its two perceived positions divided by `LAYOUT_SCALE` and clipped at 1; an item
    seen in one frame only (lost, or a ghost) counts 1. 0 when neither frame shows anything.
    The pixel detector judges success on these positions, so a world model rewarded for a low
    layout error is rewarded for what policy evaluation reads.
    """
    pairs = [(pred.gripper, true.gripper), *zip(pred.objects, true.objects)]
    errors = [
        1.0
        if a is None or b is None
        else min(1.0, math.hypot(a[0] - b[0], a[1] - b[1]) / LAYOUT_SCALE)
        for a, b in pairs
        if a is not None or b is not None
    ]
    return sum(errors) / len(errors) if errors else 0.0


def _ring_votes(score: np.ndarray, radius: float) -> np.ndarray:
    """For every pixel, the `score` lying on the circle of `radius` pixels around it (a Hough
    transform for circles of known radius, by FFT correlation with an anti-aliased ring)."""
    size = score.shape[0]
    offsets = np.arange(-size + 1, size)
    distance = np.sqrt(offsets[:, None] ** 2 + offsets[None, :] ** 2)
    ring = np.clip(1.0 - np.abs(distance - radius), 0.0, 1.0)
    shape = (3 * size, 3 * size)
    votes = np.fft.irfft2(np.fft.rfft2(score, shape) * np.fft.rfft2(ring, shape), shape)
    return votes[size - 1 : 2 * size - 1, size - 1 : 2 * size - 1]


def find_goals(frame: np.ndarray, owners: Sequence[int]) -> list[dict]:
    """The goal regions of objects `owners` as `TabletopSimulator.state()["goals"]` entries
    ({position, radius, object}), read from a frame where no object lies in a goal (an
    episode's first frame).

    The wood's chromaticity hardly varies within a frame, and a goal's rim (a ring of the
    owner's colour, darkened) moves it most: goals are the centres of the circles of goal
    radius that collect the most chromaticity change (`_ring_votes`), with the objects, the
    gripper and their rims left out, so that a goal half hidden by the gripper is still
    found. Each goal found (at most one per object colour) goes to the owner whose colour its rim leans towards
    most."""
    image = _float(frame)
    size = image.shape[0]
    centres = (np.arange(size, dtype=np.float32) + 0.5) / size
    xs, ys = np.meshgrid(centres, centres)
    chroma = _chromaticity(image)
    table = np.median(chroma.reshape(-1, 3), axis=0)
    deviation = chroma - table
    score = np.minimum(np.linalg.norm(deviation, axis=-1), _GOAL_SCORE_CAP)
    high, low = image.max(-1), image.min(-1)
    score[(high - low) / (high + 1e-6) < GREY_CHROMA] = 0.0
    for centre in perceive(frame).objects:
        if centre is not None:
            score[(xs - centre[0]) ** 2 + (ys - centre[1]) ** 2 <= (1.5 * g.OBJECT_RADIUS) ** 2] = 0
    votes = _ring_votes(score, g.GOAL_RADIUS * size)
    found = []
    best = float(votes.max())
    # every goal on the table is a candidate (up to one per object colour), then owners choose
    for _ in range(max(len(owners), g.MAX_OBJECTS)):
        row, column = np.unravel_index(int(votes.argmax()), votes.shape)
        if len(found) >= len(owners) and votes[row, column] < 0.5 * best:
            break
        # sub-pixel: the vote-weighted centre of the 3 x 3 around the peak
        rows = slice(max(0, row - 1), row + 2)
        columns = slice(max(0, column - 1), column + 2)
        weights = np.maximum(votes[rows, columns] - votes[rows, columns].min(), 1e-9)
        x = float((xs[rows, columns] * weights).sum() / weights.sum())
        y = float((ys[rows, columns] * weights).sum() / weights.sum())
        ring = np.abs(np.sqrt((xs - x) ** 2 + (ys - y) ** 2) - g.GOAL_RADIUS) <= 1.0 / size
        rim = ring & (score > 0)
        found.append(((x, y), deviation[rim].mean(0) if rim.any() else np.zeros(3)))
        votes[(xs - x) ** 2 + (ys - y) ** 2 <= (2 * g.GOAL_RADIUS) ** 2] = min(0.0, best) - 1.0
    pairs = sorted(
        (
            (float(lean @ (_CHROMA[owner] - table)), owner, index)
            for owner in owners
            for index, (_, lean) in enumerate(found)
        ),
        reverse=True,
    )
    assigned: dict[int, int] = {}
    for _, owner, index in pairs:
        if owner not in assigned and index not in assigned.values():
            assigned[owner] = index
    return [
        {"position": list(found[assigned[owner]][0]), "radius": g.GOAL_RADIUS, "object": owner}
        for owner in owners
    ]


def _goal_owners(task: str, num_objects: int) -> list[int]:
    layout = TASKS[task].goals
    return {"target": [0], "each": list(range(num_objects)), "none": []}[layout]


# --------------------------------------------------------------------------- success on pixels


def frame_flags(frames: Sequence[np.ndarray], goals: Sequence[dict]) -> list[dict]:
    """Per frame: {"at_grasp": the red block's centre within `HELD_WINDOW` of the grasp point,
    "held": that and the fingers not open, "in_goal": its centre inside the red goal by the
    simulator's rule (`sim.in_goal`)}."""
    goal = next((goal for goal in goals if goal["object"] == 0), None)
    flags = []
    for frame in frames:
        percept = perceive(frame, num_objects=1)
        block, gripper = percept.objects[0], percept.gripper
        at_grasp = (
            block is not None
            and gripper is not None
            and abs(block[0] - gripper[0]) <= HELD_WINDOW[0]
            and abs(block[1] - gripper[1]) <= HELD_WINDOW[1]
        )
        inside = block is not None and goal is not None and in_goal(block, goal)
        flags.append(
            {
                "at_grasp": bool(at_grasp),
                "held": bool(at_grasp and not percept.open),
                "in_goal": bool(inside),
            }
        )
    return flags


def detect_success(
    task: str,
    frames: Sequence[np.ndarray],
    goals: Sequence[dict] | None = None,
    fingers: bool = True,
):
    """Whether the frames of an episode (the first real, the rest real or imagined) show
    `task` solved at their end, judged on pixels only. goals: default `find_goals` on the
    first frame.

    - push: the red block's centre lies in the red goal in the last frame.
    - lift: the red block is held (centred between fingers that are not open) in each of the
      last `LIFT_HOLD_STEPS` frames: the simulator's `held_steps >= 5`.
    - place: the red block was held in some frame and lies in the red goal, not held, in the
      last.
    - sort: every object's centre lies in the goal of its colour in the last frame.

    fingers=False judges without the finger opening, for frames a world model decoded through
    a tokenizer too coarse to keep it (the fingers' one-pixel gap): "held" is then the block
    at the grasp point; lift needs it there in each of the last `LIFT_HOLD_STEPS` frames, and
    place needs it there in some frame outside the goal (carried) and the block in the goal in
    the last, let go or not.
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; known tasks: {', '.join(sorted(TASKS))}")
    frames = list(frames)
    if not frames:
        return False
    if task == "sort":
        count = sum(1 for area in perceive(frames[0]).areas if area >= _MIN_VISIBLE)
        goals = goals if goals is not None else find_goals(frames[0], range(count))
        last = perceive(frames[-1], num_objects=count).objects
        by_owner = {goal["object"]: goal for goal in goals}
        return all(
            last[i] is not None and i in by_owner and in_goal(last[i], by_owner[i])
            for i in range(count)
        )
    if goals is None:
        goals = find_goals(frames[0], _goal_owners(task, 1))
    hold = "held" if fingers else "at_grasp"
    if task == "lift":
        flags = frame_flags(frames[-LIFT_HOLD_STEPS:], goals)
        return len(frames) > LIFT_HOLD_STEPS and all(f[hold] for f in flags)
    flags = frame_flags(frames, goals)
    if task == "push":
        return flags[-1]["in_goal"]
    last = flags[-1]
    if not fingers:
        return last["in_goal"] and any(f["at_grasp"] and not f["in_goal"] for f in flags[:-1])
    return last["in_goal"] and not last["held"] and any(f["held"] for f in flags[:-1])


# --------------------------------------------------------------------------------- the policy


class PixelExpert:
    """The scripted expert, acting on frames instead of states.

    Each call reads the frame (`perceive`) and rebuilds the state `ExpertPolicy` reads: the
    grasp point and object centres from the pixels (an object not seen keeps its last
    position), the goals from the episode's first frame, and what pixels cannot show from the
    policy's own commands: the grip is closed after it asked to close; it holds the object
    nearest the grasp point within the grasp window at that moment, counts the steps it has
    held it, and lets go when it opens. noise, random_action_probability: as `ExpertPolicy`.
    Call `reset(seed)` at the start of every episode.
    """

    def __init__(
        self,
        task: str,
        noise: float = 0.0,
        random_action_probability: float = 0.0,
        num_objects: int = 2,
        seed: int | None = None,
        name: str | None = None,
    ) -> None:
        self.task = task
        self.num_objects = num_objects
        self.expert = ExpertPolicy(task, noise, random_action_probability, seed=seed)
        self.name = name or f"pixel-expert(noise={noise:g})"
        self._state: dict[str, Any] | None = None

    def reset(self, seed: int | None = None) -> None:
        self.expert.reset(seed)
        self._state = None

    def _start(self, frame: np.ndarray) -> dict[str, Any]:
        goals = find_goals(frame, _goal_owners(self.task, self.num_objects))
        return {
            "task": self.task,
            "step": 0,
            "target": 0,
            "gripper": {"position": [0.5, 0.5], "closed": False, "half_gap": g.OPEN_HALF_GAP},
            "objects": [
                {"position": [0.5, 0.5], "radius": g.OBJECT_RADIUS} for _ in range(self.num_objects)
            ],
            "held": None,
            "held_steps": 0,
            "lifted": [False] * self.num_objects,
            "goals": goals,
        }

    def observe(self, frame: np.ndarray) -> dict[str, Any]:
        """Update and return the rebuilt state from a new frame."""
        if self._state is None:
            self._state = self._start(frame)
        state = self._state
        percept = perceive(frame, self.num_objects)
        if percept.gripper is not None:
            state["gripper"]["position"] = list(percept.gripper)
        for obj, position in zip(state["objects"], percept.objects):
            if position is not None:
                obj["position"] = list(position)
        return state

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        state = self.observe(frame)
        action = self.expert(state)
        self._commit(state, action)
        return action

    def _commit(self, state: dict[str, Any], action: np.ndarray) -> None:
        """What the action does to the parts of the state pixels cannot show."""
        state["step"] += 1
        if action[3] > 0.5:
            return
        gripper = state["gripper"]
        close = bool(action[2] > 0.5)
        if close and not gripper["closed"]:
            x, y = gripper["position"]
            near = [
                (math.hypot(obj["position"][0] - x, obj["position"][1] - y), index)
                for index, obj in enumerate(state["objects"])
                if abs(obj["position"][0] - x) <= g.GRASP_WINDOW_X
                and abs(obj["position"][1] - y) <= g.GRASP_WINDOW_Y
            ]
            state["held"] = min(near)[1] if near else None
            state["held_steps"] = 0
        elif not close:
            state["held"] = None
        gripper["closed"] = close
        held = state["held"]
        gripper["half_gap"] = g.half_gap_of(close, held is not None)
        state["held_steps"] = state["held_steps"] + 1 if held is not None else 0
        if held is not None:
            state["lifted"][held] = True
