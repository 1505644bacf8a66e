"""Questions and reference answers for web-page state prediction (SPEC §4).

Two prompt styles:
- `full`: the paper-style prompt for real language models: the URL, the objective, the
  previous action, the current accessibility tree and the current action, then how to answer
  (reasoning, then the three sections). Real data's own prompt text is used as it is.
- `compact`: for tiny models trained from scratch: the same fields, one per line, and the
  answer is the bare sections.

The reference answer is the gold diff (`diff.tree_diff`) in both styles: the reward reads
only the sections, so reasoning is the model's own business.
"""

from __future__ import annotations

from rlvr_world.domains.web.data import WebTransition

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
    """The reference answer: the gold sections."""
    return transition.answer
