"""Frame tokenizers shipped with the package, as image models ship their autoencoder.

`video.tokenizer_path=pretrained:NAME` names one: the folder `pretrained/NAME/` beside this
file holds what `rlvr-world train tokenizer` writes in a run's `tokenizer/` (the frame
autoencoder, the action bins and the future-frame autoencoder, safetensors + JSON configs;
`eval.json`: their reconstruction figures on held-out frames) and `recipe.json`: the preset
and the `video` / `tokenizer` config sections of the run that trained it, so that
`rlvr-world train tokenizer --preset <recipe's preset>` trains it again. A run may only use a
shipped tokenizer whose recipe matches its own `tokenizer` section and frame size
(`check_recipe`); `video.tokenizer_path=null` trains the run's own.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from rlvr_world.core.config import ConfigError

PREFIX = "pretrained:"
FOLDER = Path(__file__).parent
RECIPE = "recipe.json"


def names() -> list[str]:
    """The shipped tokenizers' names."""
    return sorted(p.name for p in FOLDER.iterdir() if (p / RECIPE).is_file())


def is_pretrained(path: str | None) -> bool:
    return bool(path) and str(path).startswith(PREFIX)


def folder(path: str) -> Path:
    """`pretrained:NAME` -> the shipped folder; a `ConfigError` naming the known ones when
    there is no such tokenizer."""
    name = str(path)[len(PREFIX) :]
    found = FOLDER / name
    if not name or "/" in name or not (found / RECIPE).is_file():
        known = ", ".join(PREFIX + n for n in names()) or "none"
        raise ConfigError(f"video.tokenizer_path={path}: no such shipped tokenizer; known: {known}")
    return found


def recipe(path: str) -> dict:
    """The `recipe.json` of a shipped tokenizer: {"preset", "video", "tokenizer"}."""
    return json.loads((folder(path) / RECIPE).read_text())


def check_recipe(config) -> None:
    """A `ConfigError` when `video.tokenizer_path` names a shipped tokenizer trained for other
    frames or with another `tokenizer` section than `config`'s (a run must not claim a
    tokenizer it does not use)."""
    path = config.video.tokenizer_path
    if not is_pretrained(path):
        return
    shipped = recipe(path)
    ours = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config.tokenizer).items()}
    differ = [f"tokenizer.{k}" for k in sorted(ours) if shipped["tokenizer"].get(k) != ours[k]]
    if shipped["video"]["frame_size"] != config.video.frame_size:
        differ.insert(0, "video.frame_size")
    if differ:
        raise ConfigError(
            f"video.tokenizer_path={path} was trained with other {', '.join(differ)} (preset "
            f"{shipped['preset']}); set video.tokenizer_path=null to train this run's own"
        )
