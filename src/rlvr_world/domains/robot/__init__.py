"""The robot domain: a 2-D tabletop manipulation world rendered as RGB frames, scripted
policies that make episodes of graded quality, and RT-1 `.npz` episodes (ours or real).

- `TabletopSimulator` (sim.py): Gymnasium-like `reset(seed) -> (frame, info)`,
  `step(action) -> (frame, reward, terminated, truncated, info)`; frames uint8 (H, W, 3);
  actions float32 (4,) `[dx, dy, grip, terminate]`; tasks `TASKS` (push, sort, lift, place);
  `check_simulator` checks the contract.
- `ExpertPolicy`, `RandomPolicy`, `collect_episodes` (policies.py): episodes as dicts with
  image uint8 (T, H, W, 3) and action float32 (T, 4), image[t] seen before action[t].
- `save_episodes`, `load_episodes` (data.py): one `.npz` per episode, sorted index % 100 == 0
  is test; loads 13-d RT-1 episodes as well.
"""

from rlvr_world.domains.robot.data import (
    DataError,
    episode_files,
    load_episode,
    load_episodes,
    save_episodes,
)
from rlvr_world.domains.robot.policies import (
    POLICIES,
    ExpertPolicy,
    Policy,
    RandomPolicy,
    collect_episodes,
    make_policy,
)
from rlvr_world.domains.robot.render import Renderer, render_state
from rlvr_world.domains.robot.sim import (
    ACTION_NAMES,
    ACTION_SPACE,
    TASKS,
    BoxSpace,
    TabletopSimulator,
    TaskSpec,
    check_simulator,
    make_simulator,
    task_success,
)

__all__ = [
    "ACTION_NAMES",
    "ACTION_SPACE",
    "POLICIES",
    "TASKS",
    "BoxSpace",
    "DataError",
    "ExpertPolicy",
    "Policy",
    "RandomPolicy",
    "Renderer",
    "TabletopSimulator",
    "TaskSpec",
    "check_simulator",
    "collect_episodes",
    "episode_files",
    "load_episode",
    "load_episodes",
    "make_policy",
    "make_simulator",
    "render_state",
    "save_episodes",
    "task_success",
]
