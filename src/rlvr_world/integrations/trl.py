"""Our verifiable rewards as reward functions for TRL's `GRPOTrainer`.

TRL calls each reward function as
`reward_func(prompts=..., completions=..., completion_ids=..., **columns) -> list[float]`, where
`columns` holds every dataset column except `prompt` (repeated once per completion) plus a
few extras of its own (`trainer_state`, `log_metric`, ...), and logs the mean and std of
each function under `rewards/<function name>/...`. A completion is a string for a plain-text
dataset, or a list of chat messages `[{"role": "assistant", "content": ...}]` for a
conversational one; `completion_text` reads both.

- `textgame_reward(name, compat)`: the text-game rewards (SPEC §3), reading the dataset
  columns `current` (the current state) and `next` (the true next state).
- `web_f1_reward()`: the web item F1 (SPEC §4), reading the column `ground_truth` (the gold
  diff text).
- `textgame_dataset(transitions)`: a `datasets.Dataset` with `prompt`, `current`, `next`.

States are stored as JSON text: Arrow cannot hold a list of objects whose property dicts have
different keys and value types without merging them into one struct type, which silently
adds the missing keys as `None` (and the score keys to every object), so the state read
back is not the state written. The rewards parse the JSON back (and accept already-decoded
lists too). The reward functions are instances of small classes, so they keep a readable
`__name__` and can be pickled (TRL's asynchronous trainers send rewards to another process).

    from trl import GRPOConfig, GRPOTrainer
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[textgame_reward("task_specific")],
        args=GRPOConfig(...),
        train_dataset=textgame_dataset(transitions),
        processing_class=tokenizer,
    )

`trl` and `datasets` are imported only by `textgame_dataset`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from rlvr_world.domains.textgame.data import Transition
from rlvr_world.domains.textgame.prompts import compact_json, question_text
from rlvr_world.domains.textgame.rewards import make_reward as make_textgame_reward
from rlvr_world.domains.web import rewards as web_rewards

__all__ = [
    "TextGameReward",
    "WebF1Reward",
    "completion_text",
    "textgame_dataset",
    "textgame_reward",
    "web_f1_reward",
]


def completion_text(completion: Any) -> str | None:
    """The text of one TRL completion, or `None` when it has none (the reward then scores
    its minimum).

    A string is returned as it is. A conversational completion (a list of messages, or one
    message dict) gives the `content` of its *last* assistant message (the last message
    when none has a role): with tool calls a completion holds several messages and the
    answer comes last. A content given as a list of parts joins the text parts.

    >>> completion_text("The final answer is: {}")
    'The final answer is: {}'
    >>> completion_text([{"role": "assistant", "content": "New items:"}])
    'New items:'
    >>> completion_text([{"role": "assistant", "content": [{"type": "text", "text": "a"},
    ...                                                     {"type": "text", "text": "b"}]}])
    'ab'
    >>> completion_text(None) is None
    True
    """
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        completion = [completion]
    if not isinstance(completion, (list, tuple)):
        return None
    messages = [m for m in completion if isinstance(m, dict)]
    assistant = [m for m in messages if m.get("role") == "assistant"]
    if assistant:
        message = assistant[-1]
    elif messages and not any("role" in m for m in messages):
        message = messages[-1]
    else:
        return None
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, (list, tuple)):  # [{"type": "text", "text": ...}, ...]
        texts = [
            part if isinstance(part, str) else part.get("text")
            for part in content
            if isinstance(part, str) or (isinstance(part, dict) and part.get("type") == "text")
        ]
        return "".join(text for text in texts if isinstance(text, str))
    return None


# what TRL passes to reward functions besides the dataset columns
_TRL_EXTRAS = ("completion_ids", "trainer_state", "log_extra", "log_metric", "environments")


def _column(columns: dict[str, Any], name: str, reward_name: str) -> list:
    if name not in columns:
        known = sorted(key for key in columns if key not in _TRL_EXTRAS)
        raise KeyError(
            f"reward {reward_name!r} needs the dataset column {name!r}; the dataset has: {known}"
        )
    return list(columns[name])


def _decode_state(value: Any, column: str, row: int) -> Any:
    """A state column entry: JSON text -> Python; anything else is passed on unchanged."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as error:
        raise ValueError(f"column {column!r}, row {row}: not valid JSON ({error})") from None


class TextGameReward:
    """A text-game reward (SPEC §3) in TRL's calling convention.

    Reads the columns `current` and `next` (JSON text of the states, as `textgame_dataset`
    writes them, or lists; a state may also be `{"game_state": [...]}`) and calls `domains.textgame.rewards.make_reward(name, compat)`
    with references = next states and contexts = `[{"current": ...}]`. A completion without
    text scores 0, like any malformed response. A missing column or a state that is not
    valid JSON raises: that is a broken dataset, not a bad prediction.
    """

    def __init__(self, name: str = "task_specific", compat: str = "fixed") -> None:
        self.reward_name = name
        self.compat = compat
        self._reward = make_textgame_reward(name, compat)  # raises on unknown name / compat
        suffix = "" if compat == "fixed" else f"_{compat}"
        self.__name__ = f"{self._reward.__name__}{suffix}"  # TRL logs rewards by this name

    def __call__(
        self, prompts: Sequence[Any], completions: Sequence[Any], **columns: Any
    ) -> list[float]:
        currents = _column(columns, "current", self.__name__)
        nexts = _column(columns, "next", self.__name__)
        references = [_decode_state(v, "next", i) for i, v in enumerate(nexts)]
        contexts = [{"current": _decode_state(v, "current", i)} for i, v in enumerate(currents)]
        predictions = [completion_text(c) for c in completions]
        return self._reward(predictions, references, contexts)

    def __reduce__(self):  # pickle the settings, not the bound closure
        return (type(self), (self.reward_name, self.compat))

    def __repr__(self) -> str:
        return f"TextGameReward(name={self.reward_name!r}, compat={self.compat!r})"


def _gold_text(value: Any, column: str, row: int) -> str:
    """A gold diff column entry: the text itself, or a `{"ground_truth": text}` dict (the
    `reward_model` column of the RL parquet files)."""
    if isinstance(value, Mapping) and "ground_truth" in value:
        value = value["ground_truth"]
    if not isinstance(value, str):
        raise TypeError(
            f"column {column!r}, row {row}: expected the gold diff text, got {type(value).__name__}"
        )
    return value


class WebF1Reward:
    """The web item F1 (SPEC §4) in TRL's calling convention: each completion's text against
    the gold diff text in the dataset column `column` (default `ground_truth`; the RL
    parquet's `reward_model` column, a `{"ground_truth": text}` dict, works too). A
    completion without text scores 0; a missing column or a gold that is not text raises
    (a broken dataset, not a bad prediction)."""

    def __init__(self, column: str = "ground_truth") -> None:
        self.column = column
        self.__name__ = "web_f1"  # TRL logs rewards by this name

    def __call__(
        self, prompts: Sequence[Any], completions: Sequence[Any], **columns: Any
    ) -> list[float]:
        golds = _column(columns, self.column, self.__name__)
        references = [_gold_text(v, self.column, i) for i, v in enumerate(golds)]
        predictions = [completion_text(c) for c in completions]
        return web_rewards.web_f1_reward(predictions, references)

    def __reduce__(self):
        return (type(self), (self.column,))

    def __repr__(self) -> str:
        return f"WebF1Reward(column={self.column!r})"


def textgame_reward(name: str = "task_specific", compat: str = "fixed") -> TextGameReward:
    """A TRL reward function for the text-game reward `name` ("task_specific" or "binary").

    Its `__name__` is `textgame_<name>` (`textgame_<name>_reference` with
    `compat="reference"`), so TRL logs `rewards/textgame_<name>/mean`.

    >>> from rlvr_world.domains.textgame.state import state_diff
    >>> lamp = {"name": "lamp (ID: 1)", "uuid": 1, "type": "Lamp", "contains": []}
    >>> score = {"score": 0, "gameOver": False, "gameWon": False}
    >>> current = [{**lamp, "properties": {"on": False}}, score]
    >>> gold = [{**lamp, "properties": {"on": True}}, score]
    >>> right = "The final answer is: " + json.dumps(state_diff(current, gold))
    >>> reward = textgame_reward("binary")
    >>> reward.__name__
    'textgame_binary'
    >>> reward(prompts=["p", "p"], completions=[[{"role": "assistant", "content": right}], "?"],
    ...        current=[json.dumps(current)] * 2, next=[json.dumps(gold)] * 2)
    [1.0, 0.0]
    """
    return TextGameReward(name, compat)


def web_f1_reward(column: str = "ground_truth") -> WebF1Reward:
    """A TRL reward function for the web item F1, named `web_f1`, reading the gold diff from
    the dataset column `column`.

    >>> gold = "New items:\\n[7] dialog 'Cart'\\n\\nDeleted items:\\nNone\\n\\nUpdated items:\\nNone"
    >>> web_f1_reward()(prompts=["p"], completions=[gold], ground_truth=[gold])
    [1.0]
    """
    return WebF1Reward(column)


def textgame_dataset(
    transitions: Sequence[Transition],
    prompt_style: str = "compact",
    conversational: bool = False,
):
    """A `datasets.Dataset` for `GRPOTrainer` with one row per transition.

    Columns: `prompt` (`prompts.question_text(t, prompt_style)`, or with
    `conversational=True` the chat list `[{"role": "user", "content": ...}]`), `current` and
    `next` (compact JSON text of the states, see the module docstring), which
    `textgame_reward` reads back.
    """
    from datasets import Dataset

    prompts: list[Any] = [question_text(t, prompt_style) for t in transitions]
    if conversational:
        prompts = [[{"role": "user", "content": prompt}] for prompt in prompts]
    return Dataset.from_dict(
        {
            "prompt": prompts,
            "current": [compact_json(t.current) for t in transitions],
            "next": [compact_json(t.next) for t in transitions],
        }
    )
