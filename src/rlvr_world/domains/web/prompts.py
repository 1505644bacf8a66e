"""Questions and reference answers for web-page state prediction (SPEC §4).

Two prompt styles:
- `full`: the paper-style prompt for real language models: the URL, the objective, the
  previous action, the current accessibility tree and the current action, then how to answer
  (reasoning, then the three sections). Real data's own prompt text is used as it is.
- `compact`: for tiny models trained from scratch: the same fields, one per line, and the
  answer is the bare sections, each item that the current tree holds indented as it is there
  (`tree_indented`).

The reference answer is the gold diff (`diff.tree_diff`) in both styles: the reward reads
only the sections, so reasoning is the model's own business. It strips every line, so the
compact answer's indentation changes no item: it makes a deleted or updated line start in
the answer as it does in the tree, and copying it from the tree is then a plain look-up of
the tokens that followed the same tokens there (the model need not drop the tree's tabs).
"""

from __future__ import annotations

from rlvr_world.domains.web.data import WebTransition
from rlvr_world.domains.web.diff import ELEMENT_ID

FULL_TEMPLATE = """You are a world model of web pages. Given a web page's URL, the user's \
objective, the previous action, the page's current accessibility tree and the action taken \
now, predict how the page changes after the action.

The accessibility tree lists one element a line as `[id] role 'name' properties`, nested by \
indentation.

URL: {url}
OBJECTIVE: {objective}
PREVIOUS ACTION: {previous_action}
CURRENT OBSERVATION:
{tree}
CURRENT ACTION: {action}

Think step by step about what the action does to the page. Then answer with three sections \
separated by blank lines, each listing tree lines (or None when empty):
New items: the elements that appear
Deleted items: the elements that disappear
Updated items: the elements whose line changes, as they read after the action"""


def question_text(transition: WebTransition, style: str = "compact") -> str:
    """The prompt for one transition (real data's own prompt when it has one)."""
    if transition.prompt is not None:
        return transition.prompt
    if style == "full":
        return FULL_TEMPLATE.format(
            url=transition.url,
            objective=transition.objective,
            previous_action=transition.previous_action or "None",
            tree=transition.tree,
            action=transition.action,
        )
    if style != "compact":
        raise ValueError(f"prompt style must be 'compact' or 'full', got {style!r}")
    return (
        f"url:{transition.url}\nobjective:{transition.objective}\n"
        f"previous:{transition.previous_action or 'None'}\ntree:\n{transition.tree}\n"
        f"action:{transition.action}\nnext:\n"
    )


def answer_text(transition: WebTransition, style: str = "compact") -> str:
    """The reference answer: the gold sections; in the compact style with the current tree's
    indentation on the items it holds (`tree_indented`; the same items to the reward)."""
    if style == "compact" and transition.prompt is None:
        return tree_indented(transition.answer, transition.tree)
    return transition.answer


def tree_indented(answer: str, tree: str) -> str:
    """`answer` with each line whose `[id]` the tree holds indented as that id's line is in
    the tree; headers, `None` and ids the tree lacks (new items) stay as they are.

    >>> tree_indented("Deleted items:\\n[2] button 'Buy'\\n[9] link 'New'",
    ...               "[1] RootWebArea 'A'\\n\\t\\t[2] button 'Buy'").split("\\n")
    ['Deleted items:', "\\t\\t[2] button 'Buy'", "[9] link 'New'"]
    """
    indents = {}
    for line in tree.split("\n"):
        text = line.lstrip()
        match = ELEMENT_ID.match(text)
        if match:
            indents.setdefault(match.group(1), line[: len(line) - len(text)])
    out = []
    for line in answer.split("\n"):
        match = ELEMENT_ID.match(line.strip())
        out.append(indents.get(match.group(1), "") + line.strip() if match else line)
    return "\n".join(out)
