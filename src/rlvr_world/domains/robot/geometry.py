"""Sizes, speeds and colours of the tabletop world, shared by the physics and the renderer.

Coordinates are table units: the table is the square [0, 1] x [0, 1], x to the right and y
*down* (image rows), so a frame of `size` pixels shows the whole table with pixel (row i,
column j) centred at table point ((j + 0.5) / size, (i + 0.5) / size).

The gripper, seen from above, is a parallel-jaw hand: two fingers (vertical capsules centred on
the grasp point, one on each side of it) joined by a wrist bar above them. Only the fingers and
a held object touch the table; the wrist bar is higher up and passes over objects.
"""

from __future__ import annotations

# Motion: an action of dx = 1 moves the gripper this far in one step (3.2 pixels at 64 x 64).
MAX_SPEED = 0.05
# Each step's motion is split into this many sub-steps so that contacts are resolved smoothly.
SUBSTEPS = 4

OBJECT_RADIUS = 0.06
GOAL_RADIUS = 0.1

FINGER_RADIUS = 0.018
# A finger is a vertical segment of this length centred on the grasp point's row, plus radius.
FINGER_LENGTH = 0.06
# Horizontal distance from the grasp point to each finger's axis.
OPEN_HALF_GAP = 0.095
CLOSED_HALF_GAP = FINGER_RADIUS  # fingers touching
HOLD_HALF_GAP = OBJECT_RADIUS + FINGER_RADIUS  # fingers resting on a held object's sides
# The wrist bar above the fingers (drawn only).
WRIST_HALF_WIDTH = OPEN_HALF_GAP + FINGER_RADIUS + 0.012
WRIST_HALF_HEIGHT = 0.022

# Closing the gripper grasps an object whose centre lies in this window around the grasp
# point: between the finger axes horizontally, within the fingers' reach vertically.
GRASP_WINDOW_X = OPEN_HALF_GAP - FINGER_RADIUS
GRASP_WINDOW_Y = FINGER_LENGTH / 2 + 0.3 * OBJECT_RADIUS

# The grasp point stays this far inside the table edges.
GRIPPER_MARGIN = 0.05

# A drawn held object is scaled up (it is lifted towards the camera) and its shadow offset.
LIFT_SCALE = 1.15

# Object i has shape SHAPES[i] and colour COLORS[i] (RGB in [0, 1]); object 0 is the target.
SHAPES = ("block", "disc", "hexagon")
NAMES = ("red block", "blue disc", "green hexagon")
COLORS = ((0.86, 0.2, 0.17), (0.16, 0.36, 0.86), (0.2, 0.68, 0.3))
MAX_OBJECTS = len(SHAPES)


def half_gap_of(closed: bool, holding: bool) -> float:
    """The finger gap (grasp point to finger axis) that a resting gripper has."""
    if not closed:
        return OPEN_HALF_GAP
    return HOLD_HALF_GAP if holding else CLOSED_HALF_GAP
