"""Named presets: partial configs over the `RunConfig` defaults.

Defaults run on a CPU laptop in minutes; larger runs are presets, never edited defaults.
"""

from __future__ import annotations

from rlvr_world.train.config import ConfigError, RunConfig, from_dict, merge, to_dict

# What every smoke-test preset trains: a 1-layer model, 4 MLE steps, 2 RL steps of 2 x 2.
DEBUG_RUN = {
    "model": {"hidden_size": 32, "num_layers": 1, "num_heads": 2, "intermediate_size": 64},
    "mle": {
        "steps": 4,
        "batch_size": 4,
        "micro_batch_size": 2,
        "eval_every": 2,
        "save_every": 2,
        "log_every": 1,
        "warmup_steps": 1,
    },
    "rlvr": {
        "steps": 2,
        "questions_per_step": 2,
        "group_size": 2,
        "mini_batch_size": 1,
        "eval_every": 1,
        "save_every": 1,
    },
    "progress": False,
}

PRESETS: dict[str, dict] = {
    # CPU, minutes: a ~1M-parameter Llama on the compact prompt.
    "textgame-tiny": {},
    # `rlvr-world quickstart`: the whole pipeline in a few minutes on 2 cores.
    "textgame-quickstart": {
        "data": {
            "train_episodes_per_game": 40,
            "valid_episodes_per_game": 5,
            "test_episodes_per_game": 8,
        },
        "mle": {"steps": 300, "eval_every": 100},
        "rlvr": {"steps": 30, "eval_every": 15, "save_every": 15},
        "eval": {"max_examples": 240},
    },
    # `rlvr-world bench textgame`: fixed training set, MLE early-stopped on validation accuracy,
    # then GRPO on the task-specific reward (the paper's best text-game reward).
    "textgame-bench": {
        "data": {
            "train_episodes_per_game": 40,
            "valid_episodes_per_game": 6,
            "test_episodes_per_game": 16,
        },
        "mle": {"steps": 2000, "eval_every": 100, "patience": 3, "save_every": 500},
        "rlvr": {
            "steps": 200,
            "questions_per_step": 32,
            "mini_batch_size": 32,
            "reward": "task_specific",
            "eval_every": 25,
            "save_every": 50,
        },
        "progress": False,
    },
    # The video world model on a CPU: 64 x 64 frames, 64 tokens a frame, single-step
    # prediction (4 context frames); `video.mode=multi` for the interactive rollout, where the
    # frames after a window's first take 16 tokens each (the compressive future tokenizer).
    "robot-tiny": {
        "data": {"domain": "robot"},
        "video": {
            "train_episodes_per_task": 24,
            "valid_episodes_per_task": 2,
            "test_episodes_per_task": 4,
            "reward_lpips_net": "alex",
        },
        "tokenizer": {
            "steps": 1200,
            "eval_every": 400,
            "eval_frames": 128,
            "future_channels": [32, 64, 96, 128],
            "future_steps": 1000,
        },
        "model": {"hidden_size": 128, "num_layers": 4, "num_heads": 4, "intermediate_size": 384},
        "mle": {
            "steps": 800,
            "batch_size": 16,
            "micro_batch_size": 16,
            "lr": 2e-3,
            "eval_every": 200,
            "save_every": 200,
        },
        "rlvr": {
            "steps": 60,
            "questions_per_step": 8,
            "group_size": 8,
            "mini_batch_size": 8,
            "lr": 5e-5,
            "reward": "mae_lpips",
            "skip_zero_variance": False,
            "loss": {"dual_clip": 3.0, "entropy_coef": 0.0},
            "eval_every": 20,
            "save_every": 20,
        },
        # SPEC §2: video is evaluated by sampling (temperature 1, top-k 100), not greedily
        "eval": {"max_examples": 48, "batch_size": 32, "temperature": 1.0, "top_k": 100},
    },
    # Smoke tests: seconds.
    "robot-debug": merge(
        DEBUG_RUN,
        {
            "data": {"domain": "robot"},
            "video": {
                "tasks": ["push"],
                "train_episodes_per_task": 2,
                "valid_episodes_per_task": 1,
                "test_episodes_per_task": 1,
                "max_episode_steps": 10,
                "frame_size": 32,
                "policy_noise": [0.0],
                "context_frames": 2,
                "rollout_frames": 3,
                "stride": 4,
                "reward_lpips_net": "alex",
                "lpips_net": "alex",
            },
            "tokenizer": {
                "levels": [5, 3],
                "channels": [8, 8, 8],
                "future_levels": [5, 3],
                "future_channels": [8, 8, 8, 8],
                "future_steps": 3,
                "steps": 3,
                "batch_size": 4,
                "eval_every": 0,
                "eval_frames": 4,
            },
            "rlvr": {"reward": "mae_lpips"},
            "eval": {"max_examples": 2, "temperature": 1.0, "top_k": 100},
        },
    ),
    # The paper's video settings (SPEC §2, §5): G=16, lr 5e-5, 128 questions / 32 per
    # mini-batch, dual-clip 3, no entropy bonus, ~150 steps; meant for a GPU and real RT-1
    # episodes (`video.data_path`). 128 x 128 frames at 16x downsampling: 64 tokens a frame;
    # multi-step future frames at 32x: 16 tokens.
    "robot-paper": {
        "device": "cuda",
        "data": {"domain": "robot"},
        "video": {"frame_size": 128, "train_episodes_per_task": 1000, "test_episodes_per_task": 50},
        "tokenizer": {
            "channels": [64, 128, 256, 256],
            "future_channels": [64, 128, 256, 256, 256],
            "steps": 50000,
            "future_steps": 50000,
            "batch_size": 64,
        },
        "model": {
            "hidden_size": 768,
            "num_layers": 12,
            "num_heads": 12,
            "intermediate_size": 3072,
            "max_positions": 2048,
        },
        "mle": {"steps": 100000, "batch_size": 64, "micro_batch_size": 16, "lr": 3e-4},
        "rlvr": {
            "steps": 150,
            "questions_per_step": 128,
            "group_size": 16,
            "mini_batch_size": 32,
            "lr": 5e-5,
            "reward": "mae_lpips",
            "skip_zero_variance": False,
            "loss": {"dual_clip": 3.0, "entropy_coef": 0.0},
        },
        "eval": {"temperature": 1.0, "top_k": 100},
    },
    # Smoke tests: seconds.
    "textgame-debug": merge(
        DEBUG_RUN,
        {
            "data": {
                "train_episodes_per_game": 2,
                "test_episodes_per_game": 1,
                "max_episode_steps": 4,
                "vocab_size": 400,
            },
            "rlvr": {"max_new_tokens": 8},
            "eval": {"max_examples": 4, "max_new_tokens": 8},
        },
    ),
    # The paper's text-game settings (SPEC §2) for a pretrained LM (the paper:
    # DeepSeek-R1-Distill-Qwen-1.5B / 7B), which the user names: `model.path=/models/...`.
    # GRPO: G=5, lr 1e-6, 128 questions / 64 per mini-batch, ~380 steps, full prompt through
    # the chat template, KL 0.001 in the loss. fp32 weights with bf16 autocast (a 1e-6 step is
    # below bf16's resolution), gradient checkpointing. Add `lora.r=64` to train adapters.
    "textgame-paper": {
        "device": "cuda",
        "data": {
            "prompt_style": "full",
            "train_episodes_per_game": 400,
            "test_episodes_per_game": 40,
            "max_question_tokens": 4096,
        },
        "model": {
            "autocast": "bfloat16",
            "gradient_checkpointing": True,
            "max_positions": 8192,
        },
        "mle": {
            "steps": 3000,
            "batch_size": 64,
            "micro_batch_size": 4,
            "lr": 1e-5,
            "warmup_steps": 50,
            "eval_every": 200,
            "save_every": 200,
            "patience": 5,
        },
        "rlvr": {
            "steps": 380,
            "questions_per_step": 128,
            "group_size": 5,
            "mini_batch_size": 64,
            "lr": 1e-6,
            "max_new_tokens": 2048,
            "unchanged_per_epoch": -1,
            "eval_every": 20,
            "save_every": 20,
            "skip_zero_variance": False,
        },
        "eval": {"max_new_tokens": 2048, "batch_size": 32},
    },
}

# The web-page world model on a CPU: simulated shop / admin / forum episodes, compact prompts
# (URL, objective, previous action, accessibility tree, action), the diff sections as the
# answer; GRPO on the item-F1 reward.
PRESETS["web-tiny"] = {
    # ids as single tokens: simulated pages number their elements from 100 to ~1,200
    "data": {"domain": "web", "vocab_size": 2048, "max_question_tokens": 640, "id_tokens": 2000},
    "web": {
        "train_episodes_per_task": 24,
        "valid_episodes_per_task": 3,
        "test_episodes_per_task": 6,
        "window": 3,
        "featured": 2,
        "related": 2,
    },
    "model": {
        "hidden_size": 128,
        "num_layers": 4,
        "num_heads": 4,
        "intermediate_size": 384,
        "max_positions": 1536,
    },
    "mle": {
        "steps": 2000,
        "batch_size": 8,
        "micro_batch_size": 8,
        "lr": 2e-3,
        "eval_every": 250,
        "save_every": 250,
        "patience": 4,
    },
    "rlvr": {
        "steps": 40,
        "questions_per_step": 16,
        "group_size": 8,
        "mini_batch_size": 16,
        "reward": "f1",
        # per-line credit: each answer line's tokens get the group advantage of how much that
        # line and the ones after it change the F1 (sequence credit: no gain, BENCHMARKS.md)
        "credit": "reward-to-go",
        "max_new_tokens": 256,
        "lr": 1e-4,
        "eval_every": 10,
        "save_every": 20,
    },
    "eval": {"max_examples": 64, "batch_size": 32, "max_new_tokens": 256},
}
# `rlvr-world bench web`: web-tiny's model on 200 expert episodes a task (~9,700 transitions)
# and MLE for 4,000 steps. With whole-id tokens it learns to copy lines and ids from the tree
# (test F1 0.309); with ids spelled digit by digit that was luck (0.276 in one run, 0.210 in
# another), and on web-tiny's 1,220 transitions it memorised the answers instead (BENCHMARKS.md).
PRESETS["web-bench"] = merge(
    PRESETS["web-tiny"],
    {
        "progress": False,
        "web": {"train_episodes_per_task": 200},
        "mle": {"steps": 4000, "eval_every": 500, "save_every": 500},
        "rlvr": {"steps": 50},
    },
)
# Smoke tests: seconds.
PRESETS["web-debug"] = merge(
    PRESETS["textgame-debug"],
    {
        "data": {"domain": "web", "max_question_tokens": 640, "id_tokens": 2000},
        "web": {
            "tasks": ["open_product", "reply_post"],
            "train_episodes_per_task": 2,
            "valid_episodes_per_task": 1,
            "test_episodes_per_task": 1,
            "max_episode_steps": 4,
        },
        "model": {"max_positions": 1024},
        "rlvr": {"reward": "f1"},
    },
)
# The paper's web settings (SPEC §2, §4) for a pretrained LM named with `model.path=...`:
# G=5, lr 1e-6, 64 questions / 16 per mini-batch, ~1500 steps, the full prompt through the chat
# template, KL 0.001; fp32 weights with bf16 autocast, gradient checkpointing.
PRESETS["web-paper"] = {
    "device": "cuda",
    "data": {"domain": "web", "prompt_style": "full", "max_question_tokens": 8192},
    "web": {"train_episodes_per_task": 400, "test_episodes_per_task": 40, "max_episode_steps": 30},
    "model": {"autocast": "bfloat16", "gradient_checkpointing": True, "max_positions": 16384},
    "mle": {
        "steps": 3000,
        "batch_size": 64,
        "micro_batch_size": 4,
        "lr": 1e-5,
        "warmup_steps": 50,
        "eval_every": 200,
        "save_every": 200,
        "patience": 5,
    },
    "rlvr": {
        "steps": 1500,
        "questions_per_step": 64,
        "group_size": 5,
        "mini_batch_size": 16,
        "lr": 1e-6,
        "reward": "f1",
        "max_new_tokens": 2048,
        "eval_every": 50,
        "save_every": 50,
        "skip_zero_variance": False,
    },
    "eval": {"max_new_tokens": 2048, "batch_size": 32},
}

# `rlvr-world bench robot`: robot-tiny, held-out evaluations during training on fewer examples
# (each costs a sampled rollout and VGG LPIPS per frame), no progress bars.
# The future-frame tokenizer gets 600 steps (held-out LPIPS ~0.05; 1000 steps: ~0.04) to keep
# the whole benchmark within its 40 minutes.
PRESETS["robot-bench"] = merge(
    PRESETS["robot-tiny"],
    {"tokenizer": {"future_steps": 600}, "eval": {"max_examples": 32}, "progress": False},
)
# `rlvr-world bench policy-eval`: a multi-step world model from scratch for the three tasks the
# policies are evaluated on, with 4x the training episodes of robot-tiny (imagining 24 steps
# from new first frames needs a model that has not memorised its episodes) and the expert's
# noisiest level too (the random policy's motion); RL as the multi-step half of bench robot.
# Its future-frame tokenizer weighs the pixels that moved 21x in its L1: the policies read the
# gripper off the imagined frames, and with a plain L1 it is drawn as a smear.
PRESETS["robot-policy-eval"] = merge(
    PRESETS["robot-bench"],
    {
        "video": {
            "mode": "multi",
            "tasks": ["push", "lift", "place"],
            "train_episodes_per_task": 96,
            "valid_episodes_per_task": 4,
            "test_episodes_per_task": 4,
            "policy_noise": [0.0, 0.3, 0.6, 1.0],
        },
        "tokenizer": {"future_steps": 1000, "future_change_weight": 20.0},
        "mle": {"eval_every": 400, "save_every": 400},
        "rlvr": {"steps": 40, "questions_per_step": 4, "mini_batch_size": 4},
    },
)


REQUIRED = {
    name: ("model.path", "a pretrained causal LM folder (or hub id)")
    for name in ("textgame-paper", "web-paper")
}
"""Preset -> (field, what it is) the user must give: the preset cannot guess it."""


def check_required(config: RunConfig) -> None:
    """A clear error when a preset's required field is missing."""
    if config.preset not in REQUIRED:
        return
    name, what = REQUIRED[config.preset]
    value = config
    for part in name.split("."):
        value = getattr(value, part)
    if not value:
        raise ConfigError(f"preset {config.preset} needs {name}=... ({what})")


def preset_names() -> list[str]:
    return sorted(PRESETS)


def build_config(preset: str = "textgame-tiny", *overrides: dict) -> RunConfig:
    """Defaults, then the preset, then each override dict (later wins); validated."""
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}; known: {', '.join(preset_names())}")
    values = merge(to_dict(RunConfig()), PRESETS[preset])
    for override in overrides:
        values = merge(values, override)
    values["preset"] = preset
    return from_dict(RunConfig, values)
