"""A trainer's state on disk without pickles: tensors in safetensors, the rest as JSON.

The state of a resumable run (optimiser tensors and hyperparameters, RNG states, data position,
loop counters) is nested dicts, lists and tuples of tensors, numpy arrays and plain values.
`write_trainer_state` splits it into two files of one checkpoint folder:

    trainer_state.safetensors   every tensor and numpy array, keyed by its place in the state
                                (`optimizer/state/0/exp_avg`)
    trainer_state.json          the structure: plain values as JSON, and a tagged object where
                                JSON alone would lose the type: {"__tensor__": key},
                                {"__ndarray__": key}, {"__tuple__": [...]}, {"__float__": "inf"},
                                {"__numpy__": [dtype, value]}, and {"__items__": [[key, value],
                                ...]} for a dict whose keys are not all strings (the optimiser's
                                parameter indices)

Reading either file runs no code. Run folders written before this format hold one pickled
`trainer_state.pt`; `load_legacy_trainer_state` reads it with `torch.load(weights_only=True)`
and an allow-list of the numpy types a trainer state holds, and refuses anything else.

>>> import tempfile
>>> state = {"step": 3, "betas": (0.9, 0.999), "best": -math.inf, "state": {0: torch.ones(2)}}
>>> with tempfile.TemporaryDirectory() as folder:
...     write_trainer_state(folder, state)
...     back = read_trainer_state(folder)
>>> back["betas"], back["best"], back["state"][0]
((0.9, 0.999), -inf, tensor([1., 1.]))
"""

from __future__ import annotations

import json
import math
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

STATE_FILE = "trainer_state.json"
TENSORS_FILE = "trainer_state.safetensors"
LEGACY_FILE = "trainer_state.pt"
FORMAT = "rlvr-world trainer state"
VERSION = 1
TAGS = ("__tensor__", "__ndarray__", "__tuple__", "__float__", "__numpy__", "__items__")


class TrainerStateError(ValueError):
    """A trainer state that cannot be read: missing, damaged, or holding what loading would
    have to run as code."""


def write_trainer_state(folder: str | Path, state: dict[str, Any]) -> None:
    """`state` as `trainer_state.json` + `trainer_state.safetensors` in `folder`. A value of
    another type (an arbitrary object) is a TypeError naming its place in the state."""
    folder = Path(folder)
    tensors: dict[str, torch.Tensor] = {}
    document = {"format": FORMAT, "version": VERSION, "state": _encode(state, tensors, "")}
    save_file(_unshared(tensors), str(folder / TENSORS_FILE))
    (folder / STATE_FILE).write_text(json.dumps(document, allow_nan=False) + "\n")


def read_trainer_state(folder: str | Path) -> dict[str, Any]:
    """The state `write_trainer_state` wrote (tensors on the CPU)."""
    folder = Path(folder)
    path = folder / STATE_FILE
    try:
        document = json.loads(path.read_text())
        tensors = load_file(str(folder / TENSORS_FILE))
    except (OSError, ValueError, SafetensorError) as error:
        raise TrainerStateError(f"{path}: cannot read the trainer state ({error})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise TrainerStateError(f"{path} is not a {FORMAT} file")
    if document.get("version") != VERSION:
        raise TrainerStateError(
            f"{path}: trainer state version {document.get('version')!r}; this version of "
            f"rlvr-world reads version {VERSION}"
        )
    try:
        return _decode(document["state"], tensors)
    except (KeyError, TypeError, ValueError) as error:
        raise TrainerStateError(f"{path}: malformed trainer state ({error!r})") from None


def tensor_keys(document: Any) -> set[str]:
    """The keys of `trainer_state.safetensors` a parsed `trainer_state.json` refers to."""
    if isinstance(document, list):
        return set().union(*map(tensor_keys, document))
    if not isinstance(document, dict):
        return set()
    if len(document) == 1 and next(iter(document)) in ("__tensor__", "__ndarray__"):
        return {next(iter(document.values()))}
    return set().union(*map(tensor_keys, document.values()))


def load_legacy_trainer_state(path: str | Path) -> dict[str, Any]:
    """A pickled `trainer_state.pt` of an older run folder, read with `weights_only=True`: only
    tensors, plain Python values and the numpy arrays and dtypes of RNG states unpickle; any
    other object (which loading would have to call) is refused without running it."""
    path = Path(path)
    core = np._core.multiarray
    allowed = [
        np.ndarray,
        np.dtype,
        core._reconstruct,
        core.scalar,
        (core._reconstruct, "numpy.core.multiarray._reconstruct"),  # written under numpy 1
        (core.scalar, "numpy.core.multiarray.scalar"),
        *(type(np.dtype(name)) for name in ("uint32", "int64", "float64", "float32", "bool")),
    ]
    try:
        with torch.serialization.safe_globals(allowed):
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise TrainerStateError(
            f"{path}: refused to load: it holds objects that only running code from the file "
            "would rebuild, which a trainer state never does; resume from a checkpoint you "
            "wrote yourself"
        ) from None
    except (OSError, RuntimeError, EOFError, ValueError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise TrainerStateError(f"{path}: cannot read the trainer state ({first})") from None
    if not isinstance(state, dict):
        raise TrainerStateError(f"{path}: not a trainer state (a {type(state).__name__})")
    return state


def _encode(value: Any, tensors: dict[str, torch.Tensor], place: str) -> Any:
    """`value` as JSON; tensors and arrays go to `tensors` under `place` (their path)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, torch.Tensor):
        return {"__tensor__": _store(tensors, place, value.detach())}
    if isinstance(value, np.ndarray):
        array = torch.from_numpy(np.ascontiguousarray(value))
        return {"__ndarray__": _store(tensors, place, array)}
    if isinstance(value, np.generic):
        return {"__numpy__": [value.dtype.str, _encode(value.item(), tensors, place)]}
    if isinstance(value, (list, tuple)):
        items = [_encode(v, tensors, f"{place}/{i}") for i, v in enumerate(value)]
        return items if isinstance(value, list) else {"__tuple__": items}
    if isinstance(value, dict):
        if all(isinstance(key, str) and key not in TAGS for key in value):
            return {key: _encode(v, tensors, f"{place}/{key}") for key, v in value.items()}
        return {
            "__items__": [
                [_encode(key, tensors, place), _encode(v, tensors, f"{place}/{key}")]
                for key, v in value.items()
            ]
        }
    raise TypeError(
        f"trainer state at {place.lstrip('/') or 'its top'}: a {type(value).__name__} cannot "
        "be saved; a trainer state holds tensors, numpy arrays, numbers, strings, None, lists, "
        "tuples and dicts"
    )


def _store(tensors: dict[str, torch.Tensor], place: str, tensor: torch.Tensor) -> str:
    key, number = place.lstrip("/") or "tensor", 1
    while key in tensors:  # e.g. keys 0 and "0" of one dict
        key, number = f"{place.lstrip('/')}#{number}", number + 1
    tensors[key] = tensor
    return key


def _unshared(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Contiguous tensors that share no memory (safetensors refuses shared storage, e.g. the
    tied embedding and output weights of a state dict): a second view of a storage is
    copied."""
    seen: set[int] = set()
    out = {}
    for key, tensor in tensors.items():
        tensor = tensor.contiguous()
        pointer = tensor.untyped_storage().data_ptr() if tensor.numel() else 0
        if pointer and pointer in seen:
            tensor = tensor.clone()
        seen.add(pointer)
        out[key] = tensor
    return out


def _decode(node: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(node, list):
        return [_decode(v, tensors) for v in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1 and next(iter(node)) in TAGS:
        ((tag, body),) = node.items()
        if tag == "__tensor__":
            return tensors[body]
        if tag == "__ndarray__":
            return tensors[body].numpy()
        if tag == "__tuple__":
            return tuple(_decode(v, tensors) for v in body)
        if tag == "__float__":
            return float(body)
        if tag == "__numpy__":
            return np.dtype(body[0]).type(_decode(body[1], tensors))
        return {_decode(k, tensors): _decode(v, tensors) for k, v in body}
    return {key: _decode(v, tensors) for key, v in node.items()}
