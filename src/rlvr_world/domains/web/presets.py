"""The web presets (`Domain.presets`): partial configs over the run defaults."""

from rlvr_world.core.config import merge
from rlvr_world.domains.base import DEBUG_RUN

PRESETS: dict[str, dict] = {}

# What the text smoke tests share: a tiny BPE and short answers (as `textgame-debug`).
TEXT_DEBUG = merge(
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
)
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
    TEXT_DEBUG,
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
