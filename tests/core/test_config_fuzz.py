"""Property-based fuzzing of the config parser: whatever the overrides, the values or the YAML
file, a config is built or refused with one clear line (`ConfigError`, or `DomainError` for a
`data.domain` that does not load); nothing else escapes, and the `--config` file is untouched."""

from __future__ import annotations

import contextlib
import hashlib
import io

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr_world.cli import main
from rlvr_world.core.config import ConfigError
from rlvr_world.domains import DomainError
from rlvr_world.train.config import describe, parse_override
from rlvr_world.train.presets import build_config

CLEAR = (ConfigError, DomainError)
FIELDS = [name for name, _, _ in describe()]
SECTIONS = sorted({name.rsplit(".", 1)[0] for name in FIELDS if "." in name})
NAMES = st.sampled_from(FIELDS) | st.sampled_from(SECTIONS) | st.text(max_size=12)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=16)
    | st.sampled_from(["cuda", "cpu", "inf", "nan", "2e-4", "-1", "0", "[1, 2]", "{a: 1}"])
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=6,
)


def one_line(error: BaseException) -> bool:
    return len(str(error).splitlines()) == 1


def nested(name: str, value) -> dict:
    """`a.b.c`, v -> {"a": {"b": {"c": v}}}."""
    for part in reversed(name.split(".")):
        value = {part: value}
    return value


@settings(max_examples=200, deadline=None)
@given(name=NAMES, raw=st.text(max_size=24) | SCALARS.map(str))
def test_any_override_text_is_a_config_or_a_clear_error(name, raw):
    try:
        build_config("textgame-debug", parse_override(f"{name}={raw}"))
    except CLEAR as error:
        assert one_line(error), str(error)


@settings(max_examples=200, deadline=None)
@given(pairs=st.lists(st.tuples(st.sampled_from(FIELDS) | NAMES, VALUES), max_size=4))
def test_any_values_are_a_config_or_a_clear_error(pairs):
    overrides = [nested(name, value) for name, value in pairs if name]
    try:
        build_config("web-debug", *overrides)
    except CLEAR as error:
        assert one_line(error), str(error)


def run_cli(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    return code, err.getvalue()


@settings(max_examples=40, deadline=None)
@given(
    content=st.binary(max_size=200)
    | st.text(max_size=200).map(str.encode)
    | VALUES.map(lambda v: yaml.safe_dump(v).encode())
    | st.tuples(st.sampled_from(FIELDS), VALUES).map(
        lambda pair: yaml.safe_dump(nested(*pair)).encode()
    )
)
def test_any_config_file_through_the_cli(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("config") / "config.yaml"
    path.write_bytes(content)
    digest = hashlib.sha256(content).hexdigest()
    code, err = run_cli(["config", "--preset", "textgame-debug", "--config", str(path)])
    assert code in (0, 2), err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert (code == 0 and not errors) or (len(errors) == 1 and "Traceback" not in err), err
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
