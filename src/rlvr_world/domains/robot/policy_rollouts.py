"""RLVR on a policy's own rollouts: the world model imagines what a policy's actions do while
the policy acts on the frames it imagines, and the simulator says what would have happened.

Policy evaluation (`domains.robot.policy_success`) asks a multi-step world model to continue from
frames it drew itself, with actions a policy chose on those frames. RL on the dataset's windows
(`RobotTask`) scores the model on the dataset policy's actions after true frames. This task
scores it where policy evaluation uses it, and the reward stays verifiable:

- a start is a simulator state that a policy of `POLICIES` reached after `t` true steps (`t`
  in `start_steps`), with the policy's memory at that point;
- the question is the start's frame (`VideoTokenizer.encode_context`) and the policy's action
  on it; the response is R - 1 frames generated span by span (`core.rollout`), and after each
  span the policy looks at the decoded frame and its action is binned and inserted; a
  terminate ends the row there;
- the reference is the start (`Start`): the reward replays the actions the model was told
  (their bin values, the question's and the inserted ones) in the simulator from the start's
  state and scores the decoded frames against the frames it renders, with `RobotTask`'s
  reward (-(MAE + LPIPS) by default, `video.reward_weights`). After a terminate the world
  stands still: a stopped row's last predicted frame and last true frame fill its remaining
  places;
- a group's rows are told the same actions, chosen on the group's first row's frames, so that
  the group's rewards differ only by how well each row drew the same future;
- validation and test rollouts are told the actions the policy took on the true frames
  instead, so that checkpoints are compared on futures that do not depend on them.

Everything else (decoding, rewards, metrics, summaries) is `RobotTask`'s multi-step setup, each
example's reference resolved to its true frames first. The task has no teacher-forced
responses: it post-trains a multi-step model (`train rlvr --init MLE_RUN
video.rl_rollouts=policy`), it does not pre-train one.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from rlvr_world.core.protocols import Example
from rlvr_world.core.sampler import Samples, SamplingConfig
from rlvr_world.domains.robot.policies import episode_seeds
from rlvr_world.domains.robot.policy_success import POLICIES, make_frame_policy
from rlvr_world.domains.robot.sim import TASKS, TabletopSimulator
from rlvr_world.domains.robot.task import RobotTask
from rlvr_world.video.autoencoder import float_to_frames

__all__ = ["SEED_OFFSETS", "PolicyRolloutTask", "Start", "policy_starts", "rollout_starts"]

SEED_OFFSETS = {"train": 5_000_011, "valid": 6_000_023, "test": 7_000_003}
"""Each split's start seeds: apart from every data split's and from policy evaluation's."""
NO_STEP_LIMIT = 10_000
"""The simulators here run past any episode's step limit: a start late in an episode still
has its actions replayed."""


@dataclass(frozen=True)
class Start:
    """Where a rollout starts, the reference of its example: the simulated task, the
    simulator's state there (`TabletopSimulator.state`) and the policy's action on its frame
    as the model reads it (bin values, float32 [D])."""

    task: str
    state: dict
    action: np.ndarray


@dataclass
class _PolicyStart:
    task: str
    policy: str
    seeds: tuple[int, int]
    steps: int
    frame: np.ndarray
    state: dict
    action: np.ndarray
    memory: Any  # the policy after acting on `frame`, copied into every rollout from here
    following: np.ndarray  # float32 [<= horizon, D]: its next actions on the true frames


def policy_starts(
    task: str,
    policy: str,
    seeds: Sequence[tuple[int, int]],
    start_steps: Sequence[int],
    size: int = 64,
    num_objects: int = 2,
    horizon: int = 6,
) -> list[_PolicyStart]:
    """The starts of `policy` on `task`: for each (simulator seed, policy seed), the states
    the policy reaches in the simulator after each of `start_steps` steps, each with the
    policy's next `horizon` actions in the simulator (fewer where it terminates: its
    terminate is the last). An episode the policy ends before a step count gives no start
    there."""
    simulator = TabletopSimulator(task, num_objects=num_objects, size=size, max_steps=NO_STEP_LIMIT)
    agent = make_frame_policy(policy, task, num_objects)
    out = []
    for simulator_seed, policy_seed in seeds:
        frame, _ = simulator.reset(seed=simulator_seed)
        agent.reset(seed=policy_seed)
        actions, starts = [], []
        for step in range(max(start_steps) + horizon + 1):
            action = np.asarray(agent(frame), dtype=np.float32)
            actions.append(action)
            if step in start_steps:
                starts.append((step, frame, simulator.state(), copy.deepcopy(agent)))
            if action[3] > 0.5:
                break
            frame, *_ = simulator.step(action)
        for step, first, state, memory in starts:
            if actions[step][3] > 0.5:  # the policy ends the episode here: nothing follows
                continue
            following = actions[step + 1 : step + 1 + horizon]
            out.append(
                _PolicyStart(
                    task=task,
                    policy=policy,
                    seeds=(simulator_seed, policy_seed),
                    steps=step,
                    frame=first,
                    state=state,
                    action=actions[step],
                    memory=memory,
                    following=np.asarray(following, dtype=np.float32).reshape(
                        len(following), len(actions[step])
                    ),
                )
            )
    return out


class PolicyRolloutTask(RobotTask):
    """`core.protocols.Task`: multi-step prediction of a policy's own rollouts (module
    docstring), scored against the simulator.

    starts: split -> the starts of its examples (`policy_starts`). Examples carry reference =
    `Start` and context = {"id", "split" (the robot task), "policy", "steps", "episode",
    "start"}; predictions add "actions" (float [A, D], the inserted actions as bin values)
    and "generated" (how many frames were generated before a terminate; F without one).
    Other arguments as `RobotTask`'s (mode is multi).
    """

    name = "robot-policy"

    def __init__(
        self,
        starts: Mapping[str, Sequence[_PolicyStart]],
        tokenizer,
        rollout_frames: int = 8,
        reward_weights: Mapping[str, float] | None = None,
        reward_aggregate: str = "mean",
        lpips_net: str = "vgg",
        reward_lpips_net: str | None = None,
        num_objects: int = 2,
        in_the_loop: Sequence[str] = ("train",),
    ) -> None:
        super().__init__(
            {},
            tokenizer,
            mode="multi",
            rollout_frames=rollout_frames,
            reward_weights=reward_weights,
            reward_aggregate=reward_aggregate,
            lpips_net=lpips_net,
            reward_lpips_net=reward_lpips_net,
        )
        self.num_objects = num_objects
        self.in_the_loop = tuple(in_the_loop)
        self._following: dict[tuple[str, int], np.ndarray] = {}
        self._simulators: dict[str, TabletopSimulator] = {}
        self._memories: dict[tuple[str, int], Any] = {}
        for split, items in starts.items():
            items = list(items)
            # `RobotTask` reads an example's shown frame from its "episode": one frame here
            self.episodes[split] = [{"image": s.frame[None], "task": s.task} for s in items]
            self._examples[split] = self._encode_starts(items, split)

    def _encode_starts(self, starts: Sequence[_PolicyStart], split: str) -> list[Example]:
        if not starts:
            return []
        tok = self.tokenizer
        context_ids = tok.encode_context(np.stack([s.frame for s in starts])).tolist()
        action_ids = tok.encode_actions(np.stack([s.action for s in starts]))
        binned = tok.decode_actions(action_ids).astype(np.float32)
        examples = []
        for number, (start, ids) in enumerate(zip(starts, context_ids)):
            following = start.following
            ends = len(following) > 0 and following[-1][3] > 0.5
            if (
                split not in self.in_the_loop
                and not ends
                and len(following) < self.predicted_frames - 1
            ):
                raise ValueError(
                    f"{split} start {number} ({start.task}, {start.policy}, step {start.steps}): "
                    f"{len(following)} following actions for {self.predicted_frames - 1} "
                    "inserts (policy_starts' horizon must be rollout_frames - 2)"
                )
            self._memories[split, number] = start.memory
            self._following[split, number] = tok.encode_actions(following)  # [A, D] ids
            examples.append(
                Example(
                    question_ids=ids + action_ids[number].tolist(),
                    reference=Start(start.task, start.state, binned[number]),
                    context={
                        "id": f"{split}/{start.task}/{start.policy}/{start.seeds[0]}/{start.steps}",
                        "split": start.task,
                        "policy": start.policy,
                        "steps": start.steps,
                        "episode": [split, number],
                        "start": 0,
                    },
                )
            )
        return examples

    # ----------------------------------------------------------------- sampling
    def generate(
        self,
        model,
        examples: Sequence[Example],
        config: SamplingConfig,
        *,
        group_size: int = 1,
        generator: torch.Generator | None = None,
        batch_rows: tuple[int, int] | None = None,
    ) -> Samples:
        """R - 1 frames a row with actions inserted after each span; a terminate ends the
        rows there.

        In the splits `in_the_loop` (training) the policy acts on the frames the model draws.
        A group's rows share their actions: the policy (a copy of the start's) acts on the
        frames of the group's first row, and every row of the group is told that action. The
        group's rewards then differ only by how well each row drew the same future. Were each
        row to act on its own frames, a row that drew a frame on which the policy stops or
        holds still would face an easier future and win its group for that.

        In the other splits (validation, test) every row is told the actions the policy took
        after the start on the true frames: futures that do not depend on the model, so that
        checkpoints are compared on the same futures (with the policy in the loop, what a
        checkpoint draws changes the future it is scored against, and so its score)."""
        looped = [e.context["episode"][0] in self.in_the_loop for e in examples]
        if all(looped):
            insert = self._policy_insert(examples, group_size)
        elif not any(looped):
            insert = self._following_insert(examples, group_size)
        else:
            raise ValueError(
                "a batch mixes rollouts with the policy in the loop and rollouts of its "
                f"following actions (in the loop: {', '.join(self.in_the_loop)})"
            )
        return self._rollout(model, examples, config, insert, group_size, generator, batch_rows)

    def _policy_insert(self, examples: Sequence[Example], group_size: int):
        """The policy in the loop, one copy a group, acting on the group's first row."""
        tok = self.tokenizer
        policies = [copy.deepcopy(self._memories[tuple(e.context["episode"])]) for e in examples]
        firsts = np.stack([self._shown(e.context)[-1] for e in examples])  # [B, H, W, 3]

        def insert(step: int, active: torch.Tensor, span: torch.Tensor):
            rows = active.tolist()  # whole groups: a group's rows stop together
            leaders = [j for j, row in enumerate(rows) if row % group_size == 0]
            groups = [rows[j] // group_size for j in leaders]
            frames = tok.decode_future(span[leaders].cpu(), firsts[groups])
            chosen = {
                group: np.asarray(policies[group](frame), dtype=np.float32)
                for group, frame in zip(groups, float_to_frames(frames).numpy())
            }
            actions = np.stack([chosen[row // group_size] for row in rows])
            tokens = torch.as_tensor(tok.encode_actions(actions))
            return tokens, torch.as_tensor(actions[:, 3] > 0.5)

        return insert

    def _following_insert(self, examples: Sequence[Example], group_size: int):
        """The actions the policy took after the start on the true frames."""
        tok = self.tokenizer
        told = [self._following[tuple(e.context["episode"])] for e in examples]

        def insert(step: int, active: torch.Tensor, span: torch.Tensor):
            tokens = np.stack([told[row // group_size][step] for row in active.tolist()])
            stop = tok.decode_actions(tokens)[:, 3] > 0.5
            return torch.as_tensor(tokens), torch.as_tensor(stop)

        return insert

    # ----------------------------------------------------------------- reading and scoring
    def decode(self, response_ids: Sequence[int], context: Mapping[str, Any] | None = None) -> dict:
        """-> {"frames": float [F, 3, H, W] in [0, 1], "tokens": int64 [F, Kf], "actions":
        float [A, D], "generated": n}: the n frames generated (n < F in a row a terminate
        ended; its last frame fills the rest), decoded given the start's frame, and the
        inserted actions' bin values. A short last span is padded with code 0."""
        if context is None or "episode" not in context:
            raise ValueError("decoding a policy rollout needs the example's context")
        tok = self.tokenizer
        k, d = self.span_length, tok.action_tokens
        stride, ids = k + d, list(response_ids)
        generated = min(self.predicted_frames, max(1, (len(ids) + d) // stride))
        spans = [ids[f * stride : f * stride + k] for f in range(generated)]
        spans = [span + [0] * (k - len(span)) for span in spans]
        inserted = [ids[f * stride + k : (f + 1) * stride] for f in range(generated)]
        inserted = [a for a in inserted if len(a) == d]
        tokens = np.asarray(spans + spans[-1:] * (self.predicted_frames - generated))
        frames = tok.decode_future(tokens[:generated], self._shown(context)[-1])
        frames = torch.cat([frames, frames[-1:].expand(len(tokens) - generated, -1, -1, -1)])
        actions = np.zeros((0, d), dtype=np.float32)
        if inserted:
            actions = tok.decode_actions(np.asarray(inserted)).astype(np.float32)
        return {
            "frames": frames,
            "tokens": tokens.astype(np.int64),
            "actions": actions,
            "generated": generated,
        }

    def _simulator(self, task: str) -> TabletopSimulator:
        if task not in self._simulators:
            self._simulators[task] = TabletopSimulator(
                task,
                num_objects=self.num_objects,
                size=self.tokenizer.frame_size,
                max_steps=NO_STEP_LIMIT,
            )
        return self._simulators[task]

    def true_frames(self, prediction: Any, start: Start) -> np.ndarray:
        """uint8 [F, H, W, 3]: what the simulator shows after the actions a prediction's
        model was told, from the start's state (a stopped row's last frame repeated; a
        malformed prediction counts as the question's action alone)."""
        simulator = self._simulator(start.task)
        simulator.set_state(start.state)
        told = prediction.get("actions") if isinstance(prediction, Mapping) else None
        generated = prediction.get("generated", 1) if isinstance(prediction, Mapping) else 1
        actions = [start.action, *(list(told) if told is not None else [])]
        frames = []
        for action in actions[: max(1, min(int(generated), self.predicted_frames))]:
            frame, *_ = simulator.step(np.asarray(action, dtype=np.float32))
            frames.append(frame)
        frames += [frames[-1]] * (self.predicted_frames - len(frames))
        return np.stack(frames)

    def _truths(self, predictions: Sequence[Any], references: Sequence[Any]) -> list:
        """Each prediction's true frames (`true_frames`) where its reference is a `Start`;
        references already resolved to frames pass through. A group's rows, told the same
        actions, share one replay."""
        known: dict[tuple, np.ndarray] = {}
        out = []
        for prediction, reference in zip(predictions, references):
            if not isinstance(reference, Start):
                out.append(reference)
                continue
            told = prediction if isinstance(prediction, Mapping) else {}
            actions = np.asarray(told.get("actions", np.zeros(0)), dtype=np.float32)
            key = (id(reference), told.get("generated"), actions.tobytes())
            if key not in known:
                known[key] = self.true_frames(prediction, reference)
            out.append(known[key])
        return out

    def _resolved(self, predictions: Sequence[Any], examples: Sequence[Example]) -> list[Example]:
        """The examples with each reference replaced by its prediction's true frames."""
        truths = self._truths(predictions, [e.reference for e in examples])
        return [dataclasses.replace(e, reference=t) for e, t in zip(examples, truths)]

    def _against_truth(self, reward_fn: Callable) -> Callable:
        """A `RobotTask` reward scored against each prediction's true frames."""

        def resolved_fn(predictions, references, contexts):
            return reward_fn(predictions, self._truths(predictions, references), contexts)

        return resolved_fn

    def reward(self, name: str = "mae_lpips"):
        """`RobotTask.reward` against the simulator's frames for the actions each sample was
        told (a `Start` is the reference)."""
        return self._against_truth(super().reward(name))

    def span_reward(self, name: str = "mae_lpips"):
        return self._against_truth(super().span_reward(name))

    def token_reward(self, name: str = "mae_lpips"):
        return self._against_truth(super().token_reward(name))

    def score(self, predictions: Sequence[dict], examples: Sequence[Example]) -> list[dict]:
        return super().score(predictions, self._resolved(predictions, examples))

    def train_metrics(self, predictions: Sequence[dict], examples: Sequence[Example]) -> list[dict]:
        return super().train_metrics(predictions, self._resolved(predictions, examples))

    def save_predictions(self, predictions, examples, path) -> None:
        super().save_predictions(predictions, self._resolved(predictions, examples), path)


def rollout_starts(
    tasks: Sequence[str],
    counts: Mapping[str, int],
    start_steps: Sequence[int],
    seed: int,
    size: int = 64,
    num_objects: int = 2,
    policies: Sequence[str] = tuple(POLICIES),
    horizon: int = 6,
) -> dict[str, list[_PolicyStart]]:
    """split -> starts: `counts[split]` episodes of each policy on each task, cut at each of
    `start_steps` with the next `horizon` actions (`policy_starts`), from seeds apart from
    every other use (`SEED_OFFSETS`)."""
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise ValueError(f"unknown tasks {unknown}; known: {', '.join(sorted(TASKS))}")
    out: dict[str, list[_PolicyStart]] = {}
    for split, count in counts.items():
        out[split] = []
        for task_index, task in enumerate(tasks):
            for policy_index, policy in enumerate(policies):
                base = seed + SEED_OFFSETS[split] + 7919 * task_index + 101 * policy_index
                seeds = episode_seeds(base, count)
                out[split] += policy_starts(
                    task, policy, seeds, start_steps, size, num_objects, horizon
                )
    return out
