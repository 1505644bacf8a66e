"""Typed run configuration: one dataclass per component, composed into `RunConfig`.

Field docstrings double as `--help` text (`describe()`); `__post_init__` validates and names
the offending field. Presets are named partial configs (`presets.py`); `key=value` overrides
use dotted paths: `rlvr.group_size=8 model.hidden_size=256`.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import re
from dataclasses import dataclass, field, make_dataclass
from fnmatch import fnmatchcase as fnmatch
from typing import Any, get_type_hints

import yaml

from rlvr_world.core.config import (
    ConfigError,
    choice,
    from_dict,
    merge,
    non_negative,
    positive,
    shown,
)
from rlvr_world.core.config import (
    describe as describe_fields,
)
from rlvr_world.core.grpo import GRPOLossConfig
from rlvr_world.core.model import ModelConfig
from rlvr_world.domains import DOMAINS, get_domain


@dataclass
class DataConfig:
    """Where transitions come from and how they become prompts."""

    domain: str = "textgame"
    """Domain name (registry key)."""
    games: tuple[str, ...] = ()
    """Games to simulate (empty = all registered games)."""
    train_episodes_per_game: int = 60
    """Simulated episodes per game for the training set."""
    valid_episodes_per_game: int = 8
    """Simulated episodes per game for the validation set (model selection, early stopping)."""
    test_episodes_per_game: int = 12
    """Simulated episodes per game for the test set (final figures; never used for selection)."""
    max_episode_steps: int = 12
    """Steps per simulated episode."""
    train_path: str | None = None
    """Load training transitions from this file (ByteSized32 jsonl or RL parquet) instead."""
    valid_path: str | None = None
    """Validation transitions file (default: 10% of `train_path` held out)."""
    test_path: str | None = None
    """Test transitions file (required with `train_path`)."""
    prompt_style: str = "compact"
    """`compact` (tiny models: state, uuid base, action) or `full` (paper-style prompt)."""
    vocab_size: int = 2048
    """BPE vocabulary size of the tokenizer trained on simulator text (tiny presets)."""
    max_question_tokens: int = 768
    """Longer questions are dropped from training (counted in the run log)."""
    id_tokens: int = 0
    """Web pages: the element ids `[0]` .. `[N - 1]` are single tokens of the trained BPE, on
    top of `vocab_size` (0 = spelled digit by digit), so that a line of the page is copied by
    looking up its id (`text.tokenizer.train_bpe`)."""

    def __post_init__(self) -> None:
        if self.prompt_style not in ("compact", "full"):
            raise ConfigError(
                f"data.prompt_style must be 'compact' or 'full', got {self.prompt_style!r}"
            )
        non_negative(
            self,
            "data",
            "train_episodes_per_game",
            "valid_episodes_per_game",
            "test_episodes_per_game",
            "max_episode_steps",
            "id_tokens",
        )
        positive(self, "data", "vocab_size", "max_question_tokens")


@dataclass
class MLEConfig:
    """Maximum-likelihood pre-training (teacher-forced NLL on response tokens)."""

    steps: int = 600
    """Optimiser steps (upper bound when early stopping is on)."""
    batch_size: int = 32
    """Examples per optimiser step."""
    micro_batch_size: int = 32
    """Examples per forward/backward; gradients accumulate to `batch_size`."""
    lr: float = 3e-3
    """Peak learning rate (AdamW)."""
    warmup_steps: int = 30
    """Linear warm-up steps."""
    schedule: str = "cosine"
    """After warm-up: `cosine` decay to 10% of `lr` at `steps`, or `constant`."""
    max_seconds: float = 0.0
    """Stop (evaluate, checkpoint) once training has run this long (0 = no limit)."""
    weight_decay: float = 0.01
    """AdamW weight decay."""
    grad_clip: float = 1.0
    """Gradient-norm clip."""
    eval_every: int = 100
    """Held-out greedy evaluation every this many steps (0 = only at the end)."""
    patience: int = 0
    """Stop after this many evaluations without improvement (0 = never stop early)."""
    log_every: int = 10
    """Log training metrics every this many steps."""
    save_every: int = 200
    """Write a resumable checkpoint every this many steps."""

    def __post_init__(self) -> None:
        positive(self, "mle", "steps", "batch_size", "micro_batch_size", "log_every", "grad_clip")
        non_negative(
            self,
            "mle",
            "lr",
            "warmup_steps",
            "max_seconds",
            "weight_decay",
            "eval_every",
            "patience",
            "save_every",
        )
        choice(self, "mle", "schedule", ("cosine", "constant"))
        if self.batch_size % self.micro_batch_size:
            raise ConfigError(
                f"mle.batch_size ({self.batch_size}) must be a multiple of "
                f"mle.micro_batch_size ({self.micro_batch_size})"
            )


@dataclass
class RLVRConfig:
    """GRPO post-training on a verifiable reward (SPEC §2 defaults, tiny sizes)."""

    steps: int = 60
    """RL steps (each: sample, score, update)."""
    questions_per_step: int = 16
    """B: questions per RL step."""
    group_size: int = 8
    """G: responses sampled per question."""
    mini_batch_size: int = 16
    """Questions per optimiser step; B / mini_batch_size optimiser steps per epoch."""
    epochs: int = 1
    """PPO epochs over each RL batch."""
    lr: float = 1e-4
    """Constant learning rate (AdamW)."""
    weight_decay: float = 0.01
    """AdamW weight decay."""
    grad_clip: float = 1.0
    """Gradient-norm clip."""
    reward: str = "binary"
    """Training reward (registry name or `module:function`)."""
    compat: str = "fixed"
    """Scorer behaviour: `fixed` (ours) or `reference` (bit-for-bit the paper's scorer)."""
    unchanged_per_epoch: int = -1
    """Unchanged samples mixed into each epoch of the question stream (-1 = as many as changed)."""
    advantage_scale: str = "group"
    """Divide centred rewards by the `group` std, the `batch` std, or `none`."""
    baseline: str = "mean"
    """Group baseline: `mean` (GRPO) or `rloo` (leave-one-out)."""
    credit: str = "sequence"
    """`sequence`: every token gets its response's advantage (GRPO). `reward-to-go`: responses
    generated span by span (multi-step video; the lines of a web answer, scored by how much
    each changes the F1) are scored per span, and each span's tokens get the group-relative
    advantage of the reward of that span and the ones after it. `token`:
    each generated token is credited with the part of its span's output it governs (a visual
    code: its cell of the predicted frame) and the spans after it, compared with the same
    token of the other samples of its group (`core.grpo.token_returns`)."""
    mle_coef: float = 0.0
    """Joint MLE + RL: add this weight x the NLL of each mini-batch's gold answers (per gold
    token) to the GRPO loss, logged as `mle_loss` (0 = GRPO alone, the paper)."""
    skip_zero_variance: bool = True
    """Drop groups whose rewards are all equal from the update (their advantage is 0)."""
    mask_truncated: bool = False
    """Give no loss to responses that hit the length limit without a stop token."""
    temperature: float = 1.0
    """Sampling temperature during training."""
    top_p: float = 1.0
    """Nucleus threshold during training."""
    top_k: int = 0
    """Top-k during training (0 = off)."""
    max_new_tokens: int = 160
    """Response length limit."""
    loss: GRPOLossConfig = field(default_factory=GRPOLossConfig)
    """Clip ranges, KL, entropy and loss aggregation."""
    eval_every: int = 20
    """Held-out greedy evaluation every this many RL steps (0 = only at the end)."""
    log_every: int = 1
    """Log every this many RL steps."""
    save_every: int = 20
    """Write a resumable checkpoint every this many RL steps."""
    keep_best: bool = True
    """Also keep the checkpoint with the best held-out accuracy as `best`."""

    def __post_init__(self) -> None:
        positive(
            self,
            "rlvr",
            "steps",
            "questions_per_step",
            "group_size",
            "mini_batch_size",
            "epochs",
            "max_new_tokens",
            "log_every",
            "grad_clip",
        )
        non_negative(
            self,
            "rlvr",
            "lr",
            "weight_decay",
            "temperature",
            "top_k",
            "eval_every",
            "save_every",
            "mle_coef",
        )
        if self.group_size < 2:
            raise ConfigError(
                f"rlvr.group_size must be >= 2 (GRPO compares the answers of a group), "
                f"got {self.group_size}"
            )
        if not 0 < self.top_p <= 1:
            raise ConfigError(f"rlvr.top_p must be in (0, 1], got {self.top_p}")
        if self.unchanged_per_epoch < -1:
            raise ConfigError(
                f"rlvr.unchanged_per_epoch must be >= -1 (-1 = as many as changed), "
                f"got {self.unchanged_per_epoch}"
            )
        if self.questions_per_step % self.mini_batch_size:
            raise ConfigError(
                f"rlvr.questions_per_step ({self.questions_per_step}) must be a multiple of "
                f"rlvr.mini_batch_size ({self.mini_batch_size})"
            )
        choice(self, "rlvr", "advantage_scale", ("group", "batch", "none"))
        choice(self, "rlvr", "baseline", ("mean", "rloo"))
        choice(self, "rlvr", "credit", ("sequence", "reward-to-go", "token"))
        choice(self, "rlvr", "compat", ("fixed", "reference"))
        if isinstance(self.loss, dict):
            self.loss = GRPOLossConfig(**self.loss)


@dataclass
class EvalConfig:
    """Held-out evaluation."""

    max_examples: int = 0
    """Evaluate on at most this many held-out examples during training, spread evenly over the
    validation split (0 = all)."""
    batch_size: int = 64
    """Questions per greedy-decoding batch."""
    max_new_tokens: int = 160
    """Response length limit at evaluation."""
    temperature: float = 0.0
    """Decoding temperature at evaluation: 0 = greedy (language, SPEC §2); video uses 1.0."""
    top_k: int = 0
    """Top-k at evaluation (0 = off; the paper's video evaluation uses 100)."""
    seed: int = 1234
    """Seed of evaluation sampling (when temperature > 0), the same for every evaluation."""
    num_samples_saved: int = 24
    """Predictions written to `samples.jsonl` for the report."""

    def __post_init__(self) -> None:
        positive(self, "eval", "batch_size", "max_new_tokens")
        non_negative(self, "eval", "max_examples", "temperature", "top_k", "num_samples_saved")
        if not 0 <= self.seed < 2**32:
            raise ConfigError(f"eval.seed must be in [0, 2**32), got {self.seed}")


@dataclass
class LoRAConfig:
    """Low-rank adapters (peft): train small adapter matrices instead of every weight."""

    r: int = 0
    """Adapter rank (0 = no adapters: train all weights)."""
    alpha: float = 16.0
    """Scaling numerator: the update is (alpha / r) * B A."""
    dropout: float = 0.0
    """Dropout on the adapter input (keep 0 for GRPO: it would make the ratio noisy)."""
    target_modules: tuple[str, ...] = ("all-linear",)
    """Module names to adapt (e.g. q_proj, v_proj), or `all-linear`."""

    def __post_init__(self) -> None:
        non_negative(self, "lora", "r")
        if self.r and self.alpha <= 0:
            raise ConfigError(f"lora.alpha must be > 0, got {self.alpha}")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"lora.dropout must be in [0, 1), got {self.dropout}")
        if not self.target_modules:
            raise ConfigError("lora.target_modules must name at least one module")


@dataclass
class BaseRunConfig:
    """A whole run: data, model, MLE, RLVR, evaluation; `RunConfig` adds the domains' sections."""

    preset: str = "textgame-tiny"
    """The preset this config started from."""
    seed: int = 0
    """Seeds Python, NumPy and torch; data order and sampling follow from it."""
    threads: int = 2
    """torch intra-op threads."""
    device: str = "cpu"
    """`cpu`, `cuda` or `cuda:N`."""
    progress: bool = True
    """Show progress bars."""
    fsdp: bool = False
    """Under torchrun: shard weights, gradients and optimiser state over the processes with
    PyTorch's FSDP (`fully_shard`), for models that do not fit one device."""
    keep_checkpoints: int = 0
    """Keep `best` and the last N step checkpoints, removing older ones as new ones are written
    (0 = keep all)."""
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    lora: LoRAConfig = field(default_factory=LoRAConfig)
    mle: MLEConfig = field(default_factory=MLEConfig)
    rlvr: RLVRConfig = field(default_factory=RLVRConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def __post_init__(self) -> None:
        if not 0 <= self.seed < 2**32:  # what NumPy's seeding takes
            raise ConfigError(f"seed must be in [0, 2**32), got {self.seed}")
        if self.threads < 1:
            raise ConfigError(f"threads must be >= 1, got {self.threads}")
        if not re.fullmatch(r"cpu|mps|cuda(:\d+)?", self.device):
            raise ConfigError(f"device must be cpu, cuda, cuda:N or mps, got {self.device!r}")
        if self.keep_checkpoints < 0:
            raise ConfigError(f"keep_checkpoints must be >= 0, got {self.keep_checkpoints}")


@functools.cache
def _run_config_class(domains: tuple[str, ...]) -> type:
    """`BaseRunConfig` plus the config sections of `domains` (`Domain.config_sections`), in
    order; a section two domains share (the same class) appears once."""
    sections: dict[str, type] = {}
    for name in domains:
        for section, target in get_domain(name).config_sections.items():
            cls = DOMAINS.get(target) if isinstance(target, str) else target
            if sections.setdefault(section, cls) is not cls:
                raise ConfigError(f"domain {name}: config section {section!r} is taken")
    extra = [(s, cls, field(default_factory=cls)) for s, cls in sections.items()]
    cls = make_dataclass("RunConfig", extra, bases=(BaseRunConfig,))
    cls.__module__ = __name__
    return cls


def run_config_class(domain: str | None = None) -> type:
    """The run config of every registered domain's sections, plus `domain`'s if it is a
    `module:attr` path outside the registry (a user's own domain)."""
    names = tuple(DOMAINS.names())
    if domain and domain not in names:
        names += (domain,)
    return _run_config_class(names)


def __getattr__(name: str) -> Any:
    # `RunConfig` is built from the registry when first asked for (PEP 562)
    if name == "RunConfig":
        return run_config_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def to_dict(config: Any) -> dict:
    return dataclasses.asdict(config)


def config_from_dict(values: dict, where: str = "") -> Any:
    """A whole run config from a dict (a preset, `config.yaml`), sections chosen by its
    `data.domain`; unknown keys and bad values are errors naming the path."""
    data = values.get("data") if isinstance(values, dict) else None
    domain = data.get("domain") if isinstance(data, dict) else None
    if isinstance(domain, str) and not _DOMAIN_NAME.fullmatch(domain):
        raise ConfigError(
            f"data.domain must be a registered domain's name or `module:attr`, got {shown(domain)}"
        )
    return from_dict(run_config_class(domain if isinstance(domain, str) else None), values, where)


_DOMAIN_NAME = re.compile(r"[A-Za-z_][\w-]*|[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.\w+)*")
"""A registry name (`textgame`) or a `module:attr` path (`my_package.domain:DOMAIN`)."""


def check_sections(values: Any, where: str = "", cls: type | None = None, prefix: str = "") -> dict:
    """`values` (a partial config: a YAML file's, an override's) if it is a mapping whose
    sections (`rlvr`, `rlvr.loss`, ...) are mappings too; else a `ConfigError` naming the
    field, after `where` (e.g. `--config FILE`). Unknown names are left for
    `config_from_dict` to report."""
    cls = cls or run_config_class()
    lead = f"{where}: " if where else ""
    if not isinstance(values, dict):
        raise ConfigError(f"{lead}expected a mapping of config fields, got {shown(values)}")
    hints = get_type_hints(cls)
    for key, value in values.items():
        hint = hints.get(key) if isinstance(key, str) else None
        if hint is not None and dataclasses.is_dataclass(hint):
            name = f"{prefix}{key}"
            if not isinstance(value, dict):
                raise ConfigError(
                    f"{lead}{name} is a section: set its fields ({name}.FIELD=...), "
                    f"got {shown(value)}"
                )
            check_sections(value, where, hint, f"{name}.")
    return values


def parse_override(text: str) -> dict:
    """`"rlvr.group_size=8"` -> `{"rlvr": {"group_size": 8}}` (value parsed as YAML)."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like key=value (e.g. rlvr.steps=50)")
    key, _, raw = text.partition("=")
    parts = key.strip().split(".")
    if not all(parts):
        raise ConfigError(f"override {text!r}: expected a dotted field name before '='")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
        if isinstance(value, str) and value.startswith(("(", "[")):
            value = ast.literal_eval(value)
    # YAML's parser and constructor errors, literal_eval's ValueError / SyntaxError, and
    # RecursionError / MemoryError on absurdly nested or long values
    except (yaml.YAMLError, ValueError, SyntaxError, RecursionError, MemoryError) as error:
        reason = " ".join(str(error).split())[:200]
        raise ConfigError(f"override {key.strip()!r}: cannot read the value ({reason})") from None
    node: dict = {}
    out = node
    for part in parts[:-1]:
        node[part] = {}
        node = node[part]
    node[parts[-1]] = value
    return check_sections(out)


RESUME_OVERRIDES = (
    "mle.steps",
    "rlvr.steps",
    "mle.max_seconds",
    "*.eval_every",
    "*.save_every",
    "*.log_every",
    "keep_checkpoints",
    "progress",
    "threads",
)
"""The fields `train --resume` may change (shell-style patterns): how long the run goes on,
how often it evaluates, saves and logs, how many checkpoints it keeps, and how it shows
progress. Any other change would make the rest of the run a different run than its start."""


def resume_overrides(config: Any, overrides: list[dict]) -> tuple[Any, list[str]]:
    """A resumed run's `config` with `overrides` (nested dicts, applied in order) ->
    (the new config, one `name: old -> new` line per changed field). An override of a field
    outside `RESUME_OVERRIDES` is a `ConfigError` naming every such field."""
    changes: dict[str, Any] = {}
    for override in overrides:
        changes.update(_flatten(check_sections(override)))
    refused = [name for name in changes if not any(fnmatch(name, p) for p in RESUME_OVERRIDES)]
    if refused:
        raise ConfigError(
            f"--resume continues a run with its own config; it cannot change "
            f"{', '.join(refused)} (it may change {', '.join(RESUME_OVERRIDES)}); start a new "
            "run (another --out, or --force) to change the others"
        )
    values = to_dict(config)
    for override in overrides:
        values = merge(values, override)
    updated = config_from_dict(values)
    before, after = _flatten(to_dict(config)), _flatten(to_dict(updated))
    lines = [
        f"{name}: {before[name]} -> {after[name]}"
        for name in changes
        if before.get(name) != after.get(name)
    ]
    return updated, lines


def _flatten(values: dict, prefix: str = "") -> dict[str, Any]:
    """Nested dicts -> {dotted name: leaf value}."""
    flat = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def check_device(device: str, where: str = "device") -> None:
    """Refuse a `device` this machine does not have (`cuda` without CUDA, `cuda:3` on a
    two-GPU machine, `mps` off Apple silicon) before a run starts on it."""
    import torch

    if device.startswith("cuda"):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = int(device.partition(":")[2] or 0)
        if not count:
            raise ConfigError(
                f"{where}={device} is not available: this machine has no CUDA "
                "(torch.cuda.is_available() is False); use device=cpu"
            )
        if index >= count:
            raise ConfigError(
                f"{where}={device} is not available: this machine has {count} CUDA device(s)"
            )
    elif device == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"{where}=mps is not available on this machine; use device=cpu")


def describe(cls: type | None = None, prefix: str = "") -> list[tuple[str, str, str]]:
    """(dotted name, default, doc) of every field of the run config (or of `cls`)."""
    return describe_fields(cls or run_config_class(), prefix)


__all__ = [
    "BaseRunConfig",
    "ConfigError",
    "DataConfig",
    "EvalConfig",
    "LoRAConfig",
    "MLEConfig",
    "RLVRConfig",
    "RESUME_OVERRIDES",
    "check_device",
    "check_sections",
    "config_from_dict",
    "describe",
    "from_dict",
    "merge",
    "parse_override",
    "resume_overrides",
    "run_config_class",
    "to_dict",
]
