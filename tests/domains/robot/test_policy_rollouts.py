"""RLVR on a policy's own rollouts: starts reached by the policy in the simulator, the policy
acting on the decoded frames inside the rollout, and rewards against the simulator's frames for
the actions the model was told."""

import numpy as np
import pytest
import torch

from rlvr_world.core.sampler import SamplingConfig
from rlvr_world.domains.robot import policy_rollouts
from rlvr_world.domains.robot.policy_rollouts import (
    PolicyRolloutTask,
    Start,
    policy_starts,
    rollout_starts,
)
from rlvr_world.domains.robot.sim import TabletopSimulator
from rlvr_world.domains.robot.task import RobotTask
from rlvr_world.video.autoencoder import float_to_frames

SIZE = 32  # as the conftest fixtures
SEEDS = [(11, 12), (13, 14)]


SHOWN = []
"""Every frame any `Scripted` copy was shown, in order."""


class Scripted:
    """Cycles through `actions` whatever it sees; terminates on call `stop_at` (0-based);
    records the frames it was shown (its own `seen`, and `SHOWN` across copies)."""

    name = "scripted"

    def __init__(self, actions, stop_at=None):
        self.actions = [np.asarray(a, dtype=np.float32) for a in actions]
        self.stop_at = stop_at
        self.seen = []

    def reset(self, seed=None):
        self.seen = []

    def __call__(self, frame):
        call = len(self.seen)
        self.seen.append(np.array(frame))
        SHOWN.append(np.array(frame))
        if call == self.stop_at:
            return np.array([0.0, 0.0, 0.0, 1.0], dtype=np.float32)
        return self.actions[call % len(self.actions)].copy()


ACTIONS = [[0.5, -0.5, 0.0, 0.0], [-1.0, 0.25, 1.0, 0.0], [0.0, 1.0, 0.0, 0.0]]


@pytest.fixture
def scripted(monkeypatch):
    """make_frame_policy -> a `Scripted` policy that stops on its 5th call."""
    monkeypatch.setattr(
        policy_rollouts, "make_frame_policy", lambda name, task, n: Scripted(ACTIONS, stop_at=4)
    )


def replay(start: Start, actions) -> list[np.ndarray]:
    """The simulator's frames after each action, from the start's state (independent of the
    task's own replay)."""
    simulator = TabletopSimulator(start.task, size=SIZE, max_steps=100)
    simulator.set_state(start.state)
    return [simulator.step(np.asarray(a, dtype=np.float32))[0] for a in actions]


def test_starts_are_where_the_policy_is_after_that_many_true_steps(scripted):
    starts = policy_starts("push", "expert", SEEDS, (0, 2, 4, 7), size=SIZE)
    # the policy terminates on its 5th call (step 4): no start there or later
    assert [(s.seeds, s.steps) for s in starts] == [
        (seeds, steps) for seeds in SEEDS for steps in (0, 2)
    ]
    first, later = starts[0], starts[1]
    # the step-2 start is the step-0 state after the policy's first two actions
    simulator = TabletopSimulator("push", size=SIZE, max_steps=100)
    simulator.set_state(first.state)
    for action in ACTIONS[:2]:
        frame, *_ = simulator.step(np.asarray(action, dtype=np.float32))
    np.testing.assert_array_equal(frame, later.frame)
    assert simulator.state()["gripper"] == later.state["gripper"]
    # each start holds the action the policy chose there and a copy of the policy after it
    np.testing.assert_array_equal(later.action, ACTIONS[2])
    assert len(later.memory.seen) == 3 and len(first.memory.seen) == 1


def test_rollout_starts_use_their_own_seeds_per_split(scripted):
    starts = rollout_starts(["push"], {"train": 2, "valid": 1}, (0,), seed=0, size=SIZE)
    assert len(starts["train"]) == 2 * 4 and len(starts["valid"]) == 4  # x 4 policies
    train = {s.seeds for s in starts["train"]}
    assert not train & {s.seeds for s in starts["valid"]}
    with pytest.raises(ValueError, match="unknown tasks"):
        rollout_starts(["juggle"], {"train": 1}, (0,), seed=0)


def make_task(tokenizer, rollout_frames=4, **kwargs):
    starts = rollout_starts(["push"], {"train": 2}, (0, 2), seed=0, size=SIZE)
    defaults = dict(lpips_net="alex", reward_lpips_net="alex")
    return PolicyRolloutTask(starts, tokenizer, rollout_frames, **{**defaults, **kwargs})


def test_examples_ask_for_the_frames_after_the_start_and_its_action(scripted, future_tokenizer):
    task = make_task(future_tokenizer)
    examples = task.examples("train")
    assert len(examples) == 2 * 4 * 2  # 2 episodes x 4 policies x 2 start steps
    example = examples[1]
    assert example.response_ids is None  # nothing to pre-train on: RLVR only
    start = example.reference
    context_ids = future_tokenizer.encode_context(task.context_frames_of(example)).tolist()[0]
    action_ids = future_tokenizer.encode_actions(np.asarray([ACTIONS[2]]))[0].tolist()
    assert example.question_ids == context_ids + action_ids
    # the reference's action is the bin value the model reads, not the policy's float
    np.testing.assert_allclose(start.action, future_tokenizer.decode_actions([action_ids])[0])
    assert example.context["steps"] == 2 and example.context["split"] == "push"


def rollouts(task, model, examples, group_size=2):
    samples = task.generate(
        model,
        examples,
        SamplingConfig(max_new_tokens=1, temperature=1.0),
        group_size=group_size,
        generator=torch.Generator().manual_seed(0),
    )
    rows = [e for e in examples for _ in range(group_size)]
    return samples, rows, [task.decode(r, e.context) for r, e in zip(samples.responses(), rows)]


def test_the_policy_acts_on_each_decoded_frame_inside_the_rollout(
    scripted, future_tokenizer, model
):
    task = make_task(future_tokenizer)
    step0, step2 = task.examples("train")[:2]  # their policies were called once and 3 times
    binned = future_tokenizer.decode_actions(future_tokenizer.encode_actions(np.asarray(ACTIONS)))
    SHOWN.clear()
    _, _, [prediction] = rollouts(task, model, [step0], group_size=1)
    # calls 1 and 2 on the first two decoded frames; the third frame ends the rollout
    assert prediction["generated"] == 3
    np.testing.assert_allclose(prediction["actions"], binned[1:3])
    decoded = float_to_frames(prediction["frames"]).numpy()
    np.testing.assert_array_equal(np.stack(SHOWN), decoded[:2])
    SHOWN.clear()
    _, _, [prediction] = rollouts(task, model, [step2], group_size=1)
    # call 3 is action 0, call 4 a terminate: the row ends after its second frame
    assert prediction["generated"] == 2 and len(SHOWN) == 2
    np.testing.assert_allclose(prediction["actions"][0], binned[0])
    assert prediction["actions"][1][3] > 0.5
    # every row acted with a copy: the starts' own policies were not called
    assert [len(task._memories["train", i].seen) for i in range(2)] == [1, 3]


def test_a_groups_rows_are_told_the_actions_chosen_on_its_first_rows_frames(
    scripted, future_tokenizer, model
):
    task = make_task(future_tokenizer)
    step0 = task.examples("train")[0]
    SHOWN.clear()
    _, rows, predictions = rollouts(task, model, [step0], group_size=3)
    leader = float_to_frames(predictions[0]["frames"]).numpy()
    np.testing.assert_array_equal(np.stack(SHOWN), leader[:2])  # one policy, one row's frames
    for prediction in predictions[1:]:
        np.testing.assert_array_equal(prediction["actions"], predictions[0]["actions"])
    assert any(not torch.equal(p["frames"], predictions[0]["frames"]) for p in predictions[1:])
    # so the group shares one future: its rewards differ by how each row drew it
    truths = task._truths(predictions, [r.reference for r in rows])
    assert truths[0] is truths[1] is truths[2]


def test_held_out_rollouts_are_told_the_policys_actions_on_the_true_frames(
    scripted, future_tokenizer, model
):
    # checkpoints are compared on futures that do not depend on what the model draws
    starts = rollout_starts(["push"], {"valid": 1}, (0, 2), seed=0, size=SIZE, horizon=2)
    task = PolicyRolloutTask(starts, future_tokenizer, 4, lpips_net="alex", reward_lpips_net="alex")
    step0, step2 = task.examples("valid")[:2]
    binned = future_tokenizer.decode_actions(future_tokenizer.encode_actions(np.asarray(ACTIONS)))
    SHOWN.clear()
    _, rows, predictions = rollouts(task, model, [step0, step2], group_size=2)
    assert not SHOWN  # no policy looked at a drawn frame
    for prediction in predictions[:2]:  # calls 1 and 2 of the true episode
        np.testing.assert_allclose(prediction["actions"], binned[1:3])
    for prediction in predictions[2:]:  # call 3, then the terminate of call 4
        assert prediction["generated"] == 2 and prediction["actions"][1][3] > 0.5
    # the truth is the true episode: the frames the policy saw after the start
    truth = task.true_frames(predictions[0], step0.reference)
    simulator_seed = int(step0.context["id"].split("/")[3])  # (Scripted ignores its seed)
    episode = policy_starts("push", "expert", [(simulator_seed, 0)], (1, 2), size=SIZE)
    true = np.stack([s.frame for s in episode]).astype(float)
    assert np.abs(truth[:2] - true).mean() < 0.5  # up to the actions' binning
    assert len(task._memories["valid", 0].seen) == 1
    with pytest.raises(ValueError, match="horizon must be rollout_frames - 2"):
        PolicyRolloutTask(starts, future_tokenizer, 6)  # 4 inserts, 2 actions known
    with pytest.raises(ValueError, match="mixes"):
        task.generate(model, [step0, make_task(future_tokenizer).examples("train")[0]], None)


def test_a_terminate_ends_the_row_and_the_world_stands_still(scripted, future_tokenizer, model):
    task = make_task(future_tokenizer)
    step2 = task.examples("train")[1]  # its policy terminates on its 2nd inserted action
    _, _, predictions = rollouts(task, model, [step2], group_size=1)
    prediction = predictions[0]
    assert prediction["generated"] == 2 and len(prediction["actions"]) == 2
    assert prediction["actions"][-1][3] > 0.5
    frames = prediction["frames"]
    assert frames.shape[0] == task.predicted_frames == 3
    torch.testing.assert_close(frames[2], frames[1])
    truth = task.true_frames(prediction, step2.reference)
    expected = replay(step2.reference, [step2.reference.action, prediction["actions"][0]])
    np.testing.assert_array_equal(truth, np.stack([*expected, expected[-1]]))


def test_rewards_and_scores_are_robot_tasks_against_the_simulated_truth(
    scripted, future_tokenizer, model
):
    task = make_task(future_tokenizer)
    examples = task.examples("train")[:3]
    _, rows, predictions = rollouts(task, model, examples)
    truths = []
    for row, prediction in zip(rows, predictions):
        start = row.reference
        told = [start.action, *prediction["actions"]][: prediction["generated"]]
        frames = replay(start, told)
        truths.append(np.stack(frames + [frames[-1]] * (3 - len(frames))))
    contexts = [r.context for r in rows]
    # an independent replay of the told actions, scored by the plain multi-step task
    plain = RobotTask({}, future_tokenizer, mode="multi", rollout_frames=4, lpips_net="alex")
    plain.episodes = task.episodes  # the shown frames the moved term reads
    expected = plain.reward()(predictions, truths, contexts)
    got = task.reward()(predictions, [r.reference for r in rows], contexts)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert len(set(np.round(got, 6))) > 1
    # score and training metrics read the same truth
    scores = task.score(predictions, rows)
    np.testing.assert_allclose([s["reward"] for s in scores], expected, rtol=1e-5)
    for s, prediction, truth in zip(task.train_metrics(predictions, rows), predictions, truths):
        error = prediction["frames"] - torch.as_tensor(truth).permute(0, 3, 1, 2) / 255.0
        assert s["mae"] == pytest.approx(float(error.abs().mean()), rel=1e-5)
    # a malformed prediction scores the minimum and never raises
    broken = task.reward()([None], [rows[0].reference], [rows[0].context])
    assert broken == [pytest.approx(-(1.0 + 2.0))]


def test_per_frame_credit_scores_each_frame_against_its_truth(scripted, future_tokenizer, model):
    task = make_task(future_tokenizer)
    examples = task.examples("train")[:2]
    _, rows, predictions = rollouts(task, model, examples)
    per_frame, weights = task.span_reward()(
        predictions, [r.reference for r in rows], [r.context for r in rows]
    )
    total = task.reward()(predictions, [r.reference for r in rows], [r.context for r in rows])
    np.testing.assert_allclose(np.asarray(per_frame) @ np.asarray(weights), total, rtol=1e-5)
