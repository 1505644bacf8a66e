"""Score any model's answers offline against a dataset (`rlvr-world score textgame|web`)."""

from __future__ import annotations

import json
from pathlib import Path

from rlvr_world.domains.textgame.data import load_transitions
from rlvr_world.domains.textgame.rewards import score_response
from rlvr_world.text.records import DataError


def read_predictions(path: str | Path) -> dict[str, str]:
    """jsonl of {"id", "response"} -> id -> response; bad lines raise `DataError`."""
    path = Path(path)
    out: dict[str, str] = {}
    with path.open() as handle:
        for line_no, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise DataError(path, line_no, "<line>", f"invalid JSON ({error.msg})") from error
            if not isinstance(row, dict):
                raise DataError(path, line_no, "<line>", "expected a JSON object")
            for key in ("id", "response"):
                if key not in row:
                    raise DataError(path, line_no, key, "missing")
            if not isinstance(row["response"], str):
                raise DataError(path, line_no, "response", "expected a string")
            out[str(row["id"])] = row["response"]
    return out


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


def score_web_files(
    data: str | Path, predictions: str | Path, out: str | Path | None = None
) -> dict:
    """Item F1 (SPEC §4) of `predictions` against `data` (jsonl `{"id", "ground_truth"}` rows
    or any file the web domain loads: the RL parquet, SFT question/answer); writes jsonl
    {"id", "reward", "precision", "recall"} to `out`. Returns the mean F1 / precision /
    recall and how many rows had no prediction or predictions no row."""
    from rlvr_world.domains.web.data import load_transitions as load_web
    from rlvr_world.domains.web.rewards import web_f1

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
