"""The gold answer of a web transition: New / Deleted / Updated items between two trees."""

import doctest

import pytest

from rlvr_world.domains.web import diff as diff_module
from rlvr_world.domains.web.diff import apply_diff, diff_sections, format_sections, tree_diff
from rlvr_world.domains.web.rewards import parse_sections, web_f1

CURRENT = """[1] RootWebArea 'Shop' focused: True
\t[10] link 'Cart (0)'
\t[11] searchbox 'Search' value: ''
\t[12] button 'Add to Cart'
\t[13] StaticText 'Red mug'"""


def test_docstring_examples():
    assert doctest.testmod(diff_module).failed == 0


@pytest.mark.parametrize(
    "after, new, deleted, updated",
    [
        # nothing changes: three empty sections
        (CURRENT, [], [], []),
        # a new element, an updated one (same id, new content), a deleted one
        (
            CURRENT.replace("\t[12] button 'Add to Cart'\n", "").replace("'Cart (0)'", "'Cart (1)'")
            + "\n\t[14] alert 'Added to cart'",
            ["[14] alert 'Added to cart'"],
            ["[12] button 'Add to Cart'"],
            ["[10] link 'Cart (1)'"],
        ),
        # typing changes a property: an update; moving an element deeper is not a change
        (
            CURRENT.replace("value: ''", "value: 'lamp'").replace("\t[13]", "\t\t[13]"),
            [],
            [],
            ["[11] searchbox 'Search' value: 'lamp'"],
        ),
        # the same id with the same content elsewhere in the tree is no change either
        (
            "\n".join([CURRENT.splitlines()[0], *reversed(CURRENT.splitlines()[1:])]),
            [],
            [],
            [],
        ),
    ],
)
def test_diff_table(after, new, deleted, updated):
    assert diff_sections(CURRENT, after) == (new, deleted, updated)


def test_lines_without_ids_match_by_content():
    before = "[1] RootWebArea 'A'\n\tStaticText 'hello'\n\tStaticText 'bye'"
    after = "[1] RootWebArea 'A'\n\tStaticText 'hello'\n\tStaticText 'welcome'"
    assert diff_sections(before, after) == (["StaticText 'welcome'"], ["StaticText 'bye'"], [])


def test_format_and_the_reward_agree():
    gold = tree_diff(CURRENT, CURRENT.replace("'Cart (0)'", "'Cart (1)'"))
    assert gold == (
        "New items:\nNone\n\nDeleted items:\nNone\n\nUpdated items:\n[10] link 'Cart (1)'"
    )
    assert parse_sections(gold) == {
        "new": {"None"},
        "deleted": {"None"},
        "updated": {"[10] link 'Cart (1)'"},
    }
    assert web_f1(gold, gold)["f1"] == 1.0
    assert format_sections([], [], []).count("None") == 3


def test_applying_the_gold_diff_gives_the_next_tree_up_to_order():
    after = (
        CURRENT.replace("\t[12] button 'Add to Cart'\n", "").replace("'Cart (0)'", "'Cart (1)'")
        + "\n\t[14] alert 'Added to cart'"
    )
    rebuilt = apply_diff(CURRENT, tree_diff(CURRENT, after))
    assert sorted(rebuilt.splitlines()) == sorted(after.splitlines())
    assert tree_diff(rebuilt, after).count("None") == 3  # nothing left to change


def test_applying_a_malformed_diff_changes_nothing():
    for junk in ("", "garbage", None, "New items:\nNone"):
        assert apply_diff(CURRENT, junk) == CURRENT
