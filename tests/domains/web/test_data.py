"""Web transitions on disk: ours (jsonl), the paper's RL parquet, SFT question/answer."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rlvr_world.domains.web.data import (
    DataError,
    WebTransition,
    load_transitions,
    save_transitions,
)
from rlvr_world.domains.web.prompts import answer_text, question_text
from rlvr_world.domains.web.rewards import web_f1

GOLD = "New items:\n[5] alert 'Saved'\n\nDeleted items:\nNone\n\nUpdated items:\nNone"
T = WebTransition(
    id="shop/0/3",
    url="http://shop.local/",
    objective="Add the cheapest red mug to the cart",
    previous_action="click [12]",
    tree="[1] RootWebArea 'Shop'\n\t[12] button 'Save'",
    action="click [12]",
    answer=GOLD,
    site="shop",
    task="add_to_cart",
)


def test_jsonl_round_trip(tmp_path):
    path = tmp_path / "t.jsonl"
    save_transitions(path, [T, T])
    assert load_transitions(path) == [T, T]


def test_rl_parquet(tmp_path):
    path = tmp_path / "rl.parquet"
    rows = [
        {
            "prompt": [{"role": "system", "content": "sys"}, {"role": "user", "content": "Q?"}],
            "reward_model": {"ground_truth": GOLD},
            "extra_info": {"index": 7, "split": "test"},
        }
    ]
    pq.write_table(pa.Table.from_pylist(rows), path)
    (t,) = load_transitions(path)
    assert (t.id, t.prompt, t.answer) == ("7", "Q?", GOLD)
    assert question_text(t, "full") == "Q?" and answer_text(t) == GOLD
    assert t.changed


def test_sft_question_answer(tmp_path):
    path = tmp_path / "sft.jsonl"
    path.write_text(json.dumps({"question": "Q", "answer": "reasoning\n" + GOLD}) + "\n")
    (t,) = load_transitions(path)
    assert (t.id, t.prompt) == ("0", "Q")


def test_unchanged_page_is_not_changed():
    none = "New items:\nNone\n\nDeleted items:\nNone\n\nUpdated items:\nNone"
    assert not WebTransition(**{**T.__dict__, "answer": none}).changed


def test_reasoning_before_the_sections_is_no_change():
    # SFT answers hold reasoning first; only the sections' items say whether the page changed
    none = "New items:\nNone\n\nDeleted items:\nNone\n\nUpdated items:\nNone"
    assert not WebTransition(**{**T.__dict__, "answer": "Nothing happens.\n" + none}).changed


@pytest.mark.parametrize(
    "row, field",
    [
        ({"url": "x"}, "id"),
        ({**T.__dict__, "tree": 3}, "tree"),
        ({"question": "Q"}, "answer"),
        ([1, 2], "<row>"),
    ],
)
def test_bad_rows_name_the_line_and_field(tmp_path, row, field):
    path = tmp_path / "bad.jsonl"
    path.write_text("\n" + json.dumps(row) + "\n")
    with pytest.raises(DataError) as error:
        load_transitions(path)
    assert (error.value.line, error.value.field) == (2, field)


def test_prompts_carry_every_field():
    for style in ("compact", "full"):
        text = question_text(T, style)
        for part in (T.url, T.objective, T.tree, T.action):
            assert part in text
    with pytest.raises(ValueError, match="prompt style"):
        question_text(T, "fancy")


def test_compact_answers_indent_items_as_the_tree_and_score_the_same():
    gold = (
        "New items:\n[5] alert 'Saved'\n\nDeleted items:\n[12] button 'Save'\n\n"
        "Updated items:\n[1] RootWebArea 'Shop' focused: True"
    )
    t = WebTransition(**{**T.__dict__, "answer": gold})
    compact = answer_text(t, "compact")
    # the deleted and updated lines start as in the tree; the new one (no tree line) does not
    assert compact.split("\n") == [
        "New items:",
        "[5] alert 'Saved'",
        "",
        "Deleted items:",
        "\t[12] button 'Save'",
        "",
        "Updated items:",
        "[1] RootWebArea 'Shop' focused: True",
    ]
    assert "\t[12] button 'Save'" in t.tree  # so copying it is a look-up in the tree
    assert web_f1(compact, gold)["f1"] == 1.0  # the reward strips lines: the same items
    assert answer_text(t, "full") == gold
