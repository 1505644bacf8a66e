"""Reading record files (JSON lines, a JSON array, parquet) with errors that name the place.

A domain's loader converts each row with a function that raises `FieldError(field, reason)`;
`read_records` adds the file and the 1-based line (row index + 1 for parquet) and raises
`DataError`. The `expect_*` helpers validate one value each.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from rlvr_world.core.checkpoint import atomic_write_text

T = TypeVar("T")


class DataError(ValueError):
    """A malformed data file: `"<path>:<line>: field '<field>': <reason>"`."""

    def __init__(self, path: str | Path, line: int, field: str, reason: str) -> None:
        self.path = str(path)
        self.line = line
        self.field = field
        self.reason = reason
        super().__init__(f"{self.path}:{line}: field '{field}': {reason}")

    def __reduce__(self):  # keep the exception picklable (multiprocessing data loaders)
        return (type(self), (self.path, self.line, self.field, self.reason))


class FieldError(Exception):
    """A bad value in one row; `read_records` turns it into a `DataError` with the place."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def type_name(value: Any) -> str:
    return type(value).__name__


def get(mapping: dict, key: str, field: str) -> Any:
    if key not in mapping:
        raise FieldError(field, "missing key")
    return mapping[key]


def expect_dict(value: Any, field: str) -> dict:
    if not isinstance(value, dict):
        raise FieldError(field, f"expected an object (dict), got {type_name(value)}")
    return value


def expect_list(value: Any, field: str) -> list:
    if not isinstance(value, list):
        raise FieldError(field, f"expected a list, got {type_name(value)}")
    return value


def expect_str(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise FieldError(field, f"expected a string, got {type_name(value)}")
    return value


def expect_int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(field, f"expected an integer, got {type_name(value)}")
    return value


def chat_user_text(prompt: Any, field: str = "prompt") -> str:
    """The user message of a chat prompt `[{"role", "content"}, ...]` (the last one with role
    "user", else the last one)."""
    messages = expect_list(prompt, field)
    if not messages:
        raise FieldError(field, "expected at least one message")
    for i, message in enumerate(messages):
        message = expect_dict(message, f"{field}[{i}]")
        expect_str(get(message, "content", f"{field}[{i}].content"), f"{field}[{i}].content")
    users = [m for m in messages if m.get("role") == "user"]
    return (users or messages)[-1]["content"]


def check_input_file(path: str | Path) -> Path:
    """`path` if it names a regular file; a `DataError` saying what it is otherwise."""
    path = Path(path)
    if path.is_dir():
        raise DataError(path, 0, "<file>", "is a directory, expected a file")
    if not path.exists():
        raise DataError(path, 0, "<file>", "no such file")
    if not path.is_file():
        raise DataError(path, 0, "<file>", "not a regular file")
    return path


def text_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(1-based line number, line) of a UTF-8 text file, read one line at a time (a UTF-8
    byte-order mark is skipped); a line that is not UTF-8 is a `DataError` naming it."""
    with path.open("rb") as handle:
        for line_number, raw in enumerate(handle, start=1):
            try:
                yield line_number, raw.decode("utf-8-sig" if line_number == 1 else "utf-8")
            except UnicodeDecodeError as error:
                reason = (
                    f"not UTF-8 text (byte 0x{raw[error.start]:02x} at column "
                    f"{error.start + 1}): a binary file?"
                )
                raise DataError(path, line_number, "<line>", reason) from None


def parse_json(path: Path, line: int, text: str) -> Any:
    """`json.loads(text)`; invalid JSON (or JSON nested too deep to read) is a `DataError`."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise DataError(path, line, "<row>", f"invalid JSON: {error}") from None
    except (ValueError, RecursionError) as error:  # e.g. an integer of 5,000 digits
        reason = f"unreadable JSON ({type(error).__name__}: {str(error)[:120]})"
        raise DataError(path, line, "<row>", reason) from None


def json_rows(path: Path) -> list[tuple[int, Any]]:
    """(line number, parsed row) pairs of a JSON-lines file (blank lines skipped but counted)
    or of a `.json` file holding one array."""
    if path.suffix == ".json":
        data = path.read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            line = data.count(b"\n", 0, error.start) + 1
            raise DataError(path, line, "<line>", "not UTF-8 text: a binary file?") from None
        if text.lstrip().startswith("["):
            try:
                rows = json.loads(text)
            except json.JSONDecodeError as error:
                raise DataError(path, error.lineno, "<row>", f"invalid JSON: {error}") from None
            except (ValueError, RecursionError) as error:
                reason = f"unreadable JSON ({type(error).__name__})"
                raise DataError(path, 1, "<row>", reason) from None
            return list(enumerate(rows, start=1))
    return [
        (line_number, parse_json(path, line_number, line))
        for line_number, line in text_lines(path)
        if line.strip()
    ]


def parquet_rows(path: Path) -> list[tuple[int, Any]]:
    """(row index + 1, row dict) pairs of a parquet file."""
    import pyarrow.parquet as pq

    try:
        rows = pq.read_table(path).to_pylist()
    except Exception as error:  # pyarrow raises several types for unreadable files
        reason = " ".join(str(error).split())[:300]
        raise DataError(path, 0, "<file>", f"not a readable parquet file: {reason}") from None
    return list(enumerate(rows, start=1))


# What a row converter may raise on a value of a shape it never expected (a list where a
# dict should be, ...): the row is bad, not the program.
_ROW_FAILURES = (TypeError, ValueError, KeyError, IndexError, AttributeError, RecursionError)


def convert_rows(
    path: Path,
    rows: list[tuple[int, Any]],
    convert: Callable[[Any], T],
    key: Callable[[T], str | None] | None = None,
) -> list[T]:
    """`convert` each row; a `FieldError` (or a failure on a value of an unexpected shape)
    becomes a `DataError` naming the file and line. key: each record's id (None: has none);
    a repeated id is a `DataError` naming it and both lines."""
    out = []
    seen: dict[str, int] = {}
    for line, row in rows:
        try:
            record = convert(row)
        except FieldError as error:
            raise DataError(path, line, error.field, error.reason) from None
        except DataError:
            raise
        except _ROW_FAILURES as error:
            reason = f"unreadable row ({type(error).__name__}: {str(error)[:120]})"
            raise DataError(path, line, "<row>", reason) from None
        identity = key(record) if key is not None else None
        if identity is not None:
            if identity in seen:
                reason = f"duplicate id {identity!r} (first at {path}:{seen[identity]})"
                raise DataError(path, line, "id", reason)
            seen[identity] = line
        out.append(record)
    return out


def read_records(
    path: str | Path,
    convert_json: Callable[[Any], T],
    convert_parquet: Callable[[Any], T],
    key: Callable[[T], str | None] | None = None,
) -> list[T]:
    """Every row of a `.jsonl` / `.json` / `.parquet` file, converted (dispatch on the suffix).
    Raises `DataError` on a missing file, a directory, an unknown suffix, an empty file, text
    that is not UTF-8, or a bad row; with `key` (a record's id, None for none), on a repeated
    id too."""
    path = check_input_file(path)
    if path.suffix == ".parquet":
        records = convert_rows(path, parquet_rows(path), convert_parquet, key)
    elif path.suffix in (".jsonl", ".json"):
        records = convert_rows(path, json_rows(path), convert_json, key)
    else:
        raise DataError(path, 0, "<file>", "unknown suffix; expected .jsonl, .json or .parquet")
    if not records:
        raise DataError(path, 0, "<file>", "empty file: no records")
    return records


MAX_RESPONSE_CHARS = 1_000_000
"""Offline scorers give a longer response the reward's minimum without parsing it: lenient
JSON parsing costs ~25 bytes of memory and ~10 us a character (a 50 MB response: over a
gigabyte and minutes), and no answer of ours comes near this length."""


def read_predictions(path: str | Path) -> dict[str, str]:
    """jsonl of {"id", "response"} -> id -> response, read a line at a time; a bad line, text
    that is not UTF-8 or an id given twice raises `DataError` naming the file and line(s)."""
    path = check_input_file(path)
    out: dict[str, str] = {}
    lines: dict[str, int] = {}
    for line_no, line in text_lines(path):
        if not line.strip():
            continue
        row = parse_json(path, line_no, line)
        if not isinstance(row, dict):
            raise DataError(path, line_no, "<line>", "expected a JSON object")
        for name in ("id", "response"):
            if name not in row:
                raise DataError(path, line_no, name, "missing")
        if not isinstance(row["response"], str):
            raise DataError(path, line_no, "response", "expected a string")
        if isinstance(row["id"], (dict, list)):
            raise DataError(path, line_no, "id", "expected a string or a number")
        identity = str(row["id"])
        if identity in lines:
            reason = f"duplicate id {identity!r} (first at {path}:{lines[identity]})"
            raise DataError(path, line_no, "id", reason)
        lines[identity] = line_no
        out[identity] = row["response"]
    return out


def same_file(first: str | Path, second: str | Path) -> bool:
    """Whether two paths name one file (the same path once resolved, or one file reached
    through links)."""
    first, second = Path(first), Path(second)
    if first.resolve() == second.resolve():
        return True
    try:
        return os.path.samefile(first, second)
    except OSError:  # one of them does not exist (yet)
        return False


def check_output_file(out: str | Path, **inputs: str | Path | None) -> Path:
    """`out` if a command may write its results there: refused (`ValueError`, before
    anything is written) when it is a directory or the same file as one of `inputs` (option
    name -> path: `data=...`)."""
    out = Path(out)
    if out.is_dir():
        raise ValueError(f"--out {out} is a directory; give the path of a file to write")
    for option, path in inputs.items():
        if path is not None and same_file(out, path):
            raise ValueError(
                f"--out {out} is the --{option.replace('_', '-')} input {path}: writing the "
                "results would overwrite it; choose another --out"
            )
    return out


def write_lines(path: str | Path, rows: Iterable[dict]) -> None:
    """One JSON object a line, written atomically (`core.checkpoint.atomic_write_text`): the
    file is either its old self or complete, never half written."""
    atomic_write_text(path, "".join(json.dumps(row) + "\n" for row in rows))
