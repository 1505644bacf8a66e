"""Score any model's predicted web-page changes offline (`rlvr-world score web`)."""

from __future__ import annotations

from pathlib import Path

from rlvr_world.domains.web.data import load_transitions as load_web
from rlvr_world.domains.web.rewards import web_f1
from rlvr_world.text.records import (
    MAX_RESPONSE_CHARS,
    check_output_file,
    read_predictions,
    write_lines,
)

MINIMUM = {"f1": 0.0, "precision": 0.0, "recall": 0.0}
"""What a malformed answer scores: a missing one scores it too."""


def score_web_files(
    data: str | Path,
    predictions: str | Path,
    out: str | Path | None = None,
    subset: bool = False,
) -> dict:
    """Item F1 (SPEC §4) of `predictions` against `data` (jsonl `{"id", "ground_truth"}` rows
    or any file the web domain loads: the RL parquet, SFT question/answer); writes jsonl
    {"id", "reward", "precision", "recall"} to `out` (atomically; `out` may not be an input).

    A data row without a prediction scores 0 (its row in `out` says `"missing": true`) unless
    `subset`, which scores the predicted rows only. An id given twice in either file is an
    error naming both lines; a response over `MAX_RESPONSE_CHARS` scores 0 unparsed. Returns
    the mean F1 / precision / recall, how many rows were scored from predictions (`scored`),
    how many data rows had none (`missing`, also `missing_predictions`), how many predictions
    match no row (`unknown_ids`) and how many were too long to parse (`too_long`)."""
    if out is not None:
        out = check_output_file(out, data=data, predictions=predictions)
    gold = {t.id: t.answer for t in load_web(data, unique_ids=True)}
    responses = read_predictions(predictions)
    rows = []
    too_long = 0
    for id_, response in responses.items():
        if id_ in gold:
            if len(response) > MAX_RESPONSE_CHARS:
                too_long += 1
                scores = MINIMUM
            else:
                scores = web_f1(response, gold[id_])
            rows.append({"id": id_, "reward": scores["f1"], **_without(scores, "f1")})
    scored = len(rows)
    missing = [id_ for id_ in gold if id_ not in responses]
    if not subset:
        rows += [
            {"id": id_, "reward": MINIMUM["f1"], **_without(MINIMUM, "f1"), "missing": True}
            for id_ in missing
        ]
    if out is not None:
        write_lines(out, rows)
    mean = lambda key: sum(r[key] for r in rows) / len(rows) if rows else None  # noqa: E731
    return {
        "f1": mean("reward"),
        "precision": mean("precision"),
        "recall": mean("recall"),
        "scored": scored,
        "missing": len(missing),
        "missing_predictions": len(missing),
        "subset": subset,
        "unknown_ids": len(set(responses) - set(gold)),
        "too_long": too_long,
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
    parser.add_argument(
        "--subset",
        action="store_true",
        help="score the predicted rows only (default: a data row without a prediction scores 0)",
    )


def score_files(args) -> dict:
    """`rlvr-world score web` from its parsed options."""
    return score_web_files(args.data, args.predictions, out=args.out, subset=args.subset)
