"""The `Domain` bundle: everything the generic layers (`train`, `eval`, `bench`, `cli`) need
to know about one domain, in one place.

A domain is one folder under `domains/` and one entry in `rlvr_world.domains.DOMAINS`. Its bundle
names its config sections (dataclasses the run config gains under their section names), its
presets, and its hooks as lazy `"module:function"` paths, imported only when used, so that a
report of a text run never loads a video model and a domain's heavy dependencies load only
when chosen (dreamerv3's lazy tables). `cli.py`, `train/` and `eval/` never branch on a
domain's name: they ask the bundle.

>>> bundle = Domain(name="adder", prepare_task="rlvr_world.domains.base:_example_task")
>>> bundle.hook("prepare_task")(None, None)
'a task'
>>> bundle.has("report_sections")
False
>>> bundle.hook("report_sections")
Traceback (most recent call last):
...
rlvr_world.domains.base.DomainError: the adder domain has no report_sections
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rlvr_world.core.registry import Registry


class DomainError(ValueError):
    """A domain lacks a hook a command asked for; the message names both."""


HOOKS = (
    "prepare_task",
    "check_phase",
    "write_dataset",
    "report_sections",
    "world_model",
    "plan",
    "score_arguments",
    "score_files",
    "commands",
)
"""The hooks a bundle may name. Each is a `"module:function"` path:

- prepare_task(config, run_dir, init_dir=None, log=None) -> Task: data (simulated, loaded or
  copied from `init_dir`), the domain's tokenizers and the `core.protocols.Task`.
- write_dataset(config, out, format) -> list[str]: `rlvr-world data`; lines to show.
- report_sections(runs, max_samples, max_frame_samples) -> DomainReport: this domain's runs
  (`RunView`s) as read by it, its HTML sections and its CSS in `rlvr-world report`
  (`domains.reporting`, `eval.report`).
- check_phase(config, phase) -> None: raise `ConfigError` if the config cannot run `phase`
  (`tokenizer`, `mle` or `rlvr`), before anything is written.
- world_model(kind, answer, config) -> model: the planner's world model, for `kind` `oracle`
  (the simulator), `random` (None) or `run` (`answer(question) -> response` of a trained run).
- plan(args, model, config, echo) -> int: `rlvr-world plan --domain NAME`, showing each
  decision through `echo`.
- score_arguments(parser) -> None and score_files(args) -> dict: `rlvr-world score NAME`.
- commands(subparsers, load, echo) -> None: the domain's own top-level commands (each
  parser's `func(args) -> int`); `load(name)` gives a run-loading function of
  `train.pipeline` (e.g. `load_video_world_model`), `echo` shows a line.
"""


@dataclass(frozen=True)
class Domain:
    """One domain's bundle. Only `name` and `prepare_task` are required."""

    name: str
    prepare_task: str
    """`"module:function"`: (config, run_dir, init_dir=None, log=None) -> Task."""
    description: str = ""
    """One line for `--help` listings."""
    config_sections: Mapping[str, str] = field(default_factory=dict)
    """Run-config section name -> `"module:Class"` of its dataclass (e.g. `video`)."""
    presets: Mapping[str, dict] = field(default_factory=dict)
    """Preset name -> partial config (nested dicts), merged over the defaults."""
    quickstart_preset: str | None = None
    """The preset `rlvr-world quickstart --domain NAME` runs."""
    headline: Mapping[str, Any] = field(default_factory=dict)
    """The comparison a quickstart states first (`core.stats.headline`): `metric` (a key of
    each sample's `scores` in `samples.jsonl`), `higher_is_better`, `name` (in words) and
    `examples` (what the held-out examples are, in words)."""
    benches: Mapping[str, str] = field(default_factory=dict)
    """Bench name -> `"module:function"` of `rlvr-world bench NAME` (out, quick, ...) -> dict."""
    hooks: Mapping[str, str] = field(default_factory=dict)
    """Hook name (one of `HOOKS`) -> `"module:function"`."""
    required_fields: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    """Preset -> (dotted field, what it is) that the user must give (e.g. a pretrained model's
    path): the preset cannot guess it."""

    def __post_init__(self) -> None:
        unknown = sorted(set(self.hooks) - set(HOOKS))
        if unknown:
            raise DomainError(
                f"the {self.name} domain names unknown hooks {unknown}; known: {HOOKS}"
            )

    def has(self, hook: str) -> bool:
        return hook == "prepare_task" or hook in self.hooks

    def hook(self, hook: str) -> Callable[..., Any]:
        """The hook's function, imported now; a missing hook is a `DomainError`."""
        target = self.prepare_task if hook == "prepare_task" else self.hooks.get(hook)
        if target is None:
            raise DomainError(f"the {self.name} domain has no {hook}")
        return Registry(hook).get(target)


# What every domain's smoke-test (`*-debug`) preset trains: a 1-layer model, 4 MLE steps, 2 RL steps of 2 x 2.
DEBUG_RUN = {
    "model": {"hidden_size": 32, "num_layers": 1, "num_heads": 2, "intermediate_size": 64},
    "mle": {
        "steps": 4,
        "batch_size": 4,
        "micro_batch_size": 2,
        "eval_every": 2,
        "save_every": 2,
        "log_every": 1,
        "warmup_steps": 1,
    },
    "rlvr": {
        "steps": 2,
        "questions_per_step": 2,
        "group_size": 2,
        "mini_batch_size": 1,
        "eval_every": 1,
        "save_every": 1,
    },
    "progress": False,
}


def _example_task(config, run_dir) -> str:
    """The docstring example's `prepare_task`."""
    return "a task"
