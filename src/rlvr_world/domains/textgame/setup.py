"""Build the text-game task of a run: transitions (simulated or loaded), tokenizer, prompts."""

from __future__ import annotations

from pathlib import Path

from rlvr_world.domains.textgame.data import load_transitions, save_transitions
from rlvr_world.domains.textgame.prompts import answer_text, question_text
from rlvr_world.domains.textgame.simulator import GAMES, generate_transitions
from rlvr_world.domains.textgame.task import TextGameTask
from rlvr_world.text.run_data import SPLITS, load_split_files, prepare_text_data, write_splits

# Each split's episodes come from its own seed stream, so no episode is shared between splits.
SEED_OFFSETS = {"train": 0, "valid": 2_000_003, "test": 1_000_003}


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
    """Transitions from files where given (`text.run_data.load_split_files`), else simulated."""
    if not data_config.train_path:
        return simulate(data_config, seed)
    return load_split_files(data_config, seed, load_transitions)


def prepare_task(config, run_dir: Path, init_dir: Path | None = None, log=None) -> TextGameTask:
    """The run's task (`config` is a `RunConfig`). With `init_dir` (a previous run), reuse its
    data and tokenizer. A pretrained `model.path` brings its own tokenizer (and chat template);
    otherwise a BPE is trained on the training prompts and answers."""
    data_config = config.data
    style = data_config.prompt_style
    splits, tokenizer = prepare_text_data(
        config,
        run_dir,
        init_dir,
        make_splits=lambda: load_splits(data_config, config.seed),
        load=load_transitions,
        save=save_transitions,
        texts=lambda t: (question_text(t, style), answer_text(t, style)),
    )
    return TextGameTask(
        splits,
        tokenizer,
        prompt_style=data_config.prompt_style,
        compat=config.rlvr.compat,
        max_question_tokens=data_config.max_question_tokens,
    )


def write_dataset(config, out: Path, format: str = "jsonl") -> list[str]:
    """`rlvr-world data`: the simulated splits as jsonl or as the RL parquet (full prompts) in
    `out`; one line a file for the terminal."""
    from rlvr_world.domains.textgame.data import save_parquet

    return write_splits(
        simulate(config.data, config.seed),
        Path(out),
        format,
        save=save_transitions,
        save_parquet=save_parquet,
        full_question=lambda t: question_text(t, "full"),
    )
