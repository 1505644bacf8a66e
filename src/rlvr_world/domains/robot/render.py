"""Vectorised numpy rendering of tabletop states as anti-aliased, shaded RGB frames.

Every shape is a signed distance field (negative inside) evaluated only in the shape's pixel
window; coverage is a one-pixel linear ramp of the distance (anti-aliased edges), shadows a
wider smooth ramp at an offset (soft shadows, farther for higher parts), and surfaces get a
radial highlight plus a darker bevel. The table is a seeded wood texture (planks, rings,
streaks) with the goal regions tinted in; it is drawn once per episode and cached.

>>> from rlvr_world.domains.robot.sim import TabletopSimulator
>>> frame, _ = TabletopSimulator("push", size=32).reset(seed=0)
>>> frame.shape, frame.dtype.name
((32, 32, 3), 'uint8')
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from rlvr_world.domains.robot import geometry as g

__all__ = ["Renderer", "render_state"]

_FINGER_COLOR = np.array((0.62, 0.64, 0.68), dtype=np.float32)
_WRIST_COLOR = np.array((0.34, 0.36, 0.41), dtype=np.float32)
_WOOD_COLOR = np.array((0.64, 0.47, 0.3), dtype=np.float32)

# Shadow (offset x, offset y, softness, strength) by height above the table.
_SHADOW_ON_TABLE = (0.010, 0.013, 0.016, 0.38)
_SHADOW_LIFTED = (0.032, 0.042, 0.03, 0.3)
_SHADOW_WRIST = (0.03, 0.04, 0.03, 0.28)


def _value_noise(rng: np.random.Generator, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Smooth value noise in [0, 1] on a periodic 64 x 64 lattice; resolution independent."""
    lattice = rng.random((64, 64)).astype(np.float32)
    xi, yi = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
    fx, fy = x - xi, y - yi
    fx, fy = fx * fx * (3 - 2 * fx), fy * fy * (3 - 2 * fy)
    x0, x1, y0, y1 = xi % 64, (xi + 1) % 64, yi % 64, (yi + 1) % 64
    top = lattice[y0, x0] * (1 - fx) + lattice[y0, x1] * fx
    bottom = lattice[y1, x0] * (1 - fx) + lattice[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


def _smooth(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3 - 2 * t)


class Renderer:
    """Draws states of `TabletopSimulator` at `size` x `size` pixels.

    `render(state) -> uint8 array (size, size, 3)`. Backgrounds (texture + goals) are cached
    per (texture seed, goals), so an episode pays for its table once.
    """

    def __init__(self, size: int = 64) -> None:
        if not isinstance(size, int) or isinstance(size, bool) or size < 8:
            raise ValueError(f"size: expected an int >= 8, got {size!r}")
        self.size = size
        self.pixel = 1.0 / size
        # Pixel-centre coordinates; shapes broadcast a row of xs against a column of ys.
        self._xs = ((np.arange(size, dtype=np.float32) + 0.5) / size)[None, :]
        self._ys = ((np.arange(size, dtype=np.float32) + 0.5) / size)[:, None]
        self._backgrounds: dict[tuple, np.ndarray] = {}

    # ------------------------------------------------------------------------------ public

    def render(self, state: dict[str, Any]) -> np.ndarray:
        """The frame of `state` (a `TabletopSimulator.state()` dict): uint8 (size, size, 3)."""
        image = self.background(state).copy()
        held = state["held"]
        gripper = state["gripper"]
        px, py = gripper["position"]
        half_gap = gripper.get("half_gap", g.half_gap_of(gripper["closed"], held is not None))
        objects = state["objects"]

        # Shadows first (they fall on the table only), lowest parts first.
        for index, obj in enumerate(objects):
            if index != held:
                self._shadow_object(image, obj, _SHADOW_ON_TABLE, 1.0)
        for side in (-1.0, 1.0):
            self._shadow_capsule(image, px + side * half_gap, py, _SHADOW_ON_TABLE)
        if held is not None:
            self._shadow_object(image, objects[held], _SHADOW_LIFTED, g.LIFT_SCALE)
        self._shadow_box(image, px, py, _SHADOW_WRIST)

        for index, obj in enumerate(objects):
            if index != held:
                self._object(image, obj, 1.0)
        if held is not None:
            self._object(image, objects[held], g.LIFT_SCALE)
        for side in (-1.0, 1.0):
            self._finger(image, px + side * half_gap, py)
        self._wrist(image, px, py)
        return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)

    def background(self, state: dict[str, Any]) -> np.ndarray:
        """The table with goal tints: float32 (size, size, 3) in [0, 1] (cached; do not edit)."""
        goals = tuple(
            (float(goal["position"][0]), float(goal["position"][1]), float(goal["radius"]))
            + tuple(state["objects"][goal["object"]]["color"])
            for goal in state["goals"]
        )
        key = (int(state["texture_seed"]), goals)
        if key not in self._backgrounds:
            if len(self._backgrounds) >= 16:  # a long-lived simulator sees many episodes
                self._backgrounds.clear()
            self._backgrounds[key] = self._draw_background(*key)
        return self._backgrounds[key]

    # -------------------------------------------------------------------------- background

    def _draw_background(self, texture_seed: int, goals: tuple) -> np.ndarray:
        rng = np.random.default_rng(texture_seed)
        x = np.broadcast_to(self._xs, (self.size, self.size))
        y = np.broadcast_to(self._ys, (self.size, self.size))
        # Planks run along u; their grain is tilted a little and turned by 90 degrees half the
        # time, so textures differ between episodes in ways a tokenizer must reproduce.
        angle = rng.uniform(-0.2, 0.2) + (math.pi / 2 if rng.random() < 0.5 else 0.0)
        u = x * math.cos(angle) + y * math.sin(angle)
        v = -x * math.sin(angle) + y * math.cos(angle)
        plank_width = rng.uniform(0.17, 0.28)
        plank_position = v / plank_width + rng.uniform(0, 1)
        plank = np.floor(plank_position).astype(np.int64) % 32
        plank_tint = rng.normal(0.0, 0.06, 32).astype(np.float32)
        plank_phase = rng.uniform(0, 1, 32).astype(np.float32)
        warp = _value_noise(rng, u * 3.0 + 7.0, v * 3.0 + 11.0)
        rings = np.sin(2 * math.pi * (v * rng.uniform(14, 22) + 1.8 * warp + plank_phase[plank]))
        streaks = _value_noise(rng, u * 2.5, v * 45.0)
        fine = _value_noise(rng, u * 40.0, v * 40.0)
        seam_distance = np.abs(plank_position - np.round(plank_position)) * plank_width
        seam = 1.0 - 0.35 * (1.0 - _smooth(seam_distance / max(0.008, 1.2 * self.pixel)))
        shade = (
            1.0 + plank_tint[plank] + 0.07 * rings + 0.12 * (streaks - 0.5) + 0.06 * (fine - 0.5)
        )
        light = 1.06 - 0.22 * ((x - 0.3) ** 2 + (y - 0.25) ** 2)
        tone = _WOOD_COLOR * rng.uniform(0.9, 1.1, 3).astype(np.float32)
        image = (shade * seam * light)[..., None] * tone
        for goal_x, goal_y, radius, *color in goals:
            color = np.asarray(color, dtype=np.float32)
            distance = np.sqrt((x - goal_x) ** 2 + (y - goal_y) ** 2)
            inside = np.clip(0.5 - (distance - radius) / self.pixel, 0.0, 1.0)
            # A light version of the owner's colour that keeps some of the wood's grain.
            tint = (0.5 * color + 0.5) * (0.55 + 0.6 * image.mean(-1, keepdims=True))
            image = image + (tint - image) * (0.6 * inside)[..., None]
            ring = np.clip(1.0 - np.abs(distance - radius) / max(0.006, self.pixel), 0.0, 1.0)
            image = image + (0.6 * color - image) * (0.7 * ring)[..., None]
        return np.clip(image, 0.0, 1.0).astype(np.float32)

    # ------------------------------------------------------------------------------ shapes

    def _window(self, cx: float, cy: float, extent: float):
        """Pixel slices covering the square of half-width `extent` around (cx, cy), or None."""
        size = self.size
        i0 = max(0, int((cy - extent) * size))
        i1 = min(size, int(math.ceil((cy + extent) * size)) + 1)
        j0 = max(0, int((cx - extent) * size))
        j1 = min(size, int(math.ceil((cx + extent) * size)) + 1)
        if i0 >= i1 or j0 >= j1:
            return None
        return (slice(i0, i1), slice(j0, j1)), self._xs[:, j0:j1], self._ys[i0:i1]

    def _object_sdf(self, shape: str, dx: np.ndarray, dy: np.ndarray, radius: float):
        if shape == "disc":
            return np.sqrt(dx * dx + dy * dy) - radius
        if shape == "block":
            corner = 0.3 * radius
            half = 0.8 * radius - corner
            qx, qy = np.abs(dx) - half, np.abs(dy) - half
            outside = np.sqrt(np.maximum(qx, 0) ** 2 + np.maximum(qy, 0) ** 2)
            return outside + np.minimum(np.maximum(qx, qy), 0) - corner
        # Regular hexagon with rounded corners, circumradius about `radius`.
        inradius, rounding = 0.78 * radius, 0.1 * radius
        kx, ky, kz = -0.866025404, 0.5, 0.577350269
        ax, ay = np.abs(dx), np.abs(dy)
        fold = 2 * np.minimum(kx * ax + ky * ay, 0)
        ax, ay = ax - fold * kx, ay - fold * ky
        ax = ax - np.clip(ax, -kz * inradius, kz * inradius)
        ay = ay - inradius
        return np.sqrt(ax * ax + ay * ay) * np.sign(ay) - rounding

    def _paint(self, image, where, sdf, color, dx, dy, radius) -> None:
        """Composite a shaded surface: radial highlight towards the top-left light, bevel."""
        coverage = np.clip(0.5 - sdf / self.pixel, 0.0, 1.0)
        hx, hy = dx / radius + 0.35, dy / radius + 0.35
        shade = np.clip(1.2 - 0.3 * (hx * hx + hy * hy), 0.55, 1.25)
        shade = shade * (0.72 + 0.28 * np.clip(-sdf / (0.35 * radius), 0.0, 1.0))
        patch = image[where]
        surface = shade[..., None] * color
        image[where] = patch + (surface - patch) * coverage[..., None]

    def _object(self, image, obj: dict, scale: float) -> None:
        cx, cy = obj["position"]
        radius = obj["radius"] * scale
        window = self._window(cx, cy, radius * 1.1 + self.pixel)
        if window is None:
            return
        where, xs, ys = window
        dx, dy = xs - cx, ys - cy
        sdf = self._object_sdf(obj["shape"], dx, dy, radius)
        self._paint(image, where, sdf, np.asarray(obj["color"], np.float32), dx, dy, radius)

    def _shadow(self, image, cx, cy, extent, sdf_of, shadow) -> None:
        offset_x, offset_y, softness, strength = shadow
        cx, cy = cx + offset_x, cy + offset_y
        window = self._window(cx, cy, extent + softness + self.pixel)
        if window is None:
            return
        where, xs, ys = window
        sdf = sdf_of(xs - cx, ys - cy)
        darkness = strength * _smooth(0.5 - sdf / (softness + self.pixel))
        image[where] *= (1.0 - darkness)[..., None]

    def _shadow_object(self, image, obj: dict, shadow, scale: float) -> None:
        radius = obj["radius"] * scale
        cx, cy = obj["position"]
        self._shadow(
            image,
            cx,
            cy,
            radius * 1.1,
            lambda dx, dy: self._object_sdf(obj["shape"], dx, dy, radius),
            shadow,
        )

    @staticmethod
    def _capsule_sdf(dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
        along = dy - np.clip(dy, -g.FINGER_LENGTH / 2, g.FINGER_LENGTH / 2)
        return np.sqrt(dx * dx + along * along) - g.FINGER_RADIUS

    @staticmethod
    def _box_sdf(dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
        corner = 0.012
        qx = np.abs(dx) - g.WRIST_HALF_WIDTH + corner
        qy = np.abs(dy) - g.WRIST_HALF_HEIGHT + corner
        outside = np.sqrt(np.maximum(qx, 0) ** 2 + np.maximum(qy, 0) ** 2)
        return outside + np.minimum(np.maximum(qx, qy), 0) - corner

    def _shadow_capsule(self, image, cx: float, cy: float, shadow) -> None:
        extent = g.FINGER_LENGTH / 2 + g.FINGER_RADIUS
        self._shadow(image, cx, cy, extent, self._capsule_sdf, shadow)

    def _shadow_box(self, image, px: float, py: float, shadow) -> None:
        cy = _wrist_y(py)
        self._shadow(image, px, cy, g.WRIST_HALF_WIDTH, self._box_sdf, shadow)

    def _finger(self, image, cx: float, cy: float) -> None:
        window = self._window(cx, cy, g.FINGER_LENGTH / 2 + g.FINGER_RADIUS + self.pixel)
        if window is None:
            return
        where, xs, ys = window
        dx, dy = xs - cx, ys - cy
        sdf = self._capsule_sdf(dx, dy)
        # Cylindrical shading: radius of the finger's cross-section, not of its length.
        self._paint(image, where, sdf, _FINGER_COLOR, dx, dy * 0.3, 1.6 * g.FINGER_RADIUS)

    def _wrist(self, image, px: float, py: float) -> None:
        cy = _wrist_y(py)
        window = self._window(px, cy, g.WRIST_HALF_WIDTH + self.pixel)
        if window is None:
            return
        where, xs, ys = window
        dx, dy = xs - px, ys - cy
        sdf = self._box_sdf(dx, dy)
        self._paint(image, where, sdf, _WRIST_COLOR, dx * 0.25, dy, 2 * g.WRIST_HALF_HEIGHT)


def _wrist_y(grasp_y: float) -> float:
    """The wrist bar's centre row: just above the fingers' upper ends."""
    return grasp_y - g.FINGER_LENGTH / 2 - g.WRIST_HALF_HEIGHT + 0.006


@functools.lru_cache(maxsize=4)
def _renderer(size: int) -> Renderer:
    return Renderer(size)


def render_state(state: dict[str, Any], size: int = 64) -> np.ndarray:
    """The frame of a simulator state dict: uint8 (size, size, 3). Pure: same state, same
    frame (the table texture comes from `state["texture_seed"]`)."""
    return _renderer(size).render(state)
