"""Verifiable reward for the web-page world model (WebArena state prediction, SPEC §4).

A response is free reasoning, then three sections separated by blank lines, each a list of
accessibility-tree lines (`[ID] role 'text' key: value ...`) or `None`:

    New items:
    [1288] link 'Retry Synchronization'

    Deleted items:
    None

    Updated items:
    [80] heading 'Dashboard'

The gold answer (the diff between the current and the next tree) has the same format. The
reward is the F1 over items: `parse_sections` reads each text into three sets of lines, the
matches M are the lines found in the same section of both, P = M / #predicted items,
R = M / #gold items, F1 = 2PR / (P + R), and 0 whenever it is undefined.

Parsing rules (SPEC §4, identical to the RLVR-World reference scorer, so there is no compat
switch) and the edge cases they imply:

- The text is split on "\\n" and each line stripped; empty lines are skipped.
- A stripped line that *starts with* `New items:`, `Deleted items:` or `Updated items:`
  (case-sensitive, colon included) switches to that section. The rest of a header line is
  dropped: `New items: [12] button 'Buy'` opens the section but adds no item.
- Every other line joins the current section's *set*; lines before the first header are
  ignored. So duplicates count once (repeating an item earns nothing), and the same line in
  two sections is two distinct items.
- `None` is not special: under a header it is the item "None". The SPEC says every other
  non-empty line joins the set, and the reference does the same. This matters: predicting
  "None" where the gold says "None" is a match (credit for predicting that nothing is new);
  an unchanged page (gold "None" in all three sections) would otherwise have no gold item,
  so every prediction, even the right one, would score 0.
- The *whole* response is parsed, reasoning included. A header mentioned inside a sentence
  is not a header (the line must start with it), but a reasoning line that starts with one
  switches the section early, and the reasoning lines after it become (wrong) items that
  lower the precision. A header that appears again later switches back to the same section,
  whose set keeps growing.
- Items match only if they are equal after stripping (case and inner spaces count).
- A text with no item at all (no header, only headers, not a string) gives empty sets. An
  empty prediction has P = 0 and an empty gold R = 0, so both score F1 = 0. Non-string input
  (`None`, numbers, bytes) never raises and scores the minimum 0.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = [
    "REWARDS",
    "SECTION_HEADERS",
    "line_gains",
    "make_reward",
    "parse_sections",
    "web_f1",
    "web_f1_reward",
    "web_line_gains",
]

# header -> section key, in the order the sections appear in an answer
SECTION_HEADERS = {
    "New items:": "new",
    "Deleted items:": "deleted",
    "Updated items:": "updated",
}


def parse_sections(text: Any) -> dict[str, set[str]]:
    """The items of each section of a response or gold diff: `{"new", "deleted", "updated"}`
    -> set of stripped lines. Follows the rules in the module docstring; never raises (a
    non-string gives three empty sets).

    >>> sections = parse_sections(
    ...     "I click Buy, so a dialog opens.\\n"
    ...     "New items:\\n[7] dialog 'Cart'\\n[7] dialog 'Cart'\\n\\n"
    ...     "Deleted items:\\nNone\\n\\n"
    ...     "Updated items: [3] button 'Buy'\\n  [5] StaticText '1 item'  "
    ... )
    >>> sections == {"new": {"[7] dialog 'Cart'"}, "deleted": {"None"},
    ...              "updated": {"[5] StaticText '1 item'"}}
    True
    >>> parse_sections(None)
    {'new': set(), 'deleted': set(), 'updated': set()}
    """
    sections: dict[str, set[str]] = {key: set() for key in SECTION_HEADERS.values()}
    for item in _line_items(text):
        if item is not None:
            sections[item[0]].add(item[1])
    return sections


def _line_items(text: Any) -> list[tuple[str, str] | None]:
    """Each "\\n"-separated line of `text` read as the parsing rules say: (section, item) where
    it is an item, None where it is not (blank, a header, before the first header). A
    non-string has no lines."""
    if not isinstance(text, str):
        return []
    items: list[tuple[str, str] | None] = []
    current: str | None = None  # None until the first header: those lines are ignored
    # split("\n"), not splitlines(): a "\u2028" or "\x0c" inside an item's text stays in it
    for raw_line in text.split("\n"):
        line = raw_line.strip()
        header = next((h for h in SECTION_HEADERS if line.startswith(h)), None) if line else None
        if header is not None:
            current = SECTION_HEADERS[header]
        items.append((current, line) if line and header is None and current is not None else None)
    return items


def web_f1(prediction: Any, ground_truth: Any) -> dict[str, float]:
    """F1, precision and recall of a predicted diff against the gold diff (same format).

    M = sum over the three sections of |predicted set & gold set|; P = M / #predicted items
    (0 if none), R = M / #gold items (0 if none), F1 = 2PR / (P + R) (0 if P + R = 0).
    Never raises; non-string input scores 0.

    >>> gold = "New items:\\n[7] dialog 'Cart'\\n\\nDeleted items:\\nNone\\n\\nUpdated items:\\nNone"
    >>> web_f1(gold, gold)
    {'f1': 1.0, 'precision': 1.0, 'recall': 1.0}
    >>> web_f1("New items:\\n[7] dialog 'Cart'\\n[9] link 'Help'", gold)  # M=1, P=1/2, R=1/3
    {'f1': 0.4, 'precision': 0.5, 'recall': 0.3333333333333333}
    >>> web_f1("The page does not change.", gold)
    {'f1': 0.0, 'precision': 0.0, 'recall': 0.0}
    """
    predicted, gold = parse_sections(prediction), parse_sections(ground_truth)
    matches = sum(len(predicted[key] & gold[key]) for key in gold)
    n_predicted = sum(len(items) for items in predicted.values())
    n_gold = sum(len(items) for items in gold.values())
    precision = matches / n_predicted if n_predicted else 0.0
    recall = matches / n_gold if n_gold else 0.0
    total = precision + recall
    f1 = 2 * precision * recall / total if total > 0 else 0.0
    return {"f1": f1, "precision": precision, "recall": recall}


def web_f1_reward(
    predictions: Sequence[Any],
    references: Sequence[Any],
    contexts: Sequence[Mapping] | None = None,
) -> list[float]:
    """Item F1 of each predicted diff against its gold diff (`references[i]`, the gold text),
    in [0, 1]; malformed or non-string predictions score 0. `contexts` is not needed (the
    gold diff alone defines the reward) and may be `None`; when given, its length is checked.

    >>> gold = "New items:\\nNone\\n\\nDeleted items:\\n[4] link 'Next'\\n\\nUpdated items:\\nNone"
    >>> right = "Clicking Next removes it.\\n" + gold
    >>> web_f1_reward([right, "Deleted items:\\n[4] link 'Next'", None], [gold] * 3)
    [1.0, 0.5, 0.0]
    """
    if len(predictions) != len(references):
        raise ValueError(f"got {len(predictions)} predictions but {len(references)} references")
    if contexts is not None and len(contexts) != len(predictions):
        raise ValueError(f"got {len(predictions)} predictions but {len(contexts)} contexts")
    return [
        web_f1(prediction, reference)["f1"]
        for prediction, reference in zip(predictions, references)
    ]


def line_gains(prediction: Any, ground_truth: Any) -> list[float]:
    """How much each line of a predicted diff changes its F1: one value per "\\n"-separated
    line, the F1 of the lines up to it minus the F1 of the lines before it, so they sum to
    `web_f1(prediction, ground_truth)["f1"]` (F1 = 2M / (#predicted + #gold) items).

    A right new item gains, a wrong one loses what it costs the precision (nothing while no
    item matches), a repeated item, a header or a blank line changes nothing. Per-line credit
    (`rlvr.credit=reward-to-go`) gives each line's tokens the gain of that line and the lines
    after it. Never raises; a non-string scores `[0.0]`.

    >>> gold = "New items:\\n[7] dialog 'Cart'\\n\\nDeleted items:\\nNone\\n\\nUpdated items:\\nNone"
    >>> [round(g, 3) for g in line_gains("New items:\\n[7] dialog 'Cart'\\n[9] link 'Help'", gold)]
    [0.0, 0.5, -0.1]
    """
    items = _line_items(prediction)
    if not items:
        return [0.0]
    gold = parse_sections(ground_truth)
    n_gold = sum(len(lines) for lines in gold.values())
    seen: dict[str, set[str]] = {key: set() for key in gold}
    matches = predicted = 0
    gains, before = [], 0.0
    for item in items:
        if item is not None and item[1] not in seen[item[0]]:
            seen[item[0]].add(item[1])
            predicted += 1
            matches += item[1] in gold[item[0]]
        f1 = 2 * matches / (predicted + n_gold) if matches else 0.0
        gains.append(f1 - before)
        before = f1
    return gains


def web_line_gains(
    predictions: Sequence[Any],
    references: Sequence[Any],
    contexts: Sequence[Mapping] | None = None,
) -> tuple[list[list[float]], None]:
    """`core.protocols.SpanReward` of the item F1 with a web answer's lines as its spans:
    rewards[i][k] = `line_gains(predictions[i], references[i])[k]`, padded with 0 to the
    longest prediction's line count; weights None (the F1 is their sum)."""
    if len(predictions) != len(references):
        raise ValueError(f"got {len(predictions)} predictions but {len(references)} references")
    rows = [line_gains(p, r) for p, r in zip(predictions, references)]
    width = max((len(row) for row in rows), default=1)
    return [row + [0.0] * (width - len(row)) for row in rows], None


REWARDS: dict[str, Callable[..., list[float]]] = {
    "f1": web_f1_reward,
}


def make_reward(name: str) -> Callable[..., list[float]]:
    """The web reward called `name`: `(predictions, references, contexts) -> list[float]`.

    >>> make_reward("f1").__name__
    'web_f1'
    >>> make_reward("binary")
    Traceback (most recent call last):
    ...
    ValueError: unknown web reward 'binary'; known: f1
    """
    if name not in REWARDS:
        raise ValueError(f"unknown web reward {name!r}; known: {', '.join(sorted(REWARDS))}")
    reward_function = REWARDS[name]

    def reward(
        predictions: Sequence[Any],
        references: Sequence[Any],
        contexts: Sequence[Mapping] | None = None,
    ) -> list[float]:
        return reward_function(predictions, references, contexts)

    reward.__name__ = reward.__qualname__ = f"web_{name}"
    reward.term = name  # the same value as the task's `score` term of this name
    reward.__doc__ = reward_function.__doc__
    return reward
