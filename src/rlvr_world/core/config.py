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
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints


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
    """Build a (nested) dataclass from a dict, each value checked against its field's type
    hint (`check_value`); unknown keys and bad values are errors naming the dotted path. The
    class's own `__post_init__` checks ranges; its `ValueError`s come out as `ConfigError`s
    naming the section."""
    if not isinstance(values, dict):
        raise ConfigError(f"{where or 'config'}: expected a mapping, got {type(values).__name__}")
    hints = get_type_hints(cls)
    known = [f.name for f in fields(cls) if f.init]
    kwargs = {}
    for key, value in values.items():
        path = f"{where}.{key}" if where else str(key)
        if key not in known:
            raise ConfigError(f"unknown config field {path!r}; known: {', '.join(known)}")
        kwargs[key] = check_value(hints[key], value, path)
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as error:
        raise ConfigError(_in_section(str(error), where, known)) from None


def _in_section(message: str, where: str, known: list[str]) -> str:
    """A section's own validation message with the section's dotted name in front."""
    if not where or message.startswith((f"{where}.", f"{where}:")):
        return message if where else f"config: {message}"
    first = message.split(" ", 1)[0]
    return f"{where}.{message}" if first in known else f"{where}: {message}"


def check_value(hint: Any, value: Any, path: str) -> Any:
    """`value` checked against the type hint `hint` (and converted where that loses nothing:
    a list to a tuple, an int or a number written as text to a float, an integral float to
    an int). Booleans are not numbers. A type this does not know is passed through.

    >>> check_value(tuple[int, ...], [1, 2.0], "video.rollout_start_steps")
    (1, 2)
    >>> check_value(int, True, "mle.steps")
    Traceback (most recent call last):
    ...
    rlvr_world.core.config.ConfigError: mle.steps must be an integer, got True
    """
    if is_dataclass(hint):
        if isinstance(value, dict):
            return from_dict(hint, value, path)
        if isinstance(value, hint):
            return value
        raise _expected(path, hint, value)
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, UnionType):
        if value is None and type(None) in args:
            return None
        for option in (a for a in args if a is not type(None)):
            try:
                return check_value(option, value, path)
            except ConfigError:
                continue
        raise _expected(path, hint, value)
    if origin is Literal:
        if any(value == a and type(value) is type(a) for a in args):
            return value
        choices = ", ".join(str(a) for a in args)
        raise ConfigError(f"{path} must be one of {choices}; got {shown(value)}")
    if origin is tuple or hint is tuple:
        return _check_tuple(hint, args, value, path)
    if hint in _SCALARS:
        return _SCALARS[hint](hint, value, path)
    return tuple(value) if isinstance(value, list) else value


def _check_tuple(hint: Any, args: tuple, value: Any, path: str) -> tuple:
    if not isinstance(value, (list, tuple)):
        raise _expected(path, hint, value)
    if not args:
        return tuple(value)
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(check_value(args[0], v, f"{path}[{i}]") for i, v in enumerate(value))
    if len(value) != len(args):
        raise _expected(path, hint, value)
    return tuple(check_value(a, v, f"{path}[{i}]") for i, (a, v) in enumerate(zip(args, value)))


def _check_bool(hint: type, value: Any, path: str) -> bool:
    if isinstance(value, bool):
        return value
    raise _expected(path, hint, value)


def _check_int(hint: type, value: Any, path: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise _expected(path, hint, value)


def _check_float(hint: type, value: Any, path: str) -> float:
    """Numbers written as ints or as YAML-1.1 strings (`2e-4` is a string to YAML) -> float."""
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        try:
            return float(value)
        except ValueError:
            pass
    raise _expected(path, hint, value)


def _check_str(hint: type, value: Any, path: str) -> str:
    if isinstance(value, str):
        return value
    raise _expected(path, hint, value)


_SCALARS = {bool: _check_bool, int: _check_int, float: _check_float, str: _check_str}
_KINDS = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


def kind(hint: Any) -> str:
    """What a type hint asks for, in words: `tuple[int, ...]` -> 'a list of integers'.

    >>> kind(float | None)
    'a number or null'
    """
    if is_dataclass(hint):
        return "a mapping of its fields"
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, UnionType):
        words = [kind(a) for a in args if a is not type(None)]
        return " or ".join(words + (["null"] if type(None) in args else []))
    if origin is Literal:
        return "one of " + ", ".join(str(a) for a in args)
    if origin is tuple or hint is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of {_plural(kind(args[0]))}"
        if args:
            return f"a list of {len(args)} ({', '.join(kind(a) for a in args)})"
        return "a list"
    return _KINDS.get(hint, getattr(hint, "__name__", str(hint)))


def _plural(words: str) -> str:
    """'an integer' -> 'integers', 'a list of 2 (...)' -> 'lists of 2 (...)'."""
    if words == "true or false":
        return "booleans"
    head, _, rest = words.partition(" ")
    if head in ("a", "an"):
        noun, _, tail = rest.partition(" ")
        return f"{noun}s {tail}".strip()
    return words


def _expected(path: str, hint: Any, value: Any) -> ConfigError:
    return ConfigError(f"{path} must be {kind(hint)}, got {shown(value)}")


def shown(value: Any, limit: int = 60) -> str:
    """`repr(value)`, cut short: a bad value may be a whole file's worth of text."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


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
