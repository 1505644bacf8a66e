"""The robot domain's config sections: `video` (episodes, prediction setup, pixel reward) and
`tokenizer` (the frame and future-frame tokenizers)."""

from __future__ import annotations

from dataclasses import dataclass

from rlvr_world.core.config import ConfigError, choice, non_negative, positive
from rlvr_world.domains.robot import pretrained
from rlvr_world.domains.robot.task import REWARD_TERMS


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
    """Reuse a trained frame tokenizer: a folder (a run's `tokenizer/`, from `rlvr-world train
    tokenizer`) or `pretrained:NAME`, one shipped in the package for its recipe's `tokenizer`
    section and frame size (`pretrained:robot-tiny`); null = train the run's own."""
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
        if pretrained.is_pretrained(self.tokenizer_path):
            pretrained.folder(self.tokenizer_path)  # a ConfigError naming the shipped ones
        choice(self, "video", "mode", ("single", "multi"))
        choice(self, "video", "reward_aggregate", ("mean", "last", "discounted"))
        choice(self, "video", "lpips_net", ("vgg", "alex"))
        choice(self, "video", "reward_lpips_net", ("vgg", "alex"))
        choice(self, "video", "rl_rollouts", ("data", "policy"))
        positive(self, "video", "rollout_starts")
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
        positive(self, "video", "max_episode_steps", "frame_size", "context_frames", "stride")
        non_negative(
            self,
            "video",
            "train_episodes_per_task",
            "valid_episodes_per_task",
            "test_episodes_per_task",
        )
        if not self.policy_noise or any(not 0 <= n <= 1 for n in self.policy_noise):
            raise ConfigError(
                f"video.policy_noise must be levels in [0, 1], got {self.policy_noise}"
            )
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
        positive(
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
        non_negative(self, "tokenizer", "future_change_weight", "perceptual_weight", "eval_every")
        positive(self, "tokenizer", "lr")
        for name in ("levels", "future_levels"):
            levels = getattr(self, name)
            if not levels or any(level < 2 for level in levels):
                raise ConfigError(f"tokenizer.{name} must be FSQ levels >= 2, got {levels}")
        choice(self, "tokenizer", "perceptual_net", ("vgg", "alex"))
        if not self.channels or any(int(c) <= 0 for c in self.channels):
            raise ConfigError(f"tokenizer.channels must be positive widths, got {self.channels}")


def check_phase(config, phase: str) -> None:
    """Every phase runs on video runs (`tokenizer`: episodes and the frame tokenizer only),
    but MLE pre-trains on the episodes' windows: `video.rl_rollouts=policy` is RLVR's. A
    shipped tokenizer (`video.tokenizer_path=pretrained:NAME`) must match the run's
    `tokenizer` section and frame size."""
    pretrained.check_recipe(config)
    if phase == "mle" and config.video.rl_rollouts != "data":
        raise ConfigError(
            f"video.rl_rollouts={config.video.rl_rollouts} is for train rlvr: MLE pre-trains on "
            "the episodes' windows (video.rl_rollouts=data)"
        )
