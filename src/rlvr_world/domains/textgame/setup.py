"""Build the text-game task of a run: transitions (simulated or loaded), tokenizer, prompts."""

from __future__ import annotations

import random
from pathlib import Path

from rlvr_world.domains.textgame.data import load_transitions, save_transitions
from rlvr_world.domains.textgame.prompts import answer_text, question_text
from rlvr_world.domains.textgame.simulator import GAMES, generate_transitions
from rlvr_world.domains.textgame.task import TextGameTask
from rlvr_world.text.tokenizer import PretrainedTokenizer, load_text_tokenizer, train_bpe

SPLITS = ("train", "valid", "test")
# Each split's episodes come from its own seed stream, so no episode is shared between splits.
SEED_OFFSETS = {"train": 0, "valid": 2_000_003, "test": 1_000_003}
VALID_FRACTION = 0.1


def simulate(data_config, seed: int) -> dict[str, list]:
    """Training, validation (model selection) and test transitions from the simulator."""
    games = list(data_config.games) or sorted(GAMES)
    unknown = [g for g in games if g not in GAMES]
    if unknown:
        raise ValueError(f"data.games: unknown games {unknown}; known: {', '.join(sorted(GAMES))}")
    episodes = {
        "train": data_config.train_episodes_per_game,
        "valid": data_config.valid_episodes_per_game,
        "test": data_config.test_episodes_per_game,
    }
    return {
        split: generate_transitions(
            games, episodes[split], seed + SEED_OFFSETS[split], data_config.max_episode_steps
        )
        for split in SPLITS
    }


def load_splits(data_config, seed: int) -> dict[str, list]:
    """Transitions from files where given, else simulated. Without a validation file, a fixed
    10% of the training file is held out for model selection."""
    if not data_config.train_path:
        return simulate(data_config, seed)
    if not data_config.test_path:
        raise ValueError("data.test_path is required when data.train_path is given")
    train = load_transitions(data_config.train_path)
    if data_config.valid_path:
        valid = load_transitions(data_config.valid_path)
    else:
        held = set(random.Random(seed).sample(range(len(train)), int(len(train) * VALID_FRACTION)))
        valid = [t for i, t in enumerate(train) if i in held]
        train = [t for i, t in enumerate(train) if i not in held]
    return {"train": train, "valid": valid, "test": load_transitions(data_config.test_path)}


def prepare_task(config, run_dir: Path, init_dir: Path | None = None, log=None) -> TextGameTask:
    """The run's task (`config` is a `RunConfig`). With `init_dir` (a previous run), reuse its
    data and tokenizer. A pretrained `model.path` brings its own tokenizer (and chat template);
    otherwise a BPE is trained on the training prompts and answers."""
    data_config, seed, compat = config.data, config.seed, config.rlvr.compat
    run_dir = Path(run_dir)
    data_dir = run_dir / "data"
    if init_dir is not None:
        splits = {s: load_transitions(init_dir / "data" / f"{s}.jsonl") for s in SPLITS}
        tokenizer = load_text_tokenizer(init_dir / "tokenizer")
    elif (data_dir / "train.jsonl").exists() and (run_dir / "tokenizer").exists():  # resume
        splits = {s: load_transitions(data_dir / f"{s}.jsonl") for s in SPLITS}
        tokenizer = load_text_tokenizer(run_dir / "tokenizer")
    else:
        splits = load_splits(data_config, seed)
        model = config.model
        if model.path:  # a pretrained model brings its tokenizer
            tokenizer = PretrainedTokenizer.load(
                model.path, gguf_file=model.gguf_file, chat_template=model.chat_template
            )
        else:
            texts = [question_text(t, data_config.prompt_style) for t in splits["train"]]
            texts += [answer_text(t, data_config.prompt_style) for t in splits["train"]]
            tokenizer = train_bpe(texts, vocab_size=data_config.vocab_size)
    if init_dir is not None or not (data_dir / "train.jsonl").exists():
        for split, transitions in splits.items():
            save_transitions(data_dir / f"{split}.jsonl", transitions)
        tokenizer.save(run_dir / "tokenizer")
    return TextGameTask(
        splits,
        tokenizer,
        prompt_style=data_config.prompt_style,
        compat=compat,
        max_question_tokens=data_config.max_question_tokens,
    )
