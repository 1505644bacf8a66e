"""Named presets: partial configs over the run defaults, given by each domain's bundle
(`Domain.presets`; `data.domain` is the bundle's).

Defaults run on a CPU laptop in minutes; larger runs are presets, never edited defaults.

>>> "textgame-tiny" in preset_names() and "robot-debug" in preset_names()
True
>>> build_config("robot-debug", {"rlvr": {"group_size": 4}}).rlvr.group_size
4
"""

from __future__ import annotations

from rlvr_world.domains import DOMAINS, get_domain
from rlvr_world.train.config import (
    ConfigError,
    RunConfig,
    check_sections,
    config_from_dict,
    merge,
    to_dict,
)


def presets() -> dict[str, dict]:
    """Preset name -> partial config, over every registered domain (each with its
    `data.domain`); two domains may not give one name."""
    table: dict[str, dict] = {}
    for name in DOMAINS.names():
        for preset, values in get_domain(name).presets.items():
            if preset in table:
                raise ConfigError(f"preset {preset!r} is given by two domains")
            table[preset] = merge(values, {"data": {"domain": name}})
    return table


def check_required(config: RunConfig) -> None:
    """A clear error when a preset's required field (`Domain.required_fields`) is missing."""
    required = get_domain(config.data.domain).required_fields.get(config.preset)
    if required is None:
        return
    name, what = required
    value = config
    for part in name.split("."):
        value = getattr(value, part)
    if not value:
        raise ConfigError(f"preset {config.preset} needs {name}=... ({what})")


def preset_names() -> list[str]:
    return sorted(presets())


def build_config(preset: str = "textgame-tiny", *overrides: dict) -> RunConfig:
    """Defaults, then the preset, then each override dict (later wins); validated."""
    table = presets()
    if preset not in table:
        raise ConfigError(f"unknown preset {preset!r}; known: {', '.join(sorted(table))}")
    values = merge(table[preset], {})
    for override in overrides:
        values = merge(values, check_sections(override))
    values["preset"] = preset
    domain = values.get("data", {}).get("domain")
    defaults = to_dict(config_from_dict({"data": {"domain": domain}} if domain else {}))
    return config_from_dict(merge(defaults, values))
