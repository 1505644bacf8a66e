"""Text-game rewards: a table of hand-worked cases, unit checks, then property tests."""

from __future__ import annotations

import copy
import json
import math
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr_world.domains.textgame.rewards import (
    REWARDS,
    binary_reward,
    evaluate,
    make_reward,
    parse_answer,
    rebuild_state,
    score_response,
    task_specific_reward,
    values_equal,
)
from rlvr_world.domains.textgame.state import changed_fields, state_diff

# --------------------------------------------------------------------------- fixtures
# A kitchen: a sink holding a cup and an apple. Gold object fields (properties + contains):
# sink 2 + 1, cup 1 + 1, apple 2 + 1 = 8; water (added by FILL) 1 + 1.

SCORE_0 = {"score": 0, "gameOver": False, "gameWon": False}
SCORE_1 = {"score": 1, "gameOver": False, "gameWon": False}


def thing(uuid: int, name: str, properties: dict, contains: tuple = ()) -> dict:
    return {
        "name": f"{name} (ID: {uuid})",
        "uuid": uuid,
        "type": name.title(),
        "properties": properties,
        "contains": list(contains),
    }


SINK = thing(1, "sink", {"isOn": False, "temperature": 20}, ("cup (ID: 2)", "apple (ID: 3)"))
SINK_ON = {**SINK, "properties": {"isOn": True, "temperature": 20}}
SINK_NO_APPLE = {**SINK, "contains": ["cup (ID: 2)"]}
CUP = thing(2, "cup", {"isOpen": False})
CUP_FULL = {**CUP, "contains": ["water (ID: 4)"]}
APPLE = thing(3, "apple", {"isEaten": False, "variety": "Nonesuch"})  # "None" in a string
WATER = thing(4, "water", {"volume": 1})

CURRENT = [SINK, CUP, APPLE, SCORE_0]
GOLD = {
    "turn_on": [SINK_ON, CUP, APPLE, SCORE_1],  # changed: sink.isOn (1 changed field)
    "look": [SINK, CUP, APPLE, SCORE_0],  # unchanged: no changed field
    "eat": [SINK_NO_APPLE, CUP, SCORE_1],  # apple removed: sink.contains changes
    "fill": [SINK, CUP_FULL, APPLE, WATER, SCORE_0],  # water added: cup + water contains
}


def diff(modified=(), removed=(), score=None, **extra) -> dict:
    answer = {"modified": list(modified), "removed": list(removed)}
    if score is not None:
        answer["score"] = score
    return {**answer, **extra}


def say(answer, marker: str = "The final answer is:") -> str:
    text = answer if isinstance(answer, str) else json.dumps(answer)
    return f"The sink is switched on, so it runs.\n{marker} {text}"


def without(obj: dict, key: str) -> dict:
    return {k: v for k, v in obj.items() if k != key}


RIGHT = diff([SINK_ON], score=SCORE_1)  # the gold answer for "turn_on"
WRONG = diff([], score=SCORE_1)  # misses the change, score right
MARKERS = [
    "The final answer is:",
    "the final answer is:",
    "The final state is:",
    "the final state is:",
    "The final game state is:",
    "the final game state is:",
]
FENCED = "```json\n" + json.dumps(WRONG) + "\n```\nOn second thought:\n```json\n"
FENCED += json.dumps(RIGHT) + "\n```"
TRAILING_COMMAS = json.dumps(RIGHT).replace("}", ",}").replace("]", ",]")
WITH_LABEL = diff([SINK_ON, APPLE], score=SCORE_1)  # restates the apple, "Nonesuch"
FILL_RIGHT = diff([CUP_FULL, WATER], score=SCORE_0)

SINK_HOT = {**SINK_ON, "properties": {"isOn": True, "temperature": 25}}
SINK_EXTRA_KEY = {**SINK_ON, "properties": {**SINK_ON["properties"], "isBroken": False}}
SINK_MIXED = {**SINK_ON, "contains": ["cup (ID: 2)", 3]}
SINK_REVERSED = {**SINK_ON, "contains": SINK["contains"][::-1]}
SINK_NULL_PROPS = {**SINK_ON, "properties": None}
GAME_OVER = {**SCORE_1, "gameOver": True}
PRIORITY = say(RIGHT) + "\nThe final state is: as above."  # position would pick "as above."
SHADOWED = say(RIGHT, "The final state is:") + say(WRONG, "the final answer is:")

# (id, response, gold, compat, binary, task_specific); task-specific worked by hand as
# 0.09 item_acc + 0.01 score_acc + 0.2 exact (+ changed_acc); item_acc over gold fields.
# fmt: off
CASES = [
    # --- parsing: every marker spelling reads the same perfect answer -> 1.3
    *[(f"marker {m!r}", say(RIGHT, m), "turn_on", "fixed", 1, 1.3) for m in MARKERS],
    ("uppercase: whole-text fallback", say(RIGHT, "THE FINAL ANSWER IS:"), "turn_on", "fixed", 1, 1.3),  # json_repair skips prose
    ("last occurrence of the marker", say(WRONG) + "\n" + say(RIGHT), "turn_on", "fixed", 1, 1.3),  # earlier answer ignored
    ("marker priority, not position", PRIORITY, "turn_on", "fixed", 1, 1.3),  # "answer" outranks "state"
    ("a higher marker shadows", SHADOWED, "turn_on", "fixed", 0, 7 / 8 * 0.09 + 0.01),  # reads WRONG
    ("no marker: last fenced json", FENCED, "turn_on", "fixed", 1, 1.3),  # earlier block ignored
    ("no marker: whole response JSON", json.dumps(RIGHT), "turn_on", "fixed", 1, 1.3),
    ("Python literals, single quotes", say(repr(RIGHT)), "turn_on", "fixed", 1, 1.3),  # repr()
    ("trailing commas", say(TRAILING_COMMAS), "turn_on", "fixed", 1, 1.3),
    ("single quotes only", say(json.dumps(RIGHT).replace('"', "'")), "turn_on", "fixed", 1, 1.3),
    ("'None' inside a string, fixed", say(repr(WITH_LABEL)), "turn_on", "fixed", 1, 1.3),  # kept
    ("'None' inside a string, ref.", say(repr(WITH_LABEL)), "turn_on", "reference", 0, 7 / 8 * 0.09 + 0.01 + 1),  # "nullsuch"
    ("missing modified -> 0", say({"removed": [], "score": SCORE_1}), "turn_on", "fixed", 0, 0),
    ("missing removed -> 0", say({"modified": [SINK_ON], "score": SCORE_1}), "turn_on", "fixed", 0, 0),
    ("a list, not a dict -> 0", say([RIGHT]), "turn_on", "fixed", 0, 0),
    ("no JSON at all -> 0", "The sink runs. I cannot say more.", "turn_on", "fixed", 0, 0),
    ("empty response -> 0", "", "turn_on", "fixed", 0, 0),
    # --- comparison (turn_on: 8 gold fields, 1 changed field sink.isOn)
    ("modified property wrong", say(diff([SINK_HOT], score=SCORE_1)), "turn_on", "fixed", 0, 7 / 8 * 0.09 + 0.01 + 1),  # isOn right
    ("change missed", say(WRONG), "turn_on", "fixed", 0, 7 / 8 * 0.09 + 0.01),  # changed_acc 0/1
    ("contains order differs", say(diff([SINK_REVERSED], score=SCORE_1)), "turn_on", "fixed", 1, 1.3),  # sorted
    ("contains missing in prediction", say(diff([without(SINK_ON, "contains")], score=SCORE_1)), "turn_on", "fixed", 0, 7 / 8 * 0.09 + 0.01 + 1),
    ("score partly wrong", say(diff([SINK_ON], score=GAME_OVER)), "turn_on", "fixed", 0, 0.09 + 0.01 * 2 / 3 + 1),  # 2/3
    ("empty score -> current score", say(diff([SINK_ON], score={})), "turn_on", "fixed", 0, 0.09 + 0.01 * 2 / 3 + 1),  # 0 != 1
    ("no score key: all score keys wrong", say(diff([SINK_ON])), "turn_on", "fixed", 0, 0.09 + 1),  # as the reference
    ("non-iterable modified = empty", say(diff(score=SCORE_1) | {"modified": 5}), "turn_on", "fixed", 0, 7 / 8 * 0.09 + 0.01),
    # --- unchanged sample: no changed_acc term, max 0.3
    ("unchanged, perfect", say(diff(score=SCORE_0)), "look", "fixed", 1, 0.3),
    ("unchanged, empty score", say(diff(score={})), "look", "fixed", 1, 0.3),  # current score kept
    ("unchanged, invented change", say(diff([SINK_ON], score=SCORE_0)), "look", "fixed", 0, 7 / 8 * 0.09 + 0.01),
    # --- removed and added objects (eat: 5 gold fields; fill: 10)
    ("removed object", say(diff([SINK_NO_APPLE], [3], score=SCORE_1)), "eat", "fixed", 1, 1.3),
    ("removal forgotten: extras free", say(diff([SINK_NO_APPLE], score=SCORE_1)), "eat", "fixed", 1, 1.3),  # SPEC
    ("added object, fixed inserts", say(FILL_RIGHT), "fill", "fixed", 1, 1.3),  # changed 2/2
    ("added object, reference drops", say(FILL_RIGHT), "fill", "reference", 0, 8 / 9 * 0.09 + 0.01 + 1),  # missing = 1 error
    ("added object forgotten", say(diff([CUP_FULL], score=SCORE_0)), "fill", "fixed", 0, 8 / 9 * 0.09 + 0.01 + 1),
    # --- the reference's two edge cases, kept in both modes
    ("no properties: drop changed_acc", say(diff([without(SINK_ON, "properties")], score=SCORE_1)), "turn_on", "fixed", 0, 6 / 7 * 0.09 + 0.01),  # 1 error, not 2
    ("no properties, reference", say(diff([without(SINK_ON, "properties")], score=SCORE_1)), "turn_on", "reference", 0, 6 / 7 * 0.09 + 0.01),
    ("unknown key: task-specific 0", say(diff([SINK_EXTRA_KEY], score=SCORE_1)), "turn_on", "fixed", 1, 0),  # still exact
    ("unknown key, reference", say(diff([SINK_EXTRA_KEY], score=SCORE_1)), "turn_on", "reference", 1, 0),
    # --- malformed comparisons -> 0
    ("unsortable contains -> 0", say(diff([SINK_MIXED], score=SCORE_1)), "turn_on", "fixed", 0, 0),
    ("properties null -> 0", say(diff([SINK_NULL_PROPS], score=SCORE_1)), "turn_on", "fixed", 0, 0),  # raises
]
# fmt: on


@pytest.mark.parametrize(
    ("response", "gold", "compat", "binary", "task_specific"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_hand_worked_cases(response, gold, compat, binary, task_specific):
    metrics = score_response(response, CURRENT, GOLD[gold], compat=compat)
    assert metrics["binary"] == binary
    assert metrics["task_specific"] == pytest.approx(task_specific, abs=1e-12)
    contexts = [{"current": CURRENT}]
    assert binary_reward([response], [GOLD[gold]], contexts, compat=compat) == [binary]
    assert task_specific_reward([response], [GOLD[gold]], contexts, compat=compat) == [
        metrics["task_specific"]
    ]


# --------------------------------------------------------------------------- units


def test_score_response_metrics():
    metrics = score_response(
        say(diff([SINK_ON], score={**SCORE_1, "gameOver": True})), CURRENT, GOLD["turn_on"]
    )
    assert set(metrics) == {
        "parsed",
        "item_acc",
        "score_acc",
        "exact",
        "changed_acc",
        "binary",
        "task_specific",
    }
    assert metrics["parsed"] == 1 and metrics["item_acc"] == 1 and metrics["changed_acc"] == 1
    assert metrics["score_acc"] == pytest.approx(2 / 3)
    unchanged = score_response(say(diff(score=SCORE_0)), CURRENT, GOLD["look"])
    assert math.isnan(unchanged["changed_acc"])  # absent term
    garbage = score_response("???", CURRENT, GOLD["look"])
    assert garbage == dict.fromkeys(metrics, 0.0)


def test_score_response_accepts_json_states():
    wrapped = json.dumps({"game_state": GOLD["turn_on"]})
    metrics = score_response(say(RIGHT), json.dumps(CURRENT), wrapped)
    assert metrics["binary"] == 1


def test_comparison_failure_keeps_parsed_flag():
    metrics = score_response(say(diff([{**SINK_ON, "properties": None}])), CURRENT, CURRENT)
    assert metrics["parsed"] == 1 and metrics["binary"] == 0 and metrics["task_specific"] == 0


def test_parse_answer():
    assert parse_answer(say(RIGHT)) == RIGHT
    assert parse_answer(say(repr(WITH_LABEL)))["modified"][1]["properties"]["variety"] == "Nonesuch"
    reference = parse_answer(say(repr(WITH_LABEL)), compat="reference")
    assert reference["modified"][1]["properties"]["variety"] == "nullsuch"
    assert parse_answer(None) is None  # type: ignore[arg-type]


def test_rebuild_state_orders_objects():
    answer = diff([WATER, CUP_FULL, {"uuid": 9, "properties": {}}], [3, 9], score={})
    rebuilt = rebuild_state(CURRENT, answer)
    # current order with replacements, then added objects (not removed ones) in modified order
    assert [obj["uuid"] for obj in rebuilt[:-1]] == [1, 2, 4]
    assert rebuilt[1] is answer["modified"][1] and rebuilt[-1] == SCORE_0
    reference = rebuild_state(CURRENT, answer, compat="reference")
    assert [obj["uuid"] for obj in reference[:-1]] == [1, 2]


def test_rebuild_state_is_lenient_about_entries():
    answer = diff(["junk", 7, [1], {"no": "uuid"}, {"uuid": [1]}, {**CUP, "label": 1}], {"x": 1})
    rebuilt = rebuild_state(CURRENT, answer)
    assert rebuilt == [SINK, {**CUP, "label": 1}, APPLE]  # no "score" key -> no score entry


def test_values_equal():
    assert values_equal([1, 2], (1, 2))  # lists and tuples alike
    assert values_equal({"a": [1], "b": {"c": 1}}, {"b": {"c": True}, "a": (1,)})
    assert not values_equal({"a": 1}, {"a": 1, "b": 2})  # dicts compare by length too
    assert not values_equal([1, 2], [2, 1])  # only `contains` ignores order
    assert values_equal(1, 1.0) and values_equal(1, True)  # Python equality, as the reference


def test_evaluate_counts_fields():
    pred = rebuild_state(CURRENT, diff([without(SINK_ON, "properties")], score=SCORE_1))
    result = evaluate(pred, GOLD["turn_on"])
    assert (result["correct"], result["errors"]) == (6, 1)
    assert result["item_acc"] == 6 / 7 and result["score_acc"] == 1 and result["exact"] == 0


def test_evaluate_rejects_degenerate_gold():
    with pytest.raises(ValueError, match="no objects"):
        evaluate(CURRENT, [SCORE_0])
    with pytest.raises(ValueError, match="no score"):
        evaluate(CURRENT, [SINK])
    with pytest.raises(TypeError):
        evaluate([{**SINK, "contains": [1, "a"]}, SCORE_0], CURRENT)


def test_deleted_key_counts_only_against_a_prediction_that_keeps_it():
    # Reference rule: the gold -> prediction diff lists gold keys and predicted extras, so a
    # key the transition deletes is scored only when the prediction still has it.
    dirty = {**SINK_ON, "properties": {**SINK_ON["properties"], "isDirty": True}}
    current = [{**SINK, "properties": {**SINK["properties"], "isDirty": True}}, SCORE_0]
    gold = [SINK_ON, SCORE_1]  # isOn changes, isDirty disappears: 2 changed fields
    deleted = score_response(say(diff([SINK_ON], score=SCORE_1)), current, gold)
    kept = score_response(say(diff([dirty], score=SCORE_1)), current, gold)
    assert deleted["changed_acc"] == 1.0  # isOn right; isDirty not listed
    assert kept["changed_acc"] == 0.5 and kept["exact"] == 1  # isOn right, isDirty wrong
    assert kept["task_specific"] == pytest.approx(0.3 + 0.5)


def test_make_reward_and_registry():
    assert set(REWARDS) == {"binary", "task_specific"}
    reward = make_reward("binary", compat="reference")
    contexts = [{"current": CURRENT}]
    assert reward([say(FILL_RIGHT)], [GOLD["fill"]], contexts) == [0.0]  # quirk bound
    assert make_reward("binary")([say(FILL_RIGHT)], [GOLD["fill"]], contexts) == [1.0]
    assert reward.__name__ == "textgame_binary"
    with pytest.raises(ValueError, match="binary, task_specific"):
        make_reward("accuracy")
    with pytest.raises(ValueError, match="compat"):
        make_reward("binary", compat="paper")  # type: ignore[arg-type]


def test_batch_lengths_must_match():
    with pytest.raises(ValueError):
        binary_reward([say(RIGHT)] * 2, [GOLD["turn_on"]], [{"current": CURRENT}])


# --------------------------------------------------------------------------- properties

NAMES = st.text(alphabet=string.ascii_letters + string.digits + " _-'\"\\()", max_size=6)
VALUES = st.one_of(
    st.booleans(),
    st.integers(-3, 3),
    NAMES,
    st.lists(st.one_of(st.integers(0, 3), NAMES), max_size=3),
)
KEYS = st.sampled_from(["isOn", "isOpen", "temperature", "color", "count", "label"])
PROPERTIES = st.dictionaries(KEYS, VALUES, max_size=4)
CONTAINS = st.lists(
    st.sampled_from([f"thing (ID: {i})" for i in range(6)]), max_size=3, unique=True
)
SCORES = st.fixed_dictionaries(
    {"score": st.integers(-2, 5), "gameOver": st.booleans(), "gameWon": st.booleans()}
)


def objects(uuid: int) -> st.SearchStrategy[dict]:
    return st.builds(
        lambda name, properties, contains: {
            "name": f"{name} (ID: {uuid})",
            "uuid": uuid,
            "type": "Thing",
            "properties": properties,
            "contains": contains,
        },
        NAMES,
        PROPERTIES,
        CONTAINS,
    )


@st.composite
def transitions(draw) -> tuple[list, list]:
    """(current, gold): objects kept, tweaked (one key set or dropped, contains redrawn or
    permuted), redrawn or removed; 0-2 objects added; gold order shuffled."""
    count = draw(st.integers(1, 4))
    current = [draw(objects(uuid)) for uuid in range(count)]
    gold = []
    for obj in current:
        fate = draw(st.sampled_from(["keep", "tweak", "redraw", "remove"]))
        if fate == "keep":
            gold.append(copy.deepcopy(obj))
        elif fate == "tweak":
            properties = dict(obj["properties"])
            key = draw(KEYS)
            if draw(st.booleans()):
                properties[key] = draw(VALUES)
            else:
                properties.pop(key, None)
            contains = draw(st.permutations(obj["contains"]) | CONTAINS)
            gold.append({**obj, "properties": properties, "contains": list(contains)})
        elif fate == "redraw":
            gold.append(draw(objects(obj["uuid"])))
    for uuid in range(count, count + draw(st.integers(0, 2))):
        gold.append(draw(objects(uuid)))
    if not gold:
        gold.append(draw(objects(count)))
    gold = list(draw(st.permutations(gold)))
    return current + [draw(SCORES)], gold + [draw(SCORES)]


def gold_answer(current: list, gold: list) -> str:
    return "The final answer is: " + json.dumps(state_diff(current, gold))


@settings(max_examples=150, deadline=None)
@given(transitions())
def test_gold_diff_scores_the_maximum(transition):
    current, gold = transition
    metrics = score_response(gold_answer(current, gold), current, gold, compat="fixed")
    assert metrics["exact"] == metrics["binary"] == 1
    # The changed_acc term exists iff a changed field (state.py) sits on a gold object and is
    # visible there: `contains`, or a property the gold object has (reference rule: a key
    # the transition deletes only counts against a prediction that keeps it).
    gold_by_uuid = {obj["uuid"]: obj for obj in gold[:-1]}
    has_changed = any(
        uuid in gold_by_uuid and (key == "contains" or key in gold_by_uuid[uuid]["properties"])
        for uuid, key in changed_fields(current, gold)
    )
    assert metrics["task_specific"] == pytest.approx(1.3 if has_changed else 0.3)
    # The reference cannot insert added objects, so it is exact only without them.
    added = set(gold_by_uuid) - {obj["uuid"] for obj in current[:-1]}
    text = json.dumps(gold)
    if not any(word in text for word in ("True", "False", "None")):  # its literal replacement
        reference = score_response(gold_answer(current, gold), current, gold, "reference")
        assert reference["exact"] == (not added)


JUNK = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 8) | st.text(max_size=6),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["uuid", "properties", "contains", "isOn", "x"]), children
        )
    ),
    max_leaves=12,
)


@st.composite
def responses(draw, current: list, gold: list) -> str:
    """Plausible and broken answers: the gold diff, a perturbed one, or junk values."""
    kind = draw(st.sampled_from(["gold", "perturbed", "junk", "text"]))
    if kind == "text":
        return draw(st.text(max_size=80))
    if kind == "gold":
        answer = state_diff(current, gold)
    elif kind == "perturbed":
        pool = [obj for obj in current[:-1] + gold[:-1]]
        modified = draw(st.lists(st.sampled_from(pool), max_size=4)) + draw(
            st.lists(objects(draw(st.integers(0, 6))), max_size=2)
        )
        answer = {
            "modified": modified,
            "removed": draw(st.lists(st.integers(0, 6), max_size=3)),
            "score": draw(SCORES | st.just({})),
        }
        if draw(st.booleans()):
            answer.pop(draw(st.sampled_from(["modified", "removed", "score"])))
    else:
        answer = {"modified": draw(JUNK), "removed": draw(JUNK), "score": draw(JUNK)}
    text = draw(st.sampled_from([json.dumps, repr]))(answer)
    return draw(st.sampled_from(["The final answer is: ", "", "```json\n"])) + text


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_rewards_in_range(data):
    current, gold = data.draw(transitions())
    response = data.draw(responses(current, gold))
    for compat in ("fixed", "reference"):
        metrics = score_response(response, current, gold, compat=compat)
        assert metrics["binary"] in (0.0, 1.0)
        assert 0.0 <= metrics["task_specific"] <= 1.3 + 1e-9
        assert metrics["binary"] == metrics["exact"]
        if metrics["task_specific"] > 0.3 + 1e-9:  # only a changed_acc term goes above 0.3
            assert metrics["changed_acc"] > 0


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_batch_order_independence(data):
    samples = [data.draw(transitions()) for _ in range(data.draw(st.integers(1, 5)))]
    predictions = [data.draw(responses(current, gold)) for current, gold in samples]
    references = [gold for _, gold in samples]
    contexts = [{"current": current} for current, _ in samples]
    order = data.draw(st.permutations(range(len(samples))))
    for name, reward in REWARDS.items():
        rewards = reward(predictions, references, contexts)
        permuted = reward(
            [predictions[i] for i in order],
            [references[i] for i in order],
            [contexts[i] for i in order],
        )
        assert permuted == [rewards[i] for i in order], name


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300), st.sampled_from(["", "The final answer is:", "```json"]))
def test_never_raises_on_arbitrary_text(text, prefix):
    for compat in ("fixed", "reference"):
        metrics = score_response(prefix + text, CURRENT, GOLD["turn_on"], compat=compat)
        assert metrics["binary"] in (0.0, 1.0)
        assert 0.0 <= metrics["task_specific"] <= 1.3 + 1e-9


def test_never_raises_on_huge_garbage():
    garbage = "The final answer is: " + "{'modified': [" * 3000 + "\\" * 10_000
    assert score_response(garbage, CURRENT, GOLD["turn_on"])["binary"] == 0


def test_the_task_specific_reward_prefers_a_right_change_to_nothing_changes():
    """Why the quickstart trains on `task_specific`: on a transition that changes the state,
    predicting the change must pay far more than predicting that nothing changes, which
    `binary` scores 0 either way when wrong and so cannot push away from."""
    from rlvr_world.domains.textgame.rewards import task_specific_reward
    from rlvr_world.domains.textgame.state import state_diff

    lamp = {"name": "lamp (ID: 1)", "uuid": 1, "type": "Lamp", "contains": []}
    score = {"score": 0, "gameOver": False, "gameWon": False}
    current = [{**lamp, "properties": {"on": False}}, score]
    gold = [{**lamp, "properties": {"on": True}}, {**score, "score": 1}]
    right = "The final answer is: " + json.dumps(state_diff(current, gold))
    nothing = 'The final answer is: {"modified": [], "removed": [], "score": {}}'
    rewards = task_specific_reward([right, nothing], [gold, gold], [{"current": current}] * 2)
    assert rewards[0] == pytest.approx(1.3)  # 0.09 + 0.01 + 0.2 + changed_acc 1
    assert rewards[1] < 0.1 * rewards[0]  # no exact, no changed field right
