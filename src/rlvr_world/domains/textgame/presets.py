"""The text-game presets (`Domain.presets`): partial configs over the run defaults."""

from rlvr_world.core.config import merge
from rlvr_world.domains.base import DEBUG_RUN

PRESETS: dict[str, dict] = {
    # CPU, minutes: a ~1M-parameter Llama on the compact prompt.
    "textgame-tiny": {},
    # `rlvr-world quickstart --domain textgame`: the whole pipeline in a few minutes on 2 cores.
    "textgame-quickstart": {
        "data": {
            "train_episodes_per_game": 40,
            "valid_episodes_per_game": 5,
            "test_episodes_per_game": 8,
        },
        "mle": {"steps": 300, "eval_every": 100},
        # the paper's task-specific reward: with the binary one, RL learns to answer "nothing
        # changes" (changed-state accuracy 12.7% -> 5.2% in one run)
        "rlvr": {"steps": 30, "eval_every": 15, "save_every": 15, "reward": "task_specific"},
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
