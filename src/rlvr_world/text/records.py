"""Reading record files (JSON lines, a JSON array, parquet) with errors that name the place.

A domain's loader converts each row with a function that raises `FieldError(field, reason)`;
`read_records` adds the file and the 1-based line (row index + 1 for parquet) and raises
`DataError`. The `expect_*` helpers validate one value each.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

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


def json_rows(path: Path) -> list[tuple[int, Any]]:
    """(line number, parsed row) pairs of a JSON-lines file (blank lines skipped but counted)
    or of a `.json` file holding one array."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json" and text.lstrip().startswith("["):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as error:
            raise DataError(path, error.lineno, "<row>", f"invalid JSON: {error}") from None
        return list(enumerate(rows, start=1))
    parsed = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            parsed.append((line_number, json.loads(line)))
        except json.JSONDecodeError as error:
            raise DataError(path, line_number, "<row>", f"invalid JSON: {error}") from None
    return parsed


def parquet_rows(path: Path) -> list[tuple[int, Any]]:
    """(row index + 1, row dict) pairs of a parquet file."""
    import pyarrow.parquet as pq

    try:
        rows = pq.read_table(path).to_pylist()
    except Exception as error:  # pyarrow raises several types for unreadable files
        raise DataError(path, 0, "<file>", f"not a readable parquet file: {error}") from None
    return list(enumerate(rows, start=1))


def convert_rows(path: Path, rows: list[tuple[int, Any]], convert: Callable[[Any], T]) -> list[T]:
    """`convert` each row; a `FieldError` becomes a `DataError` naming the file and line."""
    out = []
    for line, row in rows:
        try:
            out.append(convert(row))
        except FieldError as error:
            raise DataError(path, line, error.field, error.reason) from None
    return out


def read_records(
    path: str | Path, convert_json: Callable[[Any], T], convert_parquet: Callable[[Any], T]
) -> list[T]:
    """Every row of a `.jsonl` / `.json` / `.parquet` file, converted (dispatch on the suffix).
    Raises `DataError` on a missing file, an unknown suffix, an empty file or a bad row."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, 0, "<file>", "no such file")
    if path.suffix == ".parquet":
        records = convert_rows(path, parquet_rows(path), convert_parquet)
    elif path.suffix in (".jsonl", ".json"):
        records = convert_rows(path, json_rows(path), convert_json)
    else:
        raise DataError(path, 0, "<file>", "unknown suffix; expected .jsonl, .json or .parquet")
    if not records:
        raise DataError(path, 0, "<file>", "empty file: no records")
    return records


def read_predictions(path: str | Path) -> dict[str, str]:
    """jsonl of {"id", "response"} -> id -> response; bad lines raise `DataError`."""
    path = Path(path)
    out: dict[str, str] = {}
    with path.open() as handle:
        for line_no, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise DataError(path, line_no, "<line>", f"invalid JSON ({error.msg})") from error
            if not isinstance(row, dict):
                raise DataError(path, line_no, "<line>", "expected a JSON object")
            for key in ("id", "response"):
                if key not in row:
                    raise DataError(path, line_no, key, "missing")
            if not isinstance(row["response"], str):
                raise DataError(path, line_no, "response", "expected a string")
            out[str(row["id"])] = row["response"]
    return out
