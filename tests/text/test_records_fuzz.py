"""Property-based fuzzing of the record readers (JSON lines, JSON arrays, parquet) behind every
data loader and scorer: whatever bytes or rows a file holds, it is read or refused with a
`DataError` naming the file (and line); nothing else escapes, and the file is untouched."""

from __future__ import annotations

import copy
import hashlib
import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from rlvr_world.cli import main
from rlvr_world.domains.textgame.data import load_transitions as load_textgame
from rlvr_world.domains.web.data import load_transitions as load_web
from rlvr_world.text.records import DataError, read_predictions

READERS = {
    "textgame": lambda path: load_textgame(path, unique_ids=True),
    "web": lambda path: load_web(path, unique_ids=True),
    "predictions": read_predictions,
}
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=6,
)
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def datasets(tmp_path_factory) -> dict[str, Path]:
    """Real files: text-game jsonl and parquet, web jsonl (the debug presets' test splits)."""
    folder = tmp_path_factory.mktemp("data")
    with redirect_stdout(io.StringIO()):
        for preset, fmt in (("textgame-debug", "jsonl"), ("textgame-debug", "parquet")):
            assert (
                main(["data", "--preset", preset, "--out", str(folder / fmt), "--format", fmt]) == 0
            )
        assert main(["data", "--preset", "web-debug", "--out", str(folder / "web")]) == 0
    return {
        "textgame": folder / "jsonl" / "test.jsonl",
        "parquet": folder / "parquet" / "test.parquet",
        "web": folder / "web" / "test.jsonl",
    }


def read_checked(reader: str, path: Path) -> None:
    """Read `path` with `reader`: it loads or raises a `DataError` naming it; it is unchanged."""
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    try:
        READERS[reader](path)
    except DataError as error:
        assert str(error).startswith(str(path)) and len(str(error).splitlines()) == 1, error
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def mutated(value, data, depth: int = 0):
    """`value` with one place, chosen by hypothesis, replaced, removed or duplicated."""
    value = copy.deepcopy(value)
    if depth > 4 or not isinstance(value, (dict, list)) or not value:
        return data.draw(VALUES)
    keys = list(value) if isinstance(value, dict) else list(range(len(value)))
    key = data.draw(st.sampled_from(keys))
    action = data.draw(st.sampled_from(["descend", "replace", "remove"]))
    if action == "remove":
        del value[key]
    elif action == "replace":
        value[key] = data.draw(VALUES)
    else:
        value[key] = mutated(value[key], data, depth + 1)
    return value


@FUZZ
@given(content=st.binary(max_size=300), reader=st.sampled_from(list(READERS)))
def test_any_bytes_as_jsonl(tmp_path, content, reader):
    path = tmp_path / "fuzz.jsonl"
    path.write_bytes(content)
    read_checked(reader, path)


@FUZZ
@given(content=st.binary(max_size=300), reader=st.sampled_from(["textgame", "web"]))
def test_any_bytes_as_a_json_array_or_parquet(tmp_path, content, reader):
    for name in ("fuzz.json", "fuzz.parquet"):
        path = tmp_path / name
        path.write_bytes(b"[" + content if name.endswith(".json") else content)
        read_checked(reader, path)


@FUZZ
@given(data=st.data(), domain=st.sampled_from(["textgame", "web"]))
def test_real_rows_with_one_value_changed(datasets, tmp_path, data, domain):
    lines = datasets[domain].read_text().splitlines()
    rows = [json.loads(line) for line in lines[:3]]
    index = data.draw(st.integers(0, len(rows) - 1))
    rows[index] = mutated(rows[index], data)
    if data.draw(st.booleans()):  # sometimes a row twice: a duplicate id
        rows.append(rows[0])
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    read_checked(domain, path)


@FUZZ
@given(rows=st.lists(st.dictionaries(st.sampled_from(["id", "response", "x"]), VALUES), max_size=4))
def test_any_prediction_rows(tmp_path, rows):
    path = tmp_path / "predictions.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    read_checked("predictions", path)


@FUZZ
@given(data=st.data())
def test_real_parquet_rows_with_one_value_changed(datasets, tmp_path, data):
    rows = pq.read_table(datasets["parquet"]).to_pylist()[:2]
    rows[0] = mutated(rows[0], data)
    path = tmp_path / "rows.parquet"
    try:
        pq.write_table(pa.Table.from_pylist(rows), path)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        assume(False)  # not a table pyarrow can write: no file to read
    read_checked("textgame", path)


@FUZZ
@given(cut=st.integers(0, 10_000), flip=st.integers(0, 10_000), byte=st.integers(0, 255))
def test_a_damaged_parquet_file(datasets, tmp_path, cut, flip, byte):
    content = bytearray(datasets["parquet"].read_bytes())
    content[flip % len(content)] = byte
    path = tmp_path / "damaged.parquet"
    path.write_bytes(bytes(content[: len(content) - cut % len(content)]))
    read_checked("textgame", path)
