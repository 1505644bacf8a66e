"""Score any model's predicted web-page changes offline (`rlvr-world score web`)."""

from __future__ import annotations

import json
from pathlib import Path

from rlvr_world.domains.web.data import load_transitions as load_web
from rlvr_world.domains.web.rewards import web_f1
from rlvr_world.text.records import read_predictions


def score_web_files(
    data: str | Path, predictions: str | Path, out: str | Path | None = None
) -> dict:
    """Item F1 (SPEC §4) of `predictions` against `data` (jsonl `{"id", "ground_truth"}` rows
    or any file the web domain loads: the RL parquet, SFT question/answer); writes jsonl
    {"id", "reward", "precision", "recall"} to `out`. Returns the mean F1 / precision /
    recall and how many rows had no prediction or predictions no row."""
    gold = {t.id: t.answer for t in load_web(data)}
    responses = read_predictions(predictions)
    rows = []
    for id_, response in responses.items():
        if id_ in gold:
            scores = web_f1(response, gold[id_])
            rows.append({"id": id_, "reward": scores["f1"], **_without(scores, "f1")})
    if out is not None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        with Path(out).open("w") as handle:
            for row in rows:
                handle.write(json.dumps(row) + "\n")
    mean = lambda key: sum(r[key] for r in rows) / len(rows) if rows else None  # noqa: E731
    return {
        "f1": mean("reward"),
        "precision": mean("precision"),
        "recall": mean("recall"),
        "scored": len(rows),
        "missing_predictions": len(set(gold) - set(responses)),
        "unknown_ids": len(set(responses) - set(gold)),
    }


def _without(scores: dict, key: str) -> dict:
    return {k: v for k, v in scores.items() if k != key}


def add_score_arguments(parser) -> None:
    """`rlvr-world score web`'s options."""
    parser.add_argument(
        "--data", required=True, help='jsonl of {"id", "ground_truth"}, or the RL parquet'
    )
    parser.add_argument("--predictions", required=True, help='jsonl of {"id", "response"}')
    parser.add_argument(
        "--out", required=True, help='jsonl of {"id", "reward", "precision", "recall"}'
    )


def score_files(args) -> dict:
    """`rlvr-world score web` from its parsed options."""
    return score_web_files(args.data, args.predictions, out=args.out)
