"""Looking into `.npz` archives before reading them: what an array declares, and whether it
fits in memory. NumPy only, so that data loaders can use it without torch."""

from __future__ import annotations

import os

import numpy as np


def available_memory() -> int | None:
    """Bytes of memory this machine can still hand out (Linux `MemAvailable`), or None."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def declared_array(archive: np.lib.npyio.NpzFile, key: str) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype the header of an `.npz` member declares, read without its data
    (a few hundred bytes, however large the array claims to be)."""
    names = archive.zip.namelist()
    name = f"{key}.npy" if f"{key}.npy" in names else key
    with archive.zip.open(name) as handle:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
        else:
            raise ValueError(f"unsupported .npy format version {version}")
    return tuple(shape), np.dtype(dtype)


def gib(size: int) -> str:
    """Bytes as GiB with one decimal: `gib(3 * 2**30)` -> '3.0 GiB'."""
    return f"{size / 2**30:.1f} GiB"
