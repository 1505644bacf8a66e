"""Web transitions and the files they live in (SPEC §4 "Real data").

A `WebTransition` is one state-prediction sample: the page (URL and accessibility tree), the
task's objective, the previous and current action, and the gold answer (the three-section
diff to the next tree, `diff.tree_diff`). Our simulator writes every field; real data
carries the prompt text instead of its parts:

- **jsonl** (ours, `save_transitions`): one transition per row with the fields below.
- **RL parquet** (the paper's): `prompt` = [{"role", "content"}, ...] and
  `reward_model.ground_truth` (the gold diff text); optional `extra_info.index` (the id) and
  `extra_info.split`.
- **SFT** (jsonl or parquet): `question` and `answer` (the answer may hold reasoning before
  the sections; the reward only reads the sections).
- **Gold answers** (jsonl, `rlvr-world score web --data`): `id` and `ground_truth` only.

Loaders raise `DataError` naming the file, the 1-based line and the field.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rlvr_world.domains.web.rewards import parse_sections
from rlvr_world.text.records import (
    DataError,
    FieldError,
    chat_user_text,
    expect_dict,
    expect_str,
    get,
    read_records,
)

__all__ = ["DataError", "WebTransition", "load_transitions", "save_parquet", "save_transitions"]


@dataclass(frozen=True)
class WebTransition:
    """One sample. answer: the gold diff (`New items:` / `Deleted items:` / `Updated items:`).

    prompt: the question text as given by real data (then url ... action may be empty);
    None = build it from the fields (`prompts.question_text`). site / task: where the page is
    and which objective the episode pursues (simulated data; "" otherwise)."""

    id: str
    url: str
    objective: str
    previous_action: str
    tree: str
    action: str
    answer: str
    prompt: str | None = None
    site: str = ""
    task: str = ""

    @property
    def changed(self) -> bool:
        """Whether the action changed the page at all."""
        return any(items - {"None"} for items in parse_sections(self.answer).values())


_FIELDS = ("id", "url", "objective", "previous_action", "tree", "action", "answer")


def _row_to_transition(row: Any) -> WebTransition:
    row = expect_dict(row, "<row>")
    if "ground_truth" in row or set(row) <= {"id"}:  # gold answers only
        gold = expect_str(get(row, "ground_truth", "ground_truth"), "ground_truth")
        return _from_prompt(str(get(row, "id", "id")), "", gold)
    if "question" in row and "tree" not in row:  # SFT pairs
        question = expect_str(get(row, "question", "question"), "question")
        answer = expect_str(get(row, "answer", "answer"), "answer")
        return _from_prompt(str(row.get("id", "")), question, answer)
    values = {name: expect_str(get(row, name, name), name) for name in _FIELDS}
    prompt = row.get("prompt")
    if prompt is not None:
        expect_str(prompt, "prompt")
    extra = {k: expect_str(row.get(k, ""), k) for k in ("site", "task")}
    return WebTransition(**values, prompt=prompt, **extra)


def _parquet_row_to_transition(row: Any) -> WebTransition:
    row = expect_dict(row, "<row>")
    if "question" in row:
        return _row_to_transition(row)
    prompt = chat_user_text(get(row, "prompt", "prompt"))
    reward_model = expect_dict(get(row, "reward_model", "reward_model"), "reward_model")
    answer = expect_str(
        get(reward_model, "ground_truth", "reward_model.ground_truth"),
        "reward_model.ground_truth",
    )
    extra = row.get("extra_info") or {}
    if not isinstance(extra, dict):
        raise FieldError("extra_info", "expected an object (dict)")
    return _from_prompt(str(extra.get("index", "")), prompt, answer)


def _from_prompt(id_: str, prompt: str, answer: str) -> WebTransition:
    return WebTransition(
        id=id_,
        url="",
        objective="",
        previous_action="",
        tree="",
        action="",
        answer=answer,
        prompt=prompt,
    )


def load_transitions(path: str | Path, unique_ids: bool = False) -> list[WebTransition]:
    """Our jsonl, the RL parquet or SFT question/answer files (dispatch on the suffix and the
    columns). Rows without an id are numbered by position. unique_ids: an id two rows give is
    a `DataError` naming both lines."""
    key = (lambda t: t.id or None) if unique_ids else None
    transitions = read_records(path, _row_to_transition, _parquet_row_to_transition, key=key)
    return [
        t if t.id else WebTransition(**{**asdict(t), "id": str(i)})
        for i, t in enumerate(transitions)
    ]


def save_transitions(path: str | Path, transitions: Sequence[WebTransition]) -> None:
    """One JSON row per transition (every field)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for transition in transitions:
            handle.write(json.dumps(asdict(transition)) + "\n")


def save_parquet(
    path: str | Path, transitions: Sequence[WebTransition], prompts: Sequence[str]
) -> None:
    """The paper's RL parquet: `prompt` (one user message), `reward_model.ground_truth`,
    `extra_info` = {index, split ("changed"/"unchanged"), id, site, task}."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [
        {
            "prompt": [{"role": "user", "content": prompt}],
            "reward_model": {"ground_truth": t.answer},
            "extra_info": {
                "index": i,
                "split": "changed" if t.changed else "unchanged",
                "id": t.id,
                "site": t.site,
                "task": t.task,
            },
        }
        for i, (t, prompt) in enumerate(zip(transitions, prompts))
    ]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)
