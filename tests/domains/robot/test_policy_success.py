"""The policy-in-the-loop driver: a policy's actions inserted after each imagined frame, chunks
continued from the last imagined frame, rollouts that stop on the policy's terminate."""

import numpy as np
import torch

from rlvr_world.core.sampler import SamplingConfig
from rlvr_world.domains.robot import policy_success
from rlvr_world.domains.robot.policy_success import imagine
from rlvr_world.video.autoencoder import float_to_frames


class Scripted:
    """Cycles through `actions`; says terminate on call number `stop_at` (0-based)."""

    name = "scripted"

    def __init__(self, actions, stop_at=None):
        self.actions = [np.asarray(a, dtype=np.float32) for a in actions]
        self.stop_at = stop_at
        self.reset()

    def reset(self, seed=None):
        self.seen, self.chosen = [], []

    def __call__(self, frame):
        call = len(self.seen)
        self.seen.append(np.array(frame))
        action = self.actions[call % len(self.actions)].copy()
        if call == self.stop_at:
            action = np.array([0.0, 0.0, action[2], 1.0], dtype=np.float32)
        self.chosen.append(action)
        return action


ACTIONS = [[0.5, -0.5, 0.0, 0.0], [-1.0, 0.25, 1.0, 0.0], [0.0, 1.0, 0.0, 0.0]]


def _spy(monkeypatch):
    calls = []
    real = policy_success.rollout

    def spy(model, questions, config, **kwargs):
        samples = real(model, questions, config, **kwargs)
        calls.append((questions, kwargs["num_spans"], samples))
        return samples

    monkeypatch.setattr(policy_success, "rollout", spy)
    return calls


def _one_by_one(decode, spans) -> np.ndarray:
    """uint8 frames of `spans` decoded one at a time, as imagination decodes them: a batch of
    two can differ in the last bit of a convolution on some CPUs, so by one in a pixel."""
    return np.concatenate([float_to_frames(decode(torch.tensor([s]))).numpy() for s in spans])


def test_actions_are_inserted_after_each_imagined_frame(model, tokenizer, episodes, monkeypatch):
    calls = _spy(monkeypatch)
    policy = Scripted(ACTIONS)
    first = episodes[0]["image"][0]
    (episode,) = imagine(model, tokenizer, [("push", policy, (1, 2), first)], max_steps=5, chunk=2)
    k, d = tokenizer.tokens_per_frame, tokenizer.action_tokens
    # 5 imagined frames after the real one; an action on each frame but the last (step limit)
    assert len(episode.frames) == 6 and len(episode.actions) == 5 and not episode.stopped
    assert np.array_equal(episode.frames[0], first)
    assert [n for _, n, _ in calls] == [2, 2, 1]  # chunks of rollout_frames - 1 spans
    actions = lambda i: tokenizer.encode_actions(policy.chosen[i][None])[0].tolist()  # noqa: E731
    # chunk 1: question = real first frame + the policy's action on it
    questions, _, samples = calls[0]
    assert questions[0] == tokenizer.encode_frames(first[None])[0].tolist() + actions(0)
    response = samples.response_ids[0].tolist()
    span0, inserted, span1 = response[:k], response[k : k + d], response[k + d : 2 * k + d]
    assert inserted == actions(1)  # the action the policy took on the imagined frame 1
    assert samples.trainable_mask[0, k : k + d].sum() == 0  # inserted, not sampled
    decoded = _one_by_one(tokenizer.decode_frames, [span0, span1])
    assert np.array_equal(policy.seen[1], decoded[0]) and np.array_equal(policy.seen[2], decoded[1])
    assert np.array_equal(episode.frames[1], decoded[0])
    # chunk 2 starts from chunk 1's last imagined frame and the action on it
    assert calls[1][0][0] == span1 + actions(2)
    assert all(0 <= t < tokenizer.codebook_size for t in span0 + span1)


def test_rollout_stops_on_the_policy_terminate(model, tokenizer, episodes):
    stopper, runner = Scripted(ACTIONS, stop_at=2), Scripted(ACTIONS)
    at_once = Scripted(ACTIONS, stop_at=0)
    first = episodes[0]["image"][0]
    starts = [
        ("push", stopper, (1, 1), first),
        ("push", runner, (2, 2), first),
        ("push", at_once, (3, 3), first),
    ]
    stopped, ran, never = imagine(model, tokenizer, starts, max_steps=6, chunk=4)
    # terminate on its third frame (index 2): frames 0..2, three actions, the last a terminate
    assert stopped.stopped and len(stopped.frames) == 3 and len(stopped.actions) == 3
    assert stopped.actions[-1][3] == 1.0 and len(stopper.seen) == 3
    assert not ran.stopped and len(ran.frames) == 7 and len(runner.seen) == 6
    assert never.stopped and len(never.frames) == 1 and len(at_once.seen) == 1


def test_imagination_is_reproducible_under_a_seed(model, tokenizer, episodes):
    first = episodes[1]["image"][0]

    def run(seed):
        starts = [("push", Scripted(ACTIONS), (1, 1), first)]
        sampling = SamplingConfig(temperature=1.0, top_k=5)
        return imagine(model, tokenizer, starts, max_steps=3, chunk=2, sampling=sampling, seed=seed)

    a, b, c = run(0)[0], run(0)[0], run(1)[0]
    assert np.array_equal(a.frames, b.frames)
    assert not np.array_equal(a.frames, c.frames)


def test_action_probe_measures_against_the_true_moves(model, tokenizer):
    from rlvr_world.domains.robot.policy_success import action_probe

    probe = action_probe(model, tokenizer, "push", [0, 1, 2], size=32)
    assert probe["starts"] == 3
    # a full-speed move takes the grasp point 0.05 away unless an edge or object stops it;
    # the four true moves are 0.1 (opposite) or 0.0707 (adjacent) apart
    assert 0.03 <= probe["static_error"] <= 0.05 + 1e-9
    assert 0.05 <= probe["true_spread"] <= (2 * 0.1 + 4 * 0.05 * 2**0.5) / 6 + 1e-9
    for key in ("error", "spread"):
        assert probe[key] is None or probe[key] >= 0.0


def test_future_tokenizer_chunks_start_from_the_decoded_frame(
    model, future_tokenizer, episodes, monkeypatch
):
    tok = future_tokenizer
    calls = _spy(monkeypatch)
    policy = Scripted(ACTIONS)
    first = episodes[0]["image"][0]
    (episode,) = imagine(model, tok, [("push", policy, (1, 2), first)], max_steps=4, chunk=2)
    kf, d = tok.tokens_per_future_frame, tok.action_tokens
    assert len(episode.frames) == 5 and [n for _, n, _ in calls] == [2, 2]
    actions = lambda i: tok.encode_actions(policy.chosen[i][None])[0].tolist()  # noqa: E731
    questions, _, samples = calls[0]
    own = tok.encode_future(first[None], first)[0].tolist()
    assert questions[0] == tok.encode_frames(first[None])[0].tolist() + own + actions(0)
    response = samples.response_ids[0].tolist()
    spans = [response[:kf], response[kf + d : 2 * kf + d]]
    # frames after the chunk's first are decoded given it, and the policy sees them
    decoded = _one_by_one(lambda ids: tok.decode_future(ids, first), spans)
    assert np.array_equal(policy.seen[1], decoded[0]) and np.array_equal(policy.seen[2], decoded[1])
    assert np.array_equal(episode.frames[1:3], decoded)
    # chunk 2 starts from chunk 1's last decoded frame, shown as every question shows its
    # context frame, and decodes its frames given that frame
    assert calls[1][0][0] == tok.encode_context(decoded[1:2])[0].tolist() + actions(2)
    assert len(calls[1][0][0]) == tok.tokens_per_frame + kf + d
    second = calls[1][2].response_ids[0].tolist()
    span = torch.tensor([second[:kf]])
    assert np.array_equal(
        episode.frames[3], float_to_frames(tok.decode_future(span, decoded[1])).numpy()[0]
    )


def test_action_probe_with_a_future_tokenizer(model, future_tokenizer):
    from rlvr_world.domains.robot.policy_success import action_probe

    probe = action_probe(model, future_tokenizer, "push", [0, 1], size=32)
    assert probe["starts"] == 2 and 0.03 <= probe["static_error"] <= 0.05 + 1e-9


def test_decode_episode_round_trips_chunks_as_imagination_does(future_tokenizer, episodes):
    from rlvr_world.domains.robot.policy_success import decode_episode

    tok = future_tokenizer
    frames = episodes[0]["image"][:6]
    out = decode_episode(tok, frames, chunk=2)
    assert out.shape == frames.shape and out.dtype == np.uint8
    assert np.array_equal(out[0], frames[0])  # the real first frame, as imagination starts

    def round_trip(part, context):
        codes = tok.encode_future(part, context)
        return float_to_frames(tok.decode_future(codes, context)).numpy()

    # chunk 1 given the real first frame, chunk 2 given chunk 1's last decoded frame, ...
    assert np.array_equal(out[1:3], round_trip(frames[1:3], frames[0]))
    assert np.array_equal(out[3:5], round_trip(frames[3:5], out[2]))
    assert np.array_equal(out[5:], round_trip(frames[5:], out[4]))

    # unchained: every chunk given the real frame before it
    real = decode_episode(tok, frames, chunk=2, chained=False)
    assert np.array_equal(real[:3], out[:3])
    assert np.array_equal(real[3:5], round_trip(frames[3:5], frames[2]))
    assert np.array_equal(real[5:], round_trip(frames[5:], frames[4]))
