"""The web world model's target: what changed between two accessibility trees (SPEC §4).

A tree is WebArena text, one element a line, `[id] role 'name' key: value ...`, nested by
indentation. The next state is written as three sections, each a list of lines or `None`:

    New items:        elements of the next tree whose id the current tree lacks
    Deleted items:    elements of the current tree whose id the next tree lacks
    Updated items:    elements in both whose line differs (shown as in the next tree)

Elements are matched by id and compared by content (the stripped line, so a pure change of
depth is no update). Lines without an `[id]` (rare in real data) are matched by content
alone: present only in the next tree is new, only in the current tree is deleted. Items keep
their tree order; an empty section is `None`.

>>> print(tree_diff("[1] RootWebArea 'Shop'\\n\\t[2] button 'Buy'",
...                 "[1] RootWebArea 'Cart'\\n\\t[3] StaticText '1 item'"))
New items:
[3] StaticText '1 item'
<BLANKLINE>
Deleted items:
[2] button 'Buy'
<BLANKLINE>
Updated items:
[1] RootWebArea 'Cart'
"""

from __future__ import annotations

import re

from rlvr_world.domains.web.rewards import SECTION_HEADERS, parse_sections

ELEMENT_ID = re.compile(r"^\[(\d+)\]")
"""A tree line's element id, `[123]`, at its start (group 1: the number)."""
SECTIONS = ("New items:", "Deleted items:", "Updated items:")


def tree_items(tree: str) -> list[tuple[str | None, str]]:
    """(id or None, stripped line) of every non-empty line, in order."""
    items = []
    for line in tree.split("\n"):
        text = line.strip()
        if text:
            match = ELEMENT_ID.match(text)
            items.append((match.group(1) if match else None, text))
    return items


def diff_sections(current: str, next_tree: str) -> tuple[list[str], list[str], list[str]]:
    """(new, deleted, updated) lines between two trees."""
    before, after = tree_items(current), tree_items(next_tree)
    before_ids = {i: text for i, text in before if i is not None}
    after_ids = {i: text for i, text in after if i is not None}
    before_plain = {text for i, text in before if i is None}
    after_plain = {text for i, text in after if i is None}
    new = [
        text
        for i, text in after
        if (i is not None and i not in before_ids) or (i is None and text not in before_plain)
    ]
    deleted = [
        text
        for i, text in before
        if (i is not None and i not in after_ids) or (i is None and text not in after_plain)
    ]
    updated = [
        text for i, text in after if i is not None and i in before_ids and before_ids[i] != text
    ]
    return _unique(new), _unique(deleted), _unique(updated)


def format_sections(new: list[str], deleted: list[str], updated: list[str]) -> str:
    """The three sections as text (SPEC §4), `None` for an empty one."""
    blocks = [
        "\n".join([header, *(lines or ["None"])])
        for header, lines in zip(SECTIONS, (new, deleted, updated))
    ]
    return "\n\n".join(blocks)


def tree_diff(current: str, next_tree: str) -> str:
    """The gold answer for a transition: `format_sections` of `diff_sections`."""
    return format_sections(*diff_sections(current, next_tree))


def apply_diff(tree: str, diff: str) -> str:
    """The next tree a predicted diff implies: deleted ids (or id-less lines) removed, updated
    ids rewritten in place (their indentation kept), new items appended at depth 1 (a diff does
    not say where they go). A malformed diff changes nothing it cannot read; never raises.

    >>> apply_diff("[1] RootWebArea 'A'\\n\\t[2] button 'Buy'\\n\\t[3] link 'Cart (0)'",
    ...            "New items:\\n[9] alert 'Added'\\n\\nDeleted items:\\n[2] button 'Buy'"
    ...            "\\n\\nUpdated items:\\n[3] link 'Cart (1)'").splitlines()
    ["[1] RootWebArea 'A'", "\\t[3] link 'Cart (1)'", "\\t[9] alert 'Added'"]
    """
    sections = parse_sections(diff)
    items = {key: [line for line in lines if line != "None"] for key, lines in sections.items()}

    def key(text: str) -> str:
        match = ELEMENT_ID.match(text)
        return match.group(1) if match else text

    deleted = {key(line) for line in items["deleted"]}
    updated = {key(line): line for line in items["updated"] if ELEMENT_ID.match(line)}
    out = []
    for line in tree.split("\n"):
        text = line.strip()
        if not text or key(text) in deleted:
            continue
        indent = line[: len(line) - len(line.lstrip())]
        out.append(indent + updated.get(key(text), text))
    present = {key(line.strip()) for line in out}
    out += ["\t" + line for line in sorted(items["new"]) if key(line) not in present]
    return "\n".join(out)


def _unique(lines: list[str]) -> list[str]:
    return list(dict.fromkeys(lines))


assert set(SECTIONS) == set(SECTION_HEADERS), "diff headers must be the reward's headers"
