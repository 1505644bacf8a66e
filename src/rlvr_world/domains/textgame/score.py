"""Score any model's answers to text-game transitions offline (`rlvr-world score textgame`)."""

from __future__ import annotations

from pathlib import Path

from rlvr_world.domains.textgame.data import load_transitions
from rlvr_world.domains.textgame.rewards import score_response
from rlvr_world.text.records import (
    MAX_RESPONSE_CHARS,
    check_output_file,
    read_predictions,
    write_lines,
)

REWARDS = ("binary", "task_specific")
MINIMUM = 0.0
"""What both rewards (and exact accuracy) give a malformed answer: a missing one scores it."""


def score_textgame_files(
    data: str | Path,
    predictions: str | Path,
    reward: str = "binary",
    compat: str = "fixed",
    out: str | Path | None = None,
    subset: bool = False,
) -> dict:
    """Score `predictions` against `data`; write jsonl {"id", "reward", "split"} to `out`
    (atomically; `out` may not be an input).

    A data row without a prediction scores the reward's minimum (its row in `out` says
    `"missing": true`) unless `subset`, which scores the predicted rows only. An id given
    twice in either file is an error naming both lines; a response over `MAX_RESPONSE_CHARS`
    scores the minimum unparsed. Returns a summary: accuracy (exact state) per split and
    overall, the mean reward, how many rows were scored from predictions (`scored`), how
    many data rows had none (`missing`, also `missing_predictions`), how many predictions
    match no row (`unknown_ids`) and how many were too long to parse (`too_long`).
    """
    if reward not in REWARDS:
        raise ValueError(f"unknown reward {reward!r}; known: {', '.join(REWARDS)}")
    if out is not None:
        out = check_output_file(out, data=data, predictions=predictions)
    transitions = {t.id: t for t in load_transitions(data, unique_ids=True)}
    responses = read_predictions(predictions)
    rows, exact = [], {"changed": [], "unchanged": []}
    too_long = 0
    for id_, response in responses.items():
        if id_ not in transitions:
            continue
        t = transitions[id_]
        if len(response) > MAX_RESPONSE_CHARS:
            too_long += 1
            scores = {"exact": MINIMUM, reward: MINIMUM}
        else:
            scores = score_response(response, t.current, t.next, compat=compat)
        rows.append({"id": id_, "reward": scores[reward], "split": t.split})
        exact[t.split].append(scores["exact"])
    scored = len(rows)
    missing = [t for id_, t in transitions.items() if id_ not in responses]
    if not subset:
        for t in missing:
            rows.append({"id": t.id, "reward": MINIMUM, "split": t.split, "missing": True})
            exact[t.split].append(MINIMUM)
    if out is not None:
        write_lines(out, rows)
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
        "scored": scored,
        "missing": len(missing),
        "missing_predictions": len(missing),
        "subset": subset,
        "unknown_ids": len(set(responses) - set(transitions)),
        "too_long": too_long,
    }


def add_score_arguments(parser) -> None:
    """`rlvr-world score textgame`'s options."""
    parser.add_argument("--data", required=True, help="ByteSized32 jsonl or RL parquet")
    parser.add_argument("--predictions", required=True, help='jsonl of {"id", "response"}')
    parser.add_argument("--reward", default="binary", choices=list(REWARDS))
    parser.add_argument("--compat", default="fixed", choices=["fixed", "reference"])
    parser.add_argument("--out", required=True, help='jsonl of {"id", "reward", "split"}')
    parser.add_argument(
        "--subset",
        action="store_true",
        help="score the predicted rows only (default: a data row without a prediction scores "
        "the reward's minimum, 0)",
    )


def score_files(args) -> dict:
    """`rlvr-world score textgame` from its parsed options."""
    return score_textgame_files(
        args.data,
        args.predictions,
        reward=args.reward,
        compat=args.compat,
        out=args.out,
        subset=args.subset,
    )
