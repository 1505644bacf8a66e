"""Policy evaluation inside a video world model (SPEC §6): how often would a policy succeed,
judged without running it on the robot?

- True rate: the policy acts on the simulator's frames; success is the simulator's own test at
  the end of the episode (`run_true`).
- Estimated rate: the policy acts on frames a world model imagines (`imagine`): start from the
  same real first frame, ask the policy for an action, bin it and insert its tokens through
  the core's interactive driver (`core.rollout`), generate the next frame's tokens, decode them,
  ask the policy again, and so on until the policy says terminate or `max_steps` frames were
  generated; success is judged on the imagined frames by the pixel detector
  (`perception.detect_success`, without reading the fingers: see below). A model trained on
  windows of R frames imagines R - 1 frames per chunk; the next chunk starts from the chunk's
  last imagined frame and the policy's action on it, as its training windows start.

Success on the imagined frames and on the real ones is judged by the same detector, with
`fingers=False`: "held" is the red block centred at the grasp point, the finger opening is not
read. A compressive future-frame tokenizer (16 tokens a 64 x 64 frame) does not keep the
one-pixel difference between fingers open and fingers around a block: decoding the *true*
codes of real expert episodes, the finger-reading detector finds 21% of lift and 8% of place
experts successful (true: 100% and 88%); without the fingers, 96% and 88%. The price is on
real frames, where a noisy policy hovering at the block with open fingers now counts
(BENCHMARKS.md has the agreement figures).

Policies act on pixels (`POLICIES`): the scripted expert reading frames (`PixelExpert`) at
noise 0, 0.3 and 0.6, and uniform random motion: low to high true success on push, lift and
place.

Legend: E episodes, T steps, K tokens a frame (Kf a frame after a chunk's first, with a future-frame
tokenizer), D action dimensions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import torch

from rlvr_world.core.rollout import rollout
from rlvr_world.core.sampler import SamplingConfig, sample
from rlvr_world.domains.robot.perception import PixelExpert, detect_success, perceive
from rlvr_world.domains.robot.policies import RandomPolicy, episode_seeds
from rlvr_world.domains.robot.sim import TASKS, TabletopSimulator
from rlvr_world.video.autoencoder import float_to_frames

__all__ = [
    "EVAL_TASKS",
    "MOVES",
    "POLICIES",
    "Episode",
    "FramePolicy",
    "action_probe",
    "decode_episode",
    "episode_seeds",
    "imagine",
    "judge_success",
    "make_frame_policy",
    "run_true",
]

EVAL_TASKS = ("push", "lift", "place")
POLICIES: dict[str, float | None] = {
    "expert": 0.0,
    "noisy-0.3": 0.3,
    "noisy-0.6": 0.6,
    "random": None,
}
"""Policy name -> the pixel expert's noise (None: uniform random motion)."""


def judge_success(task: str, frames: Sequence[np.ndarray]) -> bool:
    """Success as policy evaluation judges it, on real and imagined frames alike: the pixel
    detector without the fingers (the module docstring says why)."""
    return detect_success(task, frames, fingers=False)


class FramePolicy(Protocol):
    """The protocol: `reset(seed)` at an episode's start, then `policy(frame uint8 (H, W, 3))
    -> float32 (4,) [dx, dy, grip, terminate]`."""

    name: str

    def reset(self, seed: int | None = None) -> None: ...

    def __call__(self, frame: np.ndarray) -> np.ndarray: ...


class _Blind:
    """A state-free policy (random motion) as a frame policy: it ignores the frame."""

    def __init__(self, policy: RandomPolicy, name: str) -> None:
        self.policy, self.name = policy, name

    def reset(self, seed: int | None = None) -> None:
        self.policy.reset(seed)

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        return self.policy({})


def make_frame_policy(name: str, task: str, num_objects: int = 2) -> FramePolicy:
    """A policy of `POLICIES` for `task`; an unknown name raises ValueError listing them."""
    if name not in POLICIES:
        raise ValueError(f"unknown policy {name!r}; known policies: {', '.join(POLICIES)}")
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; known tasks: {', '.join(sorted(TASKS))}")
    noise = POLICIES[name]
    if noise is None:
        return _Blind(RandomPolicy(), name)
    return PixelExpert(task, noise=noise, num_objects=num_objects, name=name)


@dataclass
class Episode:
    """One episode of a policy. frames: uint8 [T + 1, H, W, 3] (the first is real); actions:
    float32 [A, 4], every action the policy chose (a final terminate included); success: the
    simulator's test (`run_true`) or the pixel detector's (`imagine`); detected: the detector
    on these frames; stopped: the policy said terminate (else the step limit ended it)."""

    task: str
    policy: str
    seeds: tuple[int, int]
    frames: np.ndarray
    actions: np.ndarray
    success: bool
    detected: bool
    stopped: bool


def run_true(
    task: str,
    policy: FramePolicy,
    seeds: Sequence[tuple[int, int]],
    max_steps: int = 24,
    size: int = 64,
    num_objects: int = 2,
) -> list[Episode]:
    """The policy in the simulator, one episode per (simulator seed, policy seed)."""
    simulator = TabletopSimulator(task, num_objects=num_objects, size=size, max_steps=max_steps)
    episodes = []
    for simulator_seed, policy_seed in seeds:
        frame, _ = simulator.reset(seed=simulator_seed)
        policy.reset(seed=policy_seed)
        frames, actions, stopped = [frame], [], False
        while True:
            action = np.asarray(policy(frame), dtype=np.float32)
            actions.append(action)
            if action[3] > 0.5:
                stopped = True
                break
            frame, _, _, truncated, _ = simulator.step(action)
            frames.append(frame)
            if truncated:
                break
        episodes.append(
            Episode(
                task=task,
                policy=policy.name,
                seeds=(simulator_seed, policy_seed),
                frames=np.stack(frames),
                actions=np.stack(actions),
                success=simulator.success(),
                detected=judge_success(task, frames),
                stopped=stopped,
            )
        )
    return episodes


MOVES = ((1.0, 0.0), (-1.0, 0.0), (0.0, 1.0), (0.0, -1.0))
"""The full-speed moves `action_probe` inserts: right, left, down, up."""


@torch.no_grad()
def action_probe(
    model: torch.nn.Module,
    tokenizer,
    task: str,
    simulator_seeds: Sequence[int],
    size: int = 64,
    num_objects: int = 2,
) -> dict:
    """Does a world model read its actions? From each start, the greedy next frame after each
    of `MOVES`, and where it shows the grasp point (`perceive`) against where the move truly
    takes it. Returns {"error": mean distance to the true grasp point (table units),
    "static_error": the same for the start's own grasp point (what a model that ignores the
    action scores), "spread": mean distance between the grasp points the four moves show (0
    when the action is ignored; the true moves: `true_spread`), "true_spread", "starts"}.
    Starts where the gripper is not seen in a frame count only where it is."""
    simulator = TabletopSimulator(task, num_objects=num_objects, size=size)
    questions, truths, firsts, starts = [], [], [], []
    for simulator_seed in simulator_seeds:
        frame, _ = simulator.reset(seed=simulator_seed)
        starts.append(frame)
        state = simulator.state()
        codes = tokenizer.encode_context(frame[None])[0].tolist()
        firsts.append(state["gripper"]["position"])
        for dx, dy in MOVES:
            simulator.set_state(state)
            simulator.step(np.array([dx, dy, 0.0, 0.0], dtype=np.float32))
            truths.append(simulator.state()["gripper"]["position"])
            action = np.array([[dx, dy, 0.0, 0.0]], dtype=np.float32)
            questions.append(codes + tokenizer.encode_actions(action)[0].tolist())
    k = tokenizer.tokens_per_future_frame
    config = SamplingConfig(max_new_tokens=k, temperature=0.0)
    samples = sample(
        model,
        questions,
        config,
        stop_ids=[],
        pad_id=tokenizer.pad_id,
        allowed_ids=tokenizer.visual_ids,
    )
    contexts = np.repeat(np.stack(starts), len(MOVES), axis=0)
    frames = tokenizer.decode_future(samples.response_ids[:, :k], contexts)
    frames = float_to_frames(frames).numpy()
    seen = [perceive(frame, num_objects).gripper for frame in frames]
    errors, static, spreads, true_spreads = [], [], [], []
    moves = len(MOVES)
    for start, first in enumerate(firsts):
        shown = seen[start * moves : (start + 1) * moves]
        true = truths[start * moves : (start + 1) * moves]
        static += [math.dist(first, t) for t in true]
        errors += [math.dist(s, t) for s, t in zip(shown, true) if s is not None]
        pairs = [(a, b) for i, a in enumerate(shown) for b in shown[i + 1 :]]
        if all(s is not None for s in shown):
            spreads.append(sum(math.dist(a, b) for a, b in pairs) / len(pairs))
        true_pairs = [(a, b) for i, a in enumerate(true) for b in true[i + 1 :]]
        true_spreads.append(sum(math.dist(a, b) for a, b in true_pairs) / len(true_pairs))

    def mean(values: list[float]) -> float | None:
        return sum(values) / len(values) if values else None

    return {
        "error": mean(errors),
        "static_error": mean(static),
        "spread": mean(spreads),
        "true_spread": mean(true_spreads),
        "starts": len(firsts),
    }


@dataclass
class _Row:
    task: str
    policy: FramePolicy
    seeds: tuple[int, int]
    frames: list[np.ndarray]
    actions: list[np.ndarray] = field(default_factory=list)
    done: bool = False
    stopped: bool = False

    def act(self, frame: np.ndarray) -> np.ndarray:
        action = np.asarray(self.policy(frame), dtype=np.float32)
        self.actions.append(action)
        if action[3] > 0.5:
            self.done = self.stopped = True
        return action


@torch.no_grad()
def imagine(
    model: torch.nn.Module,
    tokenizer,
    starts: Sequence[tuple[str, FramePolicy, tuple[int, int], np.ndarray]],
    max_steps: int = 24,
    chunk: int = 7,
    sampling: SamplingConfig | None = None,
    seed: int = 0,
    batch_size: int = 64,
    progress: Callable[[int], None] | None = None,
) -> list[Episode]:
    """Roll each (task, policy, seeds, real first frame) inside the world model.

    A policy object is used by one start only (each keeps its own memory). Starts are rolled
    `batch_size` at a time with one generator seeded by `seed` (temperature, top-k and top-p from
    `sampling`; default temperature 1, top-k 100 as the paper evaluates video). `progress` is
    called with the number of episodes finished after each batch."""
    sampling = sampling or SamplingConfig(temperature=1.0, top_k=100)
    generator = torch.Generator().manual_seed(seed)
    episodes = []
    for begin in range(0, len(starts), batch_size):
        rows = [
            _Row(task, policy, tuple(seeds), [np.asarray(first)])
            for task, policy, seeds, first in starts[begin : begin + batch_size]
        ]
        for row in rows:
            row.policy.reset(seed=row.seeds[1])
        _imagine_batch(model, tokenizer, rows, max_steps, chunk, sampling, generator)
        for row in rows:
            frames = np.stack(row.frames)
            detected = judge_success(row.task, frames)
            episodes.append(
                Episode(
                    task=row.task,
                    policy=row.policy.name,
                    seeds=row.seeds,
                    frames=frames,
                    actions=np.stack(row.actions),
                    success=detected,
                    detected=detected,
                    stopped=row.stopped,
                )
            )
        if progress is not None:
            progress(len(rows))
    return episodes


@torch.no_grad()
def decode_episode(
    tokenizer, frames: np.ndarray, chunk: int = 7, chained: bool = True
) -> np.ndarray:
    """uint8 [T, H, W, 3] real frames -> the frames `imagine` would show had the world model
    predicted every code of them right: the first frame as is, then chunks of `chunk` frames,
    each encoded and decoded given the frame before the chunk, which is the previous chunk's
    last decoded frame. What the success detector reads there bounds any world model's
    estimate through this tokenizer.

    chained=False gives each chunk the real frame before it instead: what is lost then is lost
    within a chunk (the frames drift from their context), and the rest of the chained bound's
    loss comes from decoding given decoded frames."""
    frames = np.asarray(frames)
    out, context = [frames[0]], frames[0]
    for begin in range(1, len(frames), chunk):
        part = frames[begin : begin + chunk]
        codes = tokenizer.encode_future(part, context)
        decoded = float_to_frames(tokenizer.decode_future(codes, context)).numpy()
        out.extend(decoded)
        context = decoded[-1] if chained else part[-1]
    return np.stack(out)


def _imagine_batch(model, tokenizer, rows, max_steps, chunk, sampling, generator) -> None:
    k = tokenizer.tokens_per_future_frame

    def decode(spans: torch.Tensor, contexts: list[np.ndarray]) -> np.ndarray:
        """[n, Kf] codes after the chunks' context frames -> uint8 [n, H, W, 3]."""
        return float_to_frames(tokenizer.decode_future(spans.cpu(), np.stack(contexts))).numpy()

    contexts = [row.frames[0] for row in rows]  # each row's chunk starts from this frame
    last = tokenizer.encode_context(np.stack(contexts)).tolist()  # [E, K (+ Kf)]
    pending = [row.act(row.frames[0]) for row in rows]
    steps = 0
    while steps < max_steps:
        running = [i for i, row in enumerate(rows) if not row.done]
        if not running:
            return
        spans = min(chunk, max_steps - steps)
        questions = [
            last[i] + tokenizer.encode_actions(pending[i][None])[0].tolist() for i in running
        ]

        def insert(step: int, active: torch.Tensor, span: torch.Tensor, running=running):
            indices = [running[local] for local in active.tolist()]
            frames = decode(span, [contexts[i] for i in indices])
            tokens, stop = [], []
            for j, i in enumerate(indices):
                rows[i].frames.append(frames[j])
                action = rows[i].act(frames[j])
                pending[i] = action
                tokens.append(tokenizer.encode_actions(action[None])[0])
                stop.append(rows[i].done)
            return torch.as_tensor(np.stack(tokens)), torch.as_tensor(stop)

        samples = rollout(
            model,
            questions,
            sampling,
            span_length=k,
            num_spans=spans,
            insert=insert,
            pad_id=tokenizer.pad_id,
            allowed_ids=tokenizer.visual_ids,
            generator=generator,
        )
        steps += spans
        # each row still running ends its response with the chunk's last span, and the next
        # chunk starts from that frame: its sampled tokens, or (future tokenizer) the decoded
        # frame's `encode_context` tokens
        ending = [(local, i) for local, i in enumerate(running) if not rows[i].done]
        if ending:
            lengths = [int(n) for n in samples.response_mask.sum(1).tolist()]
            tails = torch.stack(
                [
                    samples.response_ids[local, lengths[local] - k : lengths[local]]
                    for local, _ in ending
                ]
            )
            ending = [i for _, i in ending]
            frames = decode(tails, [contexts[i] for i in ending])
            if tokenizer.future is None:
                starts = tails.tolist()
            else:
                starts = tokenizer.encode_context(frames).tolist()
            for j, i in enumerate(ending):
                rows[i].frames.append(frames[j])
                contexts[i], last[i] = frames[j], starts[j]
                if steps < max_steps:
                    pending[i] = rows[i].act(frames[j])
                else:
                    rows[i].done = True
