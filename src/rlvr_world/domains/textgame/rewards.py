"""Verifiable rewards for the text-game world model (ByteSized32 state prediction, SPEC §3).

A response is free reasoning, then "The final answer is:" and a JSON *difference*
`{"modified": [objects], "removed": [uuids], "score": {...}}`. Scoring a response:

1. `parse_answer`: marker / fenced block / whole text -> lenient JSON -> dict with `modified`
   and `removed`, else `None` (reward 0).
2. `rebuild_state`: apply the difference to the current state -> predicted next state.
3. `evaluate`: compare it with the gold next state field by field (loops over gold objects).
4. `binary` = exact match; `task_specific` = 0.09 item_acc + 0.01 score_acc + 0.2 exact
   + changed_acc (accuracy on the fields the transition changes).

`compat="reference"` reproduces the RLVR-World reference scorer; `compat="fixed"` (default)
differs from it in exactly two places, both listed with the function that owns them:
objects *added* in `modified` are inserted (`rebuild_state`), and Python literals are
replaced only outside quoted strings (`parse_answer`). Everything else — including the
reference's edge cases in `task_specific_reward` — is identical in both modes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from rlvr_world.domains.textgame.state import split_state
from rlvr_world.text.parsing import (
    extract_after_marker,
    last_fenced_block,
    loads_lenient,
    replace_python_literals,
)

__all__ = [
    "ANSWER_MARKERS",
    "REWARDS",
    "Compat",
    "binary_reward",
    "evaluate",
    "make_reward",
    "parse_answer",
    "rebuild_state",
    "score_response",
    "task_specific_reward",
    "values_equal",
]

Compat = Literal["fixed", "reference"]
COMPAT_MODES = ("fixed", "reference")

# Tried in this order (not by position in the response); the last occurrence of the first
# one found starts the answer.
ANSWER_MARKERS = (
    "The final answer is:",
    "the final answer is:",
    "The final state is:",
    "the final state is:",
    "The final game state is:",
    "the final game state is:",
)
MIN_FENCED_CHARS = 10  # a shorter last ```json block is ignored and the whole response parsed

ITEM_WEIGHT, SCORE_WEIGHT, EXACT_WEIGHT = 0.09, 0.01, 0.2  # + changed_acc with weight 1

METRIC_KEYS = (
    "parsed",
    "item_acc",
    "score_acc",
    "exact",
    "changed_acc",
    "binary",
    "task_specific",
)


def _check_compat(compat: str) -> None:
    if compat not in COMPAT_MODES:
        raise ValueError(f"compat must be one of {COMPAT_MODES}, got {compat!r}")


# --------------------------------------------------------------------------- parsing


def parse_answer(response: str, compat: Compat = "fixed") -> dict | None:
    """The JSON difference in a response, or `None` when it is malformed (SPEC §3 steps 1-3).

    1. Text after the last occurrence of the first marker of `ANSWER_MARKERS` present; no
       marker: the last ```json block if it has >= 10 characters; else the whole response.
    2. Python literals True/False/None -> JSON; lenient JSON (trailing commas, single quotes).
       `compat="fixed"` replaces literals outside quoted strings only; `"reference"` replaces
       every substring, so a string value "Nonesuch" reads as "nullsuch" there.
    3. Anything but a dict holding both `modified` and `removed` -> `None`. (The reference
       tests `in` on whatever it parsed, so a JSON *string* mentioning both words got through
       to a meaningless comparison; here every non-dict is malformed.)

    Never raises.

    >>> parse_answer('Lamp on. The final answer is: {"modified": [], "removed": [3],}')
    {'modified': [], 'removed': [3]}
    >>> parse_answer("I am not sure.") is None
    True
    """
    if not isinstance(response, str):
        return None
    answer = extract_after_marker(response, ANSWER_MARKERS)
    if answer is None:
        answer = last_fenced_block(response, "json", MIN_FENCED_CHARS)
    if answer is None:
        answer = response
    answer = replace_python_literals(answer, inside_strings=compat == "reference")
    parsed = loads_lenient(answer)
    if not isinstance(parsed, dict) or "modified" not in parsed or "removed" not in parsed:
        return None
    return parsed


# --------------------------------------------------------------------------- rebuilding


def _modified_by_uuid(entries: Any) -> dict:
    """uuid -> last entry of `modified` with that uuid; entries without a usable (present,
    hashable) uuid are skipped, a non-iterable `modified` counts as empty."""
    by_uuid: dict = {}
    try:
        iterator = iter(entries)
    except TypeError:
        return by_uuid
    for entry in iterator:
        try:
            by_uuid[entry["uuid"]] = entry
        except Exception:  # not a dict, no uuid, unhashable uuid: the entry is ignored
            continue
    return by_uuid


def _is_removed(uuid: Any, removed: Any) -> bool:
    """`uuid in removed` (or equal to it); a `removed` that cannot be searched removes nothing."""
    try:
        return uuid in removed or uuid == removed
    except Exception:
        return False


def _non_empty(value: Any) -> bool:
    try:
        return len(value) > 0
    except TypeError:
        return False


def rebuild_state(current: list[dict], answer: dict, compat: Compat = "fixed") -> list[dict]:
    """Apply a parsed difference to the current state -> predicted next state (SPEC §3 step 4).

    Current objects (score dict excluded) in order: uuids in `removed` are dropped, uuids in
    `modified` are replaced by the predicted object, the rest are kept. `compat="fixed"` then
    appends, in `modified` order, predicted objects whose uuid is new (added objects) unless
    also listed in `removed`; `compat="reference"` keeps the reference quirk of never
    inserting them, so a transition that creates an object can never be matched exactly.
    The score goes last: the predicted `score` when it is non-empty, else the current score;
    an answer without a `score` key gets no score entry at all (every score key then counts
    as wrong), as in the reference.

    Raises when a current object has no uuid (the caller scores that as malformed).

    >>> current = [{"uuid": 1, "properties": {"on": False}, "contains": []}, {"score": 0}]
    >>> answer = {"modified": [{"uuid": 2, "properties": {}, "contains": []}],
    ...           "removed": [1], "score": {}}
    >>> rebuild_state(current, answer)
    [{'uuid': 2, 'properties': {}, 'contains': []}, {'score': 0}]
    >>> rebuild_state(current, answer, compat="reference")
    [{'score': 0}]
    """
    _check_compat(compat)
    objects, current_score = split_state(current)
    modified = _modified_by_uuid(answer.get("modified"))
    removed = answer.get("removed", ())
    rebuilt: list = []
    for obj in objects:
        uuid = obj["uuid"]
        if _is_removed(uuid, removed):
            continue
        rebuilt.append(modified.get(uuid, obj))
    if compat == "fixed":
        present = {obj["uuid"] for obj in objects}
        rebuilt.extend(
            entry
            for uuid, entry in modified.items()
            if uuid not in present and not _is_removed(uuid, removed)
        )
    if "score" in answer:
        score = answer["score"]
        rebuilt.append(score if _non_empty(score) else current_score)
    return rebuilt


# --------------------------------------------------------------------------- comparison


def _index(state: Sequence) -> tuple[dict, Any]:
    """(uuid -> object, score) of a state: an entry with a `uuid` key is an object (a later
    duplicate wins), the last other entry with a `score` key is the score. Works with the
    generic `in` of whatever a model produced, so odd entries raise rather than pass."""
    objects: dict = {}
    score: Any = {}
    for entry in state:
        if "uuid" in entry:
            objects[entry["uuid"]] = entry
        elif "score" in entry:
            score = entry
    return objects, score


def values_equal(gold: Any, pred: Any) -> bool:
    """Field equality: lists and tuples compare as lists, dicts recursively (same length, every
    gold key present and equal), anything else with `==` (so `1 == 1.0 == True`)."""
    if isinstance(gold, (list, tuple)) and isinstance(pred, (list, tuple)):
        return list(gold) == list(pred)
    if isinstance(gold, dict) and isinstance(pred, dict):
        return len(gold) == len(pred) and all(
            key in pred and values_equal(value, pred[key]) for key, value in gold.items()
        )
    return gold == pred


def evaluate(pred: list[dict], gold: list[dict]) -> dict:
    """Compare a predicted state with the gold one, looping over gold objects only.

    Per gold object: absent from the prediction -> 1 error; predicted without `properties`
    -> 1 error, else each gold property key is correct (present and `values_equal`) or an
    error; `contains` is one more field (missing -> error, else compared as sorted lists).
    Per gold score key: correct or an error. Extra predicted objects and keys cost nothing.

    Returns `{"item_acc", "score_acc", "exact", "correct", "errors"}` (`correct`/`errors`
    count object fields). Raises on malformed input — an unsortable `contains`, a
    `properties` that is not a mapping, a gold state with no object or no score key — and
    the caller scores that as 0.

    >>> gold = [{"uuid": 1, "properties": {"on": True}, "contains": ["a", "b"]}, {"score": 1}]
    >>> pred = [{"uuid": 1, "properties": {"on": True}, "contains": ["b", "a"]}, {"score": 0}]
    >>> evaluate(pred, gold)
    {'item_acc': 1.0, 'score_acc': 0.0, 'exact': 0.0, 'correct': 2, 'errors': 0}
    """
    gold_objects, gold_score = _index(gold)
    pred_objects, pred_score = _index(pred)
    correct = errors = 0
    for uuid, gold_obj in gold_objects.items():
        if uuid not in pred_objects:
            errors += 1
            continue
        pred_obj = pred_objects[uuid]
        if "properties" not in pred_obj:
            errors += 1
        else:
            gold_props, pred_props = gold_obj["properties"], pred_obj["properties"]
            for key in gold_props:
                if key in pred_props and values_equal(gold_props[key], pred_props[key]):
                    correct += 1
                else:
                    errors += 1
        if "contains" not in pred_obj:
            errors += 1
        elif sorted(gold_obj["contains"]) == sorted(pred_obj["contains"]):
            correct += 1
        else:
            errors += 1
    score_correct = score_errors = 0
    for key in gold_score:
        if key in pred_score and gold_score[key] == pred_score[key]:
            score_correct += 1
        else:
            score_errors += 1
    if correct + errors == 0:
        raise ValueError("gold state has no objects to compare")
    if score_correct + score_errors == 0:
        raise ValueError("gold state has no score keys to compare")
    item_acc = correct / (correct + errors)
    score_acc = score_correct / (score_correct + score_errors)
    exact = float(item_acc == 1 and score_acc == 1)
    return {
        "item_acc": item_acc,
        "score_acc": score_acc,
        "exact": exact,
        "correct": correct,
        "errors": errors,
    }


# --------------------------------------------------------------------------- changed fields


def _field_matches(first: dict, second: dict) -> list[tuple[Any, str, bool]]:
    """(uuid, key, same?) for every object in both indexed states: each property key of the
    first (missing in the second -> not same), each key only the second has (not same), then
    `contains` (sorted lists; absent = empty)."""
    fields = []
    for uuid, first_obj in first.items():
        if uuid not in second:
            continue
        second_obj = second[uuid]
        first_props, second_props = first_obj["properties"], second_obj["properties"]
        for key in first_props:
            same = key in second_props and values_equal(first_props[key], second_props[key])
            fields.append((uuid, key, same))
        for key in second_props:
            if key not in first_props:
                fields.append((uuid, key, False))
        same_contains = sorted(first_obj.get("contains", [])) == sorted(
            second_obj.get("contains", [])
        )
        fields.append((uuid, "contains", same_contains))
    return fields


def _changed_status(current: dict, gold: dict) -> dict[Any, dict[str, bool]]:
    """uuid -> key -> is this field changed by the transition? Objects in both states: every
    property key of either and `contains`; added or removed objects: `contains` is changed,
    their properties are known keys but never count."""
    status: dict[Any, dict[str, bool]] = {}
    for uuid, obj in gold.items():
        if uuid not in current:
            status[uuid] = {"contains": True, **dict.fromkeys(obj["properties"], False)}
    for uuid, obj in current.items():
        if uuid not in gold:
            status[uuid] = {"contains": True, **dict.fromkeys(obj["properties"], False)}
    for uuid, key, same in _field_matches(current, gold):
        status.setdefault(uuid, {})[key] = not same
    return status


def _changed_accuracy(current: list, gold: list, pred: list) -> float | None:
    """Accuracy on changed fields of gold objects present in the prediction; `None` when there
    is none. Two reference edge cases, kept in both modes:

    - the prediction cannot be diffed against the gold state (e.g. an object without
      `properties`): `None`, the changed_acc term is dropped;
    - a predicted object has a property key that neither its current nor its gold version
      has: `KeyError`, which the caller turns into a task-specific reward of 0.
    """
    current_objects, _ = _index(current)
    gold_objects, _ = _index(gold)
    pred_objects, _ = _index(pred)
    status = _changed_status(current_objects, gold_objects)
    try:
        pred_fields = _field_matches(gold_objects, pred_objects)
    except Exception:
        return None
    record = [same for uuid, key, same in pred_fields if status[uuid][key]]
    return sum(record) / len(record) if record else None


# --------------------------------------------------------------------------- scoring


def _as_state(state: Any) -> list:
    """Accept a state as a list, `{"game_state": [...]}`, or the JSON text of either."""
    if isinstance(state, str):
        state = json.loads(state)
    if isinstance(state, Mapping) and "game_state" in state:
        state = state["game_state"]
    if not isinstance(state, list):
        raise TypeError(f"a state is a list of objects + score dict, got {type(state).__name__}")
    return state


def score_response(
    response: str, current: list[dict], gold: list[dict], compat: Compat = "fixed"
) -> dict[str, float]:
    """Every text-game metric of one response, as floats.

    Keys: `parsed` (1 if `parse_answer` succeeded), `item_acc`, `score_acc`, `exact`,
    `changed_acc` (nan when the term is absent), `binary` (= exact) and `task_specific`
    (0.09 item_acc + 0.01 score_acc + 0.2 exact [+ changed_acc]). A malformed response or
    any failure while comparing gives zeros everywhere (`parsed` stays 1 if it parsed). A
    failure in the changed-field part alone (the reference's unknown-key rule) zeroes
    `task_specific` and `changed_acc` only, as in the reference, where `binary` never
    reaches that code. `current` and `gold` may also be `{"game_state": [...]}` or JSON
    text. Never raises, except for an unknown `compat`.

    >>> state = [{"uuid": 1, "properties": {"on": False}, "contains": []}, {"score": 0}]
    >>> gold = [{"uuid": 1, "properties": {"on": True}, "contains": []}, {"score": 0}]
    >>> response = ('The final answer is: {"modified": [{"uuid": 1, "properties": {"on": True},'
    ...             ' "contains": []}], "removed": [], "score": {}}')
    >>> metrics = score_response(response, state, gold)
    >>> metrics["parsed"], metrics["item_acc"], metrics["changed_acc"], metrics["binary"]
    (1.0, 1.0, 1.0, 1.0)
    >>> round(metrics["task_specific"], 4)
    1.3
    """
    _check_compat(compat)
    metrics = dict.fromkeys(METRIC_KEYS, 0.0)
    try:
        answer = parse_answer(response, compat)
        if answer is None:
            return metrics
        metrics["parsed"] = 1.0
        current_state, gold_state = _as_state(current), _as_state(gold)
        pred_state = rebuild_state(current_state, answer, compat)
        result = evaluate(pred_state, gold_state)
    except Exception:
        return metrics
    item_acc, score_acc, exact = result["item_acc"], result["score_acc"], result["exact"]
    metrics.update(item_acc=item_acc, score_acc=score_acc, exact=exact, binary=exact)
    try:
        changed_acc = _changed_accuracy(current_state, gold_state, pred_state)
    except Exception:  # reference: an unknown predicted key (or a bad state) -> reward 0
        return metrics
    reward = item_acc * ITEM_WEIGHT + score_acc * SCORE_WEIGHT + EXACT_WEIGHT * exact
    if changed_acc is None:
        metrics["changed_acc"] = math.nan
    else:
        metrics["changed_acc"] = changed_acc
        reward += changed_acc
    metrics["task_specific"] = reward
    return metrics


def _batch(
    metric: str,
    predictions: Sequence[str],
    references: Sequence[list[dict]],
    contexts: Sequence[Mapping],
    compat: Compat,
) -> list[float]:
    _check_compat(compat)
    return [
        score_response(prediction, context["current"], reference, compat)[metric]
        for prediction, reference, context in zip(predictions, references, contexts, strict=True)
    ]


def binary_reward(
    predictions: Sequence[str],
    references: Sequence[list[dict]],
    contexts: Sequence[Mapping],
    compat: Compat = "fixed",
) -> list[float]:
    """1.0 when the predicted next state matches the gold one exactly (all object fields and
    score keys), else 0.0; malformed responses score 0.0. `contexts[i]["current"]` is the
    current state, `references[i]` the gold next state (objects + score dict last).

    >>> from rlvr_world.domains.textgame.state import state_diff
    >>> lamp = {"name": "lamp (ID: 1)", "uuid": 1, "type": "Lamp", "contains": []}
    >>> score = {"score": 0, "gameOver": False, "gameWon": False}
    >>> current = [{**lamp, "properties": {"on": False}}, score]
    >>> gold = [{**lamp, "properties": {"on": True}}, {**score, "score": 1}]
    >>> right = "It lights up. The final answer is: " + json.dumps(state_diff(current, gold))
    >>> binary_reward([right, "No idea."], [gold, gold], [{"current": current}] * 2)
    [1.0, 0.0]
    """
    return _batch("binary", predictions, references, contexts, compat)


def task_specific_reward(
    predictions: Sequence[str],
    references: Sequence[list[dict]],
    contexts: Sequence[Mapping],
    compat: Compat = "fixed",
) -> list[float]:
    """r = 0.09 item_acc + 0.01 score_acc + 0.2 exact + changed_acc, in [0, 1.3].

    changed_acc is the accuracy on the fields the transition changes (see
    `state.changed_fields`), over gold objects present in the rebuilt prediction; the term
    is absent when there is none, so an unchanged sample scores at most 0.3. Malformed
    responses score 0. The reference's two edge cases hold in *both* compat modes (the SPEC
    marks neither as ours to change): a predicted object without `properties` drops the
    changed_acc term; a predicted property key that neither the current nor the gold object
    has makes the reward 0 (even when `binary` is 1, since extra keys do not break `exact`).
    Also as in the reference, a property the transition deletes is scored only against a
    prediction that still has it (a correct deletion is not listed, so it adds nothing).

    >>> from rlvr_world.domains.textgame.state import state_diff
    >>> lamp = {"name": "lamp (ID: 1)", "uuid": 1, "type": "Lamp", "contains": []}
    >>> score = {"score": 0, "gameOver": False, "gameWon": False}
    >>> current = [{**lamp, "properties": {"on": False}}, score]
    >>> gold = [{**lamp, "properties": {"on": True}}, {**score, "score": 1}]
    >>> right = "The final answer is: " + json.dumps(state_diff(current, gold))
    >>> nothing = 'The final answer is: {"modified": [], "removed": [], "score": {}}'
    >>> batch = [right, nothing, "No idea."]
    >>> rewards = task_specific_reward(batch, [gold] * 3, [{"current": current}] * 3)
    >>> [round(r, 4) for r in rewards]  # 0.09 + 0.01 + 0.2 + 1; 0.09 * 1/2 + 0.01 * 2/3
    [1.3, 0.0517, 0.0]
    """
    return _batch("task_specific", predictions, references, contexts, compat)


REWARDS: dict[str, Callable[..., list[float]]] = {
    "binary": binary_reward,
    "task_specific": task_specific_reward,
}


def make_reward(name: str, compat: Compat = "fixed") -> Callable[..., list[float]]:
    """The reward called `name` with `compat` bound: `(predictions, references, contexts)`.

    >>> make_reward("binary", compat="reference").__name__
    'textgame_binary'
    >>> make_reward("f1")
    Traceback (most recent call last):
    ...
    ValueError: unknown text-game reward 'f1'; known: binary, task_specific
    """
    if name not in REWARDS:
        raise ValueError(f"unknown text-game reward {name!r}; known: {', '.join(sorted(REWARDS))}")
    _check_compat(compat)
    reward_function = REWARDS[name]

    def reward(
        predictions: Sequence[str],
        references: Sequence[list[dict]],
        contexts: Sequence[Mapping],
    ) -> list[float]:
        return reward_function(predictions, references, contexts, compat=compat)

    reward.__name__ = reward.__qualname__ = f"textgame_{name}"
    reward.term = name  # the same value as the task's `score` term of this name
    reward.__doc__ = f"{reward_function.__doc__}\n\nBound: compat={compat!r}."
    return reward
