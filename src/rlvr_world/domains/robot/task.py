"""The robot video-prediction task: episodes -> token examples -> frames scored on pixels.

Two setups (SPEC §5), for frame tokens f (K ids each) and action tokens a (D ids each):

- single-step: question = [f_1 a_1][f_2 a_2][f_3 a_3][f_4 a_4] BOS, response = f_5;
- multi-step:  question = [c_1 a_1], response = f_2 [a_2] f_3 [a_3] ... f_R, generated span by
  span with the true actions inserted (`core.rollout`); action tokens carry no loss. With a
  future-frame tokenizer (SPEC §5's compressive tokenizer) f_2 ... f_R take its Kf tokens each,
  encoded given f_1, and are decoded given the true f_1; c_1 = `VideoTokenizer.encode_context`
  (f_1's K frame codes, then its Kf future codes given itself; just f_1 without one).

Predictions are decoded frames; references are the *true* frames (not their reconstructions),
so the tokenizer's own error counts against every model alike.

Legend: F predicted frames of an example, K tokens a frame (Kf a predicted multi-step frame), D
action dimensions, R rollout.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from rlvr_world.core.protocols import Example
from rlvr_world.core.rollout import inserts_from_lists, rollout
from rlvr_world.core.sampler import Samples, SamplingConfig, sample
from rlvr_world.domains.robot.perception import layout_error, perceive
from rlvr_world.video.autoencoder import float_to_frames, frames_to_float
from rlvr_world.video.metrics import frame_metrics, lpips, moved_mae
from rlvr_world.video.rewards import (
    WORST,
    FrameRewards,
    aggregate_terms,
    cell_rewards,
    frame_reward,
    frame_weights,
    minimum_reward,
    repetition,
    reward_from_terms,
    usable,
)

METRICS = ("mae", "mse", "psnr", "ssim", "lpips")
FRAME_TERMS = ("objects", "moved")
"""Reward terms scored here, 1 at worst: `objects`, the layout error read on pixels
(`perception.layout_error`), and `moved`, the MAE over the pixels that move
(`video.metrics.moved_mae`: against the last frame the question shows)."""
REWARD_TERMS = (*WORST, *FRAME_TERMS)
"""Reward terms (`reward_weights`): `video.rewards`' pixel terms and `FRAME_TERMS`."""


def _pixel_terms(weights: Mapping[str, float]) -> dict[str, float]:
    """The weights of `video.rewards`' terms (all but `FRAME_TERMS`)."""
    return {k: w for k, w in weights.items() if k not in FRAME_TERMS}


class RobotTask:
    """`core.protocols.Task` for next-frame(s) prediction on robot episodes.

    episodes: split -> list of {"image": uint8 [T, H, W, 3], "action": float [T, D], ...}.
    Examples carry reference = true frames uint8 [F, H, W, 3] and context = {"id", "split"
    (the robot task name), "actions"} (multi-step: the inserted action tokens).
    """

    name = "robot"

    def __init__(
        self,
        episodes: Mapping[str, Sequence[Mapping[str, Any]]],
        tokenizer,
        mode: str = "single",
        context_frames: int = 4,
        rollout_frames: int = 8,
        stride: int = 2,
        reward_weights: Mapping[str, float] | None = None,
        reward_aggregate: str = "mean",
        lpips_net: str = "vgg",
        reward_lpips_net: str | None = None,
    ) -> None:
        if mode not in ("single", "multi"):
            raise ValueError(f"mode must be 'single' or 'multi', got {mode!r}")
        self.tokenizer = tokenizer
        self.mode = mode
        self.context_frames = context_frames
        self.rollout_frames = rollout_frames
        self.stride = stride
        self.reward_weights = dict(reward_weights or {"mae": 1.0, "lpips": 1.0})
        self.reward_aggregate = reward_aggregate
        self.lpips_net = lpips_net  # evaluation metrics
        self.reward_lpips_net = reward_lpips_net or lpips_net  # the training reward
        self.episodes = {split: list(items) for split, items in episodes.items()}
        self._examples = {split: self.encode(items, split) for split, items in episodes.items()}

    # ----------------------------------------------------------------- examples
    @property
    def predicted_frames(self) -> int:
        return 1 if self.mode == "single" else self.rollout_frames - 1

    @property
    def span_length(self) -> int:
        """Tokens of a predicted frame: K (single-step), Kf (multi-step)."""
        tok = self.tokenizer
        return tok.tokens_per_frame if self.mode == "single" else tok.tokens_per_future_frame

    def encode(self, episodes: Sequence[Mapping[str, Any]], split: str = "") -> list[Example]:
        tok = self.tokenizer
        window = self.context_frames + 1 if self.mode == "single" else self.rollout_frames
        examples = []
        for number, episode in enumerate(episodes):
            frames = np.asarray(episode["image"])
            frame_ids = tok.encode_frames(frames).tolist()  # [T, K]
            action_ids = tok.encode_actions(np.asarray(episode["action"])).tolist()  # [T, D]
            starts = range(0, len(frames) - window + 1, self.stride)
            if self.mode == "multi":
                context_ids, future_ids = self._multi_ids(frames, frame_ids, starts)
            for start in starts:
                context = {
                    "id": f"{split}/{number}/{start}",
                    "split": str(episode.get("task", "robot")),
                    "episode": [split, number],
                    "start": start,
                }
                if self.mode == "single":
                    target = start + self.context_frames
                    question = [
                        i for t in range(start, target) for i in frame_ids[t] + action_ids[t]
                    ]
                    examples.append(
                        Example(
                            question_ids=question + [tok.bos_id],
                            reference=frames[target : target + 1],
                            context=context,
                            response_ids=frame_ids[target],
                        )
                    )
                    continue
                last = start + self.rollout_frames
                inserts = action_ids[start + 1 : last - 1]  # the true actions between frames
                future = future_ids[start]  # [R - 1, Kf]
                response, mask = list(future[0]), [1] * self.span_length
                for t in range(1, self.rollout_frames - 1):
                    response += inserts[t - 1] + future[t]
                    mask += [0] * tok.action_tokens + [1] * self.span_length
                examples.append(
                    Example(
                        question_ids=context_ids[start] + action_ids[start],
                        reference=frames[start + 1 : last],
                        context={**context, "actions": inserts},
                        response_ids=response,
                        loss_mask=mask,
                    )
                )
        return examples

    def _multi_ids(self, frames: np.ndarray, frame_ids: list, starts: range) -> tuple[dict, dict]:
        """start -> the question's ids of the window's first frame (`encode_context`), and
        start -> the ids of frames start+1 .. start+R-1 ([R - 1, Kf] lists): the frame
        tokenizer's, or the future tokenizer's given the window's first frame."""
        r = self.rollout_frames
        context = dict(zip(starts, self.tokenizer.encode_context(frames[list(starts)]).tolist()))
        if self.tokenizer.future is None:
            return context, {s: frame_ids[s + 1 : s + r] for s in starts}
        targets = [t for s in starts for t in range(s + 1, s + r)]
        contexts = [s for s in starts for _ in range(1, r)]
        ids = self.tokenizer.encode_future(frames[targets], frames[contexts]).tolist()
        return context, {s: ids[i * (r - 1) : (i + 1) * (r - 1)] for i, s in enumerate(starts)}

    def examples(self, split: str) -> list[Example]:
        if split not in self._examples:
            raise KeyError(f"unknown split {split!r}; known: {', '.join(self._examples)}")
        return self._examples[split]

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
        """Exactly one frame's tokens per predicted frame, sampled among the visual codes
        (`config.max_new_tokens` does not apply: the layout fixes the length)."""
        tok = self.tokenizer
        questions = [e.question_ids for e in examples]
        if self.mode == "single":
            fixed = SamplingConfig(
                max_new_tokens=tok.tokens_per_frame,
                temperature=config.temperature,
                top_k=config.top_k,
                top_p=config.top_p,
            )
            return sample(
                model,
                questions,
                fixed,
                group_size=group_size,
                stop_ids=[],
                pad_id=tok.pad_id,
                allowed_ids=tok.visual_ids,
                generator=generator,
                batch_rows=batch_rows,
            )
        inserts = inserts_from_lists([e.context["actions"] for e in examples], group_size)
        return self._rollout(model, examples, config, inserts, group_size, generator, batch_rows)

    def _rollout(
        self, model, examples, config, insert, group_size, generator, batch_rows
    ) -> Samples:
        """The multi-step layout: R - 1 frames' spans of visual codes, `insert`'s actions
        between them (`core.rollout`)."""
        return rollout(
            model,
            [e.question_ids for e in examples],
            config,
            span_length=self.span_length,
            num_spans=self.predicted_frames,
            insert=insert,
            pad_id=self.tokenizer.pad_id,
            group_size=group_size,
            allowed_ids=self.tokenizer.visual_ids,
            generator=generator,
            batch_rows=batch_rows,
        )

    # ----------------------------------------------------------------- reading and scoring
    def frame_tokens(self, response_ids: Sequence[int]) -> np.ndarray:
        """Response ids -> [F, K] frame tokens (inserted actions dropped; a short response is
        padded with code 0, so decoding never fails)."""
        tok = self.tokenizer
        k = self.span_length
        stride = k + tok.action_tokens
        ids = list(response_ids)
        rows = []
        for f in range(self.predicted_frames):
            span = ids[f * stride : f * stride + k]
            rows.append(span + [0] * (k - len(span)))
        return np.asarray(rows, dtype=np.int64)

    def decode(self, response_ids: Sequence[int], context: Mapping[str, Any] | None = None) -> dict:
        """-> {"frames": float [F, 3, H, W] in [0, 1], "tokens": int64 [F, K]}. Multi-step
        frames of a future tokenizer are decoded given the example's first frame (`context`:
        the example's context)."""
        tokens = self.frame_tokens(response_ids)
        if self.mode == "multi" and self.tokenizer.future is not None:
            if context is None or "episode" not in context:
                raise ValueError("decoding future-frame tokens needs the example's context")
            first = np.asarray(self._images(context)[context["start"]])
            return {"frames": self.tokenizer.decode_future(tokens, first), "tokens": tokens}
        return {"frames": self.tokenizer.decode_frames(tokens), "tokens": tokens}

    def _images(self, context: Mapping[str, Any]):
        """The frames of the episode an example was cut from."""
        split, number = context["episode"]
        return self.episodes[split][number]["image"]

    def describe(self, prediction: Mapping[str, Any]) -> dict:
        """A prediction as plain data (for `samples.jsonl`): its frame tokens."""
        return {"tokens": np.asarray(prediction["tokens"]).tolist()}

    def context_frames_of(self, example: Example) -> np.ndarray:
        """The true frames the question shows: uint8 [C, H, W, 3]."""
        return self._shown(example.context)

    def _shown(self, context: Mapping[str, Any]) -> np.ndarray:
        """The true frames the question of an example with this context shows."""
        start = context["start"]
        count = self.context_frames if self.mode == "single" else 1
        return np.asarray(self._images(context)[start : start + count])

    def save_predictions(self, predictions, examples, path) -> None:
        """Frames for the report: `context` uint8 [N, C, H, W, 3], `target` and `prediction`
        uint8 [N, F, H, W, 3], `ids` [N]."""
        if not predictions:
            return
        np.savez_compressed(
            path,
            context=np.stack([self.context_frames_of(e) for e in examples]),
            target=np.stack([np.asarray(e.reference) for e in examples]),
            prediction=np.stack([float_to_frames(p["frames"]).numpy() for p in predictions]),
            ids=np.asarray([str(e.context["id"]) for e in examples]),
        )

    def _targets(self, examples: Sequence[Example]) -> torch.Tensor:
        return torch.stack([frames_to_float(e.reference) for e in examples])  # [B, F, 3, H, W]

    def _reward_weights(self, name: str) -> dict[str, float]:
        if name != "mae_lpips" and name not in REWARD_TERMS:
            known = ", ".join(("mae_lpips", *REWARD_TERMS))
            raise KeyError(f"unknown reward {name!r}; known: {known}")
        return self.reward_weights if name == "mae_lpips" else {name: 1.0}

    def _frame_reward(self, predictions, references, contexts, weights) -> FrameRewards:
        """`video.rewards.frame_reward` on the pixel terms, plus this domain's `FRAME_TERMS`
        of each predicted frame (1 for a malformed prediction), weighted and aggregated over
        frames like the others."""
        pred = [p.get("frames") if isinstance(p, Mapping) else None for p in predictions]
        target = torch.stack([frames_to_float(r) for r in references])
        pixel = _pixel_terms(weights)
        result = frame_reward(
            pred,
            target,
            weights=pixel or {"mae": 0.0},  # frame terms only: a zero-weight pixel term
            aggregate=self.reward_aggregate,
            lpips_net=self.reward_lpips_net,
        )
        rewards, terms, per_frame = result.rewards, dict(result.terms), result.per_frame
        for name in FRAME_TERMS:
            if name not in weights:
                continue
            if name == "objects":
                errors = self._layout_errors(pred, references, target.shape[1:])  # [B, F]
            else:
                errors = self._moved_errors(pred, target, contexts)
            aggregated = errors @ frame_weights(errors.shape[1], self.reward_aggregate)
            rewards = rewards - weights[name] * aggregated
            per_frame = per_frame - weights[name] * errors
            terms[name] = float(aggregated.mean()) if len(aggregated) else 0.0
        return FrameRewards(rewards=rewards, terms=terms, per_frame=per_frame)

    def _moved_errors(self, pred, target: torch.Tensor, contexts) -> torch.Tensor:
        """[B, F] float32: `video.metrics.moved_mae` of each predicted frame against its true
        frame and the last frame its question shows; 1 (the worst) for every frame of a
        prediction that is not a finite [F, 3, H, W] tensor."""
        rows = []
        for frames, truth, context in zip(pred, target, contexts):
            if not usable(frames, truth.shape):
                rows.append(torch.ones(truth.shape[0]))
                continue
            shown = frames_to_float(self._shown(context)[-1:])[0]
            rows.append(moved_mae(frames.detach().cpu().float(), truth, shown))
        return torch.stack(rows) if rows else torch.zeros(0, target.shape[1])

    @staticmethod
    def _check_contexts(weights: Mapping[str, float], predictions, contexts) -> None:
        """The moved term reads each sample's context: a caller that passes none is a bug
        (raised, not scored as malformed output)."""
        if "moved" in weights and len(contexts) != len(predictions):
            raise ValueError(
                f"the moved reward term needs each sample's context: {len(contexts)} contexts "
                f"for {len(predictions)} samples"
            )

    @staticmethod
    def _layout_errors(pred, references, shape) -> torch.Tensor:
        """[B, F] float32: `layout_error` of each predicted frame against its true frame; 1
        (the worst) for every frame of a prediction that is not a finite [F, 3, H, W] tensor."""
        known: dict[int, list] = {}  # the G samples of a group share their reference
        rows = []
        for frames, reference in zip(pred, references):
            if id(reference) not in known:
                known[id(reference)] = [perceive(f) for f in np.asarray(reference)]
            true = known[id(reference)]
            if not usable(frames, shape):
                rows.append([1.0] * len(true))
                continue
            seen = [perceive(f) for f in float_to_frames(frames.detach().cpu()).numpy()]
            rows.append([layout_error(p, t) for p, t in zip(seen, true)])
        return torch.tensor(rows, dtype=torch.float32).reshape(len(rows), shape[0])

    def _minimum(self, weights: Mapping[str, float]) -> float:
        return minimum_reward(_pixel_terms(weights)) - sum(
            weights.get(name, 0.0) for name in FRAME_TERMS
        )

    def reward(self, name: str = "mae_lpips"):
        """`mae_lpips` (SPEC §5: -(MAE + LPIPS) with this task's weights and aggregation), or
        a single term: `mae`, `mse`, `lpips`, `objects` (the layout error read on pixels,
        `perception.layout_error`: simulated tabletop frames only), `moved` (the MAE over the
        pixels that move, `video.metrics.moved_mae`)."""
        weights = self._reward_weights(name)
        floor = self._minimum(weights)

        def reward_fn(predictions, references, contexts) -> list[float]:
            self._check_contexts(weights, predictions, contexts)
            try:
                result = self._frame_reward(predictions, references, contexts, weights)
                return [float(r) for r in result.rewards]
            except (ValueError, RuntimeError, TypeError):  # a malformed batch: every sample loses
                return [floor] * len(predictions)

        return reward_fn

    def span_reward(self, name: str = "mae_lpips"):
        """The reward of each predicted frame, for per-span credit (`rlvr.credit`):
        `(predictions, references, contexts) -> (rewards [N][F], weights [F])`, where the
        weights are the task's frame aggregation (`video.rewards.frame_weights`), so that
        sum_f w_f r_f is `reward(name)`'s value."""
        weights = self._reward_weights(name)
        floor = self._minimum(weights)
        frame_w = frame_weights(self.predicted_frames, self.reward_aggregate).tolist()

        def span_reward_fn(predictions, references, contexts):
            self._check_contexts(weights, predictions, contexts)
            try:
                per_frame = self._frame_reward(predictions, references, contexts, weights).per_frame
                return per_frame.tolist(), frame_w
            except (ValueError, RuntimeError, TypeError):  # a malformed batch: every frame loses
                return [[floor] * len(frame_w) for _ in predictions], frame_w

        return span_reward_fn

    def token_reward(self, name: str = "mae_lpips"):
        """The reward of each visual code, for per-token credit (`rlvr.credit=token`):
        `(predictions, references, contexts) -> (rewards [N][F][K], weights [F])`. A frame's K
        codes cover a sqrt(K) x sqrt(K) grid of its cells in raster order (the autoencoders'
        latent grid), and code p is scored on cell p (`video.rewards.cell_rewards`); weights
        as `span_reward`'s. `FRAME_TERMS` are read off whole frames and have no cells."""
        weights = self._reward_weights(name)
        whole = [term for term in FRAME_TERMS if term in weights]
        if whole:
            raise ValueError(
                f"rlvr.credit=token scores each code's cell of the frame; {', '.join(whole)} "
                "read whole frames (drop them from video.reward_weights or use another credit)"
            )
        floor = self._minimum(weights)
        k = self.span_length
        grid = math.isqrt(k)
        frame_w = frame_weights(self.predicted_frames, self.reward_aggregate).tolist()

        def token_reward_fn(predictions, references, contexts):
            pred = [p.get("frames") if isinstance(p, Mapping) else None for p in predictions]
            try:
                target = torch.stack([frames_to_float(r) for r in references])
                cells = cell_rewards(pred, target, grid, weights, self.reward_lpips_net)
                return cells.flatten(2).tolist(), frame_w
            except (ValueError, RuntimeError, TypeError):  # a malformed batch: every cell loses
                return [[[floor] * k for _ in frame_w] for _ in predictions], frame_w

        return token_reward_fn

    def score(self, predictions: Sequence[dict], examples: Sequence[Example]) -> list[dict]:
        """Per example: each metric averaged over its predicted frames (LPIPS with `lpips_net`),
        `lpips_frames` (LPIPS of each predicted frame, in rollout order), the training reward,
        and whether its last two frames repeat (multi-step)."""
        if not predictions:
            return []
        frames = torch.stack([p["frames"] for p in predictions])  # [B, F, 3, H, W]
        targets = self._targets(examples)
        b, f = frames.shape[:2]
        values = frame_metrics(
            frames.flatten(0, 1), targets.flatten(0, 1), lpips_net=self.lpips_net
        )  # name -> [B*F]
        per_example = {k: v.view(b, f).mean(1) for k, v in values.items()}
        if self.reward_lpips_net == self.lpips_net and set(self.reward_weights) <= set(values):
            # the training reward from the same per-frame values (no second LPIPS pass)
            per_frame = {term: values[term].view(b, f) for term in self.reward_weights}
            terms = aggregate_terms(per_frame, self.reward_aggregate)
            rewards = reward_from_terms(terms, self.reward_weights)
        else:
            rewards = self.reward("mae_lpips")(
                predictions, [e.reference for e in examples], [e.context for e in examples]
            )
        repeats = repetition(np.stack([p["tokens"] for p in predictions])).repeats
        return [
            {
                **{k: float(per_example[k][i]) for k in METRICS},
                "lpips_frames": [float(v) for v in values["lpips"].view(b, f)[i]],
                "reward": float(rewards[i]),
                "repetition": float(repeats[i]),
            }
            for i in range(b)
        ]

    def train_metrics(self, predictions: Sequence[dict], examples: Sequence[Example]) -> list[dict]:
        """Per-sample terms for RL logging, without the evaluation's (VGG) LPIPS: MAE, MSE and
        LPIPS on the reward's net, averaged over predicted frames, repetition, and each of
        `FRAME_TERMS` the reward weighs."""
        if not predictions:
            return []
        frames = torch.stack([p["frames"] for p in predictions])  # [B, F, 3, H, W]
        targets = self._targets(examples)
        error = frames - targets
        perceptual = lpips(frames.flatten(0, 1), targets.flatten(0, 1), self.reward_lpips_net)
        perceptual = perceptual.view(frames.shape[:2]).mean(1)  # [B]
        repeats = repetition(np.stack([p["tokens"] for p in predictions])).repeats
        rows = [
            {
                "mae": float(error[i].abs().mean()),
                "mse": float(error[i].pow(2).mean()),
                "lpips": float(perceptual[i]),
                "repetition": float(repeats[i]),
            }
            for i in range(len(predictions))
        ]
        extra = {}
        if "objects" in self.reward_weights:
            references = [e.reference for e in examples]
            extra["objects"] = self._layout_errors(list(frames), references, frames.shape[1:])
        if "moved" in self.reward_weights:
            contexts = [e.context for e in examples]
            extra["moved"] = self._moved_errors(list(frames), targets, contexts)
        for name, errors in extra.items():
            for row, value in zip(rows, errors.mean(1).tolist()):
                row[name] = value
        return rows

    def summarize(self, scores: Sequence[Mapping[str, float]], examples: Sequence[Example]) -> dict:
        """Mean metrics over the split (and per robot task), `lpips_by_step` (the mean LPIPS of
        each predicted frame of the rollout), the repetition rate, and `selection` = the mean
        reward (higher is better)."""

        def mean(key: str, rows) -> float:
            values = [s[key] for s in rows if not math.isnan(s[key])]
            return sum(values) / len(values) if values else math.nan

        out: dict[str, Any] = {"metrics": {k: mean(k, scores) for k in METRICS}}
        per_step = np.array([s["lpips_frames"] for s in scores if s.get("lpips_frames")])
        with warnings.catch_warnings():  # a step with NaN only stays NaN, without a warning
            warnings.simplefilter("ignore", RuntimeWarning)
            out["lpips_by_step"] = (
                [float(v) for v in np.nanmean(per_step, axis=0)] if len(per_step) else []
            )
        out["repetition"] = mean("repetition", scores)
        out["reward"] = mean("reward", scores)
        out["selection"] = out["reward"]
        by_task: dict[str, list] = {}
        for s, e in zip(scores, examples):
            by_task.setdefault(e.context["split"], []).append(s)
        out["by_task"] = {name: mean("lpips", rows) for name, rows in sorted(by_task.items())}
        out["examples"] = len(scores)
        return out
