"""A text run's data and tokenizer, prepared once per run folder (any text domain).

New run: the domain makes its splits (simulated or loaded); a pretrained `model.path` brings
its tokenizer (and chat template), otherwise a byte-level BPE is trained on the training
questions and answers. Continuing from `init_dir` (an earlier run): its data and tokenizer.
Resuming (the run folder already has them): read back. Data go to `<run>/data/<split>.jsonl`,
the tokenizer to `<run>/tokenizer/`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rlvr_world.text.tokenizer import (
    PretrainedTokenizer,
    id_tokens,
    load_text_tokenizer,
    train_bpe,
)

SPLITS = ("train", "valid", "test")
VALID_FRACTION = 0.1


def load_split_files(data_config, seed: int, load: Callable[[str], list]) -> dict[str, list]:
    """The splits from `data.train_path` / `valid_path` / `test_path` (test required). Without
    a validation file, a fixed 10% of the training file is held out for model selection."""
    if not data_config.test_path:
        raise ValueError("data.test_path is required when data.train_path is given")
    train = load(data_config.train_path)
    if data_config.valid_path:
        valid = load(data_config.valid_path)
    else:
        count = int(len(train) * VALID_FRACTION)
        held = set(random.Random(seed).sample(range(len(train)), count))
        valid = [t for i, t in enumerate(train) if i in held]
        train = [t for i, t in enumerate(train) if i not in held]
    return {"train": train, "valid": valid, "test": load(data_config.test_path)}


def prepare_text_data(
    config,
    run_dir: Path,
    init_dir: Path | None,
    *,
    make_splits: Callable[[], dict[str, list]],
    load: Callable[[Path], list],
    save: Callable[[Path, Sequence[Any]], None],
    texts: Callable[[Any], tuple[str, str]],
) -> tuple[dict[str, list], Any]:
    """-> (split -> records, tokenizer). `config` is a `RunConfig`; `texts(record)` gives the
    (question, answer) strings a new BPE learns from. A run folder's own data and tokenizer are
    read back only when every split file and the tokenizer are there; otherwise they are made
    (or copied from `init_dir`) again and every one written, never mixed with leftovers."""
    run_dir = Path(run_dir)
    data_dir = run_dir / "data"
    if init_dir is not None:
        splits = {s: load(init_dir / "data" / f"{s}.jsonl") for s in SPLITS}
        tokenizer = load_text_tokenizer(init_dir / "tokenizer")
    elif _has_inputs(run_dir):  # resume, evaluation: read back
        splits = {s: load(data_dir / f"{s}.jsonl") for s in SPLITS}
        return splits, load_text_tokenizer(run_dir / "tokenizer")
    else:
        splits = make_splits()
        model = config.model
        if model.path:
            tokenizer = PretrainedTokenizer.load(
                model.path, gguf_file=model.gguf_file, chat_template=model.chat_template
            )
        else:
            corpus = [text for record in splits["train"] for text in texts(record)]
            tokenizer = train_bpe(
                corpus, vocab_size=config.data.vocab_size, whole=id_tokens(config.data.id_tokens)
            )
    for split, records in splits.items():
        save(data_dir / f"{split}.jsonl", records)
    tokenizer.save(run_dir / "tokenizer")
    return splits, tokenizer


def _has_inputs(run_dir: Path) -> bool:
    """Every split file and the tokenizer folder are in the run folder."""
    files = [run_dir / "data" / f"{split}.jsonl" for split in SPLITS]
    return all(f.is_file() for f in files) and (run_dir / "tokenizer").is_dir()


def write_splits(
    splits: dict[str, list],
    out: Path,
    format: str,
    *,
    save: Callable[[Path, Sequence[Any]], None],
    save_parquet: Callable[[Path, Sequence[Any], list[str]], None],
    full_question: Callable[[Any], str],
) -> list[str]:
    """A text domain's splits as `<out>/<split>.jsonl`, or as the RL parquet with each record's
    full prompt; one line a file (records, how many change the state) for the terminal."""
    lines = []
    for split, records in splits.items():
        if format == "parquet":
            path = out / f"{split}.parquet"
            save_parquet(path, records, [full_question(r) for r in records])
        else:
            path = out / f"{split}.jsonl"
            save(path, records)
        changed = sum(r.changed for r in records)
        lines.append(f"{path}: {len(records)} transitions ({changed} changed)")
    return lines
