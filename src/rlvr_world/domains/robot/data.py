"""Robot episodes in the RT-1 `.npz` layout (SPEC §5): one file per episode.

Each file holds `image`: uint8 (T, H, W, 3), the frame observed before each action, and
`action`: float (T, D), D = 4 for our simulator (`ACTION_NAMES`) and 13 for real RT-1 data.
Optional metadata arrays (0-d): `task` (str), `success` (bool), `seed` (int), `policy` (str).
Unknown extra arrays are ignored. Nothing is ever unpickled.

Splits: the `.npz` files of a folder sorted by name; the file with sorted index % 100 == 0 is
test, every other file is train (so 201 files -> files 0, 100 and 200 are test).

Loaded episodes are dicts: image uint8 (T, H, W, 3), action float32 (T, D), path (str), and
the metadata keys that the file has. Malformed files raise `DataError` naming the file and
the field.

>>> import tempfile
>>> from rlvr_world.domains.robot.policies import collect_episodes
>>> folder = tempfile.mkdtemp()
>>> paths = save_episodes(collect_episodes("lift", 2, "expert", seed=0, size=16), folder)
>>> [path.name for path in paths]
['episode_000000.npz', 'episode_000001.npz']
>>> [episode["action"].shape[1] for episode in load_episodes(folder, split="train")]
[4]
"""

from __future__ import annotations

import math
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rlvr_world.video.npz import available_memory, declared_array, gib

__all__ = [
    "METADATA_KEYS",
    "SPLITS",
    "TEST_EVERY",
    "DataError",
    "episode_files",
    "load_episode",
    "load_episodes",
    "save_episodes",
    "split_of",
]

TEST_EVERY = 100
SPLITS = ("train", "test")
# Optional 0-d metadata arrays: key -> the numpy dtype kinds accepted ("U" str, "b" bool, ...).
METADATA_KEYS = {"task": "U", "success": "b", "seed": "iu", "policy": "U"}


class DataError(ValueError):
    """A malformed episode file: `"<path>: field '<field>': <reason>"`."""

    def __init__(self, path: str | Path, field: str, reason: str) -> None:
        self.path = str(path)
        self.field = field
        self.reason = reason
        super().__init__(f"{self.path}: field '{field}': {reason}")

    def __reduce__(self):  # keep the exception picklable (multiprocessing data loaders)
        return (type(self), (self.path, self.field, self.reason))


# ------------------------------------------------------------------------------- validation


def _check_episode(where: str, image: Any, action: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate one episode's arrays; returns (image uint8 (T, H, W, 3), action float32 (T, D))."""
    if not isinstance(image, np.ndarray):
        raise DataError(where, "image", f"expected a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise DataError(where, "image", f"expected dtype uint8, got {image.dtype}")
    if image.ndim != 4 or image.shape[-1] != 3:
        raise DataError(where, "image", f"expected shape (T, H, W, 3), got {image.shape}")
    if image.shape[0] == 0:
        raise DataError(where, "image", "empty episode (T = 0 frames)")
    if image.shape[1] == 0 or image.shape[2] == 0:
        raise DataError(where, "image", f"frames have no pixels: shape {image.shape}")
    if not isinstance(action, np.ndarray):
        raise DataError(where, "action", f"expected a numpy array, got {type(action).__name__}")
    if action.dtype.kind not in "fiub":
        raise DataError(where, "action", f"expected a numeric dtype, got {action.dtype}")
    if action.ndim != 2:
        raise DataError(where, "action", f"expected shape (T, D), got {action.shape}")
    if action.shape[0] != image.shape[0]:
        raise DataError(
            where,
            "action",
            f"has T = {action.shape[0]} rows but image has T = {image.shape[0]} frames",
        )
    if action.shape[1] == 0:
        raise DataError(where, "action", "has no dimensions (D = 0)")
    action = action.astype(np.float32)
    if not np.all(np.isfinite(action)):
        raise DataError(where, "action", "contains NaN or infinite values")
    return image, action


def _check_metadata(where: str, key: str, value: Any) -> Any:
    """A 0-d metadata array (or a plain value on save) -> str, bool or int."""
    array = np.asarray(value)
    kinds = METADATA_KEYS[key]
    if array.ndim != 0 or array.dtype.kind not in kinds:
        expected = {"U": "a string", "b": "a bool", "iu": "an integer"}[kinds]
        raise DataError(
            where, key, f"expected {expected} scalar, got dtype {array.dtype} shape {array.shape}"
        )
    return array.item()


# ------------------------------------------------------------------------------------ save


def save_episodes(
    episodes: Sequence[dict[str, Any]], folder: str | Path, start_index: int = 0
) -> list[Path]:
    """Write `episodes` as `episode_000000.npz`, ... (numbered from `start_index`) in `folder`.

    Each episode needs image uint8 (T, H, W, 3) and action (T, D); metadata keys in
    `METADATA_KEYS` are stored when present. Every file is written to a temporary name and
    renamed into place, so a reader never sees half a file. Returns the paths written.
    """
    # Validate everything before writing anything, so a bad episode leaves no partial set.
    archives = []
    for offset, episode in enumerate(episodes):
        where = f"episodes[{offset}]"
        for key in ("image", "action"):
            if key not in episode:
                raise DataError(where, key, "missing key")
        image, action = _check_episode(where, episode["image"], episode["action"])
        arrays: dict[str, np.ndarray] = {"image": image, "action": action}
        for key in METADATA_KEYS:
            if key in episode:
                arrays[key] = np.asarray(_check_metadata(where, key, episode[key]))
        archives.append(arrays)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for offset, arrays in enumerate(archives):
        path = folder / f"episode_{start_index + offset:06d}.npz"
        temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        try:
            # A file object, so numpy does not append ".npz" to the temporary name.
            with open(temporary, "wb") as handle:
                np.savez_compressed(handle, **arrays)
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
        paths.append(path)
    return paths


# ------------------------------------------------------------------------------------ load


def split_of(index: int) -> str:
    """The split of the file at this position among a folder's sorted `.npz` files."""
    return "test" if index % TEST_EVERY == 0 else "train"


def episode_files(path: str | Path, split: str | None = None) -> list[Path]:
    """The `.npz` episode files of a folder sorted by name, optionally one split's only.

    A path to a single `.npz` file is a dataset of that file; it takes no split.
    """
    if split is not None and split not in SPLITS:
        raise ValueError(f"split: expected None or one of {SPLITS}, got {split!r}")
    path = Path(path)
    if path.is_file():
        if split is not None:
            raise ValueError(
                f"split: a single file ({path}) has no splits; pass its folder instead"
            )
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such episode file or folder")
    files = sorted(
        (entry for entry in path.iterdir() if entry.suffix == ".npz" and entry.is_file()),
        key=lambda entry: entry.name,
    )
    if split is None:
        return files
    return [file for index, file in enumerate(files) if split_of(index) == split]


def _check_fits(path: Path, key: str, shape: tuple[int, ...], dtype: np.dtype) -> None:
    """Refuse an array whose header declares more bytes than this machine has available."""
    size = math.prod(shape) * dtype.itemsize
    memory = available_memory()
    if memory is not None and size > memory:
        reason = (
            f"declares {dtype} {shape} ({gib(size)}), more than the {gib(memory)} of memory "
            "available"
        )
        raise DataError(path, key, reason)


def load_episode(path: str | Path) -> dict[str, Any]:
    """One episode file -> {image uint8 (T, H, W, 3), action float32 (T, D), path, metadata}."""
    path = Path(path)
    if path.is_dir():
        raise DataError(path, "<file>", "is a directory, expected an .npz episode file")
    try:  # mmap_mode: a lone .npy file is mapped, not read, before it is refused below
        archive = np.load(path, allow_pickle=False, mmap_mode="r")
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(path, "<file>", f"not a readable .npz archive ({error})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(path, "<file>", "holds a single .npy array, not an .npz archive")
    with archive:
        names = set(archive.files)

        def read(key: str) -> np.ndarray:
            try:
                _check_fits(path, key, *declared_array(archive, key))
                return archive[key]
            except DataError:
                raise
            # Corrupt bytes surface as many types (zlib.error, BadZipFile, EOFError, even
            # SyntaxError from numpy's header parser); any of them means this member is bad.
            except Exception as error:
                reason = f"unreadable array ({type(error).__name__}: {error})"
                raise DataError(path, key, reason) from None

        for key in ("image", "action"):
            if key not in names:
                found = ", ".join(sorted(names)) or "none"
                raise DataError(path, key, f"missing key (found: {found})")
        image, action = _check_episode(str(path), read("image"), read("action"))
        episode: dict[str, Any] = {"image": image, "action": action, "path": str(path)}
        for key in METADATA_KEYS:
            if key in names:
                episode[key] = _check_metadata(str(path), key, read(key))
    return episode


def load_episodes(
    path: str | Path, split: str | None = None, uniform_size: bool = False
) -> list[dict[str, Any]]:
    """Load every episode of a folder (or one `.npz` file), ours or real RT-1 alike.

    split: None (all files), "train" or "test" (sorted index % 100 == 0 is test).
    uniform_size: require every episode's frames to share one H x W (a `DataError` names the
    first file that differs). The action dimension D must agree across episodes always.
    Returns dicts: image uint8 (T, H, W, 3), action float32 (T, D), path, and metadata.
    """
    episodes: list[dict[str, Any]] = []
    for file in episode_files(path, split):
        episode = load_episode(file)
        if episodes:
            first = episodes[0]
            if episode["action"].shape[1] != first["action"].shape[1]:
                raise DataError(
                    file,
                    "action",
                    f"has D = {episode['action'].shape[1]} dimensions but {first['path']} "
                    f"has D = {first['action'].shape[1]}",
                )
            if uniform_size and episode["image"].shape[1:3] != first["image"].shape[1:3]:
                height, width = episode["image"].shape[1:3]
                first_height, first_width = first["image"].shape[1:3]
                raise DataError(
                    file,
                    "image",
                    f"frames are {height}x{width} but {first['path']} has "
                    f"{first_height}x{first_width} (uniform_size=True)",
                )
        episodes.append(episode)
    return episodes
