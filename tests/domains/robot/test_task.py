"""The robot task: example layouts (single / multi-step), generation, decoding, rewards."""

import math

import numpy as np
import pytest
import torch

from rlvr_world.core.grpo import GRPOLossConfig
from rlvr_world.core.model import ModelConfig, build_llama
from rlvr_world.core.sampler import SamplingConfig
from rlvr_world.domains.robot.perception import layout_error, perceive
from rlvr_world.domains.robot.task import RobotTask
from rlvr_world.train.config import RLVRConfig
from rlvr_world.train.rlvr import grpo_step
from rlvr_world.video import metrics
from rlvr_world.video.autoencoder import float_to_frames, frames_to_float

SIZE = 32  # as the conftest fixtures


def make_task(episodes, tokenizer, mode, **kwargs):
    defaults = dict(context_frames=2, rollout_frames=3, stride=3, lpips_net="alex")
    return RobotTask({"train": episodes}, tokenizer, mode=mode, **{**defaults, **kwargs})


def tiny_model(tokenizer):
    return build_llama(
        ModelConfig(hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64),
        tokenizer.vocab_size,
        tokenizer.pad_id,
        tokenizer.bos_id,
        tokenizer.eos_id,
    )


def test_token_layout(tokenizer):
    assert tokenizer.codebook_size == 15 and tokenizer.tokens_per_frame == 16
    assert tokenizer.action_offset == 15  # action bins right after the visual codes
    assert tokenizer.pad_id == 15 + 4 * 256 and tokenizer.eos_id == tokenizer.vocab_size - 1


def test_single_step_examples(episodes, tokenizer):
    task = make_task(episodes, tokenizer, "single")
    examples = task.examples("train")
    episode = episodes[0]
    frame_ids = tokenizer.encode_frames(episode["image"])
    action_ids = tokenizer.encode_actions(episode["action"])
    first = examples[0]
    # question = [f0 a0][f1 a1] BOS; response = f2; reference = the true frame 2
    expected = [*frame_ids[0], *action_ids[0], *frame_ids[1], *action_ids[1], tokenizer.bos_id]
    assert first.question_ids == [int(i) for i in expected]
    assert first.response_ids == [int(i) for i in frame_ids[2]]
    assert np.array_equal(first.reference, episode["image"][2:3])
    # windows every `stride` steps while the window fits in the episode
    windows = sum(len(range(0, len(e["image"]) - 3 + 1, 3)) for e in episodes)
    assert len(examples) == windows
    assert first.context["split"] == "push"


def test_multi_step_examples(episodes, tokenizer):
    task = make_task(episodes, tokenizer, "multi", rollout_frames=4)
    example = task.examples("train")[0]
    k, d = tokenizer.tokens_per_frame, tokenizer.action_tokens
    frame_ids = tokenizer.encode_frames(episodes[0]["image"])
    action_ids = tokenizer.encode_actions(episodes[0]["action"])
    assert example.question_ids == [int(i) for i in (*frame_ids[0], *action_ids[0])]
    # response = f1 [a1] f2 [a2] f3; the actions are given, not predicted: loss mask 0
    expected = [*frame_ids[1], *action_ids[1], *frame_ids[2], *action_ids[2], *frame_ids[3]]
    assert example.response_ids == [int(i) for i in expected]
    assert example.loss_mask == [1] * k + [0] * d + [1] * k + [0] * d + [1] * k
    assert example.context["actions"] == [action_ids[1].tolist(), action_ids[2].tolist()]
    assert np.array_equal(example.reference, episodes[0]["image"][1:4])
    # decoding the teacher-forced response recovers the frame tokens, actions dropped
    assert np.array_equal(task.frame_tokens(example.response_ids), frame_ids[1:4])


@pytest.mark.parametrize("mode", ["single", "multi"])
def test_generate_decode_score(episodes, tokenizer, mode):
    task = make_task(episodes, tokenizer, mode)
    torch.manual_seed(0)
    model = tiny_model(tokenizer).eval()
    examples = task.examples("train")[:2]
    samples = task.generate(
        model, examples, SamplingConfig(), group_size=3, generator=torch.Generator().manual_seed(0)
    )
    frames = task.predicted_frames
    k, d = tokenizer.tokens_per_frame, tokenizer.action_tokens
    assert samples.response_ids.shape == (6, frames * k + (frames - 1) * d)
    chosen = samples.response_ids[samples.loss_mask.bool()]
    assert int(chosen.max()) < tokenizer.codebook_size  # only visual codes are sampled
    predictions = [task.decode(r, e.context) for r, e in zip(samples.responses(), examples * 3)]
    assert predictions[0]["frames"].shape == (frames, 3, SIZE, SIZE)
    scores = task.score(predictions[:2], examples)
    assert set(scores[0]) == {
        *("mae", "mse", "psnr", "ssim", "lpips", "lpips_frames", "reward", "repetition")
    }
    # per predicted frame, in rollout order; their mean is the example's LPIPS
    for s in scores:
        assert len(s["lpips_frames"]) == frames
        assert np.mean(s["lpips_frames"]) == pytest.approx(s["lpips"], abs=1e-6)
    # the score's reward is the training reward (same weights, same aggregation)
    rewards = task.reward("mae_lpips")(predictions[:2], [e.reference for e in examples], [])
    assert rewards == pytest.approx([s["reward"] for s in scores], abs=1e-5)
    summary = task.summarize(scores, examples)
    assert summary["selection"] == pytest.approx(np.mean(rewards), abs=1e-5)
    assert summary["examples"] == 2 and set(summary["metrics"]) >= {"mae", "lpips", "ssim"}
    by_step = np.mean([s["lpips_frames"] for s in scores], axis=0)
    assert summary["lpips_by_step"] == pytest.approx(list(by_step), abs=1e-6)


def test_reward_perfect_malformed_and_order(episodes, tokenizer):
    task = make_task(episodes, tokenizer, "single")
    examples = task.examples("train")[:3]
    references = [e.reference for e in examples]
    truth = [{"frames": frames_to_float(r)} for r in references]
    mae_only = task.reward("mae")
    assert mae_only(truth, references, []) == pytest.approx([0.0, 0.0, 0.0], abs=1e-6)
    off = [{"frames": (f["frames"] + 0.25).clamp(0, 1)} for f in truth]
    bad = [None, {"frames": torch.full((1, 3, SIZE, SIZE), float("nan"))}, "text"]
    rewards = task.reward("mae_lpips")(
        [truth[0], off[1], *bad], [references[i] for i in (0, 1, 0, 1, 2)], []
    )
    assert rewards[0] > rewards[1] > rewards[2]  # perfect > off > malformed
    assert rewards[2] == rewards[3] == rewards[4] == pytest.approx(-3.0)  # the minimum
    with pytest.raises(KeyError, match="mae_lpips"):
        task.reward("exact")


@pytest.mark.parametrize("aggregate", ["mean", "discounted", "last"])
def test_span_reward_is_per_frame_and_aggregates_to_the_reward(episodes, tokenizer, aggregate):
    task = make_task(episodes, tokenizer, "multi", rollout_frames=4, reward_aggregate=aggregate)
    examples = task.examples("train")[:2]
    references = [e.reference for e in examples]
    truth = frames_to_float(references[0])  # [3, 3, H, W]
    off = truth.clone()
    off[1] = (off[1] + 0.25).clamp(0, 1)  # sample 1: only its second frame is off
    predictions = [{"frames": truth}, {"frames": off}, None]
    targets = [references[0], references[0], references[1]]
    per_frame, weights = task.span_reward("mae")(predictions, targets, [])
    assert len(weights) == 3 and sum(weights) == pytest.approx(1.0)
    mae = float((off[1] - truth[1]).abs().mean())
    assert per_frame[0] == pytest.approx([0.0, 0.0, 0.0], abs=1e-6)
    assert per_frame[1] == pytest.approx([0.0, -mae, 0.0], abs=1e-6)
    assert per_frame[2] == [-1.0] * 3  # malformed: every frame scores the minimum
    rewards = task.reward("mae")(predictions, targets, [])
    weighted = [sum(w * r for w, r in zip(weights, rows)) for rows in per_frame]
    assert weighted == pytest.approx(rewards, abs=1e-6)
    with pytest.raises(KeyError, match="mae_lpips"):
        task.span_reward("exact")


def test_objects_term_is_the_layout_error_weighted_and_aggregated(episodes, tokenizer):
    weights = {"mae": 1.0, "objects": 2.0}
    task = make_task(episodes, tokenizer, "multi", rollout_frames=4, reward_weights=weights)
    examples = task.examples("train")[:2]
    reference = examples[0].reference  # uint8 [3, H, W, 3]
    truth = frames_to_float(reference)
    moved = truth.clone()
    moved[2] = truth[2].roll(4, dims=2)  # the last frame: everything 4 pixels right
    predictions = [{"frames": truth}, {"frames": moved}, {"frames": truth[:1]}]
    targets = [reference, reference, examples[1].reference]
    per_frame, frame_w = task.span_reward("mae_lpips")(predictions, targets, [])
    error = layout_error(perceive(float_to_frames(moved[2:]).numpy()[0]), perceive(reference[2]))
    mae = float((moved[2] - truth[2]).abs().mean())
    assert error > 0
    assert per_frame[0] == pytest.approx([0.0] * 3, abs=1e-6)
    assert per_frame[1] == pytest.approx([0.0, 0.0, -mae - 2.0 * error], abs=1e-6)
    assert per_frame[2] == [-3.0] * 3  # malformed: MAE 1 and layout error 1 on every frame
    rewards = task.reward("mae_lpips")(predictions, targets, [])
    assert rewards == pytest.approx([sum(w * r for w, r in zip(frame_w, row)) for row in per_frame])
    assert task.reward("objects")(predictions, targets, []) == pytest.approx(
        [0.0, -error / 3, -1.0], abs=1e-6
    )
    tokens = task.frame_tokens(examples[0].response_ids)
    scored = task.score([{**p, "tokens": tokens} for p in predictions[:2]], examples[:1] * 2)
    assert [s["reward"] for s in scored] == pytest.approx(rewards[:2], abs=1e-6)
    logged = task.train_metrics(
        [{**p, "tokens": tokens} for p in predictions[:2]], examples[:1] * 2
    )
    assert [row["objects"] for row in logged] == pytest.approx([0.0, error / 3], abs=1e-6)


def test_moved_term_is_the_error_on_pixels_that_moved_against_the_shown_frame(episodes, tokenizer):
    weights = {"mae": 1.0, "moved": 2.0}
    task = make_task(episodes, tokenizer, "multi", rollout_frames=4, reward_weights=weights)
    examples = task.examples("train")[:2]
    reference = examples[0].reference  # uint8 [3, H, W, 3]
    truth = frames_to_float(reference)
    shown = frames_to_float(task.context_frames_of(examples[0])[-1:])[0]
    stalled = truth.clone()
    stalled[2] = truth[1]  # the last frame repeats the one before
    predictions = [{"frames": truth}, {"frames": stalled}, {"frames": truth[:1]}]
    targets = [reference, reference, examples[1].reference]
    contexts = [examples[0].context, examples[0].context, examples[1].context]
    per_frame, frame_w = task.span_reward("mae_lpips")(predictions, targets, contexts)
    error = stalled[2] - truth[2]
    mask = metrics.changed(truth[2], shown) | metrics.changed(stalled[2], shown)
    moved = float(error.abs().mean(0)[mask].mean())
    assert 0 < float(error.abs().mean()) < moved  # the error sits where things move
    assert per_frame[0] == pytest.approx([0.0] * 3, abs=1e-6)
    expected = -float(error.abs().mean()) - 2.0 * moved
    assert per_frame[1] == pytest.approx([0.0, 0.0, expected], abs=1e-6)
    assert per_frame[2] == [-3.0] * 3  # malformed: MAE 1 and moved 1 on every frame
    rewards = task.reward("mae_lpips")(predictions, targets, contexts)
    assert rewards == pytest.approx([sum(w * r for w, r in zip(frame_w, row)) for row in per_frame])
    assert task.reward("moved")(predictions, targets, contexts) == pytest.approx(
        [0.0, -moved / 3, -1.0], abs=1e-6
    )
    tokens = task.frame_tokens(examples[0].response_ids)
    shown_twice = [{**p, "tokens": tokens} for p in predictions[:2]]
    scored = task.score(shown_twice, examples[:1] * 2)
    assert [s["reward"] for s in scored] == pytest.approx(rewards[:2], abs=1e-6)
    logged = task.train_metrics(shown_twice, examples[:1] * 2)
    assert [row["moved"] for row in logged] == pytest.approx([0.0, moved / 3], abs=1e-6)
    with pytest.raises(ValueError, match="needs each sample's context"):
        task.reward("moved")(predictions, targets, [])


def test_train_metrics_are_cheap_terms_and_reward_net_is_separate(episodes, tokenizer):
    task = make_task(episodes, tokenizer, "multi", lpips_net="vgg", reward_lpips_net="alex")
    examples = task.examples("train")[:2]
    truth = [
        {"frames": frames_to_float(e.reference), "tokens": task.frame_tokens(e.response_ids)}
        for e in examples
    ]
    terms = task.train_metrics(truth, examples)
    assert [(t["mae"], t["mse"]) for t in terms] == [(0.0, 0.0)] * 2
    assert [t["lpips"] for t in terms] == pytest.approx([0.0, 0.0], abs=1e-6)
    assert all(t["repetition"] in (0.0, 1.0) for t in terms)
    assert all("objects" not in t for t in terms)  # logged only when the reward weighs it
    # the training reward uses the reward net; the score's metrics the evaluation net
    assert task.reward_lpips_net == "alex" and task.lpips_net == "vgg"
    rewards = task.reward("mae_lpips")(truth, [e.reference for e in examples], [])
    assert rewards == pytest.approx([0.0, 0.0], abs=1e-6)


def test_multi_step_examples_with_a_future_tokenizer(episodes, future_tokenizer):
    tok = future_tokenizer
    task = make_task(episodes, tok, "multi", rollout_frames=4, stride=2)
    k, kf, d = tok.tokens_per_frame, tok.tokens_per_future_frame, tok.action_tokens
    assert (k, kf, task.span_length) == (16, 4, 4)
    images = episodes[0]["image"]
    action_ids = tok.encode_actions(episodes[0]["action"])
    second = task.examples("train")[1]  # the window starting at step 2
    # the question shows the first frame's full tokens, then its future tokens given itself;
    # the later frames take Kf tokens each, encoded given that first frame
    own = tok.encode_future(images[2:3], images[2])[0]
    assert second.question_ids == [
        int(i) for i in (*tok.encode_frames(images[2:3])[0], *own, *action_ids[2])
    ]
    assert len(second.question_ids) == tok.tokens_per_context_frame + d == k + kf + d
    future = tok.encode_future(images[3:6], images[2])
    expected = [*future[0], *action_ids[3], *future[1], *action_ids[4], *future[2]]
    assert second.response_ids == [int(i) for i in expected]
    assert second.loss_mask == [1] * kf + [0] * d + [1] * kf + [0] * d + [1] * kf
    # decoding needs the example's first frame, and uses it
    decoded = task.decode(second.response_ids, second.context)
    assert np.array_equal(decoded["tokens"], future)
    want = tok.decode_future(future, images[2])
    assert torch.equal(decoded["frames"], want)
    assert not torch.equal(want, tok.decode_future(future, images[0]))
    with pytest.raises(ValueError, match="context"):
        task.decode(second.response_ids)


def test_generate_and_score_with_a_future_tokenizer(episodes, future_tokenizer):
    task = make_task(episodes, future_tokenizer, "multi", rollout_frames=3)
    config = ModelConfig(hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64)
    ids = (future_tokenizer.vocab_size, future_tokenizer.pad_id)
    model = build_llama(config, *ids, future_tokenizer.bos_id, future_tokenizer.eos_id).eval()
    examples = task.examples("train")[:2]
    samples = task.generate(model, examples, SamplingConfig(temperature=1.0, top_k=5))
    kf, d = future_tokenizer.tokens_per_future_frame, future_tokenizer.action_tokens
    assert samples.response_ids.shape[1] == 2 * kf + d
    predictions = [task.decode(r, e.context) for r, e in zip(samples.responses(), examples)]
    assert predictions[0]["frames"].shape == (2, 3, SIZE, SIZE)
    scores = task.score(predictions, examples)
    assert all(0.0 <= s["mae"] <= 1.0 and np.isfinite(s["reward"]) for s in scores)


def _step_with_credit(task, tokenizer, credit, seed=0):
    """The weights after one GRPO step from the same model, data and samples."""
    torch.manual_seed(0)
    model = tiny_model(tokenizer)
    cfg = RLVRConfig(
        questions_per_step=2,
        group_size=4,
        mini_batch_size=2,
        lr=1e-2,
        reward="mae",
        credit=credit,
        skip_zero_variance=False,
        loss=GRPOLossConfig(kl_coef=0.0, entropy_coef=0.0),
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr)
    reward_fn = {
        "reward-to-go": task.span_reward,
        "token": task.token_reward,
        "sequence": task.reward,
    }[credit]("mae")
    metrics = grpo_step(
        model,
        None,
        optimizer,
        task,
        reward_fn,
        task.examples("train")[:2],
        cfg,
        SamplingConfig(),
        torch.Generator().manual_seed(seed),
        "cpu",
    )
    return metrics, torch.cat([p.detach().flatten() for p in model.parameters()])


def test_reward_to_go_credit_with_one_span_is_sequence_credit(episodes, tokenizer):
    task = make_task(episodes, tokenizer, "single")
    seq_metrics, seq_weights = _step_with_credit(task, tokenizer, "sequence")
    rtg_metrics, rtg_weights = _step_with_credit(task, tokenizer, "reward-to-go")
    assert rtg_metrics["reward_mean"] == pytest.approx(seq_metrics["reward_mean"], rel=1e-5)
    torch.testing.assert_close(rtg_weights, seq_weights)


def test_reward_to_go_credit_updates_multi_step_spans_differently(episodes, tokenizer):
    task = make_task(episodes, tokenizer, "multi", rollout_frames=4)
    seq_metrics, seq_weights = _step_with_credit(task, tokenizer, "sequence")
    rtg_metrics, rtg_weights = _step_with_credit(task, tokenizer, "reward-to-go")
    # the same samples and rewards (the first span's return is the sequence reward) ...
    assert rtg_metrics["reward_mean"] == pytest.approx(seq_metrics["reward_mean"], rel=1e-5)
    assert rtg_metrics["reward_std"] == pytest.approx(seq_metrics["reward_std"], rel=1e-4)
    # ... but later spans are credited with their own reward-to-go: a different update
    assert torch.isfinite(rtg_weights).all()
    assert not torch.allclose(rtg_weights, seq_weights)


def test_token_credit_scores_each_code_on_its_cell(episodes, tokenizer):
    task = make_task(episodes, tokenizer, "multi", rollout_frames=3)
    examples = task.examples("train")[:2]
    references, contexts = [e.reference for e in examples], [e.context for e in examples]
    token_reward = task.token_reward("mae")

    def scored(shift: float):
        """Token rewards of the true codes' frames, the first sample's second frame moved
        off by `shift` in its top-left cell."""
        predictions = [task.decode(e.response_ids, e.context) for e in examples]
        cell = SIZE // math.isqrt(task.span_length)
        predictions[0]["frames"][1, :, :cell, :cell] += shift
        rewards, weights = token_reward(predictions, references, contexts)
        return predictions, torch.tensor(rewards), weights  # [N, F, K]

    _, before, _ = scored(0.0)
    predictions, after, weights = scored(0.3)
    assert after.shape == (2, 2, task.span_length) and weights == [0.5, 0.5]
    spans, _ = task.span_reward("mae")(predictions, references, contexts)
    torch.testing.assert_close(after.mean(2), torch.tensor(spans))  # cells partition frames
    difference = after - before
    assert float(difference[0, 1, 0]) < -0.05  # the moved cell loses, and no other
    others = torch.cat([difference[0, 0], difference[0, 1, 1:], difference[1].flatten()])
    assert torch.all(others == 0)
    for term in ("objects", "moved"):
        with pytest.raises(ValueError, match=f"{term} read whole frames"):
            task.token_reward(term)


def test_token_credit_matches_sequence_rewards_and_updates_codes_differently(episodes, tokenizer):
    task = make_task(episodes, tokenizer, "multi", rollout_frames=3)
    seq_metrics, seq_weights = _step_with_credit(task, tokenizer, "sequence")
    token_metrics, token_weights = _step_with_credit(task, tokenizer, "token")
    # the same samples; the mean of the first frame's token returns is the sequence reward
    assert token_metrics["reward_mean"] == pytest.approx(seq_metrics["reward_mean"], rel=1e-5)
    assert torch.isfinite(token_weights).all()
    assert not torch.allclose(token_weights, seq_weights)
