"""Score any model's answers to text-game transitions offline (`rlvr-world score textgame`)."""

from __future__ import annotations

import json
from pathlib import Path

from rlvr_world.domains.textgame.data import load_transitions
from rlvr_world.domains.textgame.rewards import score_response
from rlvr_world.text.records import read_predictions


def score_textgame_files(
    data: str | Path,
    predictions: str | Path,
    reward: str = "binary",
    compat: str = "fixed",
    out: str | Path | None = None,
) -> dict:
    """Score `predictions` against `data`; write jsonl {"id", "reward", "split"} to `out`.

    Returns a summary: accuracy (exact state) per split and overall, the mean reward, and how
    many dataset rows had no prediction (scored as missing, not as 0) or predictions no row.
    """
    if reward not in ("binary", "task_specific"):
        raise ValueError(f"unknown reward {reward!r}; known: binary, task_specific")
    transitions = {t.id: t for t in load_transitions(data)}
    responses = read_predictions(predictions)
    unknown = sorted(set(responses) - set(transitions))
    rows, exact = [], {"changed": [], "unchanged": []}
    for id_, response in responses.items():
        if id_ not in transitions:
            continue
        t = transitions[id_]
        scores = score_response(response, t.current, t.next, compat=compat)
        rows.append({"id": id_, "reward": scores[reward], "split": t.split})
        exact[t.split].append(scores["exact"])
    if out is not None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        with Path(out).open("w") as handle:
            for row in rows:
                handle.write(json.dumps(row) + "\n")
    every = exact["changed"] + exact["unchanged"]
    mean = lambda xs: sum(xs) / len(xs) if xs else None  # noqa: E731
    return {
        "accuracy": {
            "unchanged": mean(exact["unchanged"]),
            "changed": mean(exact["changed"]),
            "overall": mean(every),
        },
        "reward": reward,
        "compat": compat,
        "reward_mean": mean([r["reward"] for r in rows]),
        "scored": len(rows),
        "missing_predictions": len(set(transitions) - set(responses)),
        "unknown_ids": len(unknown),
    }


def add_score_arguments(parser) -> None:
    """`rlvr-world score textgame`'s options."""
    parser.add_argument("--data", required=True, help="ByteSized32 jsonl or RL parquet")
    parser.add_argument("--predictions", required=True, help='jsonl of {"id", "response"}')
    parser.add_argument("--reward", default="binary", choices=["binary", "task_specific"])
    parser.add_argument("--compat", default="fixed", choices=["fixed", "reference"])
    parser.add_argument("--out", required=True, help='jsonl of {"id", "reward", "split"}')


def score_files(args) -> dict:
    """`rlvr-world score textgame` from its parsed options."""
    return score_textgame_files(
        args.data, args.predictions, reward=args.reward, compat=args.compat, out=args.out
    )
