"""Typed run configuration: one dataclass per component, composed into `RunConfig`.

Field docstrings double as `--help` text (`describe()`); `__post_init__` validates and names
the offending field. Presets are named partial configs (`presets.py`); `key=value` overrides
use dotted paths: `rlvr.group_size=8 model.hidden_size=256`.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, get_type_hints

import yaml

from rlvr_world.core.grpo import GRPOLossConfig
from rlvr_world.core.model import ModelConfig
from rlvr_world.domains.robot.task import REWARD_TERMS


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the field."""


@dataclass
class DataConfig:
    """Where transitions come from and how they become prompts."""

    domain: str = "textgame"
    """Domain name (registry key)."""
    games: tuple[str, ...] = ()
    """Games to simulate (empty = all registered games)."""
    train_episodes_per_game: int = 60
    """Simulated episodes per game for the training set."""
    valid_episodes_per_game: int = 8
    """Simulated episodes per game for the validation set (model selection, early stopping)."""
    test_episodes_per_game: int = 12
    """Simulated episodes per game for the test set (final figures; never used for selection)."""
    max_episode_steps: int = 12
    """Steps per simulated episode."""
    train_path: str | None = None
    """Load training transitions from this file (ByteSized32 jsonl or RL parquet) instead."""
    valid_path: str | None = None
    """Validation transitions file (default: 10% of `train_path` held out)."""
    test_path: str | None = None
    """Test transitions file (required with `train_path`)."""
    prompt_style: str = "compact"
    """`compact` (tiny models: state, uuid base, action) or `full` (paper-style prompt)."""
    vocab_size: int = 2048
    """BPE vocabulary size of the tokenizer trained on simulator text (tiny presets)."""
    max_question_tokens: int = 768
    """Longer questions are dropped from training (counted in the run log)."""
    id_tokens: int = 0
    """Web pages: the element ids `[0]` .. `[N - 1]` are single tokens of the trained BPE, on
    top of `vocab_size` (0 = spelled digit by digit), so that a line of the page is copied by
    looking up its id (`text.tokenizer.train_bpe`)."""

    def __post_init__(self) -> None:
        if self.prompt_style not in ("compact", "full"):
            raise ConfigError(
                f"data.prompt_style must be 'compact' or 'full', got {self.prompt_style!r}"
            )
        _non_negative(
            self,
            "data",
            "train_episodes_per_game",
            "valid_episodes_per_game",
            "test_episodes_per_game",
            "max_episode_steps",
            "id_tokens",
        )


@dataclass
class MLEConfig:
    """Maximum-likelihood pre-training (teacher-forced NLL on response tokens)."""

    steps: int = 600
    """Optimiser steps (upper bound when early stopping is on)."""
    batch_size: int = 32
    """Examples per optimiser step."""
    micro_batch_size: int = 32
    """Examples per forward/backward; gradients accumulate to `batch_size`."""
    lr: float = 3e-3
    """Peak learning rate (AdamW)."""
    warmup_steps: int = 30
    """Linear warm-up steps."""
    schedule: str = "cosine"
    """After warm-up: `cosine` decay to 10% of `lr` at `steps`, or `constant`."""
    max_seconds: float = 0.0
    """Stop (evaluate, checkpoint) once training has run this long (0 = no limit)."""
    weight_decay: float = 0.01
    """AdamW weight decay."""
    grad_clip: float = 1.0
    """Gradient-norm clip."""
    eval_every: int = 100
    """Held-out greedy evaluation every this many steps (0 = only at the end)."""
    patience: int = 0
    """Stop after this many evaluations without improvement (0 = never stop early)."""
    log_every: int = 10
    """Log training metrics every this many steps."""
    save_every: int = 200
    """Write a resumable checkpoint every this many steps."""

    def __post_init__(self) -> None:
        _positive(self, "mle", "steps", "batch_size", "micro_batch_size", "log_every")
        _choice(self, "mle", "schedule", ("cosine", "constant"))
        if self.batch_size % self.micro_batch_size:
            raise ConfigError(
                f"mle.batch_size ({self.batch_size}) must be a multiple of "
                f"mle.micro_batch_size ({self.micro_batch_size})"
            )


@dataclass
class RLVRConfig:
    """GRPO post-training on a verifiable reward (SPEC §2 defaults, tiny sizes)."""

    steps: int = 60
    """RL steps (each: sample, score, update)."""
    questions_per_step: int = 16
    """B: questions per RL step."""
    group_size: int = 8
    """G: responses sampled per question."""
    mini_batch_size: int = 16
    """Questions per optimiser step; B / mini_batch_size optimiser steps per epoch."""
    epochs: int = 1
    """PPO epochs over each RL batch."""
    lr: float = 1e-4
    """Constant learning rate (AdamW)."""
    weight_decay: float = 0.01
    """AdamW weight decay."""
    grad_clip: float = 1.0
    """Gradient-norm clip."""
    reward: str = "binary"
    """Training reward (registry name or `module:function`)."""
    compat: str = "fixed"
    """Scorer behaviour: `fixed` (ours) or `reference` (bit-for-bit the paper's scorer)."""
    unchanged_per_epoch: int = -1
    """Unchanged samples mixed into each epoch of the question stream (-1 = as many as changed)."""
    advantage_scale: str = "group"
    """Divide centred rewards by the `group` std, the `batch` std, or `none`."""
    baseline: str = "mean"
    """Group baseline: `mean` (GRPO) or `rloo` (leave-one-out)."""
    credit: str = "sequence"
    """`sequence`: every token gets its response's advantage (GRPO). `reward-to-go`: responses
    generated span by span (multi-step video; the lines of a web answer, scored by how much
    each changes the F1) are scored per span, and each span's tokens get the group-relative
    advantage of the reward of that span and the ones after it. `token`:
    each generated token is credited with the part of its span's output it governs (a visual
    code: its cell of the predicted frame) and the spans after it, compared with the same
    token of the other samples of its group (`core.grpo.token_returns`)."""
    skip_zero_variance: bool = True
    """Drop groups whose rewards are all equal from the update (their advantage is 0)."""
    mask_truncated: bool = False
    """Give no loss to responses that hit the length limit without a stop token."""
    temperature: float = 1.0
    """Sampling temperature during training."""
    top_p: float = 1.0
    """Nucleus threshold during training."""
    top_k: int = 0
    """Top-k during training (0 = off)."""
    max_new_tokens: int = 160
    """Response length limit."""
    loss: GRPOLossConfig = field(default_factory=GRPOLossConfig)
    """Clip ranges, KL, entropy and loss aggregation."""
    eval_every: int = 20
    """Held-out greedy evaluation every this many RL steps (0 = only at the end)."""
    log_every: int = 1
    """Log every this many RL steps."""
    save_every: int = 20
    """Write a resumable checkpoint every this many RL steps."""
    keep_best: bool = True
    """Also keep the checkpoint with the best held-out accuracy as `best`."""

    def __post_init__(self) -> None:
        _positive(
            self,
            "rlvr",
            "steps",
            "questions_per_step",
            "group_size",
            "mini_batch_size",
            "epochs",
            "max_new_tokens",
            "log_every",
        )
        if self.questions_per_step % self.mini_batch_size:
            raise ConfigError(
                f"rlvr.questions_per_step ({self.questions_per_step}) must be a multiple of "
                f"rlvr.mini_batch_size ({self.mini_batch_size})"
            )
        _choice(self, "rlvr", "advantage_scale", ("group", "batch", "none"))
        _choice(self, "rlvr", "baseline", ("mean", "rloo"))
        _choice(self, "rlvr", "credit", ("sequence", "reward-to-go", "token"))
        _choice(self, "rlvr", "compat", ("fixed", "reference"))
        if isinstance(self.loss, dict):
            self.loss = GRPOLossConfig(**self.loss)


@dataclass
class EvalConfig:
    """Held-out evaluation."""

    max_examples: int = 0
    """Evaluate on at most this many held-out examples during training, spread evenly over the
    validation split (0 = all)."""
    batch_size: int = 64
    """Questions per greedy-decoding batch."""
    max_new_tokens: int = 160
    """Response length limit at evaluation."""
    temperature: float = 0.0
    """Decoding temperature at evaluation: 0 = greedy (language, SPEC §2); video uses 1.0."""
    top_k: int = 0
    """Top-k at evaluation (0 = off; the paper's video evaluation uses 100)."""
    seed: int = 1234
    """Seed of evaluation sampling (when temperature > 0), the same for every evaluation."""
    num_samples_saved: int = 24
    """Predictions written to `samples.jsonl` for the report."""


@dataclass
class VideoConfig:
    """Video world models (domain `robot`): episodes, prediction setup and pixel reward."""

    tasks: tuple[str, ...] = ()
    """Robot tasks to simulate (empty = all registered tasks)."""
    train_episodes_per_task: int = 48
    """Simulated training episodes per task."""
    valid_episodes_per_task: int = 4
    """Simulated validation episodes per task (model selection)."""
    test_episodes_per_task: int = 8
    """Simulated test episodes per task (final figures)."""
    max_episode_steps: int = 24
    """Step limit of a simulated episode."""
    frame_size: int = 64
    """Frames are square, this many pixels a side."""
    policy_noise: tuple[float, ...] = (0.0, 0.3, 0.6)
    """Noise levels of the scripted expert; episodes cycle through them (varied quality)."""
    data_path: str | None = None
    """A folder of RT-1 style `.npz` episodes to use instead of simulating (sorted; every
    100th is test)."""
    mode: str = "single"
    """`single` (4 context frames + actions -> next frame) or `multi` (interactive rollout)."""
    context_frames: int = 4
    """Single-step: frames (each with its action) in the question."""
    rollout_frames: int = 8
    """Multi-step: frames in a rollout; the first is given, the rest are predicted."""
    stride: int = 2
    """Start a prediction window every this many steps of an episode."""
    tokenizer_path: str | None = None
    """Reuse a trained frame tokenizer folder (from `rlvr-world train tokenizer`)."""
    reward_weights: tuple[tuple[str, float], ...] = (("mae", 1.0), ("lpips", 1.0))
    """Reward = -(sum of weight * term) per frame; terms: mae, mse, lpips (SPEC §5), and
    objects: the simulated tabletop's layout error read on pixels (grasp point and object
    positions, `domains.robot.perception.layout_error`, in [0, 1]), and moved: the MAE over
    the pixels that move against the last frame the question shows
    (`video.metrics.moved_mae`, in [0, 1])."""
    reward_aggregate: str = "mean"
    """Over a sample's predicted frames: `mean`, `last` or `discounted`."""
    lpips_net: str = "vgg"
    """LPIPS backbone of the evaluation metrics: `vgg` (the paper) or `alex`."""
    reward_lpips_net: str = "vgg"
    """LPIPS backbone of the training reward (`alex` is ~20x cheaper on a CPU)."""
    rl_rollouts: str = "data"
    """Where RLVR's multi-step rollouts come from: `data` (the episodes' windows with their
    true actions) or `policy` (`domains.robot.policy_rollouts`: the policies of policy
    evaluation act on the frames the model draws, and the simulator's frames for their actions
    are the truth). RLVR only: `train mle` pre-trains on `data`."""
    rollout_starts: int = 8
    """`rl_rollouts=policy`: training episodes of each policy on each task (validation and
    test: a quarter, at least 2), each cut at every step count of `rollout_start_steps`."""
    rollout_start_steps: tuple[int, ...] = (0, 7, 14)
    """`rl_rollouts=policy`: a rollout starts where a policy is after this many true steps."""

    def __post_init__(self) -> None:
        _choice(self, "video", "mode", ("single", "multi"))
        _choice(self, "video", "reward_aggregate", ("mean", "last", "discounted"))
        _choice(self, "video", "lpips_net", ("vgg", "alex"))
        _choice(self, "video", "reward_lpips_net", ("vgg", "alex"))
        _choice(self, "video", "rl_rollouts", ("data", "policy"))
        _positive(self, "video", "rollout_starts")
        self.rollout_start_steps = tuple(int(s) for s in self.rollout_start_steps)
        if not self.rollout_start_steps or min(self.rollout_start_steps) < 0:
            raise ConfigError(
                f"video.rollout_start_steps must be step counts >= 0, got {self.rollout_start_steps}"
            )
        if self.rl_rollouts == "policy" and (self.mode != "multi" or self.data_path):
            raise ConfigError(
                "video.rl_rollouts=policy needs video.mode=multi and simulated episodes (no "
                "video.data_path): the simulator replays the policy's actions"
            )
        _positive(self, "video", "max_episode_steps", "frame_size", "context_frames", "stride")
        if self.rollout_frames < 2:
            raise ConfigError(f"video.rollout_frames must be >= 2, got {self.rollout_frames}")
        self.reward_weights = tuple((str(k), float(v)) for k, v in self.reward_weights)
        unknown = [k for k, _ in self.reward_weights if k not in REWARD_TERMS]
        if unknown:
            raise ConfigError(
                f"video.reward_weights: unknown terms {unknown}; known: {', '.join(REWARD_TERMS)}"
            )
        negative = [k for k, w in self.reward_weights if w < 0]
        if negative:
            raise ConfigError(f"video.reward_weights: weights must be >= 0, got {negative} < 0")


@dataclass
class WebConfig:
    """Web-page world models (domain `web`): simulated browsing episodes."""

    tasks: tuple[str, ...] = ()
    """Web tasks to simulate (empty = all registered tasks)."""
    train_episodes_per_task: int = 40
    """Simulated training episodes per task (each step is one transition)."""
    valid_episodes_per_task: int = 4
    """Simulated validation episodes per task (model selection)."""
    test_episodes_per_task: int = 8
    """Simulated test episodes per task (final figures)."""
    max_episode_steps: int = 12
    """Step limit of a simulated episode."""
    policy_noise: tuple[float, ...] = (0.0, 0.3, 0.6)
    """Noise levels of the scripted browsing expert; episodes cycle through them."""
    window: int = 10
    """Rows of a long list (listings, orders, posts) in the tree at once."""
    featured: int = 4
    """Products featured on the shop's home page."""
    related: int = 3
    """Related products on a product page."""

    def __post_init__(self) -> None:
        _positive(self, "web", "max_episode_steps", "window", "featured", "related")
        _non_negative(
            self,
            "web",
            "train_episodes_per_task",
            "valid_episodes_per_task",
            "test_episodes_per_task",
        )
        if not self.policy_noise or any(not 0 <= float(n) <= 1 for n in self.policy_noise):
            raise ConfigError(f"web.policy_noise must be levels in [0, 1], got {self.policy_noise}")


@dataclass
class TokenizerConfig:
    """The frame tokenizer: an FSQ autoencoder trained with L1 + LPIPS."""

    levels: tuple[int, ...] = (7, 5, 5, 5, 5)
    """FSQ levels (their product is the codebook size: 4375, as in the paper)."""
    channels: tuple[int, ...] = (32, 64, 96)
    """Encoder widths per downsampling stage (3 stages = 8x: 64 tokens a 64 x 64 frame)."""
    blocks_per_stage: int = 1
    """Residual blocks per resolution."""
    steps: int = 1500
    """Optimiser steps."""
    batch_size: int = 32
    """Frames per step."""
    lr: float = 2e-3
    """Peak learning rate (AdamW, cosine decay to 10%)."""
    perceptual_weight: float = 0.5
    """Weight of the LPIPS term beside L1."""
    perceptual_net: str = "alex"
    """LPIPS backbone for the training loss (`alex` is ~10x cheaper than `vgg` on a CPU)."""
    eval_every: int = 500
    """Held-out PSNR/LPIPS every this many steps (0 = only at the end)."""
    eval_frames: int = 256
    """Held-out frames for the reconstruction figures."""
    future_channels: tuple[int, ...] = ()
    """Multi-step runs: widths of the compressive future-frame tokenizer (SPEC §5), which
    encodes each frame after a window's first given that first frame (4 stages = 16x: 16
    tokens a 64 x 64 frame); empty = every frame takes the frame tokenizer's tokens."""
    future_levels: tuple[int, ...] = (7, 5, 5, 5, 5)
    """FSQ levels of the future-frame tokenizer (at most the frame tokenizer's codebook)."""
    future_steps: int = 1000
    """Optimiser steps of the future-frame tokenizer."""
    future_lr: float = 5e-4
    """Peak learning rate of the future-frame tokenizer (at 2e-3 it can diverge in its first
    100 steps)."""
    future_change_weight: float = 0.0
    """Extra L1 weight of the future-frame tokenizer on the pixels that differ from the context
    frame (by more than 0.05 in any channel): each such pixel weighs 1 + this. The moving parts
    are ~5% of a robot frame, so a plain L1 spends the codes on the background the decoder
    already sees; 0 = plain L1."""

    def __post_init__(self) -> None:
        _positive(
            self,
            "tokenizer",
            "steps",
            "batch_size",
            "eval_frames",
            "blocks_per_stage",
            "future_steps",
            "future_lr",
        )
        if any(int(c) <= 0 for c in self.future_channels):
            raise ConfigError(
                f"tokenizer.future_channels must be positive widths, got {self.future_channels}"
            )
        _non_negative(self, "tokenizer", "future_change_weight")
        _choice(self, "tokenizer", "perceptual_net", ("vgg", "alex"))
        if not self.channels or any(int(c) <= 0 for c in self.channels):
            raise ConfigError(f"tokenizer.channels must be positive widths, got {self.channels}")


@dataclass
class LoRAConfig:
    """Low-rank adapters (peft): train small adapter matrices instead of every weight."""

    r: int = 0
    """Adapter rank (0 = no adapters: train all weights)."""
    alpha: float = 16.0
    """Scaling numerator: the update is (alpha / r) * B A."""
    dropout: float = 0.0
    """Dropout on the adapter input (keep 0 for GRPO: it would make the ratio noisy)."""
    target_modules: tuple[str, ...] = ("all-linear",)
    """Module names to adapt (e.g. q_proj, v_proj), or `all-linear`."""

    def __post_init__(self) -> None:
        _non_negative(self, "lora", "r")
        if self.r and self.alpha <= 0:
            raise ConfigError(f"lora.alpha must be > 0, got {self.alpha}")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"lora.dropout must be in [0, 1), got {self.dropout}")
        if not self.target_modules:
            raise ConfigError("lora.target_modules must name at least one module")


@dataclass
class RunConfig:
    """A whole run: data, model, MLE, RLVR, evaluation."""

    preset: str = "textgame-tiny"
    """The preset this config started from."""
    seed: int = 0
    """Seeds Python, NumPy and torch; data order and sampling follow from it."""
    threads: int = 2
    """torch intra-op threads."""
    device: str = "cpu"
    """`cpu`, `cuda` or `cuda:N`."""
    progress: bool = True
    """Show progress bars."""
    fsdp: bool = False
    """Under torchrun: shard weights, gradients and optimiser state over the processes with
    PyTorch's FSDP (`fully_shard`), for models that do not fit one device."""
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    lora: LoRAConfig = field(default_factory=LoRAConfig)
    mle: MLEConfig = field(default_factory=MLEConfig)
    rlvr: RLVRConfig = field(default_factory=RLVRConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    video: VideoConfig = field(default_factory=VideoConfig)
    web: WebConfig = field(default_factory=WebConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)


def _positive(obj: Any, section: str, *names: str) -> None:
    for name in names:
        if getattr(obj, name) <= 0:
            raise ConfigError(f"{section}.{name} must be > 0, got {getattr(obj, name)}")


def _non_negative(obj: Any, section: str, *names: str) -> None:
    for name in names:
        if getattr(obj, name) < 0:
            raise ConfigError(f"{section}.{name} must be >= 0, got {getattr(obj, name)}")


def _choice(obj: Any, section: str, name: str, choices: tuple[str, ...]) -> None:
    if getattr(obj, name) not in choices:
        raise ConfigError(
            f"{section}.{name} must be one of {', '.join(choices)}; got {getattr(obj, name)!r}"
        )


def to_dict(config: Any) -> dict:
    return dataclasses.asdict(config)


def from_dict(cls: type, values: dict, where: str = "") -> Any:
    """Build a (nested) dataclass from a dict; unknown keys are an error naming the path."""
    if not isinstance(values, dict):
        raise ConfigError(f"{where or 'config'}: expected a mapping, got {type(values).__name__}")
    hints = get_type_hints(cls)
    known = {f.name: f for f in fields(cls)}
    kwargs = {}
    for key, value in values.items():
        path = f"{where}.{key}" if where else key
        if key not in known:
            raise ConfigError(f"unknown config field {path!r}; known: {', '.join(known)}")
        hint = hints[key]
        if is_dataclass(hint) and isinstance(value, dict):
            value = from_dict(hint, value, path)
        elif isinstance(value, list):
            value = tuple(value)
        elif hint in (float, float | None) and isinstance(value, (int, str)) and value is not True:
            value = _as_float(value, path)
        kwargs[key] = value
    try:
        return cls(**kwargs)
    except TypeError as error:
        raise ConfigError(f"{where or 'config'}: {error}") from error


def _as_float(value: Any, path: str) -> float:
    """Numbers written as ints or as YAML-1.1 strings (`2e-4` is a string to YAML) -> float."""
    try:
        return float(value)
    except ValueError:
        raise ConfigError(f"{path} must be a number, got {value!r}") from None


def merge(base: dict, update: dict) -> dict:
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def parse_override(text: str) -> dict:
    """`"rlvr.group_size=8"` -> `{"rlvr": {"group_size": 8}}` (value parsed as YAML)."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like key=value (e.g. rlvr.steps=50)")
    key, _, raw = text.partition("=")
    value = yaml.safe_load(raw) if raw.strip() else ""
    if isinstance(value, str) and value.startswith(("(", "[")):
        value = ast.literal_eval(value)
    node: dict = {}
    out = node
    parts = key.strip().split(".")
    for part in parts[:-1]:
        node[part] = {}
        node = node[part]
    node[parts[-1]] = value
    return out


def describe(cls: type = RunConfig, prefix: str = "") -> list[tuple[str, str, str]]:
    """(dotted name, default, doc) of every field, from the field docstrings."""
    docs = _field_docs(cls)
    rows = []
    hints = get_type_hints(cls)
    instance = cls()
    for f in fields(cls):
        name = f"{prefix}{f.name}"
        if is_dataclass(hints[f.name]):
            rows.extend(describe(hints[f.name], name + "."))
        else:
            rows.append((name, repr(getattr(instance, f.name)), docs.get(f.name, "")))
    return rows


def _field_docs(cls: type) -> dict[str, str]:
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    tree = ast.parse(source.lstrip())
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    docs = {}
    for node, nxt in zip(body, body[1:]):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(nxt, ast.Expr)
            and isinstance(getattr(nxt, "value", None), ast.Constant)
            and isinstance(nxt.value.value, str)
        ):
            docs[node.target.id] = nxt.value.value.strip()
    return docs
