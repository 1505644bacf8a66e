"""Config machinery shared by every layer: the error type, field checks, dict <-> dataclass.

A component's config is a dataclass whose field docstrings document it (`describe`) and whose
`__post_init__` validates with these checks, naming the field by its dotted path:

>>> from dataclasses import dataclass
>>> @dataclass
... class Section:
...     steps: int = 1
...     def __post_init__(self):
...         positive(self, "section", "steps")
>>> from_dict(Section, {"steps": 0})
Traceback (most recent call last):
...
rlvr_world.core.config.ConfigError: section.steps must be > 0, got 0
>>> merge({"a": {"b": 1, "c": 2}}, {"a": {"c": 3}})
{'a': {'b': 1, 'c': 3}}
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from dataclasses import fields, is_dataclass
from typing import Any, get_type_hints


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the field."""


def positive(obj: Any, section: str, *names: str) -> None:
    for name in names:
        if getattr(obj, name) <= 0:
            raise ConfigError(f"{section}.{name} must be > 0, got {getattr(obj, name)}")


def non_negative(obj: Any, section: str, *names: str) -> None:
    for name in names:
        if getattr(obj, name) < 0:
            raise ConfigError(f"{section}.{name} must be >= 0, got {getattr(obj, name)}")


def choice(obj: Any, section: str, name: str, choices: tuple[str, ...]) -> None:
    if getattr(obj, name) not in choices:
        raise ConfigError(
            f"{section}.{name} must be one of {', '.join(choices)}; got {getattr(obj, name)!r}"
        )


def from_dict(cls: type, values: dict, where: str = "") -> Any:
    """Build a (nested) dataclass from a dict; unknown keys are an error naming the path."""
    if not isinstance(values, dict):
        raise ConfigError(f"{where or 'config'}: expected a mapping, got {type(values).__name__}")
    hints = get_type_hints(cls)
    known = {f.name: f for f in fields(cls)}
    kwargs = {}
    for key, value in values.items():
        path = f"{where}.{key}" if where else key
        if key not in known:
            raise ConfigError(f"unknown config field {path!r}; known: {', '.join(known)}")
        hint = hints[key]
        if is_dataclass(hint) and isinstance(value, dict):
            value = from_dict(hint, value, path)
        elif isinstance(value, list):
            value = tuple(value)
        elif hint in (float, float | None) and isinstance(value, (int, str)) and value is not True:
            value = _as_float(value, path)
        kwargs[key] = value
    try:
        return cls(**kwargs)
    except TypeError as error:
        raise ConfigError(f"{where or 'config'}: {error}") from error


def _as_float(value: Any, path: str) -> float:
    """Numbers written as ints or as YAML-1.1 strings (`2e-4` is a string to YAML) -> float."""
    try:
        return float(value)
    except ValueError:
        raise ConfigError(f"{path} must be a number, got {value!r}") from None


def merge(base: dict, update: dict) -> dict:
    """`update` over `base`, nested dicts merged key by key (neither is modified)."""
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def describe(cls: type, prefix: str = "") -> list[tuple[str, str, str]]:
    """(dotted name, default, doc) of every field, from the field docstrings."""
    docs = field_docs(cls)
    rows = []
    hints = get_type_hints(cls)
    instance = cls()
    for f in fields(cls):
        name = f"{prefix}{f.name}"
        if is_dataclass(hints[f.name]):
            rows.extend(describe(hints[f.name], name + "."))
        else:
            rows.append((name, repr(getattr(instance, f.name)), docs.get(f.name, "")))
    return rows


def field_docs(cls: type) -> dict[str, str]:
    """Field name -> the docstring written under it in the class body (cleanrl-style)."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):  # a subclass's docs win over its bases'
        try:
            source = inspect.getsource(klass)
        except (OSError, TypeError):
            continue
        tree = ast.parse(textwrap.dedent(source))
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for node, nxt in zip(body, body[1:]):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(nxt, ast.Expr)
                and isinstance(getattr(nxt, "value", None), ast.Constant)
                and isinstance(nxt.value.value, str)
            ):
                docs[node.target.id] = nxt.value.value.strip()
    return docs
