"""The robot (video) presets (`Domain.presets`): partial configs over the run defaults."""

from rlvr_world.core.config import merge
from rlvr_world.domains.base import DEBUG_RUN

PRESETS: dict[str, dict] = {
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
}

# `rlvr-world train tokenizer --preset robot-tokenizer`: the frame and future-frame tokenizers
# shipped in the package as `pretrained:robot-tiny` (`domains.robot.pretrained`), trained on
# robot-tiny's simulated episodes (seed 0).
PRESETS["robot-tokenizer"] = merge(PRESETS["robot-tiny"], {"video": {"mode": "multi"}})
# `rlvr-world quickstart` (the default): the multi-step video world model of the paper's video
# claim from scratch on the shipped tokenizers, MLE then RLVR, within 10 minutes on 2 cores.
PRESETS["robot-quickstart"] = merge(
    PRESETS["robot-tiny"],
    {
        "video": {"mode": "multi", "tokenizer_path": "pretrained:robot-tiny"},
        # validation LPIPS is best early (step 100 of 400; of 600 steps: 200) and MLE keeps
        # its best checkpoint, so longer MLE only spends the 10 minutes
        "mle": {"steps": 400, "eval_every": 100, "save_every": 100},
        "rlvr": {
            "steps": 30,
            "questions_per_step": 4,
            "mini_batch_size": 4,
            "eval_every": 10,
            "save_every": 10,
        },
        "eval": {"max_examples": 32},
    },
)
# `rlvr-world bench robot`: robot-tiny on the shipped tokenizers, held-out evaluations during
# training on fewer examples (each costs a sampled rollout and VGG LPIPS per frame), no
# progress bars.
PRESETS["robot-bench"] = merge(
    PRESETS["robot-tiny"],
    {
        "video": {"tokenizer_path": "pretrained:robot-tiny"},
        "eval": {"max_examples": 32},
        "progress": False,
    },
)
# `rlvr-world bench policy-eval`: a multi-step world model from scratch for the three tasks the
# policies are evaluated on, with 4x the training episodes of robot-tiny (imagining 24 steps
# from new first frames needs a model that has not memorised its episodes) and the expert's
# noisiest level too (the random policy's motion); RL as the multi-step half of bench robot.
# Its future-frame tokenizer weighs the pixels that moved 21x in its L1: the policies read the
# gripper off the imagined frames, and with a plain L1 it is drawn as a smear; so it trains its
# own tokenizers (no shipped one).
PRESETS["robot-policy-eval"] = merge(
    PRESETS["robot-bench"],
    {
        "video": {
            "tokenizer_path": None,
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
