"""Text-game transitions and the files they live in (SPEC §3 "Real data formats to load").

A `Transition` is one ByteSized32 state-prediction sample: the current state, an action, and
the gold next state (after the action *and* one time tick, score included). Two formats:

- **ByteSized32 jsonl** (`.jsonl`, or `.json` as JSON lines or one JSON array), one transition
  per row: `game`, `state_id`, `current_state`, `action_state`, `tick_state`,
  `current_score_state`, `next_score_state`; each `*_state` holds `objects`, `taskDesc`,
  `lastAction`, `max_UUID`. current = `current_state.objects + [current_score_state]`, gold =
  `tick_state.objects + [next_score_state]`, action = `tick_state.lastAction`, UUID base =
  `current_state.max_UUID`, id = `<game>/<state_id>`. Our extra optional keys: `rules` (the
  game's rules text) and `id` (only written when the id is not `<game>/<state_id>`).
- **RL parquet** (`.parquet`): `data_source`, `prompt` = [{"role", "content"}],
  `reward_model.ground_truth` (JSON of the full next state), `extra_info` = {split, index,
  data_state (JSON of the current state), data_action}. A state in these JSON strings is
  either a list or `{"game_state": [...]}` (the reference's form, which `save_parquet` writes).

Loaders validate every row and raise `DataError` naming the file, the 1-based line (row index
+ 1 for parquet) and the field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlvr_world.domains.textgame.state import SCORE_KEYS, is_changed, is_score, split_state
from rlvr_world.text.records import (
    DataError,
    FieldError,
    chat_user_text,
    expect_dict,
    expect_int,
    expect_list,
    expect_str,
    get,
    read_records,
    type_name,
)

__all__ = ["DataError", "Transition", "load_transitions", "save_parquet", "save_transitions"]

_UUID_BASE_RE = re.compile(r"The current game UUID base is\s*(-?\d+)")
# "Task Description:\n..." (reference prompts) or "## Task description\n..." (our full prompt).
_TASK_RE = re.compile(r"(?:Task Description:|## Task description)\s*\n?\s*([^\n]+)", re.IGNORECASE)


@dataclass(frozen=True)
class Transition:
    """One state-prediction sample.

    id: `"<game>/<state_id>"` for ByteSized32 rows, `str(extra_info.index)` for parquet rows.
    current / next: objects followed by the score dict `{"score", "gameOver", "gameWon"}`.
    uuid_base: the first uuid a new object may take ("The current game UUID base is N").
    rules: the game's rules text (objects, actions, scoring) for the full prompt; may be "".
    """

    id: str
    game: str
    task: str
    current: list[dict]
    action: str
    next: list[dict]
    uuid_base: int
    rules: str = ""

    @property
    def changed(self) -> bool:
        """Whether a property or `contains` of an object in both states differs (SPEC §3)."""
        return is_changed(self.current, self.next)

    @property
    def split(self) -> str:
        return "changed" if self.changed else "unchanged"


def _check_object(obj: Any, field: str) -> dict:
    obj = expect_dict(obj, field)
    expect_str(get(obj, "name", f"{field}.name"), f"{field}.name")
    expect_int(get(obj, "uuid", f"{field}.uuid"), f"{field}.uuid")
    expect_dict(get(obj, "properties", f"{field}.properties"), f"{field}.properties")
    if "type" in obj:
        expect_str(obj["type"], f"{field}.type")
    if "contains" in obj:
        expect_list(obj["contains"], f"{field}.contains")
    return obj


def _check_objects(value: Any, field: str) -> list[dict]:
    objects = expect_list(value, field)
    return [_check_object(obj, f"{field}[{i}]") for i, obj in enumerate(objects)]


def _check_score(value: Any, field: str) -> dict:
    score = expect_dict(value, field)
    raw = get(score, "score", f"{field}.score")
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise FieldError(f"{field}.score", f"expected a number, got {type_name(raw)}")
    for key in SCORE_KEYS[1:]:
        flag = get(score, key, f"{field}.{key}")
        if not isinstance(flag, bool):
            raise FieldError(f"{field}.{key}", f"expected a bool, got {type_name(flag)}")
    return score


def _check_state(value: Any, field: str) -> list[dict]:
    """A full state: objects then the score dict last (a `{"game_state": [...]}` is unwrapped)."""
    if isinstance(value, dict) and "game_state" in value:
        value, field = value["game_state"], f"{field}.game_state"
    state = expect_list(value, field)
    if not state or not is_score(state[-1]):
        raise FieldError(field, "expected the score object last")
    objects = _check_objects(state[:-1], field)
    return [*objects, _check_score(state[-1], f"{field}[{len(state) - 1}]")]


def _parse_json(text: Any, field: str) -> Any:
    text = expect_str(text, field)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise FieldError(field, f"invalid JSON: {error}") from None


# ---------------------------------------------------------------------------------------------
# ByteSized32 jsonl


def _row_to_transition(row: Any) -> Transition:
    row = expect_dict(row, "<row>")
    game = expect_str(get(row, "game", "game"), "game")
    state_id = get(row, "state_id", "state_id")
    if isinstance(state_id, bool) or not isinstance(state_id, (str, int)):
        raise FieldError("state_id", f"expected a string or integer, got {type_name(state_id)}")
    current_state = expect_dict(get(row, "current_state", "current_state"), "current_state")
    expect_dict(get(row, "action_state", "action_state"), "action_state")
    tick_state = expect_dict(get(row, "tick_state", "tick_state"), "tick_state")
    current_objects = _check_objects(
        get(current_state, "objects", "current_state.objects"), "current_state.objects"
    )
    task = expect_str(
        get(current_state, "taskDesc", "current_state.taskDesc"), "current_state.taskDesc"
    )
    uuid_base = expect_int(
        get(current_state, "max_UUID", "current_state.max_UUID"), "current_state.max_UUID"
    )
    next_objects = _check_objects(
        get(tick_state, "objects", "tick_state.objects"), "tick_state.objects"
    )
    action = expect_str(
        get(tick_state, "lastAction", "tick_state.lastAction"), "tick_state.lastAction"
    )
    current_score = _check_score(
        get(row, "current_score_state", "current_score_state"), "current_score_state"
    )
    next_score = _check_score(get(row, "next_score_state", "next_score_state"), "next_score_state")
    rules = expect_str(row.get("rules", ""), "rules")
    transition_id = expect_str(row.get("id", f"{game}/{state_id}"), "id")
    return Transition(
        id=transition_id,
        game=game,
        task=task,
        current=[*current_objects, current_score],
        action=action,
        next=[*next_objects, next_score],
        uuid_base=uuid_base,
        rules=rules,
    )


def _transition_to_row(transition: Transition) -> dict:
    """The ByteSized32 row of a transition.

    We do not track the state between the action and the tick, so `action_state` repeats the
    tick state (the loader only checks that it is a dict). `max_UUID` of the tick state is the
    larger of the current base and (max uuid in the next state + 1).
    """
    current_objects, current_score = split_state(transition.current)
    next_objects, next_score = split_state(transition.next)
    prefix = f"{transition.game}/"
    if transition.id.startswith(prefix):
        state_id = transition.id[len(prefix) :]
    else:
        state_id = transition.id
    next_base = max(
        [transition.uuid_base]
        + [obj["uuid"] + 1 for obj in next_objects if isinstance(obj.get("uuid"), int)]
    )

    def game_state(objects: list[dict], last_action: str, max_uuid: int) -> dict:
        return {
            "objects": objects,
            "taskDesc": transition.task,
            "lastAction": last_action,
            "max_UUID": max_uuid,
        }

    row: dict[str, Any] = {
        "game": transition.game,
        "state_id": state_id,
        "current_state": game_state(current_objects, "", transition.uuid_base),
        "action_state": game_state(next_objects, transition.action, next_base),
        "tick_state": game_state(next_objects, transition.action, next_base),
        "current_score_state": current_score,
        "next_score_state": next_score,
    }
    if transition.rules:
        row["rules"] = transition.rules
    if prefix + state_id != transition.id:
        row["id"] = transition.id
    return row


def save_transitions(path: str | Path, transitions: Sequence[Transition]) -> None:
    """Write transitions as ByteSized32 state-prediction jsonl (one row per line)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for transition in transitions:
            handle.write(json.dumps(_transition_to_row(transition)) + "\n")


# ---------------------------------------------------------------------------------------------
# RL parquet


def _parquet_row_to_transition(row: dict) -> Transition:
    data_source = expect_str(get(row, "data_source", "data_source"), "data_source")
    prompt = chat_user_text(get(row, "prompt", "prompt"))
    reward_model = expect_dict(get(row, "reward_model", "reward_model"), "reward_model")
    field = "reward_model.ground_truth"
    next_state = _check_state(_parse_json(get(reward_model, "ground_truth", field), field), field)
    extra_info = expect_dict(get(row, "extra_info", "extra_info"), "extra_info")
    index = get(extra_info, "index", "extra_info.index")
    if isinstance(index, bool) or not isinstance(index, (int, str)):
        raise FieldError("extra_info.index", f"expected an integer, got {type_name(index)}")
    field = "extra_info.data_state"
    current = _check_state(_parse_json(get(extra_info, "data_state", field), field), field)
    action = expect_str(
        get(extra_info, "data_action", "extra_info.data_action"), "extra_info.data_action"
    )
    # Optional keys that `save_parquet` adds so that our own files round-trip exactly.
    transition_id = extra_info.get("id") or str(index)
    match = _UUID_BASE_RE.search(prompt)
    if match:
        uuid_base = int(match.group(1))
    elif isinstance(extra_info.get("uuid_base"), int):
        uuid_base = extra_info["uuid_base"]
    else:
        uuid_base = 1 + max([-1] + [obj["uuid"] for obj in split_state(current)[0]])
    task = extra_info.get("task")
    if not isinstance(task, str) or not task:
        task_match = _TASK_RE.search(prompt)
        task = task_match.group(1).strip() if task_match else data_source
    rules = extra_info.get("rules") if isinstance(extra_info.get("rules"), str) else ""
    return Transition(
        id=expect_str(transition_id, "extra_info.id"),
        game=data_source,
        task=task,
        current=current,
        action=action,
        next=next_state,
        uuid_base=uuid_base,
        rules=rules,
    )


def save_parquet(
    path: str | Path, transitions: Sequence[Transition], prompts: Sequence[str]
) -> None:
    """Write the RL parquet format; `prompts[i]` is the user message of `transitions[i]`.

    States are written as `{"game_state": [...]}` JSON as in the reference; `extra_info` also
    carries `id`, `task`, `rules` and `uuid_base` so that `load_transitions` round-trips.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if len(prompts) != len(transitions):
        raise ValueError(
            f"prompts: expected one prompt per transition ({len(transitions)}), got {len(prompts)}"
        )
    rows = [
        {
            "data_source": transition.game,
            "prompt": [{"role": "user", "content": prompt}],
            "reward_model": {"ground_truth": json.dumps({"game_state": transition.next})},
            "extra_info": {
                "split": transition.split,
                "index": index,
                "data_state": json.dumps({"game_state": transition.current}),
                "data_action": transition.action,
                "id": transition.id,
                "task": transition.task,
                "rules": transition.rules,
                "uuid_base": transition.uuid_base,
            },
        }
        for index, (transition, prompt) in enumerate(zip(transitions, prompts))
    ]
    schema = pa.schema(
        [
            ("data_source", pa.string()),
            ("prompt", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))),
            ("reward_model", pa.struct([("ground_truth", pa.string())])),
            (
                "extra_info",
                pa.struct(
                    [
                        ("split", pa.string()),
                        ("index", pa.int64()),
                        ("data_state", pa.string()),
                        ("data_action", pa.string()),
                        ("id", pa.string()),
                        ("task", pa.string()),
                        ("rules", pa.string()),
                        ("uuid_base", pa.int64()),
                    ]
                ),
            ),
        ]
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)


# ---------------------------------------------------------------------------------------------


def load_transitions(path: str | Path, unique_ids: bool = False) -> list[Transition]:
    """Load a ByteSized32 jsonl/json file or an RL parquet file (dispatch on the suffix).

    Raises `DataError` (a `ValueError`) on a missing file, a directory, an unknown suffix, an
    empty file, text that is not UTF-8 or any malformed row; with `unique_ids`, on an id given
    twice (naming both lines).
    """
    key = (lambda t: t.id) if unique_ids else None
    return read_records(path, _row_to_transition, _parquet_row_to_transition, key=key)
