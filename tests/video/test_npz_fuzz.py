"""Property-based fuzzing of the `.npz` readers (`score video`'s frames, the robot domain's
episodes): whatever bytes, arrays or array headers a file holds, it is read or refused with one
line naming the file; nothing else escapes (no MemoryError from a declared shape), and the file
is untouched."""

from __future__ import annotations

import hashlib
import io
import zipfile

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from rlvr_world.domains.robot.data import DataError, load_episode
from rlvr_world.video.metrics import load_frames

FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
DTYPES = st.sampled_from(["u1", "f4", "i8", "?", "U3", "f8", "i2"]).map(np.dtype)
ARRAYS = hnp.arrays(DTYPES, hnp.array_shapes(min_dims=0, max_dims=4, max_side=4))
KEYS = st.sampled_from(["frames", "image", "action", "task", "success", "seed", "other"])


def read_checked(path) -> None:
    """Both readers load `path` or refuse it with one line that names it; it is unchanged."""
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    for read, clear in ((load_frames, (ValueError, FileNotFoundError)), (load_episode, DataError)):
        try:
            read(path)
        except clear as error:
            message = str(error)
            assert message.startswith(str(path)) and len(message.splitlines()) == 1, message
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def npz_bytes(arrays: dict) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


@FUZZ
@given(content=st.binary(max_size=400))
def test_any_bytes(tmp_path, content):
    path = tmp_path / "fuzz.npz"
    path.write_bytes(content)
    read_checked(path)


@FUZZ
@given(arrays=st.dictionaries(KEYS, ARRAYS, max_size=4))
def test_any_arrays(tmp_path, arrays):
    path = tmp_path / "arrays.npz"
    path.write_bytes(npz_bytes(arrays))
    read_checked(path)


@FUZZ
@given(
    shape=st.lists(st.integers(0, 2**40), min_size=1, max_size=4).map(tuple),
    dtype=st.sampled_from(["|u1", "<f4", "<i8"]),
    data=st.binary(max_size=64),
)
def test_any_declared_shape(tmp_path, shape, dtype, data):
    """A header may declare any shape, however little data follows it."""
    member = io.BytesIO()
    header = {"descr": dtype, "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(member, header)
    path = tmp_path / "declared.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for key in ("frames", "image", "action"):
            archive.writestr(f"{key}.npy", member.getvalue() + data)
    read_checked(path)


@FUZZ
@given(cut=st.integers(0, 10_000), flip=st.integers(0, 10_000), byte=st.integers(0, 255))
def test_a_damaged_archive(tmp_path, cut, flip, byte):
    frames = np.arange(2 * 4 * 4 * 3, dtype=np.uint8).reshape(2, 4, 4, 3)
    content = bytearray(npz_bytes({"frames": frames, "image": frames, "action": np.ones((2, 4))}))
    content[flip % len(content)] = byte
    path = tmp_path / "damaged.npz"
    path.write_bytes(bytes(content[: len(content) - cut % len(content)]))
    read_checked(path)
