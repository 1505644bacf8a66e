"""Web F1 reward: a table of hand-worked cases, parsing checks, then property tests."""

from __future__ import annotations

import doctest
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr_world.domains.web import rewards
from rlvr_world.domains.web.rewards import (
    REWARDS,
    line_gains,
    make_reward,
    parse_sections,
    web_f1,
    web_f1_reward,
    web_line_gains,
)

# --------------------------------------------------------------------------- fixtures

DIALOG = "[7] dialog 'Cart'"
CLOSE = "[8] button 'Close'"
HELP = "[9] link 'Help'"
BUY = "[3] button 'Buy'"
COUNT = "[5] StaticText '1 item'"


def answer(new=("None",), deleted=("None",), updated=("None",), reasoning: str = "") -> str:
    """A response in the paper's format: reasoning, then the three sections."""
    blocks = [
        "New items:\n" + "\n".join(new),
        "Deleted items:\n" + "\n".join(deleted),
        "Updated items:\n" + "\n".join(updated),
    ]
    return (reasoning + "\n" if reasoning else "") + "\n\n".join(blocks)


# Gold: 2 new + "None" deleted + 1 updated = 4 gold items.
GOLD = answer(new=(DIALOG, CLOSE), updated=(BUY,))
UNCHANGED = answer()  # "None" x 3 = 3 gold items

# (id, prediction, gold, precision, recall, f1), each worked by hand in the comment:
# M matches, #pred predicted items, #gold gold items; P = M/#pred, R = M/#gold, F1 = 2PR/(P+R).
# fmt: off
CASES = [
    ("perfect", GOLD, GOLD, 1, 1, 1),  # M=4, #pred=4, #gold=4
    ("perfect after reasoning", answer((DIALOG, CLOSE), updated=(BUY,), reasoning="A dialog opens."), GOLD, 1, 1, 1),  # reasoning before the first header ignored
    ("one new item missed", answer((DIALOG,), updated=(BUY,)), GOLD, 1, 3 / 4, 6 / 7),  # M=3, #pred=3: P=1, R=3/4, F1=1.5/1.75
    ("one extra new item", answer((DIALOG, CLOSE, HELP), updated=(BUY,)), GOLD, 4 / 5, 1, 8 / 9),  # M=4, #pred=5: F1=1.6/1.8
    ("duplicates count once", answer((DIALOG, DIALOG, DIALOG, CLOSE), updated=(BUY,)), GOLD, 1, 1, 1),  # sets: #pred=4
    ("right line, wrong section", answer((DIALOG, CLOSE), updated=("None",), deleted=(BUY,)), GOLD, 2 / 4, 2 / 4, 1 / 2),  # M=2 (new), #pred=4
    ("everything None", UNCHANGED, GOLD, 1 / 3, 1 / 4, 2 / 7),  # M=1 (deleted None), #pred=3: F1=(1/6)/(7/12)
    ("None counts as an item", UNCHANGED, UNCHANGED, 1, 1, 1),  # M=3: a correct "no change" scores 1
    ("items where gold says None", answer((DIALOG,)), UNCHANGED, 2 / 3, 2 / 3, 2 / 3),  # M=2 (deleted, updated), #pred=3, #gold=3
    ("'none' lowercase is a plain item", answer(("none",), ("none",), ("none",)), UNCHANGED, 0, 0, 0),  # M=0
    ("only one section written", "New items:\n" + DIALOG + "\n" + CLOSE, GOLD, 1, 2 / 4, 2 / 3),  # M=2, #pred=2: F1=1/1.5
    ("text after a header is dropped", f"New items: {DIALOG}\n{CLOSE}\nDeleted items: None\nUpdated items:\n{BUY}", GOLD, 1, 2 / 4, 2 / 3),  # DIALOG and deleted None lost: M=2, #pred=2
    ("header mid-sentence is no header", answer((DIALOG, CLOSE), updated=(BUY,), reasoning="so New items: appear."), GOLD, 1, 1, 1),  # line does not start with it
    ("header starting a reasoning line", "New items: first I think.\nThe dialog shows.\n" + GOLD, GOLD, 4 / 5, 1, 8 / 9),  # "The dialog shows." joins new: #pred=5
    ("repeated sections accumulate", "New items:\n" + DIALOG + "\n" + GOLD, GOLD, 1, 1, 1),  # second "New items:" adds to the same set
    ("whitespace around lines", answer(("  " + DIALOG + "\t", CLOSE + " "), updated=(BUY,)).replace("\n", "\r\n"), GOLD, 1, 1, 1),  # stripped, CRLF ok
    ("inner whitespace matters", answer((DIALOG.replace(" ", "  "), CLOSE), updated=(BUY,)), GOLD, 3 / 4, 3 / 4, 3 / 4),  # M=3, #pred=4
    ("lowercase header is no header", answer((DIALOG, CLOSE), updated=(BUY,)).replace("New items:", "new items:"), GOLD, 1, 2 / 4, 2 / 3),  # new lines fall before the first header: M=2, #pred=2
    ("no header at all", DIALOG + "\n" + CLOSE, GOLD, 0, 0, 0),  # #pred=0: P=0, F1=0
    ("empty prediction", "", GOLD, 0, 0, 0),
    ("empty gold", GOLD, "", 0, 0, 0),  # #gold=0: R=0, F1=0 even for a "perfect" echo
    ("both empty", "", "", 0, 0, 0),
    ("headers only", "New items:\nDeleted items:\nUpdated items:", GOLD, 0, 0, 0),  # #pred=0
    ("None prediction", None, GOLD, 0, 0, 0),  # non-string: minimum, no exception
    ("number prediction", 42, GOLD, 0, 0, 0),
    ("bytes prediction", GOLD.encode(), GOLD, 0, 0, 0),
    ("None gold", GOLD, None, 0, 0, 0),
]
# fmt: on


@pytest.mark.parametrize(
    ("prediction", "gold", "precision", "recall", "f1"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_hand_worked_cases(prediction, gold, precision, recall, f1):
    assert web_f1(prediction, gold) == pytest.approx(
        {"f1": f1, "precision": precision, "recall": recall}
    )
    assert web_f1_reward([prediction], [gold], [{}]) == pytest.approx([f1])


# --------------------------------------------------------------------------- parsing


def test_parse_sections_reads_the_paper_format():
    text = answer((DIALOG, CLOSE, DIALOG), updated=(BUY, COUNT), reasoning="Thinking.\n\nMore.")
    assert parse_sections(text) == {
        "new": {DIALOG, CLOSE},
        "deleted": {"None"},
        "updated": {BUY, COUNT},
    }


def test_parse_sections_same_line_in_two_sections_is_two_items():
    text = f"New items:\n{DIALOG}\nDeleted items:\n{DIALOG}"
    assert parse_sections(text) == {"new": {DIALOG}, "deleted": {DIALOG}, "updated": set()}
    assert web_f1(text, f"New items:\n{DIALOG}") == pytest.approx(
        {"f1": 2 / 3, "precision": 1 / 2, "recall": 1.0}
    )


def test_parse_sections_splits_on_newlines_only():
    # a line separator inside an item's text (web pages have them) does not split the item
    item = "[4] StaticText 'a\u2028b'"
    assert parse_sections(f"Updated items:\n{item}")["updated"] == {item}


@pytest.mark.parametrize("value", [None, 0, 3.5, b"New items:\nx", ["New items:", "x"], {}])
def test_parse_sections_non_string_is_empty(value):
    assert parse_sections(value) == {"new": set(), "deleted": set(), "updated": set()}


# --------------------------------------------------------------------------- batched reward


def test_batched_reward_and_registry():
    predictions = [GOLD, UNCHANGED, None]
    assert web_f1_reward(predictions, [GOLD] * 3, [{}] * 3) == pytest.approx([1, 2 / 7, 0])
    assert web_f1_reward(predictions, [GOLD] * 3) == pytest.approx([1, 2 / 7, 0])  # no contexts
    reward = make_reward("f1")
    assert reward.__name__ == "web_f1" and REWARDS["f1"] is web_f1_reward
    assert reward(predictions, [GOLD] * 3, [{}] * 3) == web_f1_reward(predictions, [GOLD] * 3)
    with pytest.raises(ValueError, match="known: f1"):
        make_reward("exact")


def test_batch_lengths_must_match():
    with pytest.raises(ValueError, match="references"):
        web_f1_reward([GOLD, GOLD], [GOLD])
    with pytest.raises(ValueError, match="contexts"):
        web_f1_reward([GOLD], [GOLD], [{}, {}])


def test_docstring_examples():
    failures, tried = doctest.testmod(rewards, raise_on_error=False)
    assert tried > 0 and failures == 0


# --------------------------------------------------------------------------- properties

ITEM = st.text(alphabet="[]0123 abN'one", min_size=1, max_size=12)
SECTIONS = st.fixed_dictionaries(
    {key: st.lists(ITEM, max_size=5) for key in ("new", "deleted", "updated")}
)


def render(sections: dict[str, list[str]], shuffle: random.Random | None = None) -> str:
    """Sections -> response text, items in a random order when `shuffle` is given."""
    parts = []
    for header, key in rewards.SECTION_HEADERS.items():
        items = list(sections[key])
        if shuffle is not None:
            shuffle.shuffle(items)
        parts.append("\n".join([header, *items]))
    return "\n\n".join(parts)


@settings(max_examples=150, deadline=None)
@given(SECTIONS, SECTIONS)
def test_scores_in_range_and_consistent(predicted, gold):
    scores = web_f1(render(predicted), render(gold))
    assert all(0.0 <= value <= 1.0 for value in scores.values())
    p, r = scores["precision"], scores["recall"]
    assert scores["f1"] == pytest.approx(2 * p * r / (p + r) if p + r else 0.0)


@settings(max_examples=150, deadline=None)
@given(SECTIONS)
def test_gold_scores_the_maximum(gold):
    text = render(gold)
    has_items = any(item.strip() for items in gold.values() for item in items)
    assert web_f1(text, text)["f1"] == (1.0 if has_items else 0.0)


@settings(max_examples=100, deadline=None)
@given(SECTIONS, SECTIONS, st.integers(0, 2**16))
def test_item_order_does_not_matter(predicted, gold, seed):
    rng = random.Random(seed)
    assert web_f1(render(predicted, rng), render(gold, rng)) == web_f1(
        render(predicted), render(gold)
    )


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(SECTIONS, SECTIONS), min_size=1, max_size=6), st.randoms())
def test_batch_order_independence(pairs, rng):
    predictions = [render(p) for p, _ in pairs]
    references = [render(g) for _, g in pairs]
    order = list(range(len(pairs)))
    rng.shuffle(order)
    shuffled = web_f1_reward([predictions[i] for i in order], [references[i] for i in order])
    unshuffled = web_f1_reward(predictions, references)
    assert shuffled == [unshuffled[i] for i in order]


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300), st.sampled_from(["", "New items:\n", "Updated items:"]))
def test_never_raises_on_arbitrary_text(text, prefix):
    assert 0.0 <= web_f1(prefix + text, GOLD)["f1"] <= 1.0
    assert 0.0 <= web_f1(GOLD, prefix + text)["f1"] <= 1.0


def test_never_raises_on_huge_garbage():
    garbage = ("New items:\n" + "x" * 1000 + "\n") * 2000
    assert web_f1(garbage, GOLD)["f1"] == 0.0


# --------------------------------------------------------------------------- per-line gains


def test_line_gains_hand_worked():
    # gold: DIALOG, CLOSE (new), None (deleted), BUY (updated): 4 items; F1 = 2M / (#pred + 4)
    prediction = "\n".join(
        ["I think a dialog opens.", "New items:", DIALOG, HELP, DIALOG, "", "Updated items:", BUY]
    )
    gains = line_gains(prediction, GOLD)
    # reasoning 0, header 0; DIALOG: 2/5; HELP (wrong): 2/6 - 2/5; DIALOG again: nothing;
    # blank, header: nothing; BUY: 4/7 - 2/6
    expected = [0, 0, 2 / 5, 2 / 6 - 2 / 5, 0, 0, 0, 4 / 7 - 2 / 6]
    assert gains == pytest.approx(expected)
    assert sum(gains) == pytest.approx(web_f1(prediction, GOLD)["f1"])


def test_line_gains_of_wrong_lines_before_any_match_are_zero():
    # no item matches yet: F1 stays 0, so a wrong line costs nothing until one does
    assert line_gains(f"New items:\n{HELP}\n{DIALOG}", GOLD) == pytest.approx([0, 0, 2 / 6])


@pytest.mark.parametrize("value", [None, 42, b"New items:"])
def test_line_gains_of_a_non_string_is_one_zero(value):
    assert line_gains(value, GOLD) == [0.0]


@settings(max_examples=150, deadline=None)
@given(SECTIONS, SECTIONS, st.text(alphabet="ab \n", max_size=8))
def test_line_gains_sum_to_the_f1_one_per_line(predicted, gold, reasoning):
    text = reasoning + render(predicted)
    gains = line_gains(text, render(gold))
    assert len(gains) == len(text.split("\n"))
    assert sum(gains) == pytest.approx(web_f1(text, render(gold))["f1"], abs=1e-12)


def test_web_line_gains_pads_to_the_longest_answer():
    rows, weights = web_line_gains(["New items:\n" + DIALOG, GOLD, None], [GOLD] * 3)
    assert weights is None and [len(row) for row in rows] == [len(GOLD.split("\n"))] * 3
    assert rows[0][:2] == pytest.approx([0, 2 / 5]) and not any(rows[0][2:]) and not any(rows[2])
    assert [sum(row) for row in rows] == pytest.approx(
        web_f1_reward(["New items:\n" + DIALOG, GOLD, None], [GOLD] * 3)
    )
    with pytest.raises(ValueError, match="references"):
        web_line_gains([GOLD], [GOLD, GOLD])
